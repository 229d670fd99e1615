// libFuzzer target: arbitrary model output through every tool-call and reasoning parser.
// Must never crash, hang or throw; and the result may not depend on how the text arrives:
// whole, one byte at a time, or in the chunks the input's own bytes choose must give the
// same text, reasoning and calls (as a streamed reply must equal the whole one).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "chat/output_parser.h"

namespace {

using mx::chat::OutputEvent;
using mx::chat::OutputParser;
using mx::chat::ParserOptions;

constexpr mx::chat::ToolCallFormat kFormats[] = {
    mx::chat::ToolCallFormat::kNone,          mx::chat::ToolCallFormat::kHermes,
    mx::chat::ToolCallFormat::kLlama3,        mx::chat::ToolCallFormat::kMistral,
    mx::chat::ToolCallFormat::kGptOss,        mx::chat::ToolCallFormat::kGenericJson,
    mx::chat::ToolCallFormat::kDeepSeek,      mx::chat::ToolCallFormat::kFunctionaryV32,
    mx::chat::ToolCallFormat::kFunctionaryV31, mx::chat::ToolCallFormat::kCommandR7B,
    mx::chat::ToolCallFormat::kGranite,       mx::chat::ToolCallFormat::kQwen3Coder,
};

// A reply put back together from its events.
struct Merged {
  std::string text, reasoning;
  std::vector<std::string> calls;  // "name(arguments)"
  bool operator==(const Merged&) const = default;
};

void merge(const std::vector<OutputEvent>& events, Merged& m) {
  for (const OutputEvent& e : events) {
    switch (e.kind) {
      case OutputEvent::Kind::kText: m.text += e.text; break;
      case OutputEvent::Kind::kReasoning: m.reasoning += e.text; break;
      case OutputEvent::Kind::kToolCallStart:
        if (e.index != static_cast<int>(m.calls.size())) std::abort();  // calls numbered in order
        m.calls.push_back(e.name + "(");
        break;
      case OutputEvent::Kind::kToolCallArguments:
        if (m.calls.empty() || e.index != static_cast<int>(m.calls.size()) - 1) std::abort();
        m.calls.back() += e.text;
        break;
    }
  }
}

Merged run(const ParserOptions& options, std::string_view text, const std::vector<size_t>& cuts) {
  OutputParser parser(options);
  Merged m;
  size_t at = 0;
  for (size_t cut : cuts) {
    merge(parser.push(text.substr(at, cut - at)), m);
    at = cut;
  }
  merge(parser.push(text.substr(at)), m);
  merge(parser.finish(), m);
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > 4096) return 0;
  ParserOptions options;
  options.tools = kFormats[data[0] % std::size(kFormats)];
  options.reasoning = data[1] & 1 ? mx::chat::ReasoningFormat::kThinkTags : mx::chat::ReasoningFormat::kNone;
  options.starts_in_reasoning = (data[1] & 2) != 0;
  options.reasoning_inline = (data[1] & 4) != 0;
  if (data[1] & 8) options.tool_names = {"get_weather", "f"};
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);

  const Merged whole = run(options, text, {});
  std::vector<size_t> every;
  for (size_t i = 1; i < text.size(); ++i) every.push_back(i);
  if (!(run(options, text, every) == whole)) {
    std::fprintf(stderr, "output_parser_fuzz: byte-by-byte differs from whole (format %d)\n", data[0] % 12);
    std::abort();
  }
  std::vector<size_t> chosen;  // cuts at the bytes below 0x20: the input picks its own chunks
  for (size_t i = 1; i < text.size(); ++i)
    if (static_cast<uint8_t>(text[i]) < 0x20) chosen.push_back(i);
  if (!(run(options, text, chosen) == whole)) {
    std::fprintf(stderr, "output_parser_fuzz: chunked differs from whole (format %d)\n", data[0] % 12);
    std::abort();
  }
  return 0;
}
