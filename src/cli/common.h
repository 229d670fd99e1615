// Pieces every subcommand shares: exit codes, model loading with a progress bar,
// the kernel table for this CPU.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "core/expected.h"
#include "kernels/kernel_table.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace mx::cli {

// Exit codes a script can act on.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,    // something went wrong while running
  kExitUsage = 2,      // bad command line
  kExitBadModel = 3,   // the model file cannot be read or is not supported
  kExitBadInput = 4,   // a prompt or input file that cannot be used (e.g. longer than the context)
};

int default_threads();

// The kernel table for this CPU; MOXING_ISA=scalar|avx2|avx512 limits it (for A/B runs).
KernelTable kernels_for_this_cpu();

// A model ready to run: the kernels for this CPU, the weights and (if asked) the tokenizer.
struct LoadedModel {
  KernelTable kernels;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
};

// The local path of the model `-m` names: an existing file as is; a hub name (ORG/REPO[:QUANT],
// hf.co/..., a file URL) -> the cached file, pulled first if it is not cached (not when
// HF_HUB_OFFLINE=1). For a split set, its first shard (gguf::File opens the rest beside it).
Expected<std::string> resolve_model_argument(const std::string& arg);

// Loads a model (a path or a hub name, see resolve_model_argument) with a progress bar while its weights are paged in. On failure it logs
// the reason and returns nullopt (the caller exits with kExitBadModel).
std::optional<LoadedModel> load_model_for_cli(const std::string& path, bool with_tokenizer);
// The same, with the reason as a value instead of a log line (the server puts it in replies).
Expected<LoadedModel> load_model(const std::string& path, bool with_tokenizer);

// Each subcommand registers its options and returns the function that runs it.
using Runner = std::function<int()>;
Runner add_run(CLI::App& app);
Runner add_info(CLI::App& app);
Runner add_perplexity(CLI::App& app);
Runner add_bench(CLI::App& app);
Runner add_tokenize(CLI::App& app);
Runner add_template(CLI::App& app);
Runner add_forge(CLI::App& app);
Runner add_quantize(CLI::App& app);
Runner add_quality(CLI::App& app);
Runner add_serve(CLI::App& app);
Runner add_pull(CLI::App& app);
Runner add_list(CLI::App& app);
Runner add_rm(CLI::App& app);

}  // namespace mx::cli
