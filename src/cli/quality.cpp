// `moxing quality`: generates samples from a set of prompts under several sampling
// settings and reports how degenerate the output is (engine/text_quality.h): the table
// that shows whether the defaults avoid the loops greedy decoding falls into.
#include <algorithm>
#include <fstream>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "cli/sampling_options.h"
#include "core/log.h"
#include "core/progress.h"
#include "engine/generate.h"
#include "engine/text_quality.h"
#include "tokenizer/stream_decoder.h"

namespace mx::cli {
namespace {

// TinyStories-style openings (the default model is stories260K), some already repeating.
const std::vector<std::string> kDefaultPrompts = {
    "Once upon a time",
    "One day, a little girl named Lily",
    "Tom had a big red ball.",
    "The sun was hot and the sky was blue.",
    "They wanted to play with the box. They wanted to play with the box.",
    "The cat sat on the mat. The cat sat on the mat. The cat sat on the mat.",
};

struct QualityOptions {
  std::string path;
  std::string prompts_file;
  std::string score_file;  // samples another program wrote, scored beside ours
  int64_t n_predict = 128;
  int samples = 4;  // per prompt, for the sampled settings (greedy needs one)
  std::vector<std::string> configs = {"greedy", "greedy+guard", "llama.cpp", "default", "dry"};
  int threads = default_threads();
  bool json = false;
  SamplingCliOptions flags;  // the "flags" setting: whatever the sampling flags say
};

struct Setting {
  std::string name;
  SamplingCliOptions sampling;
};

std::optional<Setting> make_setting(const std::string& name, const QualityOptions& o) {
  Setting s{name, SamplingCliOptions{}};
  if (name == "greedy") {
    s.sampling.params.temperature = 0.0f;
    s.sampling.loop_guard = "off";
  } else if (name == "greedy+guard") {  // greedy with the loop guard's default remedy
    s.sampling.params.temperature = 0.0f;
  } else if (name == "llama.cpp") {  // llama.cpp's defaults: no penalties, nothing watching for loops
    s.sampling.loop_guard = "off";
  } else if (name == "default") {     // moxing's defaults (the loop guard penalizes)
  } else if (name == "dry") {
    s.sampling.params.dry.multiplier = 0.8f;
    s.sampling.loop_guard = "off";
  } else if (name == "flags") {
    s.sampling = o.flags;
  } else {
    return std::nullopt;
  }
  return s;
}

std::vector<std::string> load_prompts(const QualityOptions& o) {
  if (o.prompts_file.empty()) return kDefaultPrompts;
  std::ifstream in(o.prompts_file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

// Samples another program generated, one JSON object per line: {"settings": NAME,
// "text": CONTINUATION}. The text is tokenized with the model's vocabulary, so the
// token-based measures compare like with like. Groups keep the file's order.
Expected<std::vector<std::pair<std::string, std::vector<Sample>>>> load_scored_samples(const std::string& path,
                                                                                       const Tokenizer& tok) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot open {}", path);
  std::vector<std::pair<std::string, std::vector<Sample>>> groups;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("settings") || !j["settings"].is_string() || !j.contains("text") ||
        !j["text"].is_string())
      return make_error("{}:{}: expected {{\"settings\": NAME, \"text\": TEXT}}", path, line_no);
    const std::string name = j["settings"].get<std::string>();
    Sample sample{.tokens = tok.encode(j["text"].get<std::string>(), false, false), .text = j["text"].get<std::string>()};
    auto group = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == name; });
    if (group == groups.end()) group = groups.insert(groups.end(), {name, {}});
    group->second.push_back(std::move(sample));
  }
  return groups;
}

