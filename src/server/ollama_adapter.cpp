#include "server/ollama_adapter.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <ctime>
#include <filesystem>

#include "model/quant_mix.h"
#include "server/http_reply.h"
#include "server/ollama_request.h"

namespace mx::server {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

void ollama_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", message}});
}

// SHA-256 (FIPS 180-4) of a short text: the model's digest stand-in.
std::string sha256_hex(std::string_view text) {
  static constexpr std::array<uint32_t, 64> k = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
      0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
      0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
      0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
      0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
      0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
      0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
  std::array<uint32_t, 8> h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::string m(text);
  const uint64_t bits = static_cast<uint64_t>(text.size()) * 8;
  m += static_cast<char>(0x80);
  while (m.size() % 64 != 56) m += '\0';
  for (int i = 7; i >= 0; --i) m += static_cast<char>((bits >> (8 * i)) & 0xff);
  auto rotr = [](uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
  for (size_t block = 0; block < m.size(); block += 64) {
    std::array<uint32_t, 64> w{};
    for (int i = 0; i < 16; ++i)
      for (int j = 0; j < 4; ++j) w[i] = (w[i] << 8) | static_cast<unsigned char>(m[block + 4 * i + j]);
    for (int i = 16; i < 64; ++i) {
      const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::array<uint32_t, 8> v = h;
    for (int i = 0; i < 64; ++i) {
      const uint32_t s1 = rotr(v[4], 6) ^ rotr(v[4], 11) ^ rotr(v[4], 25);
      const uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
      const uint32_t t1 = v[7] + s1 + ch + k[i] + w[i];
      const uint32_t s0 = rotr(v[0], 2) ^ rotr(v[0], 13) ^ rotr(v[0], 22);
      const uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
      const uint32_t t2 = s0 + maj;
      v = {t1 + t2, v[0], v[1], v[2], v[3] + t1, v[4], v[5], v[6]};
    }
    for (int i = 0; i < 8; ++i) h[i] += v[i];
  }
  std::string out;
  for (const uint32_t x : h) out += fmt::format("{:08x}", x);
  return out;
}

std::string listed_name(const OllamaModel& m) {
  return m.name.find(':') == std::string::npos ? m.name + ":latest" : m.name;
}

std::string digest(const OllamaModel& m) {
  const gguf::File& f = m.model->file;
  return sha256_hex(fmt::format("{}\n{}\n{}", f.name(), f.file_size(), f.tensors().size()));
}

int64_t parameter_count(const Model& model) {
  int64_t n = 0;
  for (const gguf::TensorInfo& t : model.file.tensors()) n += t.n_elements();
  return n;
}

// "260K", "1.5B", "7.6B", as Ollama writes parameter_size.
std::string parameter_size(int64_t n) {
  if (n >= 1'000'000'000) return fmt::format("{:.1f}B", n / 1e9);
  if (n >= 1'000'000) return fmt::format("{:.1f}M", n / 1e6);
  if (n >= 1'000) return fmt::format("{:.0f}K", n / 1e3);
  return std::to_string(n);
}

std::string quantization_level(const Model& model) {
  const std::optional<int64_t> ft = model.file.get_int("general.file_type");
  if (ft)
    for (const FileTypeInfo& t : file_types())
      if (static_cast<int64_t>(t.id) == *ft) return std::string(t.name);
  return ft ? fmt::format("file_type {}", *ft) : "unknown";
}

std::string architecture(const Model& model) { return model.file.get_string("general.architecture").value_or("unknown"); }

json details(const OllamaModel& m) {
  const std::string family = architecture(*m.model);
  return {{"parent_model", ""},
          {"format", "gguf"},
          {"family", family},
          {"families", json::array({family})},
          {"parameter_size", parameter_size(parameter_count(*m.model))},
          {"quantization_level", quantization_level(*m.model)}};
}

std::string modified_at(const OllamaModel& m) {
  std::error_code ec;
  const auto t = std::filesystem::last_write_time(m.model->file.name(), ec);
  if (ec) return rfc3339(std::chrono::system_clock::now());
  // file_clock -> system_clock by their offsets now (libstdc++ 11 has no clock_cast).
  return rfc3339(std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      t - std::filesystem::file_time_type::clock::now() + std::chrono::system_clock::now()));
}

const char* done_reason(FinishKind f) { return f == FinishKind::kLength ? "length" : "stop"; }

int64_t nanoseconds(double seconds) { return static_cast<int64_t>(seconds * 1e9); }

// What every reply object of one request starts with.
struct ReplyShape {
  bool chat;
  std::string model;

  json object(const OllamaMessageBuilder::Piece& p, bool done) const {
    json o = {{"model", model}, {"created_at", rfc3339(std::chrono::system_clock::now())}};
    if (chat) {
      json message = {{"role", "assistant"}, {"content", p.content}};
      if (!p.thinking.empty()) message["thinking"] = p.thinking;
      if (!p.tool_calls.empty()) message["tool_calls"] = p.tool_calls;
      o["message"] = std::move(message);
    } else {
      o["response"] = p.content;
      if (!p.thinking.empty()) o["thinking"] = p.thinking;
    }
    o["done"] = done;
    return o;
  }
  // The last object: the reason and Ollama's counts and durations (nanoseconds).
  json last(const OllamaMessageBuilder::Piece& p, const ChoiceFinish& f, Clock::time_point started) const {
    json o = object(p, true);
    o["done_reason"] = done_reason(f.reason);
    o["total_duration"] = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started).count();
    o["load_duration"] = 0;  // the model is loaded before the server takes requests
    o["prompt_eval_count"] = f.stats.n_prompt;
    o["prompt_eval_duration"] = nanoseconds(f.stats.prompt_seconds);
    o["eval_count"] = f.stats.n_generated;
    o["eval_duration"] = nanoseconds(f.stats.gen_seconds);
    return o;
  }
};

void append(OllamaMessageBuilder::Piece& to, OllamaMessageBuilder::Piece from) {
  to.content += from.content;
  to.thinking += from.thinking;
  for (json& c : from.tool_calls) to.tool_calls.push_back(std::move(c));
}

std::string ndjson(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

}  // namespace

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t - secs).count();
  const std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm g{};
  gmtime_r(&tt, &g);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", g.tm_year + 1900, g.tm_mon + 1, g.tm_mday, g.tm_hour,
                     g.tm_min, g.tm_sec, ns);
}

