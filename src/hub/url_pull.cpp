#include "hub/url_pull.h"

#include <ctime>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/log.h"
#include "hub/durable_file.h"
#include "hub/file_download.h"
#include "hub/file_lock.h"
#include "hub/quant_select.h"
#include "hub/url_cache.h"

namespace mx::hub {
namespace fs = std::filesystem;

namespace {

// "https://Host:443/x" -> "https://host:443": what decides whether a URL is the hub's.
std::string origin(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  std::string out(url.substr(0, url.find_first_of("/?#", scheme_end + 3)));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A web page saved as a model would stay in the cache; every GGUF file (each shard too) starts so.
bool starts_with_gguf_magic(const std::string& path) {
  char magic[4] = {};
  std::ifstream in(path, std::ios::binary);
  return in.read(magic, 4) && std::string_view(magic, 4) == "GGUF";
}

std::string describe_url_error(const HttpResponse& r, const std::string& url) {
  if (r.status == 404) return fmt::format("{} does not exist (HTTP 404)", url);
  if (r.status == 401 || r.status == 403)
    return fmt::format("access to {} was refused (HTTP {}); moxing sends no credentials to hosts other than the hub",
                       url, r.status);
  return fmt::format("downloading {}: HTTP {}{}", url, r.status,
                     r.error_body.empty() ? std::string() : ": " + r.error_body.substr(0, 200));
}

// One URL into the cache, under its lock: a second puller waits and then finds it whole.
Expected<bool> fetch_url(const UrlCache& cache, const std::string& url, const std::string& path,
                         const HubSettings& settings) {
  if (cache.has(path)) return false;
  auto lock = FileLock::acquire(path + ".lock");
  if (!lock) return lock.error();
  if (cache.has(path)) return false;  // another process finished it while we waited
  const std::string partial = path + ".incomplete";
  DownloadSpec spec;
  spec.url = url;
  // A token for the hub is nobody else's business.
  if (origin(url) == origin(settings.endpoint)) spec.token = settings.token;
  spec.label = fs::path(path).filename().string();
  spec.sha256_from_etag = true;
  spec.progress = settings.progress;
  spec.describe_error = [&](const HttpResponse& r) { return describe_url_error(r, url); };
  auto stats = download_file(spec, partial);
  std::error_code ec;
  if (!stats) {
    if (fs::file_size(partial, ec) == 0 && !ec) fs::remove(partial, ec);  // nothing worth resuming
    return stats.error();
  }
  MX_LOG_DEBUG("{}: {} bytes in {} request(s), sha256 {}", url, stats->size, stats->attempts, stats->sha256);
  if (!starts_with_gguf_magic(partial)) {
    fs::remove(partial, ec);
    return make_error("{} is not a GGUF file (it does not begin with \"GGUF\"); the download was deleted", url);
  }
  if (Status s = durable_rename(partial, path); !s) return s.error();
  // The sidecar last: a file without one is not cached yet and is fetched again.
  if (Status s = cache.write_entry(path, {url, stats->etag, stats->size, stats->sha256, now_utc()}); !s)
    return s.error();
  return true;
}

PulledModel describe(const ModelRef& ref, std::vector<std::string> paths) {
  PulledModel m;
  m.repo = ref.url;
  m.quant = quant_of_filename(url_path(ref.url));
  m.paths = std::move(paths);
  return m;
}

}  // namespace

Expected<PulledModel> find_cached_url(const ModelRef& ref, const HubSettings& settings) {
  const UrlCache cache(settings.url_cache_dir);
  std::vector<std::string> paths;
  for (const std::string& url : split_set_urls(ref.url)) {
    std::string path;
    MX_TRY_ASSIGN(path, cache.file_path(url));
    if (!cache.has(path))
      return make_error("{} is not in the cache ({}); run `moxing pull {}` while online", url, cache.root(), ref.url);
    paths.push_back(path);
  }
  return describe(ref, std::move(paths));
}

Expected<PulledModel> pull_url(const ModelRef& ref, const HubSettings& settings) {
  if (settings.offline) {
    auto cached = find_cached_url(ref, settings);
    if (!cached) return make_error("{} (HF_HUB_OFFLINE is set, so nothing is downloaded)", cached.error().message);
    return cached;
  }
  const UrlCache cache(settings.url_cache_dir);
  std::vector<std::string> paths;
  int downloaded = 0;
  for (const std::string& url : split_set_urls(ref.url)) {
    std::string path;
    MX_TRY_ASSIGN(path, cache.file_path(url));
    bool fetched = false;
    MX_TRY_ASSIGN(fetched, fetch_url(cache, url, path, settings));
    downloaded += fetched;
    paths.push_back(path);
  }
  PulledModel m = describe(ref, std::move(paths));
  m.downloaded = downloaded;
  return m;
}

}  // namespace mx::hub
