// The tiny TinyStories model served in-process on a free port, with its own chat template or
// one of ../shared/templates: the fixture of the API dialect tests (OpenAI, Ollama,
// Anthropic, Responses), each posting to its own routes.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/chat_format.h"
#include "server/server.h"
#include "stories_test.h"
#include "test_paths.h"

namespace mx::test {

class ServedStoriesTest : public StoriesTest {
 protected:
  // Serves the model as "stories", with its own template or ../shared/templates/`tmpl`.
  void start(const std::string& tmpl = "", int64_t ctx = 256, std::vector<std::string> keys = {}) {
    start_with_template_file(tmpl.empty() ? "" : shared_path("templates/" + tmpl), ctx, std::move(keys));
  }
  // Serves the model with the template in the file at `path` ("" for the model's own), as
  // `moxing serve --chat-template-file` does; `defaults`: the server's sampling settings.
  void start_with_template_file(const std::string& path, int64_t ctx = 256, std::vector<std::string> keys = {},
                                GenerateOptions defaults = {}) {
    server::ServerOptions options;
    options.port = 0;
    options.ctx_size = ctx;
    options.model_name = "stories";
    options.api_keys = std::move(keys);
    options.defaults = std::move(defaults);
    auto format = path.empty() ? ChatFormat::from_model(model_->file, *tokenizer_)
                               : ChatFormat::from_source(read_text_file(path), tokenizer_.get());
    ASSERT_TRUE(format.ok()) << format.error().message;
    server_ = std::make_unique<server::Server>(options, *model_, *tokenizer_, kernels_, std::move(*format));
    ASSERT_TRUE(server_->bind());
    thread_ = std::thread([this] { server_->serve(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(120, 0);
    return c;
  }
  // POSTs `body` to `path`, expects `want_status`, returns the parsed reply.
  nlohmann::json post(const std::string& path, const nlohmann::json& body, int want_status = 200) {
    auto r = client().Post(path, body.dump(), "application/json");
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, want_status) << r->body;
    return nlohmann::json::parse(r->body, nullptr, false);
  }

  std::unique_ptr<server::Server> server_;
  std::thread thread_;
};

}  // namespace mx::test
