// Recognising the tool-call and reasoning syntax of real chat templates (../shared/templates).
#include <gtest/gtest.h>

#include <string>

#include "chat/output_parser.h"
#include "test_paths.h"

namespace mx::chat {
namespace {

std::string load(const std::string& name) {
  std::string src = mx::test::read_text_file(mx::test::shared_path("templates/" + name));
  EXPECT_FALSE(src.empty()) << name;
  return src;
}

void expect_tools(const std::string& name, ToolCallFormat want) {
  const ToolCallFormat got = detect_tool_call_format(load(name));
  EXPECT_EQ(tool_call_format_name(got), tool_call_format_name(want)) << name;
}

TEST(ToolCallDetect, Hermes) {
  for (const char* name : {"Qwen-Qwen3-0.6B.jinja", "Qwen-Qwen2.5-7B-Instruct.jinja", "Qwen-QwQ-32B.jinja",
                           "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja",
                           "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja", "ibm-granite-granite-4.0.jinja"}) {
    expect_tools(name, ToolCallFormat::kHermes);
  }
}

TEST(ToolCallDetect, Llama3) {
  for (const char* name : {"meta-llama-Llama-3.1-8B-Instruct.jinja", "meta-llama-Llama-3.2-3B-Instruct.jinja",
                           "meta-llama-Llama-3.3-70B-Instruct.jinja"}) {
    expect_tools(name, ToolCallFormat::kLlama3);
  }
}

TEST(ToolCallDetect, Mistral) {
  for (const char* name : {"Mistral-Small-3.2-24B-Instruct-2506.jinja", "mistralai-Mistral-Nemo-Instruct-2407.jinja",
                           "unsloth-mistral-Devstral-Small-2507.jinja"}) {
    expect_tools(name, ToolCallFormat::kMistral);
  }
}

TEST(ToolCallDetect, GptOss) { expect_tools("openai-gpt-oss-120b.jinja", ToolCallFormat::kGptOss); }

TEST(ToolCallDetect, UnsupportedOrAbsentSyntaxIsNone) {
  // No tool markers at all, and XML-argument dialects this module does not parse.
  for (const char* name : {"google-gemma-2-2b-it.jinja", "microsoft-Phi-3.5-mini-instruct.jinja", "Qwen3-Coder.jinja",
                           "GLM-4.6.jinja", "meetkai-functionary-medium-v3.1.jinja"}) {
    expect_tools(name, ToolCallFormat::kNone);
  }
}

TEST(ReasoningDetect, ThinkTags) {
  EXPECT_EQ(detect_reasoning_format(load("Qwen-Qwen3-0.6B.jinja")), ReasoningFormat::kThinkTags);
  EXPECT_EQ(detect_reasoning_format(load("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja")), ReasoningFormat::kThinkTags);
  EXPECT_EQ(detect_reasoning_format(load("Qwen-Qwen2.5-7B-Instruct.jinja")), ReasoningFormat::kNone);
  EXPECT_EQ(detect_reasoning_format(load("meta-llama-Llama-3.1-8B-Instruct.jinja")), ReasoningFormat::kNone);
}

}  // namespace
}  // namespace mx::chat
