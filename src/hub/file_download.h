// One file over HTTP into a partial file: redirects followed, a dropped connection resumed with
// a Range request (If-Range: only the same file), the bytes hashed while written, a progress
// line. Used for the hub's files (size and sha256 known from the listing) and for plain URLs
// (both learnt from the response).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/expected.h"
#include "hub/http_get.h"

namespace mx::hub {

struct DownloadSpec {
  std::string url;
  std::string token;   // sent as a Bearer header; empty for hosts that are not the hub
  std::string label;   // the file's name in the progress line and in messages
  uint64_t size = 0;   // expected bytes; 0 = learnt from Content-Length / Content-Range
  std::string sha256;  // expected checksum; empty = none known
  // A plain URL: a 64-hex X-Linked-Etag or ETag is taken as the sha256 to check.
  bool sha256_from_etag = false;
  bool progress = true;
  // The message for an HTTP error status (the hub's names its repo and HF_TOKEN).
  std::function<std::string(const HttpResponse&)> describe_error;
};

// Statistics and facts of one download (tests check them; URL downloads record them).
struct DownloadStats {
  int attempts = 0;           // requests made (1 + resumes)
  uint64_t resumed_from = 0;  // bytes already on disk at the last resume
  uint64_t size = 0;          // bytes of the finished file
  std::string sha256;         // computed while downloading
  std::string etag;           // the server's ETag (X-Linked-Etag first), unquoted
};

// Downloads to `partial` (continuing what is there) and checks size and sha256. A checksum
// mismatch deletes `partial`; any other failure keeps it for the next try. The finished file
// stays at `partial`: the caller moves it into place with durable_rename.
Expected<DownloadStats> download_file(const DownloadSpec& spec, const std::string& partial);

// Beside a partial file: the validator (strong ETag or Last-Modified) of the response its bytes
// came from, sent as If-Range when a later attempt or run resumes it, so that a file changed
// in between comes whole instead of its new end being spliced onto its old start.
std::string validator_path(const std::string& partial);

}  // namespace mx::hub
