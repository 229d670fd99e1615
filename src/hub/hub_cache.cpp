#include "hub/hub_cache.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "hub/durable_file.h"
#include "hub/quant_select.h"

namespace mx::hub {
namespace fs = std::filesystem;

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool is_model_file(const std::string& path) {
  const std::string u = upper(path);
  const std::string name = u.substr(u.rfind('/') + 1);
  return u.size() > 5 && u.compare(u.size() - 5, 5, ".GGUF") == 0 && name.find("MMPROJ") == std::string::npos;
}

// The blob a snapshot link points to ("../../blobs/<etag>" -> "<etag>"), empty if not a link.
std::string link_etag(const fs::path& link) {
  std::error_code ec;
  const fs::path target = fs::read_symlink(link, ec);
  return ec ? std::string() : target.filename().string();
}

std::string relative_path(const fs::path& p, const fs::path& base) {
  return p.lexically_relative(base).generic_string();
}

}  // namespace

std::string repo_folder_name(std::string_view repo) {
  std::string out = "models--";
  for (char c : repo) {
    if (c == '/') out += "--";
    else out += c;
  }
  return out;
}

std::string repo_from_folder_name(std::string_view folder) {
  if (folder.rfind("models--", 0) != 0) return {};
  std::string_view rest = folder.substr(8);
  const size_t sep = rest.find("--");
  if (sep == std::string_view::npos) return {};
  return std::string(rest.substr(0, sep)) + "/" + std::string(rest.substr(sep + 2));
}

std::string HubCache::repo_dir(std::string_view repo) const { return root_ + "/" + repo_folder_name(repo); }

std::string HubCache::blob_path(std::string_view repo, std::string_view etag) const {
  return repo_dir(repo) + "/blobs/" + std::string(etag);
}

std::string HubCache::incomplete_path(std::string_view repo, std::string_view etag) const {
  return blob_path(repo, etag) + ".incomplete";
}

std::string HubCache::lock_path(std::string_view repo, std::string_view etag) const {
  return root_ + "/.locks/" + repo_folder_name(repo) + "/" + std::string(etag) + ".lock";
}

std::string HubCache::snapshot_path(std::string_view repo, std::string_view commit, std::string_view file) const {
  return repo_dir(repo) + "/snapshots/" + std::string(commit) + "/" + std::string(file);
}

std::optional<std::string> HubCache::read_ref(std::string_view repo, std::string_view revision) const {
  std::ifstream in(repo_dir(repo) + "/refs/" + std::string(revision));
  std::string commit;
  if (!std::getline(in, commit)) return std::nullopt;
  while (!commit.empty() && std::isspace(static_cast<unsigned char>(commit.back()))) commit.pop_back();
  if (commit.empty()) return std::nullopt;
  return commit;
}

Status HubCache::write_ref(std::string_view repo, std::string_view revision, std::string_view commit) const {
  const fs::path path = repo_dir(repo) + "/refs/" + std::string(revision);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  // Written beside and renamed, so a reader never sees half a commit id; no newline, like huggingface_hub.
  return write_file_atomically(path.string(), commit);
}

Status HubCache::link_snapshot(std::string_view repo, std::string_view commit, std::string_view file,
                               std::string_view etag) const {
  const fs::path link = snapshot_path(repo, commit, file);
  std::error_code ec;
  fs::create_directories(link.parent_path(), ec);
  if (ec) return make_error("cannot create {}: {}", link.parent_path().string(), ec.message());
  // Relative, as huggingface_hub makes it, so the cache can be moved: one "../" per folder
  // level of the file inside the repo, then ../../blobs/<etag>.
  std::string target = "../../";
  for (char c : file)
    if (c == '/') target += "../";
  target += "blobs/" + std::string(etag);
  const fs::path tmp = link.string() + ".tmp" + std::to_string(::getpid()) + "_" + std::to_string(::gettid());
  fs::remove(tmp, ec);
  fs::create_symlink(target, tmp, ec);
  if (ec) return make_error("cannot create the link {}: {}", link.string(), ec.message());
  fs::rename(tmp, link, ec);
  if (ec) return make_error("cannot create the link {}: {}", link.string(), ec.message());
  return {};
}

RepoTree HubCache::snapshot_tree(std::string_view repo, std::string_view commit) const {
  RepoTree tree;
  const fs::path dir = repo_dir(repo) + "/snapshots/" + std::string(commit);
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;  // follows links; a dangling link is not a file
    RepoFile f;
    f.path = relative_path(it->path(), dir);
    f.size = it->file_size(ec);
    f.sha256 = link_etag(it->path());
    tree.push_back(std::move(f));
  }
  std::sort(tree.begin(), tree.end(), [](const RepoFile& a, const RepoFile& b) { return a.path < b.path; });
  return tree;
}

