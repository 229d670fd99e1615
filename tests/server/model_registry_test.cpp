// The model registry with a fake loader (no files): models load on first use, requests for a
// model being loaded wait for it, the least recently used idle model is unloaded for room
// (max-loaded and memory budget), a leased model is never unloaded, acquires from many
// threads agree, and a failed load reaches its waiters and is retried by the next request.
#include "server/model_registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

namespace mx::server {
namespace {

using namespace std::chrono_literals;

// Counts loads and live models; a test may hold loads at a gate or make them fail.
struct FakeLoader {
  std::mutex mutex;
  std::condition_variable cv;
  std::map<std::string, int> loads;
  std::atomic<int> live{0};
  bool gate_open = true;
  int failures_left = 0;

  ModelRegistry::Loader loader() {
    return [this](const ModelSpec& spec) -> Expected<std::shared_ptr<ServedModel>> {
      std::unique_lock lock(mutex);
      ++loads[spec.id];
      cv.notify_all();
      cv.wait(lock, [this] { return gate_open; });
      if (failures_left > 0) {
        --failures_left;
        return make_error("bad file {}", spec.path);
      }
      ++live;
      // The deleter counts the unload: the registry must destroy what it unloads.
      auto* m = new ServedModel;
      m->memory_bytes = spec.estimated_bytes;
      return std::shared_ptr<ServedModel>(m, [this](ServedModel* p) {
        --live;
        delete p;
      });
    };
  }
  int count(const std::string& id) {
    std::lock_guard lock(mutex);
    return loads[id];
  }
  void wait_for_load(const std::string& id, int n) {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return loads[id] >= n; });
  }
  void set_gate(bool open) {
    {
      std::lock_guard lock(mutex);
      gate_open = open;
    }
    cv.notify_all();
  }
};

std::vector<ModelSpec> specs(int n, int64_t bytes = 100) {
  std::vector<ModelSpec> out;
  for (int i = 0; i < n; ++i)
    out.push_back({.id = "m" + std::to_string(i), .aliases = {"alias" + std::to_string(i)},
                   .path = "/models/m" + std::to_string(i) + ".gguf", .estimated_bytes = bytes});
  return out;
}

ModelState state(const ModelRegistry& r, size_t i) { return r.status()[i].state; }

TEST(ModelRegistry, FindsByIdAliasAndOllamaTagAndDefaultsToTheFirst) {
  FakeLoader fake;
  ModelRegistry r(specs(3), fake.loader());
  EXPECT_EQ(r.find(""), 0u);
  EXPECT_EQ(r.find("m1"), 1u);
  EXPECT_EQ(r.find("alias2"), 2u);
  EXPECT_EQ(r.find("m2:latest"), 2u);
  EXPECT_EQ(r.find("nope"), std::nullopt);
  EXPECT_EQ(r.find("m2:7b"), std::nullopt);
}

TEST(ModelRegistry, LoadsOnFirstAcquireOnly) {
  FakeLoader fake;
  ModelRegistry r(specs(2), fake.loader());
  EXPECT_EQ(state(r, 0), ModelState::kUnloaded);
  {
    auto a = r.acquire(0);
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->id(), "m0");
    EXPECT_EQ(state(r, 0), ModelState::kLoaded);
    EXPECT_EQ(r.status()[0].leases, 1);
  }
  EXPECT_EQ(r.status()[0].leases, 0);
  ASSERT_TRUE(r.acquire(0));
  EXPECT_EQ(fake.count("m0"), 1);
  EXPECT_EQ(fake.count("m1"), 0);
  EXPECT_EQ(state(r, 1), ModelState::kUnloaded);
}

TEST(ModelRegistry, RequestsForAModelBeingLoadedWaitForThatLoad) {
  FakeLoader fake;
  fake.set_gate(false);
  ModelRegistry r(specs(1), fake.loader());
  auto first = std::async(std::launch::async, [&] { return r.acquire(0).ok(); });
  fake.wait_for_load("m0", 1);
  EXPECT_EQ(state(r, 0), ModelState::kLoading);
  auto second = std::async(std::launch::async, [&] { return r.acquire(0).ok(); });
  EXPECT_EQ(second.wait_for(50ms), std::future_status::timeout) << "it waits, it does not fail";
  fake.set_gate(true);
  EXPECT_TRUE(first.get());
  EXPECT_TRUE(second.get());
  EXPECT_EQ(fake.count("m0"), 1) << "one load for both";
}

