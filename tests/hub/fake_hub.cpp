#include "hub/fake_hub.h"

#include <httplib.h>

#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hub/sha256_stream.h"

namespace mx::test {
namespace {

bool is_lfs(const std::string& path) { return path.size() > 5 && path.substr(path.size() - 5) == ".gguf"; }

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

std::string FakeHub::sha256_of(const std::string& bytes) {
  hub::Sha256Stream sha;
  sha.update(bytes.data(), bytes.size());
  return sha.hex_digest();
}

FakeHub::FakeHub() : server_(std::make_unique<httplib::Server>()) {
  install_routes();
  port_ = server_->bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // Bound and listening already; wait for the loop so stop() in the destructor reaches it.
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeHub::~FakeHub() {
  server_->stop();
  thread_.join();
}

std::string FakeHub::endpoint() const { return fmt::format("http://127.0.0.1:{}", port_); }

std::string FakeHub::add_repo(const std::string& name, FakeRepo content) {
  auto repo = std::make_shared<Repo>();
  repo->gated = content.gated;
  std::lock_guard<std::mutex> lock(mutex_);
  repo->commit = sha256_of(fmt::format("{} {}", name, ++commits_)).substr(0, 40);
  for (auto& [path, bytes] : content.files) {
    auto blob = std::make_shared<Blob>();
    blob->sha256 = sha256_of(bytes);
    blob->bytes = std::make_shared<const std::string>(std::move(bytes));
    blobs_[blob->sha256] = blob;
    repo->files[path] = *blob;
  }
  repos_[name] = repo;
  return repo->commit;
}

void FakeHub::add_file(const std::string& name, std::string bytes) {
  auto blob = std::make_shared<Blob>();
  blob->sha256 = sha256_of(bytes);
  blob->bytes = std::make_shared<const std::string>(std::move(bytes));
  std::lock_guard<std::mutex> lock(mutex_);
  plain_files_[name] = blob;
}

std::shared_ptr<const FakeHub::Repo> FakeHub::find_repo(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = repos_.find(name);
  return it == repos_.end() ? nullptr : it->second;
}

std::shared_ptr<const FakeHub::Blob> FakeHub::find_blob(const std::string& sha) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = blobs_.find(sha);
  return it == blobs_.end() ? nullptr : it->second;
}

void FakeHub::install_routes() {
  // The repo of a request, or an error answer as the hub gives it (code in X-Error-Code).
  auto repo_for = [this](const httplib::Request& req, httplib::Response& res) -> std::shared_ptr<const Repo> {
    ++api_requests;
    auto repo = find_repo(req.matches[1].str() + "/" + req.matches[2].str());
    if (!repo) {
      res.status = 404;
      res.set_header("X-Error-Code", "RepoNotFound");
      res.set_content("{\"error\":\"Repository not found\"}", "application/json");
      return nullptr;
    }
    if (repo->gated && req.get_header_value("Authorization") != std::string("Bearer ") + kToken) {
      res.status = 401;
      res.set_header("X-Error-Code", "GatedRepo");
      res.set_content("{\"error\":\"Access to this repo is restricted\"}", "application/json");
      return nullptr;
    }
    return repo;
  };

  server_->Get(R"(/api/models/([^/]+)/([^/]+)/revision/([^/]+))",
               [repo_for](const httplib::Request& req, httplib::Response& res) {
                 auto repo = repo_for(req, res);
                 if (!repo) return;
                 nlohmann::json j{{"id", req.matches[1].str() + "/" + req.matches[2].str()}, {"sha", repo->commit}};
                 res.set_content(j.dump(), "application/json");
               });

  server_->Get(R"(/api/models/([^/]+)/([^/]+)/tree/([^/]+))",
               [this, repo_for](const httplib::Request& req, httplib::Response& res) {
                 auto repo = repo_for(req, res);
                 if (!repo) return;
                 nlohmann::json list = nlohmann::json::array();
                 for (const auto& [path, blob] : repo->files) {
                   nlohmann::json e{{"type", "file"},
                                    {"oid", blob.sha256.substr(24)},  // stands in for the git id
                                    {"size", blob.bytes->size()},
                                    {"path", path}};
                   if (is_lfs(path))
                     e["lfs"] = {{"oid", blob.sha256}, {"size", blob.bytes->size()}, {"pointerSize", 134}};
                   list.push_back(e);
                 }
                 list.push_back({{"type", "directory"}, {"oid", std::string(40, 'd')}, {"size", 0}, {"path", "docs"}});
                 // Large listings come in pages, as the hub sends them: the cursor is where the page starts.
                 const size_t page = static_cast<size_t>(tree_page_size.load());
                 const size_t from = req.has_param("cursor") ? std::stoul(req.get_param_value("cursor")) : 0;
                 if (page > 0 && from < list.size()) {
                   nlohmann::json part(list.begin() + static_cast<long>(from),
                                       list.begin() + static_cast<long>(std::min(list.size(), from + page)));
                   if (from + page < list.size())
                     res.set_header("Link", fmt::format("<{}{}?recursive=true&cursor={}>; rel=\"next\"", endpoint(),
                                                        req.path, from + page));
                   list = std::move(part);
                 }
                 res.set_content(list.dump(), "application/json");
               });

  server_->Get(R"(/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))",
               [this, repo_for](const httplib::Request& req, httplib::Response& res) {
                 auto repo = repo_for(req, res);
                 if (!repo) return;
                 auto it = repo->files.find(req.matches[4].str());
                 if (it == repo->files.end()) {
                   res.status = 404;
                   res.set_header("X-Error-Code", "EntryNotFound");
                   return;
                 }
                 const Blob& blob = it->second;
                 res.set_header("X-Repo-Commit", repo->commit);
                 if (!is_lfs(it->first)) {  // small files come straight from the hub
                   res.set_header("ETag", quoted(blob.sha256.substr(24)));
                   res.set_content(*blob.bytes, "application/octet-stream");
                   return;
                 }
                 // LFS files: a redirect to another host name, as the hub sends its CDN's URL.
                 res.status = 302;
                 res.set_header("X-Linked-Etag", quoted(stale_listing ? std::string(64, 'e') : blob.sha256));
                 res.set_header("X-Linked-Size", std::to_string(blob.bytes->size()));
                 res.set_header("ETag", quoted(blob.sha256.substr(24)));
                 res.set_header("Location", fmt::format("http://localhost:{}/cdn/{}", port_, blob.sha256));
                 // The hub sends a body too, which a client must not take for the file. httplib
                 // would apply a Range header to it; the hub applies ranges only to the file.
                 const_cast<httplib::Request&>(req).ranges.clear();
                 res.set_content("Found. Redirecting to the CDN", "text/plain");
               });

  server_->Get(R"(/cdn/([0-9a-f]{64}))", [this](const httplib::Request& req, httplib::Response& res) {
    auto blob = find_blob(req.matches[1].str());
    if (!blob) {
      res.status = 404;
      return;
    }
    serve_bytes(blob, blob->sha256, req, res);
  });

  server_->Get(R"(/files/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<const Blob> blob;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = plain_files_.find(req.matches[1].str());
      if (it != plain_files_.end()) blob = it->second;
    }
    if (!blob) {
      res.status = 404;
      res.set_content("Not Found", "text/plain");
      return;
    }
    serve_bytes(blob, plain_sha_etag ? blob->sha256 : blob->sha256.substr(0, 16), req, res);
  });

