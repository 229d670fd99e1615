// The Hugging Face cache layout, shared with huggingface_hub:
//   <root>/models--ORG--NAME/blobs/<etag>                 file contents (etag = LFS sha256 or git id)
//   <root>/models--ORG--NAME/blobs/<etag>.incomplete      a download in progress (resumable)
//   <root>/models--ORG--NAME/blobs/<etag>.incomplete.validator   its ETag or Last-Modified (If-Range)
//   <root>/models--ORG--NAME/snapshots/<commit>/<path>    relative symlink to ../../blobs/<etag>
//   <root>/models--ORG--NAME/refs/<revision>              the commit a branch pointed to
//   <root>/.locks/models--ORG--NAME/<etag>.lock           taken while a blob is written
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "hub/repo_file.h"

namespace mx::hub {

// One model found in the cache: one GGUF file or one split set of a snapshot (or of a URL).
struct CachedModel {
  std::string repo;                // "ORG/NAME"; empty for a URL download
  std::string url;                 // a URL download: the URL of its (first) file
  std::string quant;               // upper case, or the file stem when the name carries no tag
  std::string commit;
  std::vector<std::string> files;  // snapshot paths, shards in order
  uint64_t size = 0;               // bytes of all files
  std::string name() const { return url.empty() ? repo + ":" + quant : url; }
};

class HubCache {
 public:
  explicit HubCache(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }

  std::string repo_dir(std::string_view repo) const;
  std::string blob_path(std::string_view repo, std::string_view etag) const;
  std::string incomplete_path(std::string_view repo, std::string_view etag) const;
  std::string lock_path(std::string_view repo, std::string_view etag) const;
  std::string snapshot_path(std::string_view repo, std::string_view commit, std::string_view file) const;

  std::optional<std::string> read_ref(std::string_view repo, std::string_view revision) const;
  Status write_ref(std::string_view repo, std::string_view revision, std::string_view commit) const;

  // Points snapshots/<commit>/<file> at blobs/<etag> (replacing any older link atomically).
  Status link_snapshot(std::string_view repo, std::string_view commit, std::string_view file,
                       std::string_view etag) const;

  // The files of a cached snapshot, as a tree listing (for HF_HUB_OFFLINE=1).
  RepoTree snapshot_tree(std::string_view repo, std::string_view commit) const;

  // Every GGUF model of every snapshot (files that are not GGUF, and projectors, are skipped).
  std::vector<CachedModel> list() const;

  // Removes the models of `repo` with this quantization (all of the repo when `quant` is empty):
  // their snapshot links, the blobs no other link uses, and the repo's folder once no snapshot
  // is left. Returns how many models were removed; an error names the cached quantizations.
  Expected<int> remove(std::string_view repo, std::string_view quant) const;

 private:
  std::vector<CachedModel> repo_models(std::string_view repo) const;  // every snapshot, no dedup
  std::string root_;
};

// "ORG/NAME" -> "models--ORG--NAME" and back (empty when the folder is not a model repo).
std::string repo_folder_name(std::string_view repo);
std::string repo_from_folder_name(std::string_view folder);

}  // namespace mx::hub
