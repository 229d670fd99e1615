#include "hub/hub_client.h"

#include <cctype>

#include <fmt/format.h>

#include "hub/http_get.h"
#include "hub/tree_listing.h"

namespace mx::hub {
namespace {

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
  HttpRequest req;
  req.url = fmt::format("{}/api/models/{}/revision/{}", endpoint_, repo, escape_path(revision));
  req.token = settings_.token;
  req.on_data = [&](const char* d, size_t n) { body.append(d, n); return true; };
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
    HttpRequest req;
    req.url = url;
    req.token = settings_.token;
    req.on_data = [&](const char* d, size_t n) { body.append(d, n); return true; };
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
  DownloadSpec spec;
  spec.url = file_url(repo, commit, file.path);
  spec.token = settings_.token;  // curl drops it on the redirect to the CDN's host
  spec.label = file.path;
  spec.size = file.size;
  spec.sha256 = file.sha256;
  spec.progress = settings_.progress;
  spec.describe_error = [&](const HttpResponse& r) {
    return describe_http_error(r, "downloading " + file.path, repo, endpoint_);
  };
  return download_file(spec, partial);
}

}  // namespace mx::hub
