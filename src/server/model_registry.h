// The models one server offers, between the routes (server/) and the engine: each entry is
// {id, aliases, path, state}; a request's model name picks one. A model is loaded the first
// time it is asked for (by the injected loader, so tests need no files), requests for a
// model being loaded wait for that load, and the least recently used idle model is unloaded
// when `max_loaded` or the memory budget would be exceeded.
//
// A lease pins its model: a pinned model is never unloaded. When a load needs room and every
// loaded model is pinned, the load waits until one is released (the requests holding them
// end: they are bounded by the server's --timeout). A model larger than the whole budget
// still loads once nothing else is loaded. A failed load is reported to every request that
// waited for it; the next request tries again.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "server/served_model.h"

namespace mx::server {

struct ModelSpec {
  std::string id;                    // the name it is listed under
  std::vector<std::string> aliases;  // other names it answers to
  std::string path;                  // the GGUF file (or what the loader resolves)
  int64_t estimated_bytes = 0;       // memory it takes once loaded; replaced by the real figure after a load
};

enum class ModelState { kUnloaded, kLoading, kLoaded, kFailed };
const char* state_name(ModelState s);

struct ModelStatus {
  ModelSpec spec;
  ModelState state = ModelState::kUnloaded;
  int leases = 0;     // requests using it now
  std::string error;  // why the last load failed (kFailed)
};

struct RegistryLimits {
  int max_loaded = 0;     // models loaded at once (0: no limit)
  int64_t max_bytes = 0;  // sum of the loaded models' memory_bytes (0: no limit)
};

class ModelRegistry;

// A loaded model pinned for one request. Copies share the pin; the last one unpins.
class ModelLease {
 public:
  ModelLease() = default;
  ServedModel& operator*() const { return *model_; }
  ServedModel* operator->() const { return model_.get(); }
  const std::string& id() const { return *id_; }
  size_t index() const { return index_; }
  // The pin alone, for objects that must keep the model loaded (a streamed reply).
  std::shared_ptr<void> pin() const { return pin_; }

 private:
  friend class ModelRegistry;
  std::shared_ptr<void> pin_;  // its deleter unpins the entry
  std::shared_ptr<ServedModel> model_;
  const std::string* id_ = nullptr;
  size_t index_ = 0;
};

class ModelRegistry {
 public:
  using Loader = std::function<Expected<std::shared_ptr<ServedModel>>(const ModelSpec&)>;

  // `specs`: the first is the default model. An empty `loader`: models come only by attach().
  ModelRegistry(std::vector<ModelSpec> specs, Loader loader, RegistryLimits limits = {});
  ~ModelRegistry();  // unloads everything; no lease may outlive the registry

  // The entry a request's model name picks: its id or an alias, also with Ollama's ":latest"
  // tag; "" picks the default (first) model. nullopt: no such model.
  std::optional<size_t> find(std::string_view name) const;
  // The loaded model, pinned; loads it first if needed (waiting for a load under way, or
  // for room). An error if its load failed or the registry is closed.
  Expected<ModelLease> acquire(size_t index);
  // The model pinned if it is loaded now; never loads or waits.
  std::optional<ModelLease> try_acquire(size_t index);
  // A model loaded by someone else (`moxing serve` with one -m); it is never unloaded.
  void attach(size_t index, std::shared_ptr<ServedModel> model);
  // Wakes every waiter with an error and refuses new acquires (shutdown).
  void close();

  size_t size() const { return entries_.size(); }
  const ModelSpec& spec(size_t index) const { return entries_[index].spec; }
  std::vector<ModelStatus> status() const;
  // Calls `f` with each loaded model (under the registry's lock: `f` must be quick).
  void for_each_loaded(const std::function<void(size_t index, const ServedModel&)>& f) const;

 private:
  struct Entry {
    ModelSpec spec;
    ModelState state = ModelState::kUnloaded;
    std::shared_ptr<ServedModel> model;
    int leases = 0;
    uint64_t last_used = 0;  // the registry's clock at its last acquire
    uint64_t attempts = 0;   // loads started; tells waiters whose load failed
    bool permanent = false;  // attached: never unloaded
    std::string error;
  };
  // The fewest idle models, least recently used first, whose unloading brings the loaded
  // (and loading) models within the limits: with `incoming` (not counted as loaded) added,
  // or as they are. `fits` is false when unloading every idle model is not enough.
  struct Eviction {
    std::vector<size_t> victims;
    bool fits = false;
  };
  Eviction plan_eviction(std::optional<size_t> incoming) const;
  // Marks the victims unloaded; their models go to `freed`, to be destroyed outside the lock.
  void unload(const std::vector<size_t>& victims, std::string_view why,
              std::vector<std::shared_ptr<ServedModel>>& freed);
  // Unloads idle models until `index` fits; false if it does not fit yet (every other loaded
  // model is pinned), and then unloads nothing.
  bool make_room(size_t index, std::vector<std::shared_ptr<ServedModel>>& freed);
  // Unloads idle models while the loaded ones exceed the limits (after a load learned its real size).
  void trim(std::vector<std::shared_ptr<ServedModel>>& freed);
  ModelLease lease(size_t index);  // under the lock, on a loaded entry
  void release(size_t index);

  std::vector<Entry> entries_;
  Loader loader_;
  RegistryLimits limits_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;  // a load ended, a lease ended, or close()
  uint64_t clock_ = 0;
  bool closed_ = false;
};

}  // namespace mx::server
