// libFuzzer target: arbitrary bytes as a model name and as the hub's file listing. A name that
// parses must be a valid repo id (or a local path kept as typed, or a URL whose cache path stays
// inside the URL cache); a listing that parses must
// hold only paths that stay inside a snapshot folder; a quantization picked from it must name
// files of the listing, shards complete and in order.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "hub/model_ref.h"
#include "hub/quant_select.h"
#include "hub/tree_listing.h"
#include "hub/url_cache.h"

namespace {

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "hub_names_fuzz: %s\n", what);
  std::abort();
}

// Does a '/'-separated path have a part "" "." or ".." (which could leave its folder)? An
// oracle written apart from the library's check, so the fuzzer tests that check too.
bool has_unsafe_part(std::string_view p) {
  const std::string framed = "/" + std::string(p) + "/";  // every part now sits between slashes
  return framed.find("//") != std::string::npos || framed.find("/./") != std::string::npos ||
         framed.find("/../") != std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The first line is a model name, the rest a listing.
  const size_t nl = text.find('\n');
  const std::string_view name = text.substr(0, nl);
  auto ref = mx::hub::parse_model_ref(name);
  if (ref && ref->kind == mx::hub::ModelRef::Kind::kRepo) {
    require(mx::hub::is_repo_id(ref->repo), "a parsed name has an invalid repo id");
    require(ref->file.empty() || !has_unsafe_part(ref->file), "a parsed URL has a file path leaving the repo");
  } else if (ref && ref->kind == mx::hub::ModelRef::Kind::kUrl) {
    require(ref->url == name, "a URL was changed");
    for (const std::string& url : mx::hub::split_set_urls(ref->url)) {
      const std::string rel = mx::hub::url_relative_path(url);
      require(rel.empty() || (rel.front() != '/' && !has_unsafe_part(rel)), "a URL's cache path leaves its folder");
    }
  } else if (ref) {
    require(ref->path == name, "a local path was changed");
  }
  if (nl == std::string_view::npos) return 0;
  mx::hub::RepoTree tree;
  if (!mx::hub::parse_tree_listing(text.substr(nl + 1), tree)) return 0;
  for (const auto& f : tree) {
    require(!f.path.empty() && f.path.front() != '/' && !has_unsafe_part(f.path),
            "a path in the listing that could leave the snapshot folder");
    (void)mx::hub::quant_of_filename(f.path);
  }
  (void)mx::hub::available_quants(tree);
  auto sel = mx::hub::select_gguf(tree, ref && !ref->quant.empty() ? ref->quant : "", "fuzz/repo");
  if (sel) {
    require(!sel->files.empty(), "an empty selection");
    const int count = mx::hub::shard_of_filename(sel->files.front().path).count;
    require(count == 0 ? sel->files.size() == 1 : static_cast<int>(sel->files.size()) == count,
            "a split selection without all its shards");
    for (size_t i = 0; i < sel->files.size() && count > 0; ++i)
      require(mx::hub::shard_of_filename(sel->files[i].path).index == static_cast<int>(i) + 1, "shards out of order");
  }
  return 0;
}
