// JSON replies and server-sent events, shared by the routes and the dialect adapters.
#pragma once

#include <httplib.h>

#include <string>

#include <nlohmann/json.hpp>

#include "server/api_error.h"

namespace mx::server {

inline void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

inline void send_error(httplib::Response& res, const ApiError& e) { send_json(res, e.status, e.to_json()); }

// One server-sent event carrying `j`.
inline std::string sse(const nlohmann::json& j) {
  return "data: " + j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

}  // namespace mx::server
