#include "cli/sampling_options.h"

#include <charconv>
#include <cmath>
#include <fstream>

#include "engine/grammar_setup.h"
#include "engine/sampling_setup.h"
#include "sampling/json_schema.h"

namespace mx::cli {
namespace {

// "15043+1.5", "15043-2", "2-inf": the token id, then the signed bias.
Expected<TokenBias> parse_logit_bias(const std::string& text, int32_t n_vocab) {
  const size_t sign = text.find_first_of("+-", 1);
  auto bad = [&] { return make_error("--logit-bias '{}': expected TOKEN_ID+BIAS or TOKEN_ID-BIAS", text); };
  if (sign == std::string::npos) return bad();
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + sign, id);
  if (ec != std::errc() || end != text.data() + sign) return bad();
  if (id < 0 || id >= n_vocab) return make_error("--logit-bias: token {} is not in the vocabulary (0..{})", id, n_vocab - 1);
  const std::string value = text.substr(sign + 1);
  float bias;
  if (value == "inf") {
    // -inf bans the token; +inf would make the softmax undefined, so "always" is a bias
    // no finite logit can match.
    bias = text[sign] == '-' ? INFINITY : 1e30f;
  } else {
    char* value_end = nullptr;
    bias = std::strtof(value.c_str(), &value_end);
    if (value.empty() || *value_end != '\0') return bad();
  }
  return TokenBias{static_cast<Token>(id), text[sign] == '-' ? -bias : bias};
}

Expected<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot open {}", path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The GBNF the output must follow, from whichever of the grammar flags was given ("": none).
Expected<std::string> grammar_text_of(const SamplingCliOptions& o) {
  const int given = !o.grammar.empty() + !o.grammar_file.empty() + !o.json_schema.empty() +
                    !o.json_schema_file.empty() + o.json;
  if (given > 1) return make_error("give only one of --grammar, --grammar-file, --json-schema, --json-schema-file, --json-mode");
  if (o.json) return json_object_gbnf();
  if (!o.grammar.empty()) return o.grammar;
  if (!o.grammar_file.empty()) return read_file(o.grammar_file);
  std::string schema = o.json_schema;
  if (!o.json_schema_file.empty()) MX_TRY_ASSIGN(schema, read_file(o.json_schema_file));
  if (schema.empty()) return std::string();
  auto gbnf = json_schema_to_gbnf(schema);
  if (!gbnf) return make_error("--json-schema: {}", gbnf.error().message);
  return std::move(*gbnf);
}

// "penalties;dry;...": the default order, in the names --samplers takes.
std::string default_order_text() {
  std::string text;
  for (const SamplerStage s : SamplingParams{}.order) text += (text.empty() ? "" : ";") + std::string(stage_name(s));
  return text;
}

}  // namespace

