// What a user typed to name a model: a local file, a Hugging Face repo (with an optional
// quantization tag), the URL of one file of a repo, or the URL of any GGUF file on any server.
#pragma once

#include <string>
#include <string_view>

#include "core/expected.h"

namespace mx::hub {

struct ModelRef {
  enum class Kind { kLocalPath, kRepo, kUrl };
  Kind kind = Kind::kLocalPath;
  std::string path;                // kLocalPath: the file as typed
  std::string repo;                // kRepo: "ORG/NAME"
  std::string quant;               // kRepo: tag as typed ("q4_k_m"), empty = the default
  std::string revision = "main";   // kRepo: branch, tag or commit
  std::string file;                // kRepo from a URL: the one file named (path inside the repo)
  std::string endpoint;            // kRepo from a URL: its scheme and host; empty = HF_ENDPOINT
  std::string url;                 // kUrl: the URL as typed (http or https, path ending in .gguf)

  // "ORG/NAME:QUANT" (or "ORG/NAME"; the URL for kUrl), the name `list` shows and `rm` takes.
  std::string display_name() const;
};

// Accepts ORG/NAME[:QUANT], hf.co/ORG/NAME[:QUANT], huggingface.co/..., an https URL of a
// repo or of a file in it (…/ORG/NAME/resolve/REV/FILE.gguf), any other URL whose path ends
// in .gguf (a plain download, as llama.cpp's -mu), or a local path (anything starting with
// / . ~ or ending in .gguf that is not a URL).
Expected<ModelRef> parse_model_ref(std::string_view text);

// True when `name` is a valid repo id "ORG/NAME" (letters, digits, '-', '_', '.').
bool is_repo_id(std::string_view name);

}  // namespace mx::hub
