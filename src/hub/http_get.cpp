#include "hub/http_get.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include <fmt/format.h>

namespace mx::hub {
namespace {

struct Transfer {
  const HttpRequest* request;
  HttpResponse* response;
  long status = 0;
  bool started = false;
};

void ensure_curl_initialized() {
  // curl_global_init is not thread-safe in every libcurl; once per process, before any handle.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect): its own status
    const size_t sp = line.find(' ');
    t->status = sp == std::string::npos ? 0 : std::strtol(line.c_str() + sp + 1, nullptr, 10);
    t->response->final_headers.clear();
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  std::string value = line.substr(colon + 1);
  value.erase(0, value.find_first_not_of(" \t"));
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.pop_back();
  const std::string name = lower(line.substr(0, colon));
  t->response->final_headers[name] = value;
  t->response->headers.emplace(name, value);  // keeps the first response's
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  if (!t->started) {
    t->started = true;
    if (t->request->on_start) t->request->on_start(t->status, t->response->headers, t->response->final_headers);
  }
  if (t->status < 200 || t->status >= 300) {
    std::string& body = t->response->error_body;
    body.append(data, std::min<size_t>(bytes, 4096 - std::min<size_t>(body.size(), 4096)));
    return bytes;
  }
  if (t->request->on_data && !t->request->on_data(data, bytes)) {
    t->response->aborted_by_callback = true;
    return 0;  // curl stops with CURLE_WRITE_ERROR
  }
  return bytes;
}

}  // namespace

HttpResponse http_get(const HttpRequest& request) {
  ensure_curl_initialized();
  HttpResponse response;
  Transfer t{&request, &response};
  CURL* curl = curl_easy_init();
  if (!curl) {
    response.curl_error = "cannot start libcurl";
    return response;
  }
  curl_slist* headers = nullptr;
  if (!request.token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + request.token).c_str());
  headers = curl_slist_append(headers, "Accept-Encoding: identity");  // byte ranges of the real file
  if (!request.range.empty() && !request.if_range.empty())
    headers = curl_slist_append(headers, ("If-Range: " + request.if_range).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "moxing/0.1");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled connection (under 1 KB/s for 60 s) is dropped, then resumed by the caller.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);  // fewer, larger writes and hash updates
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  if (!request.range.empty()) curl_easy_setopt(curl, CURLOPT_RANGE, request.range.c_str());
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  if (rc != CURLE_OK) response.curl_error = curl_easy_strerror(rc);
  if (!t.started && request.on_start && rc == CURLE_OK)  // an empty body
    request.on_start(response.status, response.headers, response.final_headers);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return response;
}

std::string describe_http_error(const HttpResponse& r, std::string_view what, std::string_view repo,
                                std::string_view endpoint) {
  auto header = [&](const char* name) {
    auto it = r.headers.find(name);
    return it == r.headers.end() ? std::string() : it->second;
  };
  const std::string code = header("x-error-code");
  if (code == "RepoNotFound" || (r.status == 404 && code.empty()))
    return fmt::format("{}: the repo {} does not exist on {} (or it is private: set HF_TOKEN)", what, repo, endpoint);
  if (code == "RevisionNotFound") return fmt::format("{}: {} has no such revision", what, repo);
  if (code == "EntryNotFound") return fmt::format("{}: {} has no such file", what, repo);
  if (r.status == 401 || r.status == 403 || code == "GatedRepo")
    return fmt::format(
        "{}: access to {} was refused (HTTP {}): set HF_TOKEN to a token that may read it, and accept the "
        "repo's terms at {}/{} if it is gated",
        what, repo, r.status, endpoint, repo);
  return fmt::format("{}: HTTP {} from {}{}", what, r.status, endpoint,
                     r.error_body.empty() ? std::string() : ": " + r.error_body.substr(0, 200));
}

}  // namespace mx::hub
