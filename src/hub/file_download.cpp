#include "hub/file_download.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "core/log.h"
#include "core/progress.h"
#include "hub/blob_writer.h"
#include "hub/durable_file.h"
#include "hub/sha256_stream.h"

namespace mx::hub {
namespace {

constexpr int kMaxAttempts = 5;  // a dropped connection is resumed this many times

using Headers = std::map<std::string, std::string>;

std::string header(const Headers& h, const char* name) {
  auto it = h.find(name);
  return it == h.end() ? std::string() : it->second;
}

// An ETag without quotes or a weak-validator prefix.
std::string unquote(std::string v) {
  if (v.rfind("W/", 0) == 0) v.erase(0, 2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return v;
}

bool is_sha256(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The whole file's length from "bytes 100-199/200" (or "bytes */200"); nullopt if absent.
std::optional<uint64_t> range_total(const std::string& content_range) {
  const size_t slash = content_range.rfind('/');
  if (slash == std::string::npos || slash + 1 >= content_range.size() || content_range[slash + 1] == '*')
    return std::nullopt;
  return std::strtoull(content_range.c_str() + slash + 1, nullptr, 10);
}

// What to send as If-Range: a strong ETag as the server sent it (quotes kept), else
// Last-Modified. A weak ETag may not be used (RFC 9110, 13.1.5).
std::string validator_of(const Headers& final_headers) {
  const std::string etag = header(final_headers, "etag");
  if (!etag.empty() && etag.rfind("W/", 0) != 0) return etag;
  return header(final_headers, "last-modified");
}

// The partial file of one download, the hash of what it holds, and its validator.
struct PartialFile {
  std::string path;
  int fd = -1;
  uint64_t size = 0;
  int write_errno = 0;
  Sha256Stream sha;
  std::string validator;  // of the response the bytes on disk came from; empty if unknown
  ~PartialFile() {
    if (fd >= 0) ::close(fd);
  }
  bool restart() {  // the server sent the whole file: start over
    size = 0;
    sha.reset();
    return ::ftruncate(fd, 0) == 0;
  }
  void read_validator() {
    std::ifstream in(validator_path(path));
    std::getline(in, validator);
    // One line of a header value, or nothing: it goes into a request header.
    for (char c : validator)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) validator.clear();
  }
  // Stored before the first byte is written, so a later run resumes only the same file.
  void set_validator(const std::string& v) {
    if (!v.empty() && v == validator) return;
    validator = v;
    const std::string file = validator_path(path);
    if (v.empty()) {
      ::unlink(file.c_str());
    } else if (Status s = write_file_atomically(file, v); !s) {
      MX_LOG_WARN("{} (a resume will not know whether the file changed)", s.error().message);
    }
  }
  void discard() {  // bad bytes: nothing is kept
    ::unlink(path.c_str());
    ::unlink(validator_path(path).c_str());
  }
};

}  // namespace

std::string validator_path(const std::string& partial) { return partial + ".validator"; }

Expected<DownloadStats> download_file(const DownloadSpec& spec, const std::string& partial) {
  PartialFile part;
  part.path = partial;
  part.fd = ::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (part.fd < 0) return make_error("cannot create {}: {}", partial, std::strerror(errno));
  struct stat st {};
  ::fstat(part.fd, &st);
  part.size = static_cast<uint64_t>(st.st_size);
  std::optional<uint64_t> total;  // the file's length, once known
  if (spec.size > 0 || !spec.sha256_from_etag) total = spec.size;
  if (total && part.size > *total && !part.restart()) return make_error("cannot truncate {}", partial);
  // The part already on disk is hashed first, so the checksum covers the whole file.
  if (part.size > 0 && !hash_file_prefix(part.fd, part.size, part.sha)) {
    if (!part.restart()) return make_error("cannot read {}", partial);
  }
  // Without one (a partial of an older moxing, or of huggingface_hub) the resume is a plain Range
  // request, as before; the checksum still guards a hub file.
  if (part.size > 0) part.read_validator();
  DownloadStats stats;
  std::string expected_sha = spec.sha256;
  std::optional<ProgressBar> progress;
  std::string last_error;
  while ((!total || part.size < *total) && stats.attempts < kMaxAttempts) {
    ++stats.attempts;
    if (part.size > 0) {
      stats.resumed_from = part.size;
      MX_LOG_DEBUG("{}: resuming at byte {}", spec.label, part.size);
    }
    bool unexpected_status = false, stale = false;
    std::string served_sha;  // what the server says it serves (the hub's X-Linked-Etag)
    std::optional<BlobWriter> writer;  // made once the response is known (a 200 may restart the file)
    HttpRequest req;
    req.url = spec.url;
    req.token = spec.token;
    if (part.size > 0) {
      req.range = fmt::format("{}-", part.size);
      req.if_range = part.validator;  // a file changed since comes whole (200), not spliced
    }
    req.on_start = [&](long status, const Headers& headers, const Headers& final_headers) {
      stats.etag = unquote(header(headers, "x-linked-etag"));
      if (stats.etag.empty()) stats.etag = unquote(header(final_headers, "etag"));
      served_sha = spec.sha256_from_etag ? stats.etag : unquote(header(headers, "x-linked-etag"));
      if (spec.sha256_from_etag && !is_sha256(served_sha)) served_sha.clear();
      // A plain URL's checksum is its ETag's, of the file as a whole response sends it.
      const bool whole = status == 200;
      if (spec.sha256_from_etag && (expected_sha.empty() || whole)) expected_sha = served_sha;
      stale = !expected_sha.empty() && !served_sha.empty() && served_sha != expected_sha;
      if (stale) return;  // stop before any byte
      if (whole && part.size > 0) {  // Range ignored, or If-Range found the file changed: start over
        if (!part.restart()) unexpected_status = true;
        if (spec.size == 0 && spec.sha256_from_etag) total.reset();  // this response's length counts
      }
      if (status >= 200 && status < 300 && !unexpected_status && (whole || part.validator.empty()))
        part.set_validator(validator_of(final_headers));
      if (!total && status == 206) total = range_total(header(final_headers, "content-range"));
      if (!total && status == 200 && !header(final_headers, "content-length").empty())
        total = std::strtoull(header(final_headers, "content-length").c_str(), nullptr, 10);
      if (!progress)
        progress.emplace(spec.label, total.value_or(0),
                         ProgressOptions{.bytes = true, .rate = true, .start = part.size, .enabled = spec.progress,
                                         .bar_width = 0});
      if (status >= 200 && status < 300 && !unexpected_status) writer.emplace(part.fd, part.size, part.sha);
    };
    req.on_data = [&](const char* d, size_t n) {
      if (!writer || (total && writer->written() + n > *total)) return false;
      if (!writer->append(d, n)) return false;
      progress->update(writer->written());
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
    if (stale) {
      if (!spec.sha256_from_etag)
        return make_error("{}: the hub now serves other contents (sha256 {}) than its listing gave ({}); the repo "
                          "changed during the pull, pull again",
                          spec.label, served_sha, expected_sha);
      part.discard();
      return make_error("{}: the server now serves other contents (sha256 {}) than when the download began ({}); "
                        "the download was deleted, pull again",
                        spec.label, served_sha, expected_sha);
    }
    if (part.write_errno != 0) {
      return make_error("writing {} failed: {}{}", partial, std::strerror(part.write_errno),
                        part.write_errno == ENOSPC || part.write_errno == EFBIG || part.write_errno == EDQUOT
                            ? " (is the disk full?)"
                            : "");
    }
    if (r.status >= 300 || (r.status != 0 && r.status < 200) || unexpected_status) {
      if (r.status == 416) {  // the server thinks we have everything: check it below
        if (!total) total = range_total(header(r.final_headers, "content-range")).value_or(part.size);
        break;
      }
      return make_error("{}", spec.describe_error ? spec.describe_error(r)
                                                  : fmt::format("downloading {}: HTTP {}", spec.url, r.status));
    }
    if (oversize) {
      part.discard();
      return make_error("downloading {}: the server sent more than the {} bytes {}; the download was deleted",
                        spec.label, *total, spec.size > 0 ? "the listing gives" : "it announced");
    }
    if (!r.curl_error.empty()) {
      last_error = r.curl_error;
      MX_LOG_WARN("{}: {} after {} of {} bytes; resuming", spec.label, r.curl_error, part.size, total.value_or(0));
      continue;
    }
    if (!total) total = part.size;  // no length announced: the file is what came
    if (part.size < *total) last_error = "the server ended the file early";
  }
  if (progress) progress->finish();
  if (!total || part.size != *total) {
    if (part.size == 0) part.set_validator("");  // nothing to resume
    return make_error("downloading {} failed after {} attempts: {} ({} of {} bytes kept in {} for the next try)",
                      spec.url, stats.attempts, last_error.empty() ? "no data" : last_error, part.size,
                      total ? fmt::format("{}", *total) : std::string("?"), partial);
  }
  stats.size = part.size;
  stats.sha256 = part.sha.hex_digest();
  if (!expected_sha.empty() && stats.sha256 != expected_sha) {
    part.discard();
    return make_error("{}: checksum mismatch (sha256 {} expected, {} received); the download was deleted, try again",
                      spec.label, expected_sha, stats.sha256);
  }
  part.set_validator("");  // whole and checked: the caller moves it into place (durable_rename)
  return stats;
}

}  // namespace mx::hub
