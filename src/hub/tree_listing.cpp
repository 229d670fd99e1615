#include "hub/tree_listing.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace mx::hub {
namespace {

bool is_hex(std::string_view s, size_t len) {
  return s.size() == len && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
         });
}

std::string string_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Status parse_tree_listing(std::string_view json, RepoTree& out) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return make_error("the hub's file listing is not a JSON array");
  for (const auto& e : j) {
    if (!e.is_object()) return make_error("the hub's file listing has an entry that is not an object");
    if (string_field(e, "type") != "file") continue;
    RepoFile f;
    f.path = string_field(e, "path");
    f.oid = string_field(e, "oid");
    if (!is_safe_repo_path(f.path)) return make_error("the hub's file listing has an unsafe path '{}'", f.path);
    if (!is_hex(f.oid, 40)) return make_error("the hub's file listing has no valid oid for '{}'", f.path);
    auto size = e.find("size");
    if (size == e.end() || !size->is_number_unsigned())
      return make_error("the hub's file listing has no size for '{}'", f.path);
    f.size = size->get<uint64_t>();
    if (auto lfs = e.find("lfs"); lfs != e.end() && lfs->is_object()) {
      f.sha256 = string_field(*lfs, "oid");
      if (!is_hex(f.sha256, 64)) return make_error("the hub's file listing has no valid sha256 for '{}'", f.path);
      auto lsize = lfs->find("size");
      if (lsize != lfs->end() && lsize->is_number_unsigned()) f.size = lsize->get<uint64_t>();
    }
    out.push_back(std::move(f));
  }
  return {};
}

Expected<std::string> parse_revision_commit(std::string_view json) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  const std::string sha = j.is_object() ? string_field(j, "sha") : std::string();
  if (!is_hex(sha, 40)) return make_error("the hub's revision answer has no commit id");
  return sha;
}

}  // namespace mx::hub
