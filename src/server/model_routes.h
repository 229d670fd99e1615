// What the routes say about the models a server offers: /v1/models and /v1/models/{id},
// the per-model part of /health, the error for a model name that is not offered, and the
// model a request body names.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "server/model_registry.h"

namespace mx::server {

// The "model" field of a JSON body (Ollama's /api/show also says "name"); "" if none or not JSON.
std::string requested_model(std::string_view body);

// OpenAI's model object; `with_state`: also its aliases and whether it is loaded (several models).
nlohmann::json model_object(const ModelStatus& m, int64_t created, bool with_state);
// {"object": "list", "data": [model objects]}, loaded or not.
nlohmann::json model_list(const ModelRegistry& registry, int64_t created);
// [{id, aliases, state, leases, memory_bytes[, error]}] for /health.
nlohmann::json model_health(const ModelRegistry& registry);
// 404 "the model 'x' does not exist; this server has 'a' (alias 'b'), 'c'".
ApiError model_not_found(const ModelRegistry& registry, std::string_view name);

}  // namespace mx::server
