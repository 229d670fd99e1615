#include "tokenizer/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <string>

#include "core/log.h"

namespace mx {
namespace {

// ---- The patterns (llama.cpp's strings; non-ASCII written as \x{..} so that no editor
// or normalizer can turn U+2126 OHM SIGN into U+03A9 and change a range) ----

// GPT-2: contractions, letters, digits, other symbols, each with an optional leading space.
constexpr std::string_view kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
// Llama 3 (tokenizer.json has (?i:'s|...); llama.cpp spells the case-insensitivity out).
constexpr std::string_view kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen2: as Llama 3 but one digit per word.
constexpr std::string_view kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen3.5: combining marks stay with their letters.
constexpr std::string_view kQwen35 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Jais 2: Llama 3 with whitespace runs cut into power-of-two lengths.
constexpr std::string_view kJais2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1})";
// Punctuation runs first (falcon and the default).
constexpr std::string_view kPunctRuns = R"([\p{P}\$\+<=>\^~\|]+)";
constexpr std::string_view kThreeDigits = R"([0-9][0-9][0-9])";
// CJK ideographs, then U+0800..U+4E00 and Hangul, as DeepSeek's tokenizer.json has them.
constexpr std::string_view kDeepseekCjk = R"([\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}]+)";
// DeepSeek LLM: cased letters of every script (not \p{L}: CJK is split separately).
constexpr std::string_view kDeepseekLetters =
    R"(\s?[\x{41}-\x{5A}\x{61}-\x{7A}\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF})"
    R"(\x{1C4}-\x{293}\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386})"
    R"(\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F})"
    R"(\x{531}-\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA})"
    R"(\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15})"
    R"(\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B})"
    R"(\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4})"
    R"(\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4})"
    R"(\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124})"
    R"(\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F})"
    R"(\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4})"
    R"(\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F})"
    R"(\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17})"
    R"(\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB})"
    R"(\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)";
// ASCII and full-width punctuation, curly quotes, ideographic space .. full stop.
constexpr std::string_view kDeepseekPunct =
    R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)";
// DeepSeek V3: CJK and kana runs, then one rule set; ASCII punctuation may lead a word.
constexpr std::string_view kDeepseek3Cjk = R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)";
constexpr std::string_view kDeepseek3 =
    R"re([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// BLOOM / Poro / GPT-3 Finnish: anything up to a space or sentence punctuation.
constexpr std::string_view kBloom =
    R"( ?[^(\s|.,!?\x{2026}\x{3002}\x{FF0C}\x{3001}\x{0964}\x{06D4}\x{060C})]+)";
// Tekken and GPT-4o: llama.cpp's rewrite of [\p{Lu}..]*[\p{Ll}..]+ with lookaheads.
constexpr std::string_view kTekken =
    R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kGpt4o =
    R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kGraniteEmbMulti =
    R"([^\r\n\p{L}\p{N}]?((?=[\p{L}\p{M}])([^a-z]))*((?=[\p{L}\p{M}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}\p{M}])([^a-z]))+((?=[\p{L}\p{M}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kTinyAya =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kBailing =
    R"('(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)";
constexpr std::string_view kSeedCoder =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen2 without contractions, so Turkish apostrophe suffixes stay attached.
constexpr std::string_view kUfakzeka =
    R"([^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kExaoneMoe =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+)";
constexpr std::string_view kMiniCpm5 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// ---- Regex lists per pre-tokenizer type (the order matters) ----
constexpr std::string_view kDefaultRx[] = {kPunctRuns, kGpt2, R"(\p{N}+)", kThreeDigits};
constexpr std::string_view kGpt2Rx[] = {kGpt2};
constexpr std::string_view kLlama3Rx[] = {kLlama3};
constexpr std::string_view kQwen2Rx[] = {kQwen2};
constexpr std::string_view kQwen35Rx[] = {kQwen35};
constexpr std::string_view kJais2Rx[] = {kJais2};
constexpr std::string_view kDeepseekLlmRx[] = {R"([\r\n])", kDeepseekLetters, kDeepseekPunct, R"(\s+$)",
                                               kDeepseekCjk, R"(\p{N}+)"};
constexpr std::string_view kDeepseekCoderRx[] = {R"([\r\n])", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kDeepseekCjk,
                                                 R"(\p{N})"};
