// Shutting down gracefully (Server::drain): readiness fails and new requests get 503 at once,
// streams in flight finish with their last event, a short timeout cancels the rest cleanly,
// and a stop() cuts a drain short. Also a client that stops reading: cut after the write
// timeout without holding up anyone else.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "served_stories_test.h"

namespace mx::server {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Streaming clients that read their first bytes, then hold on (not reading) until released:
// with replies larger than the socket buffers between them (a small receive buffer, and
// megabytes from long_stream(kBigTokens, true)), the replies stay in flight as long as a test needs.
class HeldStreams {
 public:
  HeldStreams(int port, int n, const json& body) : bodies_(n), ok_(n, 0) {
    for (int i = 0; i < n; ++i)
      threads_.emplace_back([this, port, body, i] {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(120, 0);
        c.set_socket_options([](socket_t sock) {
          const int small = 4096;  // fixed: no autotuning that would let a held reply all in
          ::setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        });
        httplib::Request req;
        req.method = "POST";
        req.path = "/v1/chat/completions";
        req.body = body.dump();
        req.set_header("Content-Type", "application/json");
        bool first = true;
        req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
          bodies_[i].append(data, size);
          if (first) {
            first = false;
            std::unique_lock lock(mutex_);
            ++started_;
            changed_.notify_all();
            changed_.wait(lock, [this] { return released_; });
          }
          return true;
        };
        httplib::Response res;
        httplib::Error error;
        ok_[i] = c.send(req, res, error) && res.status == 200;
      });
  }
  ~HeldStreams() {
    release();
    join();
  }
  void wait_started() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return started_ == static_cast<int>(threads_.size()); });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }
  void join() {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  const std::string& body(int i) const { return bodies_[i]; }
  bool ok(int i) const { return ok_[i] != 0; }
  int size() const { return static_cast<int>(threads_.size()); }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int started_ = 0;
  bool released_ = false;
  std::vector<std::string> bodies_;
  std::vector<int> ok_;
  std::vector<std::thread> threads_;
};

// The finish_reason every choice of a stream ended with ("" if none did, "mixed" if they
// differ), and whether the stream ends with [DONE].
std::pair<std::string, bool> ending(const std::string& sse) {
  std::map<int, std::string> reasons;  // by choice index
  for (size_t p = 0; (p = sse.find("data: {", p)) != std::string::npos;) {
    const size_t end = sse.find("\n\n", p);
    const json event = json::parse(sse.substr(p + 6, end - p - 6), nullptr, false);
    if (event.is_object() && event.contains("choices"))
      for (const json& c : event["choices"])
        if (c.contains("finish_reason") && c["finish_reason"].is_string()) reasons[c["index"].get<int>()] = c["finish_reason"];
    p = end;
  }
  std::string reason = reasons.empty() ? "" : reasons.begin()->second;
  for (const auto& [i, r] : reasons)
    if (r != reason) reason = "mixed";
  const std::string done = "data: [DONE]\n\n";
  return {reason, sse.size() >= done.size() && sse.compare(sse.size() - done.size(), done.size(), done) == 0};
}

// A streamed chat reply of `max_tokens` a choice (none ends early). Big: 8 choices whose every
// token's event carries 20 alternatives, some 6 MB in all (more than the socket buffers between
// a server and a client that does not read hold); stories260K gets slow past its 512-token
// training context, so a long reply comes from choices, not length.
json long_stream(int max_tokens, bool big = false) {
  json body = {{"messages", {{{"role", "user"}, {"content", "Tell me a story"}}}}, {"max_tokens", max_tokens},
               {"stream", true}, {"ignore_eos", true}, {"loop_guard", "off"}};
  if (big) {
    body["n"] = 8;
    body["logprobs"] = true;
    body["top_logprobs"] = 20;
  }
  return body;
}
constexpr int kBigTokens = 480;  // with the prompt, within a 512-token context

class DrainTest : public test::ServedStoriesTest {
 protected:
  void start_parallel(int parallel, int64_t ctx = 512, double write_timeout = 30) {
    ServerOptions o = serve_options(ctx);
    o.parallel = parallel;
    o.write_timeout_seconds = write_timeout;
    start_with_options(o);
  }
  int status_of(const std::string& path) {
    auto r = client().Get(path);
    return r ? r->status : -1;
  }
  // Runs drain(timeout) on its own thread; the future is ready once it has returned.
  std::future<void> drain_async(std::chrono::milliseconds timeout) {
    auto f = std::async(std::launch::async, [this, timeout] { server_->drain(timeout); });
    while (!server_->draining()) std::this_thread::yield();  // drain() closes the gate first
    return f;
  }
};

