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

TEST(ToolCallDetect, DeepSeek) {
  for (const char* name : {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
                           "llama-cpp-deepseek-r1.jinja", "deepseek-ai-DeepSeek-V3.1.jinja"}) {
    expect_tools(name, ToolCallFormat::kDeepSeek);
  }
}

TEST(ToolCallDetect, Functionary) {
  expect_tools("meetkai-functionary-medium-v3.2.jinja", ToolCallFormat::kFunctionaryV32);
  expect_tools("meetkai-functionary-medium-v3.1.jinja", ToolCallFormat::kFunctionaryV31);
}

TEST(ToolCallDetect, CommandR7BAndGranite) {
  expect_tools("CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja", ToolCallFormat::kCommandR7B);
  expect_tools("ibm-granite-granite-3.3-2B-Instruct.jinja", ToolCallFormat::kGranite);
}

TEST(ToolCallDetect, Qwen3CoderXml) {
  for (const char* name : {"Qwen3-Coder.jinja", "Qwen3.5-4B.jinja", "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja",
                           "StepFun3.5-Flash.jinja"}) {
    expect_tools(name, ToolCallFormat::kQwen3Coder);
  }
}

TEST(ToolCallDetect, UnsupportedOrAbsentSyntaxIsNone) {
  // No tool markers at all, and dialects this module does not parse: GLM's <arg_key>, Seed-OSS's
  // <seed:tool_call>, DeepSeek V3.2's DSML, Cohere2 MoE's <|START_TEXT|>.
  for (const char* name : {"google-gemma-2-2b-it.jinja", "microsoft-Phi-3.5-mini-instruct.jinja", "GLM-4.6.jinja",
                           "ByteDance-Seed-OSS.jinja", "deepseek-ai-DeepSeek-V3.2.jinja", "Cohere2MoE.jinja"}) {
    expect_tools(name, ToolCallFormat::kNone);
  }
}

TEST(ReasoningDetect, ThinkTags) {
  EXPECT_EQ(detect_reasoning_format(load("Qwen-Qwen3-0.6B.jinja")), ReasoningFormat::kThinkTags);
  EXPECT_EQ(detect_reasoning_format(load("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja")), ReasoningFormat::kThinkTags);
  EXPECT_EQ(detect_reasoning_format(load("Qwen-Qwen2.5-7B-Instruct.jinja")), ReasoningFormat::kNone);
  EXPECT_EQ(detect_reasoning_format(load("meta-llama-Llama-3.1-8B-Instruct.jinja")), ReasoningFormat::kNone);
  // DeepSeek R1 / V3.1 and Granite 3.3 think in <think> tags; Command R7B's markers are its format's.
  EXPECT_EQ(detect_reasoning_format(load("llama-cpp-deepseek-r1.jinja")), ReasoningFormat::kThinkTags);
  EXPECT_EQ(detect_reasoning_format(load("deepseek-ai-DeepSeek-V3.1.jinja")), ReasoningFormat::kThinkTags);
  EXPECT_EQ(detect_reasoning_format(load("ibm-granite-granite-3.3-2B-Instruct.jinja")), ReasoningFormat::kThinkTags);
  EXPECT_EQ(detect_reasoning_format(load("CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja")), ReasoningFormat::kNone);
}

}  // namespace
}  // namespace mx::chat
