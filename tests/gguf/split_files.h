// Split sets for tests: a copy of a GGUF file written as shards, and a scratch directory.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "gguf/split_writer.h"
#include "test_paths.h"

namespace mx::test {

// A directory of this test process, removed with everything in it at the end of the scope.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name) : path_(temp_path(name)) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A writer holding all of `f` (keys and tensors; the bytes are read from f when written).
inline gguf::Writer copy_of(const gguf::File& f) {
  gguf::Writer w(f.alignment());
  for (const auto& kv : f.metadata())
    if (kv.key != "general.alignment") w.set(kv.key, kv.value);
  for (const gguf::TensorInfo& t : f.tensors())
    w.add_tensor(t.name, t.type, t.dims,
                 [&t](std::span<uint8_t> out) { std::copy(t.data, t.data + out.size(), out.begin()); });
  return w;
}

// Writes the model at `src` as shards of at most max_tensors tensors named from out_path;
// returns their paths (empty on an error, reported to the test).
inline std::vector<std::string> write_split_copy(const std::string& src, const std::string& out_path,
                                                 int64_t max_tensors) {
  auto f = gguf::File::open(src);
  EXPECT_TRUE(f.ok()) << f.error().message;
  if (!f) return {};
  auto paths = gguf::write_split(copy_of(*f), out_path, {.max_tensors = max_tensors});
  EXPECT_TRUE(paths.ok()) << paths.error().message;
  return paths ? *paths : std::vector<std::string>{};
}

}  // namespace mx::test
