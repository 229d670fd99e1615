// Runs the moxing binary as a user would and captures what it prints.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "test_paths.h"

namespace mx::test {

struct CliResult {
  int exit_code;
  std::string out;  // stdout
  std::string err;  // stderr
};

// A file under the test temp dir, unique per process (ctest runs tests in parallel processes).
inline std::string temp_file(const std::string& stem) {
  return ::testing::TempDir() + "moxing_" + stem + "_" + std::to_string(::getpid());
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// `args` go through the shell (quote them as in a terminal); `input` becomes standard input.
inline CliResult run_cli(const std::string& args, const std::string& input = "") {
  const std::string err_file = temp_file("stderr") + ".txt";
  const std::string in_file = temp_file("stdin") + ".txt";
  write_file(in_file, input);
  const std::string cmd = std::string(MOXING_BINARY) + " " + args + " <" + in_file + " 2>" + err_file;
  CliResult r{-1, {}, {}};
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = read_text_file(err_file);
  std::remove(err_file.c_str());
  std::remove(in_file.c_str());
  return r;
}

}  // namespace mx::test
