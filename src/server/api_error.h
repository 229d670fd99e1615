// Errors as OpenAI's API reports them: an HTTP status and
// {"error": {"message", "type", "param", "code"}}.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace mx::server {

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // the request field at fault, "" if none
  std::string code;   // "" if none

  nlohmann::json to_json() const {
    return {{"error",
             {{"message", message},
              {"type", type},
              {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
              {"code", code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code)}}}};
  }
};

// A request the client must fix (400), naming the field at fault.
inline ApiError invalid_request(std::string message, std::string param = {}, std::string code = {}) {
  ApiError e;
  e.message = std::move(message);
  e.param = std::move(param);
  e.code = std::move(code);
  return e;
}

// Any other status: 401, 404, 413, 503, ...
inline ApiError api_error(int status, std::string message, std::string type = "invalid_request_error",
                          std::string code = {}) {
  ApiError e;
  e.status = status;
  e.message = std::move(message);
  e.type = std::move(type);
  e.code = std::move(code);
  return e;
}

}  // namespace mx::server
