// The hub's file listing (GET /api/models/ORG/NAME/tree/REV?recursive=true), parsed:
// [{"type":"file","path":"x.gguf","size":N,"oid":"<git id>","lfs":{"oid":"<sha256>","size":N}}, ...]
#pragma once

#include <string>
#include <string_view>

#include "core/expected.h"
#include "hub/repo_file.h"

namespace mx::hub {

// Appends the files of one page of the listing (folders are skipped). Every value is checked:
// a path that could leave the snapshot folder, or a sha256 that is not 64 hex digits, is an error.
Status parse_tree_listing(std::string_view json, RepoTree& out);

// The "sha" of GET /api/models/ORG/NAME/revision/REV: the commit a branch or tag points to.
Expected<std::string> parse_revision_commit(std::string_view json);

}  // namespace mx::hub