void OllamaMessageBuilder::close_call(Piece& p) {
  if (!open_) return;
  const bool blank = std::all_of(open_->second.begin(), open_->second.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  json args = blank ? json::object() : json::parse(open_->second, nullptr, false);
  if (args.is_discarded()) args = open_->second;  // not JSON: the text as the model wrote it
  else if (args.is_null()) args = json::object();
  p.tool_calls.push_back({{"function", {{"name", open_->first}, {"arguments", std::move(args)}}}});
  open_.reset();
}

OllamaMessageBuilder::Piece OllamaMessageBuilder::add(const std::vector<chat::OutputEvent>& events) {
  Piece p;
  for (const chat::OutputEvent& e : events) {
    switch (e.kind) {
      case chat::OutputEvent::Kind::kText: p.content += gap_.take(e.text, called_); break;
      case chat::OutputEvent::Kind::kReasoning: p.thinking += e.text; break;
      case chat::OutputEvent::Kind::kToolCallStart:
        close_call(p);
        open_.emplace(e.name, "");
        called_ = true;
        break;
      case chat::OutputEvent::Kind::kToolCallArguments:
        if (open_) open_->second += e.text;
        break;
    }
  }
  return p;
}

OllamaMessageBuilder::Piece OllamaMessageBuilder::finish() {
  Piece p;
  close_call(p);
  return p;
}

void ollama_generate(GenerationService& service, const OllamaModel& m, const std::string& body_text, bool chat, int api_key,
                     httplib::Response& res) {
  const Clock::time_point started = Clock::now();
  const json body = json::parse(body_text, nullptr, false);
  if (body.is_discarded()) return ollama_error(res, 400, "the request body is not valid JSON");
  auto parsed = parse_ollama_request(body, chat, *m.defaults);
  if (auto* e = std::get_if<ApiError>(&parsed)) return ollama_error(res, e->status, e->message);
  OllamaRequest r = std::move(std::get<OllamaRequest>(parsed));
  const ReplyShape shape{chat, r.model.empty() ? listed_name(m) : r.model};
  if (r.load_only) {  // Ollama's "load the model" call: it is loaded already
    json o = shape.object({}, true);
    o["done_reason"] = r.unload ? "unload" : "load";
    return send_json(res, 200, o);
  }

  GenerationRequest g;
  g.chat = r.completion.chat;
  g.messages = std::move(r.completion.messages);
  g.template_kwargs = std::move(r.completion.template_kwargs);
  g.tool_calling = tool_calling_of(r.completion);
  g.tool_calling.choice = ToolChoice::kAuto;  // Ollama has no tool_choice
  g.tool_calling.choice_name.clear();
  g.tool_calling.parallel = true;
  g.tool_calling.reasoning_inline = false;
  g.prompt_text = std::move(r.completion.prompt_text);
  g.options = std::move(r.completion.options);
  g.stop = std::move(r.completion.stop);
  g.grammar = std::move(r.completion.grammar);
  g.api_key = api_key;
  auto started_gen = service.start(std::move(g));
  if (auto* e = std::get_if<GenerationError>(&started_gen)) return ollama_error(res, e->status, e->message);
  const std::shared_ptr<Generation> gen = std::move(std::get<std::shared_ptr<Generation>>(started_gen));

  // A plain (raw) reply's events are kText only: the builder passes them through.
  if (!r.stream) {
    OllamaMessageBuilder builder;
    OllamaMessageBuilder::Piece whole;
    std::optional<ChoiceFinish> finish;
    while (!finish) {
      ChoiceUpdate u = gen->next(0, std::chrono::seconds(1));
      append(whole, builder.add(u.events));
      finish = std::move(u.finish);
    }
    append(whole, builder.finish());
    return send_json(res, 200, shape.last(whole, *finish, started));
  }

  struct StreamState {
    OllamaMessageBuilder builder;
    bool done = false;
  };
  auto st = std::make_shared<StreamState>();
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "application/x-ndjson",
      [gen, st, shape, started](size_t, httplib::DataSink& sink) {
        auto write = [&](const json& j) {
          const std::string line = ndjson(j);
          return sink.write(line.data(), line.size());
        };
        ChoiceUpdate u = gen->next(0, std::chrono::seconds(1));
        OllamaMessageBuilder::Piece p = st->builder.add(u.events);
        if (u.finish) append(p, st->builder.finish());
        if (!p.content.empty() || !p.thinking.empty() || !p.tool_calls.empty())
          if (!write(shape.object(p, false))) return false;
        if (!u.finish) return true;
        if (!write(shape.last({}, *u.finish, started))) return false;
        sink.done();
        return true;
      },
      [gen](bool) { gen->cancel(); });  // `gen` holds the request's place until the reply ends
}