constexpr std::string_view kDeepseek3Rx[] = {R"(\p{N}{1,3})", kDeepseek3Cjk, kDeepseek3};
constexpr std::string_view kFalconRx[] = {kPunctRuns, kGpt2, kThreeDigits};
constexpr std::string_view kStarcoderRx[] = {R"(\p{N})", kGpt2};
constexpr std::string_view kBloomRx[] = {kBloom};
constexpr std::string_view kVikingRx[] = {kBloom, R"(\p{N})"};
constexpr std::string_view kTekkenRx[] = {kTekken};
constexpr std::string_view kChameleonRx[] = {
    R"(<sentinel:[0-9]+>)", R"((IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z)", R"(([\t\n]|    |  ))", R"(\p{N})",
    R"([\p{P}!-/:-@\[-`{-~])", kGpt2};
constexpr std::string_view kGpt4oRx[] = {kGpt4o};
constexpr std::string_view kGraniteEmbMultiRx[] = {kGraniteEmbMulti};
constexpr std::string_view kTinyAyaRx[] = {R"(\d{1,3}(?=(?:\d{3})*\b))", kTinyAya};
constexpr std::string_view kSuperBpeRx[] = {R"(\p{N}+)", R"((?=(\d{3})+(?!\d)))"};
constexpr std::string_view kBailingRx[] = {kBailing};
constexpr std::string_view kSeedCoderRx[] = {kSeedCoder};
constexpr std::string_view kUfakzekaRx[] = {kUfakzeka};
constexpr std::string_view kLagunaRx[] = {R"([^\n]+|[\n]+)", kQwen2};
constexpr std::string_view kExaoneMoeRx[] = {kExaoneMoe};
constexpr std::string_view kMiniCpm5Rx[] = {R"(\p{N}{1,3})", kMiniCpm5};

// ---- tokenizer.ggml.pre names, grouped as llama.cpp's llama_vocab::impl::load maps them ----
constexpr std::string_view kDefaultNames[] = {"", "default"};
constexpr std::string_view kGpt2Names[] = {
    "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
    "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe", "exaone4", "mpt", "olmo", "jais"};
constexpr std::string_view kGpt2KeepSpacesNames[] = {"trillion", "granite-docling"};
constexpr std::string_view kLlama3Names[] = {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1",
                                             "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"};
constexpr std::string_view kLlama3RegexNames[] = {"dbrx", "smaug-bpe", "glm4", "chatglm-bpe"};
constexpr std::string_view kDeepseekLlmNames[] = {"deepseek-llm"};
constexpr std::string_view kDeepseekCoderNames[] = {"deepseek-coder"};
constexpr std::string_view kDeepseek3Names[] = {"deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4"};
constexpr std::string_view kFalconNames[] = {"falcon"};
constexpr std::string_view kStarcoderNames[] = {"starcoder", "refact", "codeshell", "exaone", "minerva-7b",
                                                "mellum2"};
constexpr std::string_view kStarcoderKeepSpacesNames[] = {"command-r", "smollm"};
constexpr std::string_view kQwen2Names[] = {"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan",
                                            "solar-open", "grok-2"};
constexpr std::string_view kQwen2CleanNames[] = {"megrez", "stablelm2"};
constexpr std::string_view kQwen35Names[] = {"qwen35"};
constexpr std::string_view kJais2Names[] = {"jais-2"};
constexpr std::string_view kBloomNames[] = {"bloom", "gpt3-finnish"};
constexpr std::string_view kPoroNames[] = {"poro-chat"};
constexpr std::string_view kVikingNames[] = {"viking"};
constexpr std::string_view kTekkenNames[] = {"tekken"};
constexpr std::string_view kChameleonNames[] = {"chameleon"};
constexpr std::string_view kGpt4oNames[] = {"gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"};
constexpr std::string_view kGraniteEmbMultiNames[] = {"granite-embed-multi-97m"};
constexpr std::string_view kTinyAyaNames[] = {"tiny_aya", "cohere2moe"};
constexpr std::string_view kSuperBpeNames[] = {"superbpe"};
constexpr std::string_view kBailingNames[] = {"bailingmoe", "bailingmoe2", "llada-moe"};
constexpr std::string_view kSeedCoderNames[] = {"seed-coder"};
constexpr std::string_view kUfakzekaNames[] = {"ufakzeka"};
constexpr std::string_view kLagunaNames[] = {"laguna"};
constexpr std::string_view kExaoneMoeNames[] = {"exaone-moe"};
constexpr std::string_view kMiniCpm5Names[] = {"minicpm5"};
// Known to llama.cpp but tokenized by custom code (digit grouping, Han handling, SPM-style
// BPE without byte encoding): refused rather than tokenized wrongly.
constexpr std::string_view kUnsupportedNames[] = {
    "kimi-k2", "afmoe", "gemma4", "granite-embed-multi-311m", "sarvam-moe", "whitespace",
    "youtu", "spark2_5"};

