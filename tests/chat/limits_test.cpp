// Runaway templates stop with an error instead of hanging, exhausting memory or the stack.
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "render_helpers.h"

namespace mx::chat::test {
namespace {

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

TEST(ChatLimits, StepLimitStopsRunawayLoops) {
  RenderOptions o = test_options();
  o.max_steps = 100000;
  const std::string err = render_error(
      "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", {}, o);
  EXPECT_TRUE(contains(err, "ran more than 100000 steps")) << err;
}

TEST(ChatLimits, BigStringsCountTowardsTheStepLimit) {
  RenderOptions o = test_options();
  o.max_steps = 200000;
  const std::string err = render_error(
      "{% set big = 'x' * 4000000 %}{% for i in range(100000) %}{% set y = big ~ i %}{% endfor %}", {}, o);
  EXPECT_TRUE(contains(err, "steps")) << err;
}

TEST(ChatLimits, RecursionDepth) {
  const std::string err = render_error("{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}");
  EXPECT_TRUE(contains(err, "macro calls nested more than 100 deep")) << err;
  // Legitimate recursion within the limit works.
  EXPECT_EQ(render("{% macro c(n) %}{% if n > 0 %}{{ c(n - 1) }}{{ n }}{% endif %}{% endmacro %}{{ c(50)|length }}"), "91");
}

TEST(ChatLimits, OutputSize) {
  RenderOptions o = test_options();
  o.max_output_bytes = 1000;
  EXPECT_TRUE(contains(render_error("{% for i in range(1000) %}xx{% endfor %}", {}, o), "the output exceeds 1000 bytes"));
  EXPECT_TRUE(contains(render_error("{{ 'x' * 100000000000 }}", {}, o), "exceeds the render's size limit"));
  EXPECT_TRUE(contains(render_error("{{ 'x'|center(100000000) }}", {}, o), "exceeds the render's size limit"));
  EXPECT_TRUE(contains(render_error("{{ '{:>100000000}'.format(1) }}", {}, o), "exceeds the render's size limit"));
  EXPECT_TRUE(contains(render_error("{{ [1] * 100000000000 }}", {}, o), "exceeds the render's size limit"));
  EXPECT_TRUE(contains(render_error("{{ 'x'.zfill(2 ** 62) }}", {}, o), "exceeds the render's size limit"));
  EXPECT_FALSE(render_error("{{ '%*d' % (2 ** 62, 1) }}", {}, o).empty());
  EXPECT_TRUE(contains(render_error("{{ [1]|batch(10 ** 12, 0)|list }}", {}, o), "exceeds the render's size limit"));
  // Numbers beyond 64 bits are errors, never undefined behaviour.
  EXPECT_TRUE(contains(render_error("{{ '%d' % 1e300 }}", {}, o), "cannot convert float to integer"));
  EXPECT_TRUE(contains(render_error("{{ 9223372036854775807|round(-1) }}", {}, o), "does not fit in 64 bits"));
}

TEST(ChatLimits, DeepNestingIsRejectedNotACrash) {
  const std::string parens = std::string(5000, '(') + "1" + std::string(5000, ')');
  EXPECT_TRUE(contains(render_error("{{ " + parens + " }}"), "nested too deeply"));
  std::string chain = "{{ 1";
  for (int i = 0; i < 5000; ++i) chain += " + 1";
  EXPECT_TRUE(contains(render_error(chain + " }}"), "nested too deeply"));
  std::string filters = "{{ [1]";
  for (int i = 0; i < 5000; ++i) filters += "|batch(1)";
  EXPECT_TRUE(contains(render_error(filters + "|list }}"), "nested too deeply"));
  std::string ifs;
  for (int i = 0; i < 5000; ++i) ifs += "{% if true %}";
  EXPECT_TRUE(contains(render_error(ifs), "nested too deeply"));
  // Values built deeper and deeper in a loop.
  EXPECT_TRUE(contains(render_error("{% set ns = namespace(v=[]) %}{% for i in range(5000) %}{% set ns.v = [ns.v] %}{% endfor %}"),
                       "nested more than"));
  // A namespace holding itself cannot be printed but does not crash or leak.
  EXPECT_TRUE(contains(render_error("{% set ns = namespace() %}{% set ns.self = ns %}{{ ns }}"), "nested too deeply"));
  // A long elif chain is flat, not deep.
  std::string elifs = "{% if false %}";
  for (int i = 0; i < 3000; ++i) elifs += "{% elif false %}";
  EXPECT_EQ(render(elifs + "{% else %}ok{% endif %}"), "ok");
}

TEST(ChatLimits, DeepContextIsRejected) {
  nlohmann::ordered_json deep = 1;
  for (int i = 0; i < 600; ++i) deep = nlohmann::ordered_json::array({std::move(deep)});
  auto t = ChatTemplate::parse("{{ x|length }}");
  ASSERT_TRUE(t.ok());
  auto r = t->render(nlohmann::ordered_json{{"x", deep}});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.error().message, "nested more than")) << r.error().message;
}

TEST(ChatLimits, OneTemplateRendersFromManyThreads) {
  auto t = ChatTemplate::parse(
      "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{{ m.content }}{% endfor %}{{ ns.n }}");
  ASSERT_TRUE(t.ok());
  std::vector<std::thread> threads;
  std::vector<std::string> out(8);
  for (int k = 0; k < 8; ++k) {
    threads.emplace_back([&, k] {
      nlohmann::ordered_json ctx;
      for (int i = 0; i <= k; ++i) ctx["messages"].push_back({{"content", std::to_string(i)}});
      for (int rep = 0; rep < 50; ++rep) {
        auto r = t->render(ctx);
        out[k] = r ? *r : r.error().message;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int k = 0; k < 8; ++k) {
    std::string want;
    for (int i = 0; i <= k; ++i) want += std::to_string(i);
    EXPECT_EQ(out[k], want + std::to_string(k + 1));
  }
}

TEST(ChatLimits, ParsedTemplatesAreCheapToCopy) {
  auto t = ChatTemplate::parse("{{ a }}");
  ASSERT_TRUE(t.ok());
  const ChatTemplate copy = *t;
  EXPECT_EQ(*copy.render(nlohmann::json{{"a", 1}}), "1");
}

}  // namespace
}  // namespace mx::chat::test