TEST(ModelRegistry, UnloadsTheLeastRecentlyUsedIdleModelAtMaxLoaded) {
  FakeLoader fake;
  ModelRegistry r(specs(3), fake.loader(), {.max_loaded = 2});
  ASSERT_TRUE(r.acquire(0));
  ASSERT_TRUE(r.acquire(1));
  ASSERT_TRUE(r.acquire(0));  // m1 is now the least recently used
  ASSERT_TRUE(r.acquire(2));
  EXPECT_EQ(state(r, 0), ModelState::kLoaded);
  EXPECT_EQ(state(r, 1), ModelState::kUnloaded);
  EXPECT_EQ(state(r, 2), ModelState::kLoaded);
  EXPECT_EQ(fake.live, 2) << "the unloaded model was destroyed";
  ASSERT_TRUE(r.acquire(1));  // now m0 is the oldest
  EXPECT_EQ(state(r, 0), ModelState::kUnloaded);
  EXPECT_EQ(fake.count("m1"), 2);
}

TEST(ModelRegistry, ALeasedModelIsNeverUnloadedAndTheLoadWaitsForItsRelease) {
  FakeLoader fake;
  ModelRegistry r(specs(2), fake.loader(), {.max_loaded = 1});
  auto a = r.acquire(0);
  ASSERT_TRUE(a);
  auto b = std::async(std::launch::async, [&] { return r.acquire(1); });
  EXPECT_EQ(b.wait_for(100ms), std::future_status::timeout) << "m0 is busy: m1 waits for room";
  EXPECT_EQ(state(r, 0), ModelState::kLoaded);
  EXPECT_EQ(fake.count("m1"), 0);
  *a = ModelLease();  // the request on m0 ends
  auto lease_b = b.get();
  ASSERT_TRUE(lease_b) << lease_b.error().message;
  EXPECT_EQ(state(r, 0), ModelState::kUnloaded);
  EXPECT_EQ(fake.live, 1);
}

TEST(ModelRegistry, APinOutlivingItsLeaseKeepsTheModel) {
  FakeLoader fake;
  ModelRegistry r(specs(2), fake.loader(), {.max_loaded = 1});
  std::shared_ptr<void> pin;
  {
    auto a = r.acquire(0);
    ASSERT_TRUE(a);
    pin = a->pin();  // a streamed reply keeps this after its handler returns
  }
  EXPECT_EQ(r.status()[0].leases, 1);
  auto b = std::async(std::launch::async, [&] { return r.acquire(1).ok(); });
  EXPECT_EQ(b.wait_for(50ms), std::future_status::timeout);
  pin.reset();
  EXPECT_TRUE(b.get());
}

TEST(ModelRegistry, TheMemoryBudgetUnloadsIdleModelsAndAModelTooLargeStillLoadsAlone) {
  FakeLoader fake;
  std::vector<ModelSpec> s = specs(3, 100);
  s[2].estimated_bytes = 500;
  ModelRegistry r(s, fake.loader(), {.max_loaded = 0, .max_bytes = 250});
  ASSERT_TRUE(r.acquire(0));
  ASSERT_TRUE(r.acquire(1));
  EXPECT_EQ(fake.live, 2) << "200 of 250 bytes";
  ASSERT_TRUE(r.acquire(2)) << "500 bytes: larger than the budget, it loads once it is alone";
  EXPECT_EQ(state(r, 0), ModelState::kUnloaded);
  EXPECT_EQ(state(r, 1), ModelState::kUnloaded);
  EXPECT_EQ(fake.live, 1);
  ASSERT_TRUE(r.acquire(0));
  EXPECT_EQ(state(r, 2), ModelState::kUnloaded);
}

TEST(ModelRegistry, NothingIsUnloadedUntilUnloadingMakesEnoughRoom) {
  FakeLoader fake;
  std::vector<ModelSpec> s = specs(3, 100);
  s[2].estimated_bytes = 200;
  ModelRegistry r(s, fake.loader(), {.max_loaded = 0, .max_bytes = 250});
  ASSERT_TRUE(r.acquire(0));
  auto busy = r.acquire(1);
  ASSERT_TRUE(busy);
  auto big = std::async(std::launch::async, [&] { return r.acquire(2).ok(); });
  EXPECT_EQ(big.wait_for(50ms), std::future_status::timeout);
  EXPECT_EQ(state(r, 0), ModelState::kLoaded) << "unloading m0 alone would not make room: it stays";
  *busy = ModelLease();
  EXPECT_TRUE(big.get());
  EXPECT_EQ(state(r, 0), ModelState::kUnloaded);
  EXPECT_EQ(state(r, 1), ModelState::kUnloaded);
}