constexpr PreTokenizerSpec kTable[] = {
    {.names = kDefaultNames, .regexes = kDefaultRx},
    {.names = kGpt2Names, .regexes = kGpt2Rx},
    {.names = kGpt2KeepSpacesNames, .regexes = kGpt2Rx, .clean_spaces = false},
    {.names = kLlama3Names, .regexes = kLlama3Rx, .ignore_merges = true, .add_bos = true},
    {.names = kLlama3RegexNames, .regexes = kLlama3Rx},
    {.names = kDeepseekLlmNames, .regexes = kDeepseekLlmRx, .clean_spaces = false},
    {.names = kDeepseekCoderNames, .regexes = kDeepseekCoderRx, .clean_spaces = false},
    {.names = kDeepseek3Names, .regexes = kDeepseek3Rx, .clean_spaces = false},
    {.names = kFalconNames, .regexes = kFalconRx},
    {.names = kStarcoderNames, .regexes = kStarcoderRx},
    {.names = kStarcoderKeepSpacesNames, .regexes = kStarcoderRx, .clean_spaces = false},
    {.names = kQwen2Names, .regexes = kQwen2Rx, .clean_spaces = false},
    {.names = kQwen2CleanNames, .regexes = kQwen2Rx},
    {.names = kQwen35Names, .regexes = kQwen35Rx, .clean_spaces = false},
    {.names = kJais2Names, .regexes = kJais2Rx},
    {.names = kBloomNames, .regexes = kBloomRx},
    {.names = kPoroNames, .regexes = kBloomRx, .clean_spaces = false},
    {.names = kVikingNames, .regexes = kVikingRx, .clean_spaces = false},
    {.names = kTekkenNames, .regexes = kTekkenRx, .ignore_merges = true, .clean_spaces = false, .add_bos = true},
    {.names = kChameleonNames, .regexes = kChameleonRx, .clean_spaces = false, .add_bos = true},
    {.names = kGpt4oNames, .regexes = kGpt4oRx, .clean_spaces = false},
    {.names = kGraniteEmbMultiNames, .regexes = kGraniteEmbMultiRx, .ignore_merges = true, .clean_spaces = false},
    {.names = kTinyAyaNames, .regexes = kTinyAyaRx, .clean_spaces = false},
    {.names = kSuperBpeNames, .regexes = kSuperBpeRx, .clean_spaces = false},
    {.names = kBailingNames, .regexes = kBailingRx, .clean_spaces = false},
    {.names = kSeedCoderNames, .regexes = kSeedCoderRx, .clean_spaces = false},
    {.names = kUfakzekaNames, .regexes = kUfakzekaRx, .clean_spaces = false},
    {.names = kLagunaNames, .regexes = kLagunaRx, .clean_spaces = false},
    {.names = kExaoneMoeNames, .regexes = kExaoneMoeRx},
    {.names = kMiniCpm5Names, .regexes = kMiniCpm5Rx, .ignore_merges = true},
    {.names = kUnsupportedNames, .regexes = {}, .supported = false},
};

// Options every pattern is compiled with. DOLLAR_ENDONLY: '$' is the end of the piece,
// as in std::regex, not "before a final newline".
constexpr uint32_t kCompileOptions = PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY;

// Past this the JIT's machine stack (32 KiB) is too small for patterns that repeat a
// group (GPT-4o's lookahead rewrite on a very long word); the match is retried once on
// a heap stack of this size.
constexpr size_t kJitStackMax = 64u << 20;

struct MatchDataDeleter {
  void operator()(pcre2_match_data* d) const { pcre2_match_data_free(d); }
};
struct MatchContextDeleter {
  void operator()(pcre2_match_context* c) const { pcre2_match_context_free(c); }
};
struct JitStackDeleter {
  void operator()(pcre2_jit_stack* s) const { pcre2_jit_stack_free(s); }
};

// Scratch of one split() call.
class Matcher {
 public:
  Matcher() : data_(pcre2_match_data_create(1, nullptr)) {}