void ollama_tags(const OllamaModel& m, httplib::Response& res) {
  const json model = {{"name", listed_name(m)},       {"model", listed_name(m)},
                      {"modified_at", modified_at(m)}, {"size", m.model->file.file_size()},
                      {"digest", digest(m)},           {"details", details(m)}};
  send_json(res, 200, {{"models", json::array({model})}});
}

void ollama_ps(const OllamaModel& m, httplib::Response& res) {
  const auto forever = std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 100);  // never unloaded
  const json model = {{"name", listed_name(m)},
                      {"model", listed_name(m)},
                      {"size", m.model->file.file_size()},
                      {"digest", digest(m)},
                      {"details", details(m)},
                      {"expires_at", rfc3339(forever)},
                      {"size_vram", 0},
                      {"context_length", m.n_ctx}};
  send_json(res, 200, {{"models", json::array({model})}});
}

void ollama_show(const OllamaModel& m, const std::string& body_text, httplib::Response& res) {
  const json body = json::parse(body_text, nullptr, false);
  if (body.is_discarded()) return ollama_error(res, 400, "the request body is not valid JSON");
  if (!body.is_object()) return ollama_error(res, 400, "the request body must be a JSON object");
  const json* name = body.contains("model") ? &body["model"] : body.contains("name") ? &body["name"] : nullptr;
  if (name && !name->is_string()) return ollama_error(res, 400, "'model' must be a string");
  const gguf::File& f = m.model->file;
  const std::string arch = architecture(*m.model);
  const std::string tmpl = f.get_string("tokenizer.chat_template").value_or("");
  json info = {{"general.architecture", arch}, {"general.parameter_count", parameter_count(*m.model)}};
  for (const char* key : {"general.name", "general.basename", "general.size_label", "general.license"})
    if (auto v = f.get_string(key)) info[key] = *v;
  for (const char* key : {"general.file_type", "general.quantization_version"})
    if (auto v = f.get_int(key)) info[key] = *v;
  for (const char* suffix : {"context_length", "embedding_length", "block_count", "feed_forward_length",
                             "attention.head_count", "attention.head_count_kv"})
    if (auto v = f.get_int(arch + "." + suffix)) info[arch + "." + suffix] = *v;
  const SamplingParams& s = m.defaults->sampling;
  const std::string parameters = fmt::format("temperature {}\ntop_k {}\ntop_p {}\nmin_p {}\nrepeat_penalty {}\nnum_ctx {}\nnum_predict {}",
                                             s.temperature, s.top_k, s.top_p, s.min_p, s.penalties.repeat, m.n_ctx,
                                             m.defaults->n_predict);
  std::string modelfile = fmt::format("# Modelfile of the model moxing serves\nFROM {}\n", f.name());
  if (!tmpl.empty()) modelfile += "TEMPLATE \"\"\"" + tmpl + "\"\"\"\n";
  for (size_t p = 0, e; p < parameters.size(); p = e + 1) {
    e = parameters.find('\n', p);
    if (e == std::string::npos) e = parameters.size();
    modelfile += "PARAMETER " + parameters.substr(p, e - p) + "\n";
  }
  json capabilities = json::array({"completion"});
  if (tmpl.find("tools") != std::string::npos) capabilities.push_back("tools");
  send_json(res, 200, {{"modelfile", modelfile},
                       {"parameters", parameters},
                       {"template", tmpl},
                       {"details", details(m)},
                       {"model_info", info},
                       {"capabilities", capabilities},
                       {"modified_at", modified_at(m)}});
}

