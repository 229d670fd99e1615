// What every Ollama route shares: the served model as those routes see it, its listed name,
// Ollama's timestamps, and its error shape ({"error": "message"} with a 4xx/5xx status).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/generate.h"
#include "gguf/gguf_file.h"

namespace httplib {
struct Response;
}

namespace mx::server {

// The Ollama API level these shapes follow (clients gate features such as tools and think on it).
inline constexpr const char* kOllamaApiVersion = "0.9.0";

// What the Ollama routes know of a served model.
struct OllamaModel {
  std::string name;  // the served name ("moxing"); listed as "moxing:latest"
  const gguf::File* file = nullptr;
  int64_t n_ctx = 0;  // per sequence
  const GenerateOptions* defaults = nullptr;
  std::string_view chat_template;  // the template in use (a --chat-template-file's, else the model's)
};

// The name with a tag, as Ollama lists models ("moxing:latest").
std::string listed_name(const OllamaModel& m);

// RFC 3339 in UTC with nanoseconds, as Ollama writes created_at.
std::string rfc3339(std::chrono::system_clock::time_point t);

void send_ollama_error(httplib::Response& res, int status, const std::string& message);

}  // namespace mx::server
