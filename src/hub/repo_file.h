// One file of a repo as the hub's tree listing describes it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mx::hub {

struct RepoFile {
  std::string path;     // inside the repo, '/'-separated
  uint64_t size = 0;
  std::string oid;      // git blob id
  std::string sha256;   // LFS files: the content's SHA-256, which is also its blob name (etag)

  // The name of its blob in the cache: the LFS sha256, else the git id (as huggingface_hub does).
  const std::string& etag() const { return sha256.empty() ? oid : sha256; }
};

using RepoTree = std::vector<RepoFile>;

// A path inside a repo becomes a file below the cache: it must be relative, '/'-separated,
// without "", "." or ".." parts, NUL or backslashes, so that it cannot leave its folder.
bool is_safe_repo_path(std::string_view path);

}  // namespace mx::hub
