// Helpers for the chat template unit tests: render a snippet and compare.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat/template.h"

namespace mx::chat::test {

struct RenderCase {
  const char* source;
  const char* expected;
};

inline RenderOptions test_options() {
  RenderOptions o;
  std::tm t{};  // the reference renderer's clock: 2026-01-15 12:00, a Thursday
  t.tm_year = 126;
  t.tm_mday = 15;
  t.tm_hour = 12;
  t.tm_wday = 4;
  t.tm_yday = 14;
  o.now = t;
  return o;
}

inline Expected<std::string> try_render(std::string_view source, const nlohmann::ordered_json& context = nlohmann::ordered_json::object(),
                                        const RenderOptions& options = test_options()) {
  auto t = ChatTemplate::parse(source);
  if (!t) return t.error();
  return t->render(context, options);
}

inline std::string render(std::string_view source, const nlohmann::ordered_json& context = nlohmann::ordered_json::object()) {
  auto r = try_render(source, context);
  if (!r) {
    ADD_FAILURE() << "render failed for " << source << ": " << r.error().message;
    return "<error>";
  }
  return *r;
}

// The error message; a failure if the template renders.
inline std::string render_error(std::string_view source, const nlohmann::ordered_json& context = nlohmann::ordered_json::object(),
                                const RenderOptions& options = test_options()) {
  auto r = try_render(source, context, options);
  if (r) {
    ADD_FAILURE() << "expected an error for " << source << ", got: " << *r;
    return "";
  }
  return r.error().message;
}

// Each case's expected text was produced by the reference renderer (Jinja2 as transformers
// configures it).
inline void expect_renders(const std::vector<RenderCase>& cases,
                           const nlohmann::ordered_json& context = nlohmann::ordered_json::object()) {
  for (const auto& c : cases) EXPECT_EQ(render(c.source, context), c.expected) << "template: " << c.source;
}

}  // namespace mx::chat::test
