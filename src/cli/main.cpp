// moxing: run large language models from GGUF files on the CPU.
#include <map>

#include <CLI/CLI.hpp>

#include "cli/common.h"
#include "core/log.h"

int main(int argc, char** argv) {
  using namespace mx::cli;
  CLI::App app{"moxing: run large language models from GGUF files on this machine's CPU"};
  app.require_subcommand(1);
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose, "Debug logging");
  app.add_flag("-q,--quiet", quiet, "Only errors");
  app.set_version_flag("--version", "moxing 0.1.0");

  std::map<CLI::App*, Runner> runners;
  auto sub = [&](const char* name, const char* desc, Runner (*add)(CLI::App&)) {
    CLI::App* s = app.add_subcommand(name, desc);
    runners[s] = add(*s);
  };
  sub("run", "Generate text from a prompt", add_run);
  sub("serve", "Serve the model over an OpenAI-compatible HTTP API", add_serve);
  sub("info", "Show a GGUF file's metadata and tensors", add_info);
  sub("perplexity", "Measure perplexity of a model on a text file", add_perplexity);
  sub("tokenize", "Show the tokens a model's tokenizer makes of a text", add_tokenize);
  sub("template", "Render a chat template with the messages of a JSON file", add_template);
  sub("quantize", "Convert a model to a quantized file type (Q4_K_M, Q8_0, ...)", add_quantize);
  sub("forge", "Write a full-size model with random weights for benchmarks", add_forge);
  sub("quality", "Measure how repetitive generated text is under several sampling settings", add_quality);
  sub("pull", "Download a model by name from the Hugging Face hub (ORG/REPO[:QUANT])", add_pull);
  sub("list", "List the models in the Hugging Face cache", add_list);
  sub("rm", "Remove a model from the Hugging Face cache", add_rm);
  sub("bench", "Measure prompt processing and generation speed", add_bench);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  mx::set_log_level(quiet ? mx::LogLevel::kError : verbose ? mx::LogLevel::kDebug : mx::LogLevel::kInfo);
  for (auto& [s, run] : runners)
    if (s->parsed()) return run();
  return kExitUsage;
}
