// Files downloaded from a plain URL (any server, not a hub repo). They have no repo or commit,
// so they stay out of the Hugging Face layout, in a folder of moxing's own:
//   <root>/<host>/<path>              the file (host in lower case with its port; the URL's path)
//   <root>/<host>/<path>.json         {url, etag, size, sha256, time}, written once the file is whole
//   <root>/<host>/<path>.incomplete   a download in progress (resumable)
//   <root>/<host>/<path>.incomplete.validator   its ETag or Last-Modified, sent as If-Range
//   <root>/<host>/<path>.lock         taken while the file is written
// <root> is HubSettings::url_cache_dir. A query string is not part of the path: two URLs that
// differ only in it share one file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "hub/hub_cache.h"

namespace mx::hub {

struct UrlEntry {
  std::string url;
  std::string etag;    // as the server sent it, unquoted; empty if none
  uint64_t size = 0;
  std::string sha256;  // computed while downloading
  std::string time;    // of the download, UTC, ISO 8601
};

class UrlCache {
 public:
  explicit UrlCache(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }

  // Where the file of `url` goes; an error for a URL that makes no safe path.
  Expected<std::string> file_path(std::string_view url) const;
  // The file is whole: it is there and its sidecar gives its size.
  bool has(const std::string& path) const;
  // The sidecar of a finished file, written beside and renamed (a reader never sees half).
  Status write_entry(const std::string& path, const UrlEntry& entry) const;
  std::optional<UrlEntry> read_entry(const std::string& path) const;

  // Every complete file or split set (name = the URL of its first file).
  std::vector<CachedModel> list() const;
  // Removes the file of `url` (every shard of a split set) with its sidecar, partial and lock.
  Status remove(std::string_view url) const;

 private:
  std::string root_;
};

// "http://Host:8080/a/b.gguf?x" -> "host:8080/a/b.gguf"; empty when the URL has no host, no
// path, or a part ("", ".", "..") that could leave the folder. Unusual characters become '_'.
std::string url_relative_path(std::string_view url);

// The URL of shard `index` of the split set whose shard `url` names ("-00001-of-00003.gguf").
std::string shard_url(std::string_view url, int index);

// Every URL of the split set `url` names a shard of, in order; just `url` if it is not split.
std::vector<std::string> split_set_urls(std::string_view url);

// The URL's path without query or fragment ("/a/b.gguf").
std::string_view url_path(std::string_view url);

}  // namespace mx::hub
