#include "server/model_registry.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/log.h"

namespace mx::server {

const char* state_name(ModelState s) {
  switch (s) {
    case ModelState::kUnloaded: return "unloaded";
    case ModelState::kLoading: return "loading";
    case ModelState::kLoaded: return "loaded";
    case ModelState::kFailed: return "failed";
  }
  return "unknown";
}

ModelRegistry::ModelRegistry(std::vector<ModelSpec> specs, Loader loader, RegistryLimits limits)
    : loader_(std::move(loader)), limits_(limits) {
  entries_.reserve(specs.size());
  for (ModelSpec& s : specs) {
    Entry e;
    e.spec = std::move(s);
    entries_.push_back(std::move(e));
  }
}

ModelRegistry::~ModelRegistry() { close(); }

std::optional<size_t> ModelRegistry::find(std::string_view name) const {
  if (entries_.empty()) return std::nullopt;
  if (name.empty()) return 0;
  auto match = [this](std::string_view n) -> std::optional<size_t> {
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].spec.id == n) return i;
      for (const std::string& a : entries_[i].spec.aliases)
        if (a == n) return i;
    }
    return std::nullopt;
  };
  if (auto i = match(name)) return i;
  // Ollama's clients name models with a tag; every model here is the ":latest" one.
  if (name.ends_with(":latest")) return match(name.substr(0, name.size() - 7));
  return std::nullopt;
}

ModelLease ModelRegistry::lease(size_t index) {
  Entry& e = entries_[index];
  ++e.leases;
  e.last_used = ++clock_;
  ModelLease l;
  l.model_ = e.model;
  l.id_ = &e.spec.id;
  l.index_ = index;
  l.pin_ = std::shared_ptr<void>(nullptr, [this, index](void*) { release(index); });
  return l;
}

void ModelRegistry::release(size_t index) {
  {
    std::lock_guard lock(mutex_);
    --entries_[index].leases;
  }
  changed_.notify_all();
}

ModelRegistry::Eviction ModelRegistry::plan_eviction(std::optional<size_t> incoming) const {
  int count = 0;
  int64_t bytes = 0;
  std::vector<size_t> idle;  // what may be unloaded
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    if (i == incoming || (e.state != ModelState::kLoaded && e.state != ModelState::kLoading)) continue;
    ++count;
    bytes += e.spec.estimated_bytes;
    if (e.state == ModelState::kLoaded && e.leases == 0 && !e.permanent) idle.push_back(i);
  }
  std::sort(idle.begin(), idle.end(),
            [this](size_t a, size_t b) { return entries_[a].last_used < entries_[b].last_used; });
  const int64_t need = incoming ? entries_[*incoming].spec.estimated_bytes : 0;
  const int slots = incoming ? 1 : 0;
  auto fits = [&] {
    // A model larger than the whole budget still loads alone.
    return (limits_.max_loaded <= 0 || count + slots <= limits_.max_loaded) &&
           (limits_.max_bytes <= 0 || bytes + need <= limits_.max_bytes || (incoming && count == 0));
  };
  Eviction plan;
  for (size_t i = 0; !fits() && i < idle.size(); ++i) {
    --count;
    bytes -= entries_[idle[i]].spec.estimated_bytes;
    plan.victims.push_back(idle[i]);
  }
  plan.fits = fits();
  return plan;
}

void ModelRegistry::unload(const std::vector<size_t>& victims, std::string_view why,
                           std::vector<std::shared_ptr<ServedModel>>& freed) {
  for (size_t v : victims) {
    Entry& e = entries_[v];
    MX_LOG_INFO("unloading {}{}", e.spec.id, why);
    freed.push_back(std::move(e.model));
    e.state = ModelState::kUnloaded;
  }
}

bool ModelRegistry::make_room(size_t index, std::vector<std::shared_ptr<ServedModel>>& freed) {
  const Eviction plan = plan_eviction(index);
  if (!plan.fits) return false;  // unload nothing until unloading is enough
  unload(plan.victims, fmt::format(" to make room for {}", entries_[index].spec.id), freed);
  return true;
}

