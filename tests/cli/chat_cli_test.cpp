// `moxing template` and `moxing run --chat` / `--stop`, end to end.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "chat/reference_renderer.h"
#include "cli/cli_runner.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"

namespace mx {
namespace {

using test::run_cli;
using test::temp_file;
using test::write_file;

const std::string kStories = test::shared_path("models/stories260K.gguf");

// A template whose prompt ends without a newline, so it survives the shell's $(...).
constexpr const char* kRoleTemplate =
    "{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}";

// stories260K with a chat template added to its metadata.
std::string stories_with_template(const std::string& source) {
  auto file = gguf::File::open(kStories);
  EXPECT_TRUE(file.ok());
  gguf::Writer w(file->alignment());
  for (const auto& kv : file->metadata()) w.set(kv.key, kv.value);
  w.set("tokenizer.chat_template", gguf::Value{source});
  for (const auto& t : file->tensors())
    w.add_tensor(t.name, t.type, t.dims, std::vector<uint8_t>(t.data, t.data + t.n_bytes));
  const std::string path = temp_file("chat_model") + ".gguf";
  EXPECT_TRUE(w.write_file(path).ok());
  return path;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// What python3-jinja2 renders (the reference renderer the chat library is tested against).
test::ReferenceRender reference_render(const std::string& tmpl, const std::string& context) {
  return test::render_with_reference({{tmpl, context}}, std::filesystem::temp_directory_path()).front();
}

TEST(CliTemplate, RendersLikeTheReferenceRenderer) {
  std::ifstream in(std::filesystem::path(__FILE__).parent_path().parent_path() / "chat" / "data" /
                   "conversations.json");
  const auto conversations = nlohmann::ordered_json::parse(in);
  const std::string context = temp_file("context") + ".json";
  int compared = 0;
  for (const char* name : {"Qwen-Qwen2.5-7B-Instruct", "meta-llama-Llama-3.1-8B-Instruct",
                           "google-gemma-2-2b-it", "microsoft-Phi-3.5-mini-instruct",
                           "mistralai-Mistral-Nemo-Instruct-2407"}) {
    const std::string tmpl = test::shared_path(std::string("templates/") + name + ".jinja");
    for (const char* conv : {"plain", "system", "multi_turn"}) {
      auto ctx = conversations.at(conv);
      ctx["add_generation_prompt"] = true;
      ctx["bos_token"] = "<s>";
      ctx["eos_token"] = "</s>";
      write_file(context, ctx.dump());
      const auto ours = run_cli("template " + tmpl + " " + context);
      const auto want = reference_render(tmpl, context);
      SCOPED_TRACE(std::string(name) + " / " + conv);
      ASSERT_NE(want.status, -1) << want.err;
      if (want.status != 0) {  // the template refuses this conversation: so must we
        EXPECT_EQ(ours.exit_code, 4) << ours.out;
        continue;
      }
      ASSERT_EQ(ours.exit_code, 0) << ours.err;
      EXPECT_EQ(ours.out, want.out);
      ++compared;
    }
  }
  EXPECT_GE(compared, 12);
  std::remove(context.c_str());
}

TEST(CliTemplate, UsesTheTemplateInsideAGgufFile) {
  const std::string model = stories_with_template(kRoleTemplate + std::string("{{ eos_token }}"));
  const std::string context = temp_file("context") + ".json";
  write_file(context, R"({"messages": [{"role": "user", "content": "hi"}], "add_generation_prompt": true})");
  const auto r = run_cli("template " + model + " " + context);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "<s>user: hi\nassistant:</s>");  // bos/eos from the model's vocabulary
  write_file(context, R"({"messages": [], "bos_token": "[B]", "eos_token": ""})");
  EXPECT_EQ(run_cli("template " + model + " " + context).out, "[B]");  // the JSON wins
  std::remove(model.c_str());
  std::remove(context.c_str());
}

TEST(CliTemplate, ErrorsAreClearWithMeaningfulExitCodes) {
  const std::string context = temp_file("context") + ".json";
  const std::string tmpl = temp_file("tmpl") + ".jinja";
  write_file(context, R"({"messages": []})");

  write_file(tmpl, "{% for m in messages %}");
  auto r = run_cli("template " + tmpl + " " + context);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("1:"), std::string::npos) << r.err;  // names the place

  write_file(tmpl, "{{ raise_exception('Only user and assistant roles are supported') }}");
  r = run_cli("template " + tmpl + " " + context);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("Only user and assistant roles are supported"), std::string::npos) << r.err;

  EXPECT_EQ(run_cli("template /nonexistent.jinja " + context).exit_code, 4);
  r = run_cli("template " + kStories + " " + context);  // a GGUF file without a template
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("tokenizer.chat_template"), std::string::npos) << r.err;

  write_file(context, "{\"messages\": [");
  r = run_cli("template " + tmpl + " " + context);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("JSON"), std::string::npos) << r.err;
  std::remove(context.c_str());
  std::remove(tmpl.c_str());
}

// One chat turn is exactly a plain generation from the prompt the template renders.
// (A BOS the template writes is not doubled by either.)
TEST(CliChat, OneTurnIsPlainGenerationFromTheRenderedPrompt) {
  const std::string model = stories_with_template(kRoleTemplate);
  const std::string context = temp_file("context") + ".json";
  write_file(context, R"({"messages": [{"role": "system", "content": "Tell a story."},
                        {"role": "user", "content": "Once upon a time"}], "add_generation_prompt": true})");
  const std::string prompt_file = temp_file("prompt");
  const auto rendered = run_cli("template " + model + " " + context);
  ASSERT_EQ(rendered.exit_code, 0) << rendered.err;
  write_file(prompt_file, rendered.out);

  const std::string common = " -m " + model + " -n 24 --temp 0 -c 256";
  const auto chat = run_cli("run --chat --system 'Tell a story.' -p 'Once upon a time'" + common);
  ASSERT_EQ(chat.exit_code, 0) << chat.err;
  const auto plain = run_cli("run --no-display-prompt -p \"$(cat " + prompt_file + ")\"" + common);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_GT(chat.out.size(), 10u);
  // The same tokens; a chat reply is a text of its own, so SentencePiece's leading space goes.
  ASSERT_TRUE(plain.out.starts_with(" ")) << plain.out;
  EXPECT_EQ(chat.out, plain.out.substr(1));
  for (const auto& f : {model, context, prompt_file}) std::remove(f.c_str());
}