TEST(ModelRegistry, AModelLargerThanItsEstimateUnloadsTheLeastRecentlyUsedIdleModelsAfterItsLoad) {
  // Each model's real size is its estimate, except m3's: twice it.
  std::atomic<int> live{0};
  ModelRegistry::Loader loader = [&](const ModelSpec& spec) -> Expected<std::shared_ptr<ServedModel>> {
    ++live;
    auto* m = new ServedModel;
    m->memory_bytes = spec.id == "m3" ? 2 * spec.estimated_bytes : spec.estimated_bytes;
    return std::shared_ptr<ServedModel>(m, [&live](ServedModel* p) {
      --live;
      delete p;
    });
  };
  ModelRegistry r(specs(4, 100), loader, {.max_loaded = 0, .max_bytes = 400});
  auto pinned = r.acquire(0);  // the least recently used, but in use
  ASSERT_TRUE(pinned);
  ASSERT_TRUE(r.acquire(1));
  ASSERT_TRUE(r.acquire(2));
  ASSERT_TRUE(r.acquire(3)) << "its estimate fits: 400 of 400 bytes";
  EXPECT_EQ(r.status()[3].spec.estimated_bytes, 200) << "the real size replaces the estimate";
  EXPECT_EQ(state(r, 0), ModelState::kLoaded) << "a leased model stays";
  EXPECT_EQ(state(r, 1), ModelState::kUnloaded) << "the least recently used idle model goes";
  EXPECT_EQ(state(r, 2), ModelState::kLoaded) << "one is enough: 400 of 400 bytes again";
  EXPECT_EQ(state(r, 3), ModelState::kLoaded);
  EXPECT_EQ(live, 3);
}

TEST(ModelRegistry, AFailedLoadReachesItsWaitersAndTheNextRequestRetries) {
  FakeLoader fake;
  fake.failures_left = 1;
  fake.set_gate(false);
  ModelRegistry r(specs(1), fake.loader());
  auto first = std::async(std::launch::async, [&] { return r.acquire(0); });
  fake.wait_for_load("m0", 1);
  auto waiter = std::async(std::launch::async, [&] { return r.acquire(0); });
  std::this_thread::sleep_for(30ms);  // the waiter is waiting on the load
  fake.set_gate(true);
  auto a = first.get();
  auto w = waiter.get();
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("bad file /models/m0.gguf"), std::string::npos) << a.error().message;
  EXPECT_EQ(state(r, 0), ModelState::kFailed);
  EXPECT_EQ(r.status()[0].error, "bad file /models/m0.gguf");
  // The waiter saw the same failure (or, had it arrived after it, retried and succeeded).
  if (!w) EXPECT_NE(w.error().message.find("bad file"), std::string::npos);
  auto again = r.acquire(0);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(fake.count("m0"), 2);
  EXPECT_EQ(state(r, 0), ModelState::kLoaded);
}

TEST(ModelRegistry, ConcurrentAcquiresFromManyThreadsKeepTheLimits) {
  FakeLoader fake;
  ModelRegistry r(specs(4), fake.loader(), {.max_loaded = 2});
  std::atomic<int> ok{0};
  std::atomic<int> max_live{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto l = r.acquire(static_cast<size_t>((t + i) % 4));
        if (!l) continue;
        ++ok;
        int live = fake.live, seen = max_live;
        while (live > seen && !max_live.compare_exchange_weak(seen, live)) {}
        EXPECT_EQ(state(r, l->index()), ModelState::kLoaded);
      }
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok, 400);
  EXPECT_LE(max_live, 2) << "never more than --max-loaded models at once";
  int loaded = 0;
  for (const ModelStatus& s : r.status()) loaded += s.state == ModelState::kLoaded;
  EXPECT_LE(loaded, 2);
  for (const ModelStatus& s : r.status()) EXPECT_EQ(s.leases, 0);
}

TEST(ModelRegistry, CloseWakesWaitersWithAnError) {
  FakeLoader fake;
  ModelRegistry r(specs(2), fake.loader(), {.max_loaded = 1});
  auto a = r.acquire(0);
  ASSERT_TRUE(a);
  auto b = std::async(std::launch::async, [&] { return r.acquire(1); });
  EXPECT_EQ(b.wait_for(50ms), std::future_status::timeout);
  r.close();
  auto lb = b.get();
  ASSERT_FALSE(lb);
  EXPECT_NE(lb.error().message.find("shutting down"), std::string::npos);
}

TEST(ModelRegistry, AnAttachedModelIsNeverUnloaded) {
  ModelRegistry r(specs(1), nullptr);
  EXPECT_FALSE(r.acquire(0)) << "no loader: it comes only by attach()";
  auto m = std::make_shared<ServedModel>();
  r.attach(0, m);
  EXPECT_TRUE(r.acquire(0));
}

}  // namespace
}  // namespace mx::server
