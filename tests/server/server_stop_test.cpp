// Stopping a server whatever state it is in: before its listener has started (a model that
// fails to load at once), while it listens, and before serve() was ever called.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "server/server.h"

namespace mx::server {
namespace {

ServerOptions any_port() {
  ServerOptions o;
  o.port = 0;
  return o;
}

enum class When { kBeforeServe, kAsServeStarts, kWhileListening };

// serve() on its own thread must return within 5 s of stop(); a hang fails the test instead
// of blocking it (the thread is detached then, and the server left alive for it).
bool serve_returns_after_stop(std::unique_ptr<Server>& owned, When when) {
  Server& srv = *owned;
  if (when == When::kBeforeServe) srv.stop();  // e.g. a signal during start-up
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> returned = done->get_future();
  std::thread http([&srv, done] {
    srv.serve();
    done->set_value();
  });
  if (when == When::kWhileListening) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  srv.stop();
  const bool ok = returned.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  if (ok) {
    http.join();
  } else {
    http.detach();
    owned.release();  // still used by the hung thread
  }
  return ok;
}

TEST(ServerStop, StopAsServeStartsEndsIt) {
  for (int i = 0; i < 50; ++i) {  // the listener starting after stop() is a race: try it often
    auto srv = std::make_unique<Server>(any_port());
    ASSERT_TRUE(srv->bind());
    ASSERT_TRUE(serve_returns_after_stop(srv, When::kAsServeStarts)) << "round " << i;
  }
}

TEST(ServerStop, StopWhileListeningEndsIt) {
  auto srv = std::make_unique<Server>(any_port());
  ASSERT_TRUE(srv->bind());
  EXPECT_TRUE(serve_returns_after_stop(srv, When::kWhileListening));
}

TEST(ServerStop, ServeAfterStopReturnsAtOnce) {
  auto srv = std::make_unique<Server>(any_port());
  ASSERT_TRUE(srv->bind());
  EXPECT_TRUE(serve_returns_after_stop(srv, When::kBeforeServe));
}

}  // namespace
}  // namespace mx::server
