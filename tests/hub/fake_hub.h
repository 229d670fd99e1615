// A fake Hugging Face hub on 127.0.0.1 for tests and benchmarks: the revision and tree APIs,
// /resolve redirecting LFS files to a second host name (localhost) that serves the bytes with
// Range support (and If-Range), and knobs to inject faults (a dropped connection, wrong bytes,
// slowness). Plain files (no repo) are served at /files/<name>, and /go/<name> redirects there;
// add_file again with other bytes is a file that changed on its server.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace httplib {
class Server;
struct Request;
struct Response;
}

namespace mx::test {

struct FakeRepo {
  std::map<std::string, std::string> files;  // path -> content; *.gguf are LFS files
  bool gated = false;                        // needs "Authorization: Bearer <FakeHub::kToken>"
};

class FakeHub {
 public:
  static constexpr const char* kToken = "hf_test_token";

  FakeHub();  // listens on 127.0.0.1, a free port
  ~FakeHub();
  FakeHub(const FakeHub&) = delete;
  FakeHub& operator=(const FakeHub&) = delete;

  // Adds (or replaces, as a new commit) a repo; returns its commit id.
  std::string add_repo(const std::string& repo, FakeRepo content);
  // Serves `bytes` at /files/<name> (a plain URL, as any web server has).
  void add_file(const std::string& name, std::string bytes);
  std::string endpoint() const;  // "http://127.0.0.1:PORT"
  int port() const { return port_; }
  static std::string sha256_of(const std::string& bytes);

  // Fault knobs, read by the CDN route.
  std::atomic<long long> drop_next_after{-1};  // the next file response closes after this many bytes
  std::atomic<bool> corrupt{false};            // every file served has its first byte flipped
  std::atomic<int> chunk_delay_ms{0};          // sleep between chunks of 64 KiB (slow network)
  std::atomic<int> tree_page_size{0};          // entries per page of the tree listing, the next page in a Link header (0: one page)
  std::atomic<double> rate_mib_s{0};           // each file response paced to this rate (0: as fast as it goes)
  std::atomic<bool> ignore_ranges{false};      // answer a Range request with the whole file (200)
  std::atomic<bool> stale_listing{false};      // /resolve names other contents (X-Linked-Etag) than the tree
  std::atomic<bool> plain_sha_etag{false};     // /files/ sends the sha256 as ETag (else an opaque one)

  // What was asked.
  std::atomic<int> file_requests{0};   // to the CDN host or /files/
  std::atomic<int> range_requests{0};  // of those, with a Range header
  std::atomic<int> if_range_requests{0};  // of those, with an If-Range header (answered whole if it is stale)
  std::atomic<int> range_responses{0};    // file responses that sent a range (206), not the whole file
  std::atomic<int> api_requests{0};
  std::atomic<int> file_requests_with_token{0};  // the CDN must never see the hub token

 private:
  struct Blob {
    std::shared_ptr<const std::string> bytes;
    std::string sha256;
  };
  struct Repo {
    std::string commit;
    bool gated = false;
    std::map<std::string, Blob> files;
  };
  void install_routes();
  std::shared_ptr<const Repo> find_repo(const std::string& name) const;
  std::shared_ptr<const Blob> find_blob(const std::string& sha) const;
  // The bytes with Range support and the fault knobs (the CDN's and /files/' answer).
  void serve_bytes(std::shared_ptr<const Blob> blob, const std::string& etag, const httplib::Request& req,
                   httplib::Response& res);

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const Repo>> repos_;
  std::map<std::string, std::shared_ptr<const Blob>> blobs_;  // by sha256
  std::map<std::string, std::shared_ptr<const Blob>> plain_files_;  // by name under /files/
  int commits_ = 0;
};

}  // namespace mx::test
