// libFuzzer target: random bytes parsed as a chat template and rendered with a small fixed
// conversation. Must never crash, hang or leak: the step, depth and size limits bound every
// input. Also checks that rendering is deterministic (a second render of the same parsed
// template gives the same result), which catches state leaking between renders.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "chat/template.h"

namespace {

const nlohmann::ordered_json& context() {
  static const nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Hi <b> & \"you\" é"},
      {"role": "assistant", "content": "", "reasoning_content": "think",
       "tool_calls": [{"id": "a1b2c3d4e", "type": "function",
                       "function": {"name": "f", "arguments": {"x": [1, 2.5, null, true]}}}]},
      {"role": "tool", "tool_call_id": "a1b2c3d4e", "content": "{\"ok\": 1}"},
      {"role": "user", "content": ["part", {"type": "text", "text": "t"}]}
    ],
    "tools": [{"type": "function", "function": {"name": "f", "description": "d",
               "parameters": {"type": "object", "properties": {"x": {"type": "array"}}}}}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"
  })");
  return ctx;
}

mx::chat::RenderOptions options() {
  mx::chat::RenderOptions o;
  o.max_output_bytes = 1 << 16;
  o.max_steps = 10000;
  o.max_call_depth = 40;
  o.now = std::tm{};
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view source(reinterpret_cast<const char*>(data), size);
  auto tmpl = mx::chat::ChatTemplate::parse(source);
  if (!tmpl) return 0;
  static const mx::chat::RenderOptions opts = options();
  auto first = tmpl->render(context(), opts);
  auto second = tmpl->render(context(), opts);
  const std::string a = first ? *first : "error: " + first.error().message;
  const std::string b = second ? *second : "error: " + second.error().message;
  if (a != b) {
    std::fprintf(stderr, "template_fuzz: two renders differ\nfirst:  %s\nsecond: %s\n", a.c_str(), b.c_str());
    std::abort();
  }
  return 0;
}
