#include "hub/hub_client.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

#include "core/log.h"
#include "hub/blob_writer.h"
#include "hub/download_progress.h"
#include "hub/http_get.h"
#include "hub/sha256_stream.h"
#include "hub/tree_listing.h"

namespace mx::hub {
namespace {

constexpr int kMaxAttempts = 5;  // a dropped connection is resumed this many times

std::string escape_path(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : path) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The next page of a listing: Link: <https://...>; rel="next".
std::string next_link(const HttpResponse& r) {
  auto it = r.headers.find("link");
  if (it == r.headers.end() || it->second.find("rel=\"next\"") == std::string::npos) return {};
  const size_t open = it->second.find('<'), close = it->second.find('>');
  return open == std::string::npos || close == std::string::npos ? std::string()
                                                                 : it->second.substr(open + 1, close - open - 1);
}

// X-Linked-Etag of an LFS file's redirect, without quotes or a weak-validator prefix.
std::string linked_etag(const std::map<std::string, std::string>& headers) {
  auto it = headers.find("x-linked-etag");
  if (it == headers.end()) return {};
  std::string v = it->second;
  if (v.rfind("W/", 0) == 0) v.erase(0, 2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return v;
}

std::string basename(std::string_view p) { return std::string(p.substr(p.rfind('/') + 1)); }

// The partial file of one download and the hash of what it holds.
struct PartialFile {
  int fd = -1;
  uint64_t size = 0;
  int write_errno = 0;
  Sha256Stream sha;
  ~PartialFile() {
    if (fd >= 0) ::close(fd);
  }
  bool restart() {  // the server sent the whole file: start over
    size = 0;
    sha.reset();
    return ::ftruncate(fd, 0) == 0;
  }
};

}  // namespace

HubClient::HubClient(HubSettings settings, std::string endpoint)
    : settings_(std::move(settings)), endpoint_(std::move(endpoint)) {
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
}

std::string HubClient::file_url(std::string_view repo, std::string_view commit, std::string_view file) const {
  return fmt::format("{}/{}/resolve/{}/{}", endpoint_, repo, escape_path(commit), escape_path(file));
}

Expected<std::string> HubClient::commit_of(std::string_view repo, std::string_view revision) const {
  std::string body;
  HttpRequest req{fmt::format("{}/api/models/{}/revision/{}", endpoint_, repo, escape_path(revision)),
                  settings_.token, "", [&](const char* d, size_t n) { body.append(d, n); return true; }, nullptr};
  const HttpResponse r = http_get(req);
  if (!r.curl_error.empty() && r.status == 0)
    return make_error("cannot reach {}: {}", endpoint_, r.curl_error);
  if (r.status != 200) return make_error("{}", describe_http_error(r, "looking up " + std::string(repo), repo, endpoint_));
  return parse_revision_commit(body);
}

Expected<RepoTree> HubClient::tree(std::string_view repo, std::string_view commit) const {
  RepoTree out;
  std::string url = fmt::format("{}/api/models/{}/tree/{}?recursive=true", endpoint_, repo, escape_path(commit));
  for (int page = 0; !url.empty() && page < 1000; ++page) {
    std::string body;
    HttpRequest req{url, settings_.token, "", [&](const char* d, size_t n) { body.append(d, n); return true; }, nullptr};
    const HttpResponse r = http_get(req);
    if (!r.curl_error.empty() && r.status == 0) return make_error("cannot reach {}: {}", endpoint_, r.curl_error);
    if (r.status != 200) return make_error("{}", describe_http_error(r, "listing " + std::string(repo), repo, endpoint_));
    if (Status s = parse_tree_listing(body, out); !s) return make_error("{}: {}", repo, s.error().message);
    url = next_link(r);
  }
  return out;
}

Expected<DownloadStats> HubClient::download(std::string_view repo, std::string_view commit, const RepoFile& file,
                                            const std::string& partial) const {
  PartialFile part;
  part.fd = ::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (part.fd < 0) return make_error("cannot create {}: {}", partial, std::strerror(errno));
  struct stat st {};
  ::fstat(part.fd, &st);
  part.size = static_cast<uint64_t>(st.st_size);
  if (part.size > file.size && !part.restart()) return make_error("cannot truncate {}", partial);
  // The part already on disk is hashed first, so the checksum covers the whole file.
  if (part.size > 0 && !hash_file_prefix(part.fd, part.size, part.sha)) {
    if (!part.restart()) return make_error("cannot read {}", partial);
  }
  DownloadStats stats;
  const std::string url = file_url(repo, commit, file.path);
  DownloadProgress progress(basename(file.path), file.size, part.size, settings_.progress);
  std::string last_error;
  while (part.size < file.size && stats.attempts < kMaxAttempts) {
    ++stats.attempts;
    if (part.size > 0) {
      stats.resumed_from = part.size;
      MX_LOG_DEBUG("{}: resuming at byte {}", file.path, part.size);
    }
    bool unexpected_status = false;
    std::string served_sha;  // the hub's X-Linked-Etag: the sha256 of what the redirect serves
    std::optional<BlobWriter> writer;  // made once the response is known (a 200 may restart the file)
    HttpRequest req;
    req.url = url;
    req.token = settings_.token;
    if (part.size > 0) req.range = fmt::format("{}-", part.size);
    req.on_start = [&](long status, const std::map<std::string, std::string>& headers) {
      served_sha = linked_etag(headers);
      if (!file.sha256.empty() && !served_sha.empty() && served_sha != file.sha256) return;  // stop before any byte
      if (status == 200 && part.size > 0 && !part.restart()) unexpected_status = true;  // Range ignored
      if (status >= 200 && status < 300 && !unexpected_status) writer.emplace(part.fd, part.size, part.sha);
    };
    req.on_data = [&](const char* d, size_t n) {
      if (!writer || writer->written() + n > file.size) return false;
      if (!writer->append(d, n)) return false;
      progress.update(writer->written());
      return true;
    };
    const HttpResponse r = http_get(req);
    bool oversize = false;
    if (writer) {
      part.size = writer->finish();
      part.write_errno = writer->error();
      oversize = r.aborted_by_callback && part.write_errno == 0;
      writer.reset();
    }
    if (!file.sha256.empty() && !served_sha.empty() && served_sha != file.sha256) {
      return make_error("{}: the hub now serves other contents (sha256 {}) than its listing gave ({}); the repo "
                        "changed during the pull, pull again",
                        file.path, served_sha, file.sha256);
    }
    if (part.write_errno != 0) {
      return make_error("writing {} failed: {}{}", partial, std::strerror(part.write_errno),
                        part.write_errno == ENOSPC || part.write_errno == EFBIG || part.write_errno == EDQUOT
                            ? " (is the disk full?)"
                            : "");
    }
    if (r.status >= 300 || (r.status != 0 && r.status < 200) || unexpected_status) {
      if (r.status == 416) {  // the server thinks we have everything: check it below
        break;
      }
      return make_error("{}", describe_http_error(r, "downloading " + file.path, repo, endpoint_));
    }
    if (oversize) {
      ::unlink(partial.c_str());
      return make_error("downloading {}: the server sent more than the {} bytes the listing gives; the download was deleted",
                        file.path, file.size);
    }
    if (!r.curl_error.empty()) {
      last_error = r.curl_error;
      MX_LOG_WARN("{}: {} after {} of {} bytes; resuming", file.path, r.curl_error, part.size, file.size);
      continue;
    }
    if (part.size < file.size) last_error = "the server ended the file early";
  }
  progress.finish();
  if (part.size != file.size) {
    return make_error("downloading {} from {} failed after {} attempts: {} ({} of {} bytes kept in {} for the next try)",
                      file.path, endpoint_, stats.attempts, last_error.empty() ? "no data" : last_error, part.size,
                      file.size, partial);
  }
  if (!file.sha256.empty()) {
    const std::string got = part.sha.hex_digest();
    if (got != file.sha256) {
      ::unlink(partial.c_str());
      return make_error("{}: checksum mismatch (sha256 {} expected, {} received); the download was deleted, try again",
                        file.path, file.sha256, got);
    }
  }
  // No fsync (huggingface_hub and curl do none either): it costs seconds per GB. The price: after
  // a power loss a blob may be short; `moxing rm` and pull it again.
  return stats;
}

}  // namespace mx::hub
