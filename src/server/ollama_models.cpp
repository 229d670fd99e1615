#include "server/ollama_models.h"

#include <fmt/format.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "model/quant_mix.h"
#include "server/http_reply.h"

namespace mx::server {

namespace {

using nlohmann::json;

std::string digest(const OllamaModel& m) {
  const gguf::File& f = *m.file;
  return sha256_hex(fmt::format("{}\n{}\n{}", f.name(), f.file_size(), f.tensors().size()));
}

int64_t parameter_count(const gguf::File& file) {
  int64_t n = 0;
  for (const gguf::TensorInfo& t : file.tensors()) n += t.n_elements();
  return n;
}

// "260K", "1.5B", "7.6B", as Ollama writes parameter_size.
std::string parameter_size(int64_t n) {
  if (n >= 1'000'000'000) return fmt::format("{:.1f}B", n / 1e9);
  if (n >= 1'000'000) return fmt::format("{:.1f}M", n / 1e6);
  if (n >= 1'000) return fmt::format("{:.0f}K", n / 1e3);
  return std::to_string(n);
}

std::string quantization_level(const gguf::File& file) {
  const std::optional<int64_t> ft = file.get_int("general.file_type");
  if (ft)
    for (const FileTypeInfo& t : file_types())
      if (static_cast<int64_t>(t.id) == *ft) return std::string(t.name);
  return ft ? fmt::format("file_type {}", *ft) : "unknown";
}

std::string architecture(const gguf::File& file) { return file.get_string("general.architecture").value_or("unknown"); }

json details(const OllamaModel& m) {
  const std::string family = architecture(*m.file);
  return {{"parent_model", ""},
          {"format", "gguf"},
          {"family", family},
          {"families", json::array({family})},
          {"parameter_size", parameter_size(parameter_count(*m.file))},
          {"quantization_level", quantization_level(*m.file)}};
}

std::string modified_at(const OllamaModel& m) {
  std::error_code ec;
  const auto t = std::filesystem::last_write_time(m.file->name(), ec);
  if (ec) return rfc3339(std::chrono::system_clock::now());
  // file_clock -> system_clock by their offsets now (libstdc++ 11 has no clock_cast).
  return rfc3339(std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      t - std::filesystem::file_time_type::clock::now() + std::chrono::system_clock::now()));
}

}  // namespace

void ollama_tags(const std::vector<OllamaModel>& models, httplib::Response& res) {
  json list = json::array();
  for (const OllamaModel& m : models)
    list.push_back({{"name", listed_name(m)},       {"model", listed_name(m)},
                    {"modified_at", modified_at(m)}, {"size", m.file->file_size()},
                    {"digest", digest(m)},           {"details", details(m)}});
  send_json(res, 200, {{"models", std::move(list)}});
}

void ollama_ps(const std::vector<OllamaModel>& models, httplib::Response& res) {
  const auto forever = std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 100);  // no timed unload
  json list = json::array();
  for (const OllamaModel& m : models)
    list.push_back({{"name", listed_name(m)},
                    {"model", listed_name(m)},
                    {"size", m.file->file_size()},
                    {"digest", digest(m)},
                    {"details", details(m)},
                    {"expires_at", rfc3339(forever)},
                    {"size_vram", 0},
                    {"context_length", m.n_ctx}});
  send_json(res, 200, {{"models", std::move(list)}});
}

void ollama_show(const OllamaModel& m, const std::string& body_text, httplib::Response& res) {
  const json body = json::parse(body_text, nullptr, false);
  if (body.is_discarded()) return send_ollama_error(res, 400, "the request body is not valid JSON");
  if (!body.is_object()) return send_ollama_error(res, 400, "the request body must be a JSON object");
  const json* name = body.contains("model") ? &body["model"] : body.contains("name") ? &body["name"] : nullptr;
  if (name && !name->is_string()) return send_ollama_error(res, 400, "'model' must be a string");
  const gguf::File& f = *m.file;
  const std::string arch = architecture(*m.file);
  const std::string tmpl(m.chat_template);
  json info = {{"general.architecture", arch}, {"general.parameter_count", parameter_count(*m.file)}};
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

}  // namespace mx::server
