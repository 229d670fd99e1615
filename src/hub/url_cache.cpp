#include "hub/url_cache.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hub/durable_file.h"
#include "hub/file_download.h"
#include "hub/quant_select.h"

namespace mx::hub {
namespace fs = std::filesystem;

namespace {

bool ends_with_gguf(std::string_view s) {
  if (s.size() < 5) return false;
  std::string tail(s.substr(s.size() - 5));
  for (char& c : tail) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return tail == ".gguf";
}

// Keeps characters that are safe in a file name on any file system we run on.
std::string clean_part(std::string_view part) {
  std::string out(part);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && std::string_view("._-~+%=,@:[]").find(c) == std::string_view::npos) c = '_';
  }
  return out;
}

std::string sidecar(const std::string& path) { return path + ".json"; }

}  // namespace

std::string_view url_path(std::string_view url) {
  const size_t scheme_end = url.find("://");
  const size_t start = scheme_end == std::string_view::npos ? 0 : url.find('/', scheme_end + 3);
  if (start == std::string_view::npos) return {};
  const std::string_view rest = url.substr(start);
  return rest.substr(0, rest.find_first_of("?#"));
}

std::string url_relative_path(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  const size_t host_end = url.find_first_of("/?#", scheme_end + 3);
  std::string_view host = url.substr(scheme_end + 3, host_end - scheme_end - 3);
  if (const size_t at = host.rfind('@'); at != std::string_view::npos) host = host.substr(at + 1);  // user:pass@
  std::string out = clean_part(host);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (out.empty() || out == "." || out == "..") return {};
  const std::string_view path = url_path(url);
  size_t start = 1;  // after the leading '/'
  bool any = false;
  while (start < path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return {};
    out += "/" + clean_part(part);
    any = true;
    start = end + 1;
  }
  return any && path.back() != '/' ? out : std::string();
}

std::string shard_url(std::string_view url, int index) {
  const std::string_view path = url_path(url);
  const size_t path_end = static_cast<size_t>(path.data() - url.data()) + path.size();
  std::string out(url);
  out.replace(path_end - 19, 5, fmt::format("{:05d}", index));  // "00001-of-00003.gguf"
  return out;
}

std::vector<std::string> split_set_urls(std::string_view url) {
  const ShardNumber shard = shard_of_filename(url_path(url));
  std::vector<std::string> urls;
  for (int i = 1; i <= shard.count; ++i) urls.push_back(shard_url(url, i));
  if (urls.empty()) urls.emplace_back(url);
  return urls;
}

Expected<std::string> UrlCache::file_path(std::string_view url) const {
  const std::string rel = url_relative_path(url);
  if (rel.empty()) return make_error("'{}': this URL names no file that can be cached", url);
  return root_ + "/" + rel;
}

bool UrlCache::has(const std::string& path) const {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) return false;
  const std::optional<UrlEntry> entry = read_entry(path);
  return entry && entry->size == size;
}

Status UrlCache::write_entry(const std::string& path, const UrlEntry& e) const {
  const nlohmann::json j{{"url", e.url}, {"etag", e.etag}, {"size", e.size}, {"sha256", e.sha256}, {"time", e.time}};
  return write_file_atomically(sidecar(path), j.dump(2) + "\n");
}

std::optional<UrlEntry> UrlCache::read_entry(const std::string& path) const {
  std::ifstream in(sidecar(path));
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("url") || !j["url"].is_string() || !j.contains("size") ||
      !j["size"].is_number_unsigned())
    return std::nullopt;
  UrlEntry e;
  e.url = j["url"].get<std::string>();
  e.size = j["size"].get<uint64_t>();
  for (auto [key, field] : {std::pair{"etag", &e.etag}, {"sha256", &e.sha256}, {"time", &e.time}})
    if (j.contains(key) && j[key].is_string()) *field = j[key].get<std::string>();
  return e;
}

std::vector<CachedModel> UrlCache::list() const {
  std::vector<CachedModel> models;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root_, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string path = it->path().string();
    if (!it->is_regular_file(ec) || !ends_with_gguf(path) || shard_of_filename(path).index > 1) continue;
    const std::optional<UrlEntry> entry = read_entry(path);
    if (!entry || !has(path)) continue;
    CachedModel m;
    m.url = entry->url;
    m.quant = quant_of_filename(path);
    if (m.quant.empty()) m.quant = it->path().stem().string();
    bool complete = true;
    for (const std::string& url : split_set_urls(entry->url)) {
      auto file = file_path(url);
      complete = complete && file && has(*file);
      if (!complete) break;
      m.files.push_back(*file);
      m.size += fs::file_size(*file, ec);
    }
    if (complete) models.push_back(std::move(m));
  }
  std::sort(models.begin(), models.end(), [](const auto& a, const auto& b) { return a.name() < b.name(); });
  return models;
}

Status UrlCache::remove(std::string_view url) const {
  bool found = false;
  std::error_code ec;
  for (const std::string& u : split_set_urls(url)) {
    std::string path;
    MX_TRY_ASSIGN(path, file_path(u));
    const std::string partial = path + ".incomplete";
    for (const std::string& p : {path, sidecar(path), partial, validator_path(partial), path + ".lock"})
      found |= fs::remove(p, ec);
    // Folders left empty go too, up to the root.
    for (fs::path dir = fs::path(path).parent_path(); dir.string().size() > root_.size() && fs::is_empty(dir, ec);
         dir = dir.parent_path())
      fs::remove(dir, ec);
  }
  if (!found) return make_error("{} is not in the cache ({})", url, root_);
  return {};
}

}  // namespace mx::hub
