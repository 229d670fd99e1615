// Differential test: every template in ../shared/templates, rendered with every
// conversation in data/conversations.json (add_generation_prompt true and false), by
// moxing and by the reference renderer (Jinja2 configured as transformers configures it),
// must give the same bytes — or both must fail, with the same message when the template
// itself raised it.
//
// The reference needs python3 with jinja2 (Debian: python3-jinja2). Without it the test
// fails rather than skips: CI installs it, and a silent skip would hide every regression.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat/template.h"
#include "reference_renderer.h"
#include "test_paths.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

// The reference's fixed clock: 2026-01-15 12:00, a Thursday.
std::tm reference_now() {
  std::tm t{};
  t.tm_year = 2026 - 1900;
  t.tm_mon = 0;
  t.tm_mday = 15;
  t.tm_hour = 12;
  t.tm_wday = 4;
  t.tm_yday = 14;
  return t;
}

struct Case {
  fs::path template_path;
  std::string conversation;
  bool add_generation_prompt = false;
  fs::path context_path;
  ordered_json context;
};

struct Outcome {
  bool pass = false;
  std::string detail;
};

std::string excerpt(const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  const size_t from = i > 80 ? i - 80 : 0;
  return "first difference at byte " + std::to_string(i) + "\n  reference: " +
         ordered_json(a.substr(from, 200)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n  moxing:    " + ordered_json(b.substr(from, 200)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Outcome check(const Case& c, const mx::test::ReferenceRender& ref) {
  const std::string source = mx::test::read_text_file(c.template_path.string());
  mx::chat::RenderOptions options;
  options.now = reference_now();
  auto tmpl = mx::chat::ChatTemplate::parse(source);
  mx::Expected<std::string> mine = tmpl ? tmpl->render(c.context, options) : mx::Expected<std::string>(tmpl.error());

  if (ref.status == 0) {
    if (!mine) return {false, "reference rendered, moxing failed: " + mine.error().message};
    if (*mine != ref.out) return {false, excerpt(ref.out, *mine)};
    return {true, ""};
  }
  if (ref.status != 1) return {false, "reference renderer did not run (exit " + std::to_string(ref.status) + "): " + ref.err};
  if (mine) return {false, "reference failed (" + ref.err + "), moxing rendered " + std::to_string(mine->size()) + " bytes"};
  // raise_exception(msg) in the template: the same message, verbatim.
  const std::string kRaised = "TemplateError: ";
  if (ref.err.rfind(kRaised, 0) == 0) {
    std::string want = ref.err.substr(kRaised.size());
    while (!want.empty() && want.back() == '\n') want.pop_back();
    if (mine.error().message != want) {
      return {false, "raise_exception message differs\n  reference: " + want + "\n  moxing:    " + mine.error().message};
    }
  }
  return {true, ""};
}

TEST(ChatDifferential, EveryTemplateMatchesTheReference) {
  const fs::path data = fs::path(__FILE__).parent_path() / "data" / "conversations.json";
  std::ifstream in(data);
  ASSERT_TRUE(in) << "cannot read " << data;
  const ordered_json conversations = ordered_json::parse(in);

  std::vector<fs::path> templates;
  for (const auto& e : fs::directory_iterator(mx::test::shared_path("templates"))) {
    if (e.path().extension() == ".jinja") templates.push_back(e.path());
  }
  std::sort(templates.begin(), templates.end());
  ASSERT_FALSE(templates.empty());

  char dir_template[] = "/tmp/moxing_chat_diff_XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const fs::path dir = dir_template;

  std::vector<Case> cases;
  for (const auto& [name, conv] : conversations.items()) {
    for (bool agp : {true, false}) {
      ordered_json ctx = conv;
      ctx["add_generation_prompt"] = agp;
      ctx["bos_token"] = "<s>";
      ctx["eos_token"] = "</s>";
      const fs::path ctx_path = dir / (name + (agp ? "_gen" : "_nogen") + ".json");
      std::ofstream(ctx_path) << ctx.dump();
      for (const auto& t : templates) cases.push_back({t, name, agp, ctx_path, ctx});
    }
  }

  std::vector<std::pair<fs::path, fs::path>> jobs;
  for (const Case& c : cases) jobs.emplace_back(c.template_path, c.context_path);
  const std::vector<mx::test::ReferenceRender> reference = mx::test::render_with_reference(jobs, dir);
  ASSERT_NE(reference.front().status, -1)
      << "the reference renderer needs python3 with jinja2 (apt-get install python3-jinja2; scripts/setup.sh "
         "installs it). Set MOXING_PYTHON to use another interpreter.\n"
      << reference.front().err;

  std::vector<Outcome> outcomes(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) outcomes[i] = check(cases[i], reference[i]);

  std::map<std::string, std::pair<int, int>> per_template;
  int passed = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    auto& [ok, total] = per_template[cases[i].template_path.filename().string()];
    ++total;
    if (outcomes[i].pass) {
      ++ok;
      ++passed;
    } else {
      ADD_FAILURE() << cases[i].template_path.filename().string() << " / " << cases[i].conversation
                    << " / add_generation_prompt=" << cases[i].add_generation_prompt << ":\n" << outcomes[i].detail;
    }
  }
  for (const auto& [name, counts] : per_template) {
    std::printf("  %-55s %d/%d\n", name.c_str(), counts.first, counts.second);
  }
  std::printf("differential: %d/%zu renders match the reference (%zu templates x %zu contexts)\n", passed,
              cases.size(), templates.size(), cases.size() / templates.size());
  fs::remove_all(dir);
}

}  // namespace