  // A download link that redirects, as many file hosts' do.
  server_->Get(R"(/go/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    res.status = 302;
    res.set_header("Location", fmt::format("http://localhost:{}/files/{}", port_, req.matches[1].str()));
    const_cast<httplib::Request&>(req).ranges.clear();
    res.set_content("Found", "text/plain");
  });
}

void FakeHub::serve_bytes(std::shared_ptr<const Blob> blob, const std::string& etag, const httplib::Request& req,
                          httplib::Response& res) {
  ++file_requests;
  if (req.has_header("Range")) ++range_requests;
  if (req.has_header("Authorization")) ++file_requests_with_token;
  if (req.has_header("If-Range")) ++if_range_requests;
  // If-Range names the file the client's bytes came from: another one now is sent whole (200).
  // An old server ignores ranges altogether.
  if (ignore_ranges || (req.has_header("If-Range") && req.get_header_value("If-Range") != quoted(etag)))
    const_cast<httplib::Request&>(req).ranges.clear();
  if (!req.ranges.empty()) ++range_responses;
  res.set_header("ETag", quoted(etag));
  const long long drop_after = drop_next_after.exchange(-1);
  const bool flip = corrupt;
  auto sent = std::make_shared<long long>(0);
  const double rate = rate_mib_s;
  const auto start = std::chrono::steady_clock::now();
  res.set_content_provider(
      blob->bytes->size(), "application/octet-stream",
      [this, blob, drop_after, flip, sent, rate, start](size_t offset, size_t length, httplib::DataSink& sink) {
        if (chunk_delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(chunk_delay_ms.load()));
        if (rate > 0)  // a link of that speed: the bytes sent so far may not leave before their time
          std::this_thread::sleep_until(start + std::chrono::duration<double>(*sent / (rate * 1048576.0)));
        size_t n = std::min<size_t>(length, chunk_delay_ms > 0 ? 64 << 10 : 4 << 20);
        if (drop_after >= 0 && *sent + static_cast<long long>(n) > drop_after) {
          if (*sent < drop_after) sink.write(blob->bytes->data() + offset, static_cast<size_t>(drop_after - *sent));
          return false;  // httplib closes the connection mid-body
        }
        if (flip && offset == 0) {
          std::string head = blob->bytes->substr(0, n);
          head[0] = static_cast<char>(head[0] ^ 0xff);
          sink.write(head.data(), n);
        } else {
          sink.write(blob->bytes->data() + offset, n);
        }
        *sent += static_cast<long long>(n);
        return true;
      });
}

}  // namespace mx::test
