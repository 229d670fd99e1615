#include "server/model_routes.h"

#include <fmt/format.h>

namespace mx::server {

using nlohmann::json;

std::string requested_model(std::string_view body) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return "";
  for (const char* key : {"model", "name"})
    if (auto it = j.find(key); it != j.end() && it->is_string()) return it->get<std::string>();
  return "";
}

json model_object(const ModelStatus& m, int64_t created, bool with_state) {
  json o = {{"id", m.spec.id}, {"object", "model"}, {"created", created}, {"owned_by", "moxing"}};
  if (!m.spec.aliases.empty()) o["aliases"] = m.spec.aliases;
  if (with_state) o["status"] = state_name(m.state);
  return o;
}

json model_list(const ModelRegistry& registry, int64_t created) {
  json data = json::array();
  for (const ModelStatus& m : registry.status()) data.push_back(model_object(m, created, registry.size() > 1));
  return {{"object", "list"}, {"data", std::move(data)}};
}

json model_health(const ModelRegistry& registry) {
  json out = json::array();
  for (const ModelStatus& m : registry.status()) {
    json o = {{"id", m.spec.id},
              {"aliases", m.spec.aliases},
              {"state", state_name(m.state)},
              {"leases", m.leases},
              {"memory_bytes", m.spec.estimated_bytes}};  // what the budget counts (file + KV cache)
    if (!m.error.empty()) o["error"] = m.error;
    out.push_back(std::move(o));
  }
  return out;
}

ApiError model_not_found(const ModelRegistry& registry, std::string_view name) {
  std::string offered;
  for (size_t i = 0; i < registry.size(); ++i) {
    const ModelSpec& s = registry.spec(i);
    offered += fmt::format("{}'{}'", offered.empty() ? "" : ", ", s.id);
    for (const std::string& a : s.aliases) offered += fmt::format(" (alias '{}')", a);
  }
  return api_error(404, fmt::format("the model '{}' does not exist; this server has {}", name, offered),
                   "invalid_request_error", "model_not_found");
}

}  // namespace mx::server
