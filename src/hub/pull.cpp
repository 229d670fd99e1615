#include "hub/pull.h"

#include <filesystem>

#include "core/log.h"
#include "hub/durable_file.h"
#include "hub/file_lock.h"
#include "hub/hub_cache.h"
#include "hub/hub_client.h"
#include "hub/quant_select.h"
#include "hub/url_pull.h"

namespace mx::hub {
namespace fs = std::filesystem;

namespace {

bool is_commit_id(std::string_view s) {
  return s.size() == 40 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

Expected<Selection> choose(const RepoTree& tree, const ModelRef& ref) {
  return ref.file.empty() ? select_gguf(tree, ref.quant, ref.repo) : select_file(tree, ref.file, ref.repo);
}

// One file into the cache: under the blob's lock, so a second puller waits and then finds it.
Expected<bool> fetch_file(const HubClient& client, const HubCache& cache, const std::string& repo,
                          const std::string& commit, const RepoFile& file) {
  const std::string etag = file.etag();
  const std::string blob = cache.blob_path(repo, etag);
  std::error_code ec;
  bool downloaded = false;
  if (!fs::is_regular_file(blob, ec)) {
    fs::create_directories(fs::path(blob).parent_path(), ec);
    auto lock = FileLock::acquire(cache.lock_path(repo, etag));
    if (!lock) return lock.error();
    if (!fs::is_regular_file(blob, ec)) {  // another process may have finished it while we waited
      const std::string partial = cache.incomplete_path(repo, etag);
      auto stats = client.download(repo, commit, file, partial);
      if (!stats) {
        if (fs::file_size(partial, ec) == 0 && !ec) fs::remove(partial, ec);  // nothing worth resuming
        return stats.error();
      }
      MX_LOG_DEBUG("{}: {} bytes in {} request(s)", file.path, file.size, stats->attempts);
      // The blob appears whole or not at all, even after a power loss.
      if (Status s = durable_rename(partial, blob); !s) return s.error();
      downloaded = true;
    }
  }
  if (Status s = cache.link_snapshot(repo, commit, file.path, etag); !s) return s.error();
  return downloaded;
}

PulledModel describe(const ModelRef& ref, const HubCache& cache, const std::string& commit, const Selection& sel) {
  PulledModel m{ref.repo, commit, sel.quant, {}, 0};
  for (const RepoFile& f : sel.files) m.paths.push_back(cache.snapshot_path(ref.repo, commit, f.path));
  return m;
}

}  // namespace

Expected<PulledModel> find_cached(const ModelRef& ref, const HubSettings& settings) {
  if (ref.kind == ModelRef::Kind::kUrl) return find_cached_url(ref, settings);
  if (ref.kind != ModelRef::Kind::kRepo) return make_error("'{}' is not a model name", ref.path);
  const HubCache cache(settings.cache_dir);
  std::optional<std::string> commit = cache.read_ref(ref.repo, ref.revision);
  if (!commit && is_commit_id(ref.revision)) commit = ref.revision;
  const RepoTree tree = commit ? cache.snapshot_tree(ref.repo, *commit) : RepoTree{};
  if (tree.empty())
    return make_error("{} is not in the cache ({}); run `moxing pull {}` while online", ref.display_name(),
                      settings.cache_dir, ref.display_name());
  auto sel = choose(tree, ref);
  if (!sel) return make_error("{} is not in the cache: {}", ref.display_name(), sel.error().message);
  return describe(ref, cache, *commit, *sel);
}

Expected<PulledModel> pull_model(const ModelRef& ref, const HubSettings& settings) {
  if (ref.kind == ModelRef::Kind::kUrl) return pull_url(ref, settings);
  if (ref.kind != ModelRef::Kind::kRepo) return make_error("'{}' is not a model name", ref.path);
  if (settings.offline) {
    auto cached = find_cached(ref, settings);
    if (!cached) return make_error("{} (HF_HUB_OFFLINE is set, so nothing is downloaded)", cached.error().message);
    return cached;
  }
  const HubClient client(settings, ref.endpoint.empty() ? settings.endpoint : ref.endpoint);
  const HubCache cache(settings.cache_dir);
  std::string commit;
  MX_TRY_ASSIGN(commit, client.commit_of(ref.repo, ref.revision));
  RepoTree tree;
  MX_TRY_ASSIGN(tree, client.tree(ref.repo, commit));
  Selection sel;
  MX_TRY_ASSIGN(sel, choose(tree, ref));
  PulledModel pulled = describe(ref, cache, commit, sel);
  for (const RepoFile& f : sel.files) {
    bool downloaded = false;
    MX_TRY_ASSIGN(downloaded, fetch_file(client, cache, ref.repo, commit, f));
    pulled.downloaded += downloaded;
  }
  if (ref.revision != commit)
    if (Status s = cache.write_ref(ref.repo, ref.revision, commit); !s) return s.error();
  return pulled;
}

Expected<std::string> resolve_model(const std::string& arg, const HubSettings& settings) {
  std::error_code ec;
  if (fs::is_regular_file(arg, ec)) return arg;
  ModelRef ref;
  MX_TRY_ASSIGN(ref, parse_model_ref(arg));
  // A path goes to the loader as is: its error says why the file cannot be opened.
  if (ref.kind == ModelRef::Kind::kLocalPath) return arg;
  // The cache first: a model pulled once runs without the network.
  if (auto cached = find_cached(ref, settings)) return cached->paths.front();
  PulledModel pulled;
  MX_TRY_ASSIGN(pulled, pull_model(ref, settings));
  return pulled.paths.front();
}

}  // namespace mx::hub
