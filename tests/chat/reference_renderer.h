// The reference the chat-template tests compare with: ../shared/tools/render_chat_template.py
// (Jinja2 configured as transformers configures it), run through reference_batch.py so that
// one interpreter renders every case of a test.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_paths.h"

namespace mx::test {

struct ReferenceRender {
  int status = -1;  // 0 rendered, 1 the template raised, anything else: the renderer did not run
  std::string out;  // the rendered prompt when status is 0
  std::string err;  // "Type: message\n" when status is 1, the interpreter's stderr otherwise
};

// Debian's interpreter first: scripts/setup.sh installs python3-jinja2 for it, and a
// version manager's shim earlier on PATH (pyenv) may lack jinja2 or start slowly.
inline std::string reference_python() {
  const char* p = std::getenv("MOXING_PYTHON");
  if (p && *p) return p;
  return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Renders each (template file, context JSON file) pair; `scratch` is a writable directory.
inline std::vector<ReferenceRender> render_with_reference(
    const std::vector<std::pair<std::filesystem::path, std::filesystem::path>>& cases,
    const std::filesystem::path& scratch) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [tmpl, context] : cases) list.push_back({{"template", tmpl.string()}, {"context", context.string()}});
  const std::string tag = std::to_string(getpid());  // tests may share `scratch`
  const auto cases_file = scratch / ("reference_cases_" + tag + ".json");
  const auto err_file = scratch / ("reference_stderr_" + tag + ".txt");
  {
    std::FILE* f = std::fopen(cases_file.c_str(), "w");
    if (!f) return std::vector<ReferenceRender>(cases.size(), {-1, "", "cannot write " + cases_file.string()});
    const std::string text = list.dump();
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  const std::string batch = std::string(MOXING_SOURCE_DIR) + "/tests/chat/reference_batch.py";
  const std::string cmd = reference_python() + " " + shell_quote(batch) + " " +
                          shell_quote(shared_path("tools/render_chat_template.py")) + " " +
                          shell_quote(cases_file.string()) + " 2>" + shell_quote(err_file.string());
  std::string out;
  int status = -1;
  if (std::FILE* p = popen(cmd.c_str(), "r")) {
    char buf[65536];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    const int st = pclose(p);
    status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  std::vector<ReferenceRender> results;
  size_t pos = 0;
  while (status == 0 && pos < out.size() && results.size() < cases.size()) {
    const size_t end = out.find('\n', pos);
    const auto line = nlohmann::json::parse(out.substr(pos, end - pos), nullptr, false);
    if (line.is_discarded()) break;
    results.push_back({line.at("status").get<int>(), line.value("out", ""), line.value("err", "")});
    pos = end == std::string::npos ? out.size() : end + 1;
  }
  if (results.size() != cases.size()) {
    const std::string why = "the reference renderer did not run (exit " + std::to_string(status) + "): " +
                            read_text_file(err_file.string());
    results.assign(cases.size(), {-1, "", why});
  }
  std::filesystem::remove(cases_file);
  std::filesystem::remove(err_file);
  return results;
}

}  // namespace mx::test