void ModelRegistry::trim(std::vector<std::shared_ptr<ServedModel>>& freed) {
  // Everything idle that helps goes, even when it is not enough: the excess is already loaded.
  unload(plan_eviction(std::nullopt).victims, ": the loaded models exceed the memory budget", freed);
}

Expected<ModelLease> ModelRegistry::acquire(size_t index) {
  std::vector<std::shared_ptr<ServedModel>> freed;  // destroyed after the lock is released
  std::unique_lock lock(mutex_);
  Entry& e = entries_[index];
  uint64_t awaited = 0;  // the load this request waits for, if any
  for (;;) {
    if (closed_) return make_error("the server is shutting down");
    if (e.state == ModelState::kLoaded) return lease(index);
    if (e.state == ModelState::kFailed && awaited != 0 && e.attempts == awaited)
      return make_error("loading the model {} failed: {}", e.spec.id, e.error);
    if (e.state == ModelState::kLoading) {
      awaited = e.attempts;
      changed_.wait(lock);
      continue;
    }
    if (!loader_) return make_error("the model {} is still loading", e.spec.id);
    if (!make_room(index, freed)) {
      changed_.wait(lock);  // every loaded model is in use: wait for a lease to end
      continue;
    }
    break;
  }
  e.state = ModelState::kLoading;
  ++e.attempts;
  lock.unlock();
  freed.clear();  // the unloaded models' memory returns before the new one loads
  MX_LOG_INFO("loading {} ({})", e.spec.id, e.spec.path);
  Expected<std::shared_ptr<ServedModel>> loaded = loader_(e.spec);
  lock.lock();
  if (!loaded || !*loaded) {
    e.state = ModelState::kFailed;
    e.error = loaded ? "the loader returned nothing" : loaded.error().message;
    MX_LOG_ERROR("loading {} failed: {}", e.spec.id, e.error);
    changed_.notify_all();
    if (closed_) return make_error("the server is shutting down");
    return make_error("loading the model {} failed: {}", e.spec.id, e.error);
  }
  if (closed_) {  // close() came during the load: the model is not served
    e.state = ModelState::kUnloaded;
    changed_.notify_all();
    freed.push_back(std::move(*loaded));
    lock.unlock();
    return make_error("the server is shutting down");
  }
  e.model = std::move(*loaded);
  if (e.model->memory_bytes > 0) e.spec.estimated_bytes = e.model->memory_bytes;
  e.state = ModelState::kLoaded;
  e.error.clear();
  ModelLease l = lease(index);
  trim(freed);  // the real size may exceed the estimate
  changed_.notify_all();
  lock.unlock();
  freed.clear();
  return l;
}

std::optional<ModelLease> ModelRegistry::try_acquire(size_t index) {
  std::lock_guard lock(mutex_);
  if (entries_[index].state != ModelState::kLoaded) return std::nullopt;
  return lease(index);
}

void ModelRegistry::attach(size_t index, std::shared_ptr<ServedModel> model) {
  {
    std::lock_guard lock(mutex_);
    Entry& e = entries_[index];
    e.model = std::move(model);
    if (e.model->memory_bytes > 0) e.spec.estimated_bytes = e.model->memory_bytes;
    e.state = ModelState::kLoaded;
    e.permanent = true;
  }
  changed_.notify_all();
}

void ModelRegistry::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  changed_.notify_all();
}

std::vector<ModelStatus> ModelRegistry::status() const {
  std::lock_guard lock(mutex_);
  std::vector<ModelStatus> out;
  for (const Entry& e : entries_) out.push_back({e.spec, e.state, e.leases, e.error});
  return out;
}

void ModelRegistry::for_each_loaded(const std::function<void(size_t, const ServedModel&)>& f) const {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].state == ModelState::kLoaded) f(i, *entries_[i].model);
}

}  // namespace mx::server
