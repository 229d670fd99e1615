// One libcurl GET with the hub's conventions: the token as a Bearer header (curl drops it on
// a redirect to another host, e.g. the CDN), redirects followed, response headers kept.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace mx::hub {

struct HttpRequest {
  std::string url;
  std::string token;
  std::string range;  // "100-" asks for the bytes from 100 on; empty = all
  // Receives the body of a successful (2xx) response; returns false to abort the transfer.
  std::function<bool(const char* data, size_t n)> on_data;
  // Called once the final response's status and headers are known, before any data: `headers`
  // as in HttpResponse::headers, `final_headers` those of the final response alone.
  std::function<void(long status, const std::map<std::string, std::string>& headers,
                     const std::map<std::string, std::string>& final_headers)>
      on_start;
  // With a range: the ETag or Last-Modified the bytes before it came with. A server whose file
  // changed since then answers 200 with the whole new file instead of the range.
  std::string if_range;
};

struct HttpResponse {
  long status = 0;                            // of the final response (after redirects)
  std::string curl_error;                     // empty when the transfer completed
  bool aborted_by_callback = false;
  std::map<std::string, std::string> headers;  // lower-case names; the first response's value wins
  std::map<std::string, std::string> final_headers;  // of the final response (its Content-Length)
  std::string error_body;                      // the body of a non-2xx response (first 4 KiB)
};

HttpResponse http_get(const HttpRequest& request);

// The message for an HTTP error of the hub: 401/403 point at HF_TOKEN, 404 says what is missing.
std::string describe_http_error(const HttpResponse& r, std::string_view what, std::string_view repo,
                                std::string_view endpoint);

}  // namespace mx::hub