std::vector<CachedModel> HubCache::repo_models(std::string_view repo) const {
  std::vector<CachedModel> models;
  std::error_code ec;
  for (const auto& snap : fs::directory_iterator(repo_dir(repo) + "/snapshots", ec)) {
    const std::string commit = snap.path().filename().string();
    for (const RepoFile& f : snapshot_tree(repo, commit)) {
      if (!is_model_file(f.path)) continue;
      const ShardNumber shard = shard_of_filename(f.path);
      if (shard.index > 1) continue;  // found through its first shard
      CachedModel m{std::string(repo), {}, quant_of_filename(f.path), commit, {snapshot_path(repo, commit, f.path)},
                    f.size};
      if (m.quant.empty()) {
        const std::string name = f.path.substr(f.path.rfind('/') + 1);
        m.quant = name.substr(0, name.size() - 5);
      }
      bool complete = true;
      for (int i = 2; i <= shard.count && complete; ++i) {
        std::string other = f.path;
        other.replace(other.size() - 19, 5, fmt::format("{:05d}", i));
        const std::string path = snapshot_path(repo, commit, other);
        complete = fs::is_regular_file(path, ec);
        m.files.push_back(path);
        m.size += complete ? fs::file_size(path, ec) : 0;
      }
      if (complete) models.push_back(std::move(m));
    }
  }
  return models;
}

std::vector<CachedModel> HubCache::list() const {
  std::vector<CachedModel> models;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    const std::string repo = repo_from_folder_name(entry.path().filename().string());
    if (repo.empty() || !entry.is_directory(ec)) continue;
    const std::optional<std::string> main = read_ref(repo, "main");
    std::map<std::string, CachedModel> by_name;  // one per name: the refs/main snapshot wins
    for (CachedModel& m : repo_models(repo)) {
      const bool is_main = main && m.commit == *main;
      auto [it, inserted] = by_name.emplace(m.name(), m);
      if (!inserted && is_main) it->second = std::move(m);
    }
    for (auto& [name, m] : by_name) models.push_back(std::move(m));
  }
  std::sort(models.begin(), models.end(), [](const auto& a, const auto& b) { return a.name() < b.name(); });
  return models;
}

Expected<int> HubCache::remove(std::string_view repo, std::string_view quant) const {
  const fs::path dir = repo_dir(repo);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return make_error("{} is not in the cache ({})", repo, root_);
  if (quant.empty()) {
    std::set<std::string> distinct;
    for (const CachedModel& m : repo_models(repo)) distinct.insert(m.name());
    const int n = static_cast<int>(distinct.size());
    fs::remove_all(dir, ec);
    if (ec) return make_error("cannot remove {}: {}", dir.string(), ec.message());
    fs::remove_all(root_ + "/.locks/" + repo_folder_name(repo), ec);
    return n;
  }
  // Unlink the snapshot files of the chosen models, remembering their blobs.
  std::set<std::string> maybe_unused;
  std::set<std::string> cached, removed_names;
  for (const CachedModel& m : repo_models(repo)) {  // every snapshot's copy
    cached.insert(m.quant);
    if (upper(m.quant) != upper(quant)) continue;
    for (const std::string& file : m.files) {
      maybe_unused.insert(link_etag(file));
      fs::remove(file, ec);
    }
    removed_names.insert(m.name());
  }
  const int removed = static_cast<int>(removed_names.size());
  if (removed == 0)
    return make_error("{}:{} is not in the cache; cached: {}", repo, quant,
                      cached.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(cached, ", ")));
  // Blobs still linked from any snapshot stay.
  const fs::path snapshots = dir / "snapshots";
  for (auto it = fs::recursive_directory_iterator(snapshots, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_symlink(ec)) maybe_unused.erase(link_etag(it->path()));
  for (const std::string& etag : maybe_unused)
    if (!etag.empty()) fs::remove(blob_path(repo, etag), ec);
  // Empty folders go, deepest first; then the whole repo if no snapshot holds a file.
  std::vector<fs::path> dirs;
  for (auto it = fs::recursive_directory_iterator(snapshots, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_directory(ec) && !it->is_symlink(ec)) dirs.push_back(it->path());
  std::sort(dirs.rbegin(), dirs.rend());
  for (const fs::path& d : dirs)
    if (fs::is_empty(d, ec)) fs::remove(d, ec);
  if (fs::is_empty(snapshots, ec)) {
    fs::remove_all(dir, ec);
    fs::remove_all(root_ + "/.locks/" + repo_folder_name(repo), ec);
  }
  return removed;
}

}  // namespace mx::hub