  // Finds the next match of `code` in subject[pos, len); false when there is none.
  // `options` may ask for PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED.
  bool next(const pcre2_code* code, std::string_view subject, size_t pos, uint32_t options,
            size_t& begin, size_t& end) {
    auto* s = reinterpret_cast<PCRE2_SPTR>(subject.data());
    options |= PCRE2_NO_UTF_CHECK;  // the text was made valid UTF-8 before splitting
    int rc = pcre2_match(code, s, subject.size(), pos, options, data_.get(), context_.get());
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !context_) {
      context_.reset(pcre2_match_context_create(nullptr));
      stack_.reset(pcre2_jit_stack_create(32u << 10, kJitStackMax, nullptr));
      pcre2_jit_stack_assign(context_.get(), nullptr, stack_.get());
      rc = pcre2_match(code, s, subject.size(), pos, options, data_.get(), context_.get());
    }
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    if (rc < 0) {
      // Resource limits only (the patterns are fixed): the rest of the piece stays whole.
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      MX_LOG_WARN("pre-tokenizer: {} on a piece of {} bytes; not splitting it further",
                  reinterpret_cast<const char*>(message), subject.size());
      return false;
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data_.get());
    begin = ov[0];
    end = ov[1];
    return true;
  }

 private:
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> data_;
  std::unique_ptr<pcre2_match_context, MatchContextDeleter> context_;
  std::unique_ptr<pcre2_jit_stack, JitStackDeleter> stack_;
};

size_t utf8_step(std::string_view s, size_t pos) {
  const auto b = static_cast<uint8_t>(s[pos]);
  const size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  return std::min(n, s.size() - pos);
}

// One regex over one piece, the way std::regex_iterator walks it in llama.cpp: text
// between matches is kept as a piece; an empty match only marks a cut (it is retried
// non-empty at the same place, then the search moves one character on).
void split_piece(const pcre2_code* code, std::string_view text, Span piece, Matcher& m,
                 std::vector<Span>& out) {
  const std::string_view subject = text.substr(piece.begin, piece.end - piece.begin);
  auto emit = [&](size_t b, size_t e) {
    if (e > b) out.push_back({piece.begin + static_cast<uint32_t>(b), piece.begin + static_cast<uint32_t>(e)});
  };
  size_t last = 0, pos = 0;
  uint32_t options = 0;
  while (pos < subject.size()) {
    size_t begin = 0, end = 0;
    if (!m.next(code, subject, pos, options, begin, end)) {
      if (options == 0) break;
      options = 0;  // no non-empty match here after an empty one: step over a character
      pos += utf8_step(subject, pos);
      continue;
    }
    emit(last, begin);
    emit(begin, end);
    last = end;
    pos = end;
    options = begin == end ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0;
  }
  emit(last, subject.size());
}

}  // namespace

const PreTokenizerSpec* find_pre_tokenizer(std::string_view pre) {
  for (const PreTokenizerSpec& spec : kTable)
    for (std::string_view name : spec.names)
      if (name == pre) return &spec;
  return nullptr;
}

void PreTokenizer::CodeDeleter::operator()(pcre2_real_code_8* code) const { pcre2_code_free(code); }

PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;
PreTokenizer::~PreTokenizer() = default;

Expected<PreTokenizer> PreTokenizer::compile(std::span<const std::string_view> regexes) {
  PreTokenizer p;
  for (std::string_view rx : regexes) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    Code code(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(rx.data()), rx.size(), kCompileOptions, &error,
                            &offset, nullptr));
    if (!code) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof(message));
      return make_error("pre-tokenizer regex '{}': {} at offset {}", rx,
                        reinterpret_cast<const char*>(message), offset);
    }
    // JIT is an optimisation: without it (unsupported CPU, no executable memory)
    // pcre2_match interprets the same pattern.
    pcre2_jit_compile(code.get(), PCRE2_JIT_COMPLETE);
    p.codes_.push_back(std::move(code));
  }
  return p;
}

std::vector<Span> PreTokenizer::split(std::string_view text) const {
  std::vector<Span> pieces, next;
  if (text.empty()) return pieces;
  pieces.push_back({0, static_cast<uint32_t>(text.size())});
  Matcher m;
  for (const Code& code : codes_) {
    next.clear();
    next.reserve(pieces.size() + text.size() / 4);
    for (const Span& piece : pieces) split_piece(code.get(), text, piece, m, next);
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace mx
