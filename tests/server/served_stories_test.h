// The tiny TinyStories model served in-process on a free port, with its own chat template or
// one of ../shared/templates, and the server options a test asks for: the fixture of the
// server tests of every API dialect (OpenAI, Ollama, Anthropic, Responses), each posting to
// its own routes.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/chat_format.h"
#include "server/server.h"
#include "stories_test.h"
#include "test_paths.h"

namespace mx::test {

class ServedStoriesTest : public StoriesTest {
 protected:
  // What a test serves with: any free port, a `ctx`-token context, the model named "stories".
  static server::ServerOptions serve_options(int64_t ctx = 256) {
    server::ServerOptions options;
    options.port = 0;
    options.ctx_size = ctx;
    options.model_name = "stories";
    return options;
  }
  // Serves the model as "stories", with its own template or ../shared/templates/`tmpl`.
  void start(const std::string& tmpl = "", int64_t ctx = 256, std::vector<std::string> keys = {}) {
    start_with_template_file(tmpl.empty() ? "" : shared_path("templates/" + tmpl), ctx, std::move(keys));
  }
  // Serves the model with the template in the file at `path` ("" for the model's own), as
  // `moxing serve --chat-template-file` does; `defaults`: the server's sampling settings.
  void start_with_template_file(const std::string& path, int64_t ctx = 256, std::vector<std::string> keys = {},
                                GenerateOptions defaults = {}) {
    server::ServerOptions options = serve_options(ctx);
    options.api_keys = std::move(keys);
    options.defaults = std::move(defaults);
    start_with_options(std::move(options), path);
  }
  // Serves the model with `options` (from serve_options()) and the template in the file at
  // `template_path` ("" for the model's own).
  void start_with_options(server::ServerOptions options, const std::string& template_path = "") {
    auto format = template_path.empty() ? ChatFormat::from_model(model_->file, *tokenizer_)
                                        : ChatFormat::from_source(read_text_file(template_path), tokenizer_.get());
    ASSERT_TRUE(format.ok()) << format.error().message;
    listen_and_serve(
        std::make_unique<server::Server>(std::move(options), *model_, *tokenizer_, kernels_, std::move(*format)));
  }
  // Listens with no model yet, as `moxing serve` does while it loads one: /health says
  // "loading" until attach_model().
  void start_without_model(server::ServerOptions options = serve_options()) {
    listen_and_serve(std::make_unique<server::Server>(std::move(options)));
  }
  // Serves the model, with its own template, on the server start_without_model() began.
  void attach_model() {
    auto format = ChatFormat::from_model(model_->file, *tokenizer_);
    ASSERT_TRUE(format.ok()) << format.error().message;
    Status attached = server_->attach(*model_, *tokenizer_, kernels_, std::move(*format));
    ASSERT_TRUE(attached.ok()) << attached.error().message;
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
  // POSTs `body` with "stream": true to `path` and returns its named server-sent events
  // ("event: NAME" then "data: JSON", as Anthropic's and the Responses API send them),
  // checking that each data's "type" is the event's name.
  std::vector<std::pair<std::string, nlohmann::json>> named_events(const std::string& path, nlohmann::json body) {
    body["stream"] = true;
    auto r = client().Post(path, body.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 200);
    if (!r) return {};
    EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
    std::vector<std::pair<std::string, nlohmann::json>> out;
    for (size_t p = 0; (p = r->body.find("event: ", p)) != std::string::npos;) {
      const size_t nl = r->body.find('\n', p);
      const std::string name = r->body.substr(p + 7, nl - p - 7);
      EXPECT_EQ(r->body.compare(nl + 1, 6, "data: "), 0);
      const size_t end = r->body.find("\n\n", nl);
      const auto data = nlohmann::json::parse(r->body.substr(nl + 7, end - nl - 7), nullptr, false);
      EXPECT_FALSE(data.is_discarded());
      EXPECT_EQ(data["type"], name);
      out.emplace_back(name, data);
      p = end;
    }
    return out;
  }

  std::unique_ptr<server::Server> server_;
  std::thread thread_;

 private:
  void listen_and_serve(std::unique_ptr<server::Server> server) {
    server_ = std::move(server);
    ASSERT_TRUE(server_->bind());
    thread_ = std::thread([this] { server_->serve(); });
  }
};

}  // namespace mx::test
