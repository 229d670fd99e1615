#include "tokenizer/vocab.h"

#include <algorithm>
#include <cctype>

#include "core/log.h"
#include "gguf/gguf_file.h"
#include "tokenizer/byte_map.h"
#include "tokenizer/pre_tokenizer.h"

namespace mx {
namespace {

// Metadata keys, in one place.
namespace key {
constexpr std::string_view kModel = "tokenizer.ggml.model";
constexpr std::string_view kPre = "tokenizer.ggml.pre";
constexpr std::string_view kTokens = "tokenizer.ggml.tokens";
constexpr std::string_view kScores = "tokenizer.ggml.scores";
constexpr std::string_view kTypes = "tokenizer.ggml.token_type";
constexpr std::string_view kMerges = "tokenizer.ggml.merges";
constexpr std::string_view kBos = "tokenizer.ggml.bos_token_id";
constexpr std::string_view kEos = "tokenizer.ggml.eos_token_id";
constexpr std::string_view kUnk = "tokenizer.ggml.unknown_token_id";
constexpr std::string_view kPad = "tokenizer.ggml.padding_token_id";
constexpr std::string_view kAddBos = "tokenizer.ggml.add_bos_token";
constexpr std::string_view kAddEos = "tokenizer.ggml.add_eos_token";
constexpr std::string_view kAddSpacePrefix = "tokenizer.ggml.add_space_prefix";
constexpr std::string_view kSep = "tokenizer.ggml.seperator_token_id";  // sic, as written by gguf-py
constexpr std::string_view kAddSep = "tokenizer.ggml.add_sep_token";
constexpr std::string_view kLowercase = "tokenizer.ggml.normalizer.lowercase";
constexpr std::string_view kStripAccents = "tokenizer.ggml.normalizer.strip_accents";
constexpr std::string_view kName = "general.name";
}  // namespace key

// Tokens that stop generation besides EOS (the lists llama.cpp keeps, since GGUF files do
// not mark them). End-of-turn tokens some conversions store as normal text are made
// control tokens, as llama.cpp does, so a reply never prints them and typed text never
// becomes them; the others keep their type (Phi-3's "</s>" is user-defined and must stay so).
struct EogText {
  std::string_view text;
  bool force_control;
};
constexpr EogText kEogTexts[] = {
    {"<|eot_id|>", true}, {"<|im_end|>", true}, {"<|end|>", true}, {"<end_of_turn>", true},
    {"<|endoftext|>", true}, {"<EOT>", true}, {"_<EOT>", true}, {"<end_of_utterance>", true},
    {"<ï½" "endâofâsentenceï½>", true},  // DeepSeek
    {"<|eom_id|>", false}, {"<|end_of_text|>", false}, {"<|return|>", false}, {"<|call|>", false},
    {"</s>", false}, {"<eos>", false}, {"[EOT]", false}, {"[EOS]", false},
};

// Reads an array key whose items must all have one type; nullptr when the key is absent.
Expected<const gguf::Array*> get_array(const gguf::File& file, std::string_view k,
                                       gguf::ValueType want) {
  const gguf::Value* v = file.find(k);
  if (!v) return static_cast<const gguf::Array*>(nullptr);
  const gguf::Array* a = v->as_array();
  if (!a) return make_error("{}: {} is a {}, expected an array", file.name(), k,
                            gguf::value_type_name(v->type()));
  if (!a->items.empty() && a->elem_type != want)
    return make_error("{}: {} holds {} items, expected {}", file.name(), k,
                      gguf::value_type_name(a->elem_type), gguf::value_type_name(want));
  return a;
}

Status read_strings(const gguf::File& file, std::string_view k, std::vector<std::string>& out) {
  const gguf::Array* a = nullptr;
  MX_TRY_ASSIGN(a, get_array(file, k, gguf::ValueType::kString));
  if (!a) return {};
  out.reserve(a->items.size());
  for (const gguf::Value& item : a->items) {
    const std::string* str = item.as_string();
    if (!str) return make_error("{}: {} has an item that is not a string", file.name(), k);
    out.push_back(*str);
  }
  return {};
}

// Integer keys may be stored as any integer type; a float or string there is an error.
Status read_int(const gguf::File& file, std::string_view k, std::optional<int64_t>& out) {
  const gguf::Value* v = file.find(k);
  if (!v) return {};
  out = v->as_int();
  if (!out) return make_error("{}: {} is a {}, expected an integer", file.name(), k,
                              gguf::value_type_name(v->type()));
  return {};
}

Status read_bool(const gguf::File& file, std::string_view k, std::optional<bool>& out) {
  const gguf::Value* v = file.find(k);
  if (!v) return {};
  out = v->as_bool();
  if (!out) return make_error("{}: {} is a {}, expected a bool", file.name(), k,
                              gguf::value_type_name(v->type()));
  return {};
}

Expected<Token> resolve_id(std::optional<int64_t> given, Token fallback, int32_t n,
                           std::string_view what) {
  if (!given) return fallback < n ? fallback : kNoToken;
  // Converters write -1 (or its u32 form) for "no such token".
  if (*given == -1 || *given == 0xFFFFFFFFll) return kNoToken;
  if (*given < 0 || *given >= n)
    return make_error("{} id {} is outside the vocabulary of {} tokens", what, *given, n);
  return static_cast<Token>(*given);
}

// "<0xAB>" -> 0xAB.
std::optional<uint8_t> parse_byte_token(std::string_view t) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return std::nullopt;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int hi = hex(t[3]), lo = hex(t[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return static_cast<uint8_t>(hi * 16 + lo);
}

std::string ascii_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Expected<Vocab> Vocab::from_gguf(const gguf::File& file) {
  VocabSpec spec;
  std::optional<std::string> model = file.get_string(key::kModel);
  if (!model) return make_error("{}: {} is missing or not a string", file.name(), key::kModel);
  spec.model = *model;
  spec.pre = file.get_string(key::kPre).value_or("");
  spec.name = file.get_string(key::kName).value_or("");

  if (auto st = read_strings(file, key::kTokens, spec.tokens); !st) return st.error();
  if (spec.tokens.empty()) return make_error("{}: {} is missing or empty", file.name(), key::kTokens);
  if (auto st = read_strings(file, key::kMerges, spec.merges); !st) return st.error();

  // Scores are f32; a few converters wrote i32, which llama.cpp accepts too.
  const gguf::Array* scores = nullptr;
  const gguf::Value* score_value = file.find(key::kScores);
  const bool int_scores = score_value && score_value->as_array() &&
                          score_value->as_array()->elem_type == gguf::ValueType::kI32;
  MX_TRY_ASSIGN(scores, get_array(file, key::kScores,
                                  int_scores ? gguf::ValueType::kI32 : gguf::ValueType::kF32));
  if (scores) {
    spec.scores.reserve(scores->items.size());
    for (const gguf::Value& v : scores->items) {
      std::optional<double> f = v.as_float();
      if (!f) return make_error("{}: {} has an item that is not a number", file.name(), key::kScores);
      spec.scores.push_back(static_cast<float>(*f));
    }
  }
  const gguf::Array* types = nullptr;
  MX_TRY_ASSIGN(types, get_array(file, key::kTypes, gguf::ValueType::kI32));
  if (types) {
    spec.types.reserve(types->items.size());
    for (const gguf::Value& v : types->items) {
      std::optional<int64_t> t = v.as_int();
      if (!t) return make_error("{}: {} has an item that is not an integer", file.name(), key::kTypes);
      spec.types.push_back(static_cast<int32_t>(*t));
    }
  }

  const std::pair<std::string_view, std::optional<int64_t>*> ids[] = {
      {key::kBos, &spec.bos}, {key::kEos, &spec.eos}, {key::kUnk, &spec.unk}, {key::kPad, &spec.pad},
      {key::kSep, &spec.sep}};
  for (const auto& [k, out] : ids)
    if (auto st = read_int(file, k, *out); !st) return st.error();
  const std::pair<std::string_view, std::optional<bool>*> flags[] = {
      {key::kAddBos, &spec.add_bos}, {key::kAddEos, &spec.add_eos},
      {key::kAddSpacePrefix, &spec.add_space_prefix}, {key::kAddSep, &spec.add_sep},
      {key::kLowercase, &spec.lowercase}, {key::kStripAccents, &spec.strip_accents}};
  for (const auto& [k, out] : flags)
    if (auto st = read_bool(file, k, *out); !st) return st.error();

  auto vocab = create(std::move(spec));
  if (!vocab) return make_error("{}: {}", file.name(), vocab.error().message);
  return vocab;
}

Expected<Vocab> Vocab::create(VocabSpec spec) {
  Vocab v;
  v.model_ = spec.model;
  v.pre_ = spec.pre;
  Token def_bos = kNoToken, def_eos = kNoToken, def_unk = kNoToken, def_sep = kNoToken;
  if (spec.model == "llama") {
    // SentencePiece conventions: <unk> 0, <s> 1, </s> 2, BOS added, space prefix.
    v.kind_ = VocabKind::kSpm;
    def_bos = 1, def_eos = 2, def_unk = 0;
    v.add_bos_ = true;
    v.add_space_prefix_ = true;
  } else if (spec.model == "gpt2") {
    v.kind_ = VocabKind::kBpe;
    if (spec.merges.empty()) return make_error("BPE vocabulary without tokenizer.ggml.merges");
    // llama.cpp's rules: no name means "default" (with a warning, the split is probably
    // not the model's); a name it does not know is refused.
    const PreTokenizerSpec* pre = find_pre_tokenizer(spec.pre);
    if (!pre) return make_error("unknown BPE pre-tokenizer '{}' (tokenizer.ggml.pre)", spec.pre);
    if (!pre->supported)
      return make_error("BPE pre-tokenizer '{}' (tokenizer.ggml.pre) is not supported", spec.pre);
    if (spec.pre.empty())
      MX_LOG_WARN("BPE vocabulary without tokenizer.ggml.pre: using the default pre-tokenizer; "
                  "generation quality may suffer");
    v.ignore_merges_ = pre->ignore_merges;
    v.clean_spaces_ = pre->clean_spaces;
    v.add_bos_ = pre->add_bos;
  } else if (spec.model == "bert") {
    // BERT conventions (llama.cpp's): [CLS] 101 as BOS, [UNK] 100, [SEP] 102 after the text.
    v.kind_ = VocabKind::kWpm;
    def_bos = 101, def_unk = 100, def_sep = 102;
    v.add_bos_ = true;
    v.add_sep_ = true;
  } else {
    return make_error("unsupported tokenizer model '{}' (expected 'llama', 'gpt2' or 'bert')", spec.model);
  }

  const size_t n = spec.tokens.size();
  if (n == 0) return make_error("the vocabulary has no tokens");
  if (n > static_cast<size_t>(INT32_MAX)) return make_error("the vocabulary has {} tokens", n);
  if (!spec.scores.empty() && spec.scores.size() != n)
    return make_error("tokenizer.ggml.scores has {} entries for {} tokens", spec.scores.size(), n);
  if (!spec.types.empty() && spec.types.size() != n)
    return make_error("tokenizer.ggml.token_type has {} entries for {} tokens", spec.types.size(), n);

  v.tokens_.resize(n);
  v.token_to_byte_.assign(n, 0);
  v.text_to_id_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    TokenInfo& t = v.tokens_[i];
    t.text = std::move(spec.tokens[i]);
    // An empty text could never be matched or decoded; name it like llama.cpp does.
    if (t.text.empty()) t.text = "[EMPTY_" + std::to_string(i) + "]";
    t.score = spec.scores.empty() ? 0.0f : spec.scores[i];
    const int32_t type = spec.types.empty() ? 1 : spec.types[i];
    t.type = type >= 0 && type <= 6 ? static_cast<TokenType>(type) : TokenType::kUndefined;
    const auto id = static_cast<Token>(i);
    if (auto [it, fresh] = v.text_to_id_.emplace(t.text, id); !fresh)
      return make_error("token {} repeats the text '{}' of token {}", i, t.text, it->second);
    if (t.type == TokenType::kByte) {
      std::optional<uint8_t> b = parse_byte_token(t.text);
      if (!b) return make_error("token {} is a byte token but its text '{}' is not <0xNN>", i, t.text);
      v.token_to_byte_[i] = *b;
    }
    v.max_token_length_ = std::max(v.max_token_length_, t.text.size());
  }

  const auto n32 = static_cast<int32_t>(n);
  MX_TRY_ASSIGN(v.bos_, resolve_id(spec.bos, def_bos, n32, "BOS (tokenizer.ggml.bos_token_id)"));
  MX_TRY_ASSIGN(v.eos_, resolve_id(spec.eos, def_eos, n32, "EOS (tokenizer.ggml.eos_token_id)"));
  MX_TRY_ASSIGN(v.unk_, resolve_id(spec.unk, def_unk, n32, "UNK (tokenizer.ggml.unknown_token_id)"));
  MX_TRY_ASSIGN(v.pad_, resolve_id(spec.pad, kNoToken, n32, "PAD (tokenizer.ggml.padding_token_id)"));
  MX_TRY_ASSIGN(v.sep_, resolve_id(spec.sep, def_sep, n32, "SEP (tokenizer.ggml.seperator_token_id)"));
  v.add_sep_ = spec.add_sep.value_or(v.add_sep_);
  // HF's BertNormalizer: accents go when lowercasing unless said otherwise.
  v.lowercase_ = spec.lowercase.value_or(true);
  v.strip_accents_ = spec.strip_accents.value_or(v.lowercase_);
  v.add_bos_ = spec.add_bos.value_or(v.add_bos_);
  v.add_eos_ = spec.add_eos.value_or(v.add_eos_);
  v.add_space_prefix_ = spec.add_space_prefix.value_or(v.add_space_prefix_);
  if (v.add_bos_ && v.bos_ == kNoToken)
    return make_error("tokenizer.ggml.add_bos_token is true but there is no BOS token");
  if (v.add_eos_ && v.eos_ == kNoToken)
    return make_error("tokenizer.ggml.add_eos_token is true but there is no EOS token");
  if (v.add_sep_ && v.sep_ == kNoToken)
    return make_error("tokenizer.ggml.add_sep_token is true but there is no SEP token");

  // Byte fallback looks tokens up by text, as SentencePiece does: "<0x0A>", else the byte
  // itself; byte-level BPE spells bytes with GPT-2's characters.
  for (int b = 0; b < 256; ++b) {
    if (v.kind_ == VocabKind::kBpe) {
      v.byte_to_token_[b] = v.find(byte_map::char_of(static_cast<uint8_t>(b)));
      continue;
    }
    static constexpr char kHex[] = "0123456789ABCDEF";
    const char name[] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
    Token id = v.find(std::string_view(name, sizeof(name)));
    if (id == kNoToken) id = v.find(std::string(1, static_cast<char>(b)));
    v.byte_to_token_[b] = id;
  }

  v.eog_.assign(n, 0);
  if (v.eos_ != kNoToken) v.eog_[v.eos_] = 1;
  for (const EogText& t : kEogTexts) {
    const Token id = v.find(t.text);
    if (id == kNoToken) continue;
    v.eog_[id] = 1;
    if (t.force_control && v.tokens_[id].type != TokenType::kControl) {
      MX_LOG_DEBUG("end-of-turn token {} '{}' was not control-type; treating it as control", id, t.text);
      v.tokens_[id].type = TokenType::kControl;
    }
  }

  for (Token id = 0; id < n32; ++id) {
    const TokenType t = v.type(id);
    if (t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown)
      v.special_tokens_.push_back(id);
  }
  std::stable_sort(v.special_tokens_.begin(), v.special_tokens_.end(), [&](Token a, Token b) {
    return v.text(a).size() > v.text(b).size();
  });

  // Phi-3's tokenizer strips whitespace after its special tokens (llama.cpp keys this
  // on the model name, since GGUF has no field for it).
  const std::string name = ascii_lower(spec.name);
  if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
    for (Token id : v.special_tokens_) v.tokens_[id].rstrip = true;
    if (Token id = v.find("</s>"); id != kNoToken) v.tokens_[id].rstrip = true;
    for (std::string_view t : {"<unk>", "<s>", "<|endoftext|>"})
      if (Token id = v.find(t); id != kNoToken) v.tokens_[id].rstrip = false;
  }

  v.merges_ = std::move(spec.merges);
  return v;
}

bool Vocab::is_control(Token id) const {
  const TokenType t = type(id);
  return t == TokenType::kControl || t == TokenType::kUnknown;
}

bool Vocab::is_eog(Token id) const { return contains(id) && eog_[id] != 0; }

Token Vocab::find(std::string_view text) const {
  auto it = text_to_id_.find(text);
  return it == text_to_id_.end() ? kNoToken : it->second;
}

}  // namespace mx