TEST_F(DrainTest, StreamsInFlightFinishWhileNewRequestsAreRefused) {
  start_parallel(16);
  EXPECT_EQ(status_of("/health/ready"), 200);
  HeldStreams streams(server_->port(), 2, long_stream(kBigTokens, /*big=*/true));
  streams.wait_started();
  std::future<void> drained = drain_async(60s);

  // At once: not ready, still alive, new work refused with a hint to retry.
  EXPECT_EQ(status_of("/health"), 503);
  EXPECT_EQ(status_of("/health/ready"), 503);
  EXPECT_EQ(status_of("/health/live"), 200);
  EXPECT_EQ(client().Get("/health/live")->body.find("\"draining\"") != std::string::npos, true);
  auto refused = client().Post("/v1/chat/completions", long_stream(4).dump(), "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
  const json error = json::parse(refused->body, nullptr, false);
  EXPECT_EQ(error["error"]["code"], "shutting_down") << refused->body;
  EXPECT_EQ(client().Post("/api/generate", R"({"model": "stories", "prompt": "x"})", "application/json")->status, 503);
  EXPECT_EQ(status_of("/metrics"), 200) << "scrapes go on while draining";
  EXPECT_EQ(server_->in_flight(), 2);
  EXPECT_NE(drained.wait_for(0s), std::future_status::ready) << "the drain waits for the streams";

  streams.release();
  streams.join();
  drained.get();
  for (int i = 0; i < streams.size(); ++i) {
    EXPECT_TRUE(streams.ok(i)) << i;
    EXPECT_EQ(ending(streams.body(i)), std::make_pair(std::string("length"), true)) << streams.body(i).size();
  }
  thread_.join();  // serve() has returned
  EXPECT_EQ(server_->in_flight(), 0);
}

TEST_F(DrainTest, AnIdleServerDrainsAtOnce) {
  start_parallel(2);
  post("/v1/completions", {{"prompt", "Once"}, {"max_tokens", 4}});
  server_->drain(60s);  // nothing in flight: returns without waiting for the timeout
  thread_.join();
}

// Replies that cannot finish in time (their clients hold on, and each is megabytes): the
// drain gives up at its timeout, cancels them, and each still ends with its finish event and
// [DONE] once read.
TEST_F(DrainTest, AShortTimeoutCancelsWhatIsLeftCleanly) {
  start_parallel(16);
  HeldStreams streams(server_->port(), 2, long_stream(kBigTokens, /*big=*/true));
  streams.wait_started();
  std::future<void> drained = drain_async(200ms);
  drained.get();  // while the replies, too big to be buffered, are held: at its timeout
  EXPECT_EQ(server_->stats().running, 0u) << "their generations are cancelled";
  streams.release();
  streams.join();
  for (int i = 0; i < streams.size(); ++i) {
    EXPECT_TRUE(streams.ok(i)) << i;
    const auto [reason, done] = ending(streams.body(i));
    EXPECT_TRUE(reason == "stop" || reason == "length") << reason;
    EXPECT_TRUE(done) << streams.body(i).substr(streams.body(i).size() - std::min<size_t>(300, streams.body(i).size()));
  }
  thread_.join();
}

TEST_F(DrainTest, StopCutsADrainShort) {
  start_parallel(16);
  HeldStreams streams(server_->port(), 2, long_stream(kBigTokens, /*big=*/true));
  streams.wait_started();
  std::future<void> drained = drain_async(600s);
  EXPECT_NE(drained.wait_for(0s), std::future_status::ready);
  server_->stop();  // a second signal
  EXPECT_EQ(drained.wait_for(60s), std::future_status::ready) << "the drain still waits";
  streams.release();
  streams.join();
  for (int i = 0; i < streams.size(); ++i) EXPECT_TRUE(ending(streams.body(i)).second) << i;
  thread_.join();
}

// A client that sends a streamed request and never reads (a receive buffer of 1 KiB): its
// reply is cut after the write timeout and its sequence freed, while another client's stream
// goes on to its end.
TEST_F(DrainTest, AClientThatStopsReadingIsCutAfterTheWriteTimeout) {
  start_parallel(10, 512, /*write_timeout=*/1);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  const int small = 1024;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string body = long_stream(kBigTokens, /*big=*/true).dump();
  const std::string request = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  while (server_->in_flight() == 0) std::this_thread::yield();  // it has arrived

  // Another client streams to the end meanwhile.
  auto other = client().Post("/v1/chat/completions", long_stream(64).dump(), "application/json");
  ASSERT_TRUE(other);
  EXPECT_EQ(ending(other->body), std::make_pair(std::string("length"), true));

  // The stalled reply ends (its worker is free, its sequence too) with its client still there.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while ((server_->in_flight() > 0 || server_->stats().running > 0) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server_->in_flight(), 0);
  EXPECT_EQ(server_->stats().running, 0u);
  EXPECT_EQ(server_->stats().kv_used, 0);
  ::close(fd);
}

}  // namespace
}  // namespace mx::server