void ollama_version(httplib::Response& res) { send_json(res, 200, {{"version", kOllamaApiVersion}}); }

void ollama_embed(const OllamaModel& m, const std::string& body_text, bool legacy, const OpenAiRoute& openai_embeddings,
                  httplib::Response& res) {
  const Clock::time_point started = Clock::now();
  const json body = json::parse(body_text, nullptr, false);
  if (body.is_discarded()) return ollama_error(res, 400, "the request body is not valid JSON");
  if (!body.is_object()) return ollama_error(res, 400, "the request body must be a JSON object");
  if (body.contains("model") && !body["model"].is_string()) return ollama_error(res, 400, "'model' must be a string");
  const std::string model = body.value("model", listed_name(m));
  const char* input_name = legacy ? "prompt" : "input";
  const json input = body.contains(input_name) ? body[input_name] : json(nullptr);
  if (legacy && !input.is_string()) return ollama_error(res, 400, "'prompt' must be a string");
  if (!legacy && !input.is_string() && !(input.is_array() && !input.empty() &&
                                         std::all_of(input.begin(), input.end(), [](const json& x) { return x.is_string(); })))
    return ollama_error(res, 400, "'input' must be a string or a non-empty array of strings");
  if (legacy && input.get<std::string>().empty()) return send_json(res, 200, {{"embedding", json::array()}});
  json openai = {{"input", input}};
  if (const auto d = body.find("dimensions"); !legacy && d != body.end() && !d->is_null()) openai["dimensions"] = *d;
  httplib::Response inner;
  openai_embeddings(openai.dump(), inner);
  const json reply = json::parse(inner.body, nullptr, false);
  if (inner.status != 200 || reply.is_discarded()) {
    const std::string message = reply.is_object() && reply.contains("error") && reply["error"].is_object()
                                    ? reply["error"].value("message", "embedding failed")
                                    : "embedding failed";
    return ollama_error(res, inner.status >= 400 ? inner.status : 500, message);
  }
  if (legacy) return send_json(res, 200, {{"embedding", reply["data"][0]["embedding"]}});
  json embeddings = json::array();
  for (const json& d : reply["data"]) embeddings.push_back(d["embedding"]);
  send_json(res, 200, {{"model", model},
                       {"embeddings", std::move(embeddings)},
                       {"total_duration", std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started).count()},
                       {"load_duration", 0},
                       {"prompt_eval_count", reply["usage"]["prompt_tokens"]}});
}

}  // namespace mx::server