void add_sampling_options(CLI::App& app, SamplingCliOptions& o) {
  SamplingParams& p = o.params;
  app.add_option("--temp", p.temperature, "Temperature (0: greedy)")->capture_default_str();
  app.add_option("--top-k", p.top_k, "Top-k (0: off)")->capture_default_str();
  app.add_option("--top-p", p.top_p, "Top-p (1: off)")->capture_default_str();
  app.add_option("--min-p", p.min_p, "Min-p: keep tokens at least this fraction as likely as the best (0: off)")
      ->capture_default_str();
  app.add_option("--typical", p.typical_p, "Locally typical sampling p (1: off)")->capture_default_str();
  app.add_option("--repeat-penalty", p.penalties.repeat, "Penalty for tokens in the last N (1: off)")
      ->capture_default_str();
  app.add_option("--repeat-last-n", p.penalties.last_n, "N for the penalties (0: off, -1: all)")->capture_default_str();
  app.add_option("--presence-penalty", p.penalties.presence, "Subtracted from tokens seen (0: off)")
      ->capture_default_str();
  app.add_option("--frequency-penalty", p.penalties.frequency, "Subtracted per occurrence (0: off)")
      ->capture_default_str();
  app.add_option("--dry-multiplier", p.dry.multiplier, "DRY strength (0: off)")->capture_default_str();
  app.add_option("--dry-base", p.dry.base, "DRY growth per token of repeat")->capture_default_str();
  app.add_option("--dry-allowed-length", p.dry.allowed_length, "Repeats this long are not penalised")
      ->capture_default_str();
  app.add_option("--dry-penalty-last-n", p.dry.last_n, "Tokens DRY searches (-1: all)")->capture_default_str();
  app.add_option("--dry-sequence-breaker", p.dry_sequence_breakers,
                 "Text that ends a repeat for DRY (repeatable; replaces the defaults \\n : \" *)");
  app.add_option("--xtc-probability", p.xtc_probability, "Chance per step to exclude the top choices (0: off)")
      ->capture_default_str();
  app.add_option("--xtc-threshold", p.xtc_threshold, "XTC: probability a top choice must have")->capture_default_str();
  app.add_option("--dynatemp-range", p.dynatemp_range, "Dynamic temperature range (0: off)")->capture_default_str();
  app.add_option("--dynatemp-exp", p.dynatemp_exponent, "Dynamic temperature exponent")->capture_default_str();
  app.add_option("--mirostat", p.mirostat, "Mirostat version (0: off, 1, 2); replaces top-k/p/min-p")
      ->capture_default_str();
  app.add_option("--mirostat-lr", p.mirostat_eta, "Mirostat learning rate (eta)")->capture_default_str();
  app.add_option("--mirostat-ent", p.mirostat_tau, "Mirostat target entropy (tau)")->capture_default_str();
  app.add_option("-l,--logit-bias", o.logit_bias, "TOKEN_ID+BIAS or TOKEN_ID-BIAS (repeatable; -inf bans)");
  app.add_option("--samplers", o.samplers, "Order of the samplers, ';'-separated (default " + default_order_text() + ")");
  app.add_option("-s,--seed", p.seed, "Random seed")->capture_default_str();
  app.add_option("--grammar", o.grammar, "GBNF grammar the output must follow");
  app.add_option("--grammar-file", o.grammar_file, "File with a GBNF grammar")->check(CLI::ExistingFile);
  app.add_option("-j,--json-schema", o.json_schema, "JSON Schema the output must satisfy (JSON text)");
  app.add_option("--json-schema-file", o.json_schema_file, "File with a JSON Schema")->check(CLI::ExistingFile);
  app.add_flag("--json-mode", o.json, "Output is a JSON object (JSON mode)");
  app.add_option("--loop-guard", o.loop_guard,
                 "When the output repeats a cycle: penalize (switch on repetition penalties, stop if it "
                 "persists), stop, or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"penalize", "stop", "off"}));
}

Expected<GenerateOptions> make_generate_options(const SamplingCliOptions& o, const Tokenizer& tokenizer,
                                                int64_t n_predict) {
  GenerateOptions g;
  g.n_predict = n_predict;
  g.sampling = o.params;
  if (!o.samplers.empty()) MX_TRY_ASSIGN(g.sampling.order, parse_sampler_order(o.samplers));
  for (const std::string& b : o.logit_bias) {
    TokenBias bias{};
    MX_TRY_ASSIGN(bias, parse_logit_bias(b, tokenizer.vocab().size()));
    g.sampling.logit_bias.push_back(bias);
  }
  g.loop_guard.mode = *loop_guard_mode_from_name(o.loop_guard);
  if (auto st = finish_sampling(g, sampling_vocab(tokenizer)); !st) return st.error();
  std::string grammar_text;
  MX_TRY_ASSIGN(grammar_text, grammar_text_of(o));
  if (!grammar_text.empty()) {
    auto grammar = parse_gbnf(grammar_text);
    if (!grammar) return make_error("grammar: {}", grammar.error().message);
    g.sampling.grammar = grammar_constraint(std::make_shared<const Grammar>(std::move(*grammar)), g.sampling.texts, tokenizer);
  }
  return g;
}

}  // namespace mx::cli