// Several turns from standard input: history carries over (and its cache is reused),
// /reset forgets it, /exit stops reading.
TEST(CliChat, MultiTurnResetAndExit) {
  const std::string model = stories_with_template(kRoleTemplate);
  const std::string args = "-v run --chat --verbose-prompt -m " + model +
                           " -n 16 --temp 0 -c 256 --stop '\n'";  // one line per reply
  const auto r = run_cli(args, "Hello\nTell me more\n/reset\nHello\n/exit\nNever read\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto replies = lines(r.out);
  ASSERT_EQ(replies.size(), 3u) << r.out;
  EXPECT_FALSE(replies[0].empty());
  EXPECT_EQ(replies[0], replies[2]);  // after /reset the same question gets the same answer
  EXPECT_NE(r.err.find("user: Hello\nassistant: " + replies[0] + "\nuser: Tell me more\nassistant:"),
            std::string::npos) << r.err;  // the second turn sees the first
  EXPECT_EQ(r.err.find("Never read"), std::string::npos);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m, std::regex(R"(chat turn: (\d+) prompt tokens, (\d+) reused)")));
  const std::string after_first = m.suffix();
  ASSERT_TRUE(std::regex_search(after_first, m, std::regex(R"(chat turn: (\d+) prompt tokens, (\d+) reused)")));
  EXPECT_GT(std::stoi(m[2]), 10) << "the second turn reuses the first turn's cache";

  // Reusing the cache gives the reply a fresh run of the whole conversation gives.
  const std::string context = temp_file("context") + ".json", prompt_file = temp_file("prompt");
  nlohmann::ordered_json ctx = {{"messages", {{{"role", "user"}, {"content", "Hello"}},
                                              {{"role", "assistant"}, {"content", replies[0]}},
                                              {{"role", "user"}, {"content", "Tell me more"}}}},
                                {"add_generation_prompt", true}};
  write_file(context, ctx.dump());
  write_file(prompt_file, run_cli("template " + model + " " + context).out);
  const auto fresh = run_cli("run --no-display-prompt -p \"$(cat " + prompt_file + ")\" -m " + model +
                             " -n 16 --temp 0 -c 256 --stop '\n'");
  EXPECT_EQ(lines(fresh.out).at(0), " " + replies[1]);
  for (const auto& f : {model, context, prompt_file}) std::remove(f.c_str());
}

TEST(CliChat, ModelWithoutTemplateWarnsAndUsesChatMl) {
  const auto r = run_cli("run --chat --verbose-prompt -m " + kStories + " -p Hi -n 4 --temp 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("no chat template"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"), std::string::npos);
  EXPECT_EQ(run_cli("run --chat -m " + kStories + " --chat-template /nonexistent -p Hi").exit_code, 4);
  EXPECT_EQ(run_cli("run -m " + kStories + " --system hi -p Hi").exit_code, 2);  // needs --chat
  EXPECT_EQ(run_cli("run -m " + kStories).exit_code, 2);                          // no prompt
}

// --chat-template-file (serve's name for it; --chat-template is the older one) renders the
// conversation with the file's template instead of the model's.
TEST(CliChat, ChatTemplateFileReplacesTheModelsTemplate) {
  const std::string tmpl = temp_file("template") + ".jinja";
  write_file(tmpl, kRoleTemplate);
  for (const std::string flag : {"--chat-template-file", "--chat-template"}) {
    const auto r = run_cli("run --chat --verbose-prompt -m " + kStories + " " + flag + " " + tmpl + " -p Hi -n 4 --temp 0");
    ASSERT_EQ(r.exit_code, 0) << flag << ": " << r.err;
    EXPECT_NE(r.err.find("user: Hi\nassistant:"), std::string::npos) << flag << ": " << r.err;
    EXPECT_EQ(r.err.find("no chat template"), std::string::npos) << r.err;  // the model's own is not used
  }
  EXPECT_EQ(run_cli("run -m " + kStories + " --chat-template-file " + tmpl + " -p Hi").exit_code, 2);  // needs --chat
  write_file(tmpl, "{% if %}");
  const auto bad = run_cli("run --chat -m " + kStories + " --chat-template-file " + tmpl + " -p Hi");
  EXPECT_EQ(bad.exit_code, 4);
  EXPECT_NE(bad.err.find(tmpl), std::string::npos) << bad.err;
  std::remove(tmpl.c_str());
}

TEST(CliRun, StopStringEndsTheOutputBeforeIt) {
  const std::string args = "run -m " + kStories + " -p 'Once upon a time' -n 48 --temp 0";
  const auto full = run_cli(args);
  const auto stopped = run_cli(args + " --stop Lily");
  ASSERT_EQ(full.exit_code, 0);
  ASSERT_EQ(stopped.exit_code, 0);
  const size_t at = full.out.find("Lily");
  ASSERT_NE(at, std::string::npos) << full.out;
  EXPECT_EQ(stopped.out, full.out.substr(0, at) + "\n");
  EXPECT_NE(stopped.err.find("stop sequence"), std::string::npos) << stopped.err;
}

}  // namespace
}  // namespace mx