int run_quality(const QualityOptions& o) {
  const auto loaded = load_model_for_cli(o.path, /*with_tokenizer=*/true);
  if (!loaded) return kExitBadModel;
  const std::vector<std::string> prompts = load_prompts(o);
  if (prompts.empty()) {
    MX_LOG_ERROR("no prompts in {}", o.prompts_file);
    return kExitBadInput;
  }
  std::vector<Setting> settings;
  for (const std::string& name : o.configs) {
    auto s = make_setting(name, o);
    if (!s) {
      MX_LOG_ERROR("unknown setting '{}' (greedy, greedy+guard, llama.cpp, default, dry, flags)", name);
      return kExitUsage;
    }
    settings.push_back(*s);
  }
  const Model& m = *loaded->model;
  const Tokenizer& tok = *loaded->tokenizer;
  ExecContext ctx(o.threads, loaded->kernels);
  KvCache cache(m.config, std::min<int64_t>(m.config.n_ctx_train, 2048));

  uint64_t total = 0;
  for (const Setting& s : settings) total += prompts.size() * (s.sampling.params.temperature <= 0 ? 1 : o.samples);
  ProgressBar bar("generating samples", total);
  uint64_t done = 0;
  nlohmann::json json = nlohmann::json::array();
  if (!o.json) {
    fmt::print("| settings | samples | tokens | distinct-1 | distinct-2 | distinct-3 | repeated 4-grams | "
               "max sentence repeats | loop incidence | invalid UTF-8 |\n");
    fmt::print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  }
  auto report = [&](const std::string& name, const QualityReport& r) {
    if (o.json) {
      json.push_back({{"settings", name}, {"samples", r.samples}, {"tokens", r.tokens},
                      {"distinct_1", r.distinct[0]}, {"distinct_2", r.distinct[1]}, {"distinct_3", r.distinct[2]},
                      {"repeated_4gram_rate", r.repeated_4gram_rate},
                      {"max_sentence_repeats", r.max_sentence_repeats}, {"loop_incidence", r.loop_incidence},
                      {"invalid_utf8", r.invalid_utf8}});
    } else {
      fmt::print("| {} | {} | {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {} | {:.2f} | {} |\n", name, r.samples,
                 r.tokens, r.distinct[0], r.distinct[1], r.distinct[2], r.repeated_4gram_rate,
                 r.max_sentence_repeats, r.loop_incidence, r.invalid_utf8);
    }
  };
  for (const Setting& s : settings) {
    auto options = make_generate_options(s.sampling, tok, o.n_predict);
    if (!options) {
      MX_LOG_ERROR("{}: {}", s.name, options.error().message);
      return kExitUsage;
    }
    const int per_prompt = options->sampling.temperature <= 0 ? 1 : o.samples;
    std::vector<Sample> samples;
    for (const std::string& prompt : prompts) {
      const std::vector<Token> ids = tok.encode(prompt, true, false);
      for (int k = 0; k < per_prompt; ++k) {
        GenerateOptions g = *options;
        g.sampling.seed = s.sampling.params.seed + static_cast<uint64_t>(k);
        Sample sample;
        StreamDecoder decoder(tok, {.drop_unfinished_tail = true});
        cache.clear(0);
        GenerateCallbacks cb{.is_end = [&](Token t) { return tok.vocab().is_eog(t); },
                             .on_token = [&](Token t) {
                               sample.tokens.push_back(t);
                               sample.text += decoder.push(t);
                               return true;
                             },
                             .on_logprobs = nullptr,
                             .on_prompt_logprobs = nullptr};
        if (auto st = generate(m, ctx, cache, ids, g, cb); !st) {
          MX_LOG_ERROR("{}", st.error().message);
          return kExitBadInput;
        }
        sample.text += decoder.flush();
        samples.push_back(std::move(sample));
        bar.update(++done);
      }
    }
    report(s.name, measure_quality(samples));
  }
  bar.finish();
  if (!o.score_file.empty()) {
    auto scored = load_scored_samples(o.score_file, tok);
    if (!scored) {
      MX_LOG_ERROR("{}", scored.error().message);
      return kExitBadInput;
    }
    for (const auto& [name, samples] : *scored) report(name, measure_quality(samples));
  }
  if (o.json) fmt::print("{}\n", json.dump(2));
  return kExitOk;
}

}  // namespace

Runner add_quality(CLI::App& app) {
  auto o = std::make_shared<QualityOptions>();
  app.add_option("-m,--model", o->path, "GGUF model file")->required();
  app.add_option("-f,--prompts", o->prompts_file, "Prompts, one per line (default: built-in story openings)");
  app.add_option("-n,--n-predict", o->n_predict, "Tokens per sample")->capture_default_str();
  app.add_option("--score", o->score_file,
                 "Also score samples another program wrote: JSON lines {\"settings\": NAME, \"text\": TEXT}")
      ->check(CLI::ExistingFile);
  app.add_option("--samples", o->samples, "Samples per prompt for sampled settings")->capture_default_str();
  app.add_option("--configs", o->configs,
                 "Settings to compare: greedy, greedy+guard, llama.cpp (its defaults), default (moxing's), dry, flags "
                 "(the sampling flags given)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("-t,--threads", o->threads, "Compute threads")->capture_default_str();
  app.add_flag("--json", o->json, "JSON output");
  add_sampling_options(app, o->flags);
  return [o] { return run_quality(*o); };
}

}  // namespace mx::cli
