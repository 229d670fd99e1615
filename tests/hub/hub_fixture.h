// Every hub test: a fresh HF_HOME and MOXING_CACHE in a temp folder (the real ~/.cache is never
// touched), a fake hub with a few repos, and settings pointing at it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "hub/fake_hub.h"
#include "hub/hub_settings.h"
#include "test_paths.h"

namespace mx::test {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class HubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = temp_path(std::string("hf_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(home_);
    std::filesystem::create_directories(home_);
    ::setenv("HF_HOME", home_.c_str(), 1);
    ::setenv("MOXING_CACHE", (home_ + "/moxing").c_str(), 1);
    for (const char* v : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE"})
      ::unsetenv(v);
    ::setenv("HF_ENDPOINT", hub_.endpoint().c_str(), 1);

    stories_q8 = read_file(shared_path("models/stories260K-Q8_0.gguf"));
    stories_f16 = read_file(shared_path("models/stories260K-F16.gguf"));
    qwen_q4k = read_file(shared_path("models/tiny/tiny-qwen2-Q4_K.gguf"));
    ASSERT_FALSE(stories_q8.empty() || stories_f16.empty() || qwen_q4k.empty()) << "reference models missing";

    FakeRepo single;
    single.files["stories-Q8_0.gguf"] = stories_q8;
    single.files["stories-F16.gguf"] = stories_f16;
    single.files["stories-Q4_K_M.gguf"] = qwen_q4k;
    single.files["mmproj-stories-F16.gguf"] = random_bytes(1000, 1);
    single.files["README.md"] = "# stories\n";
    single_commit = hub_.add_repo("acme/stories-GGUF", single);

    FakeRepo split;
    split.files["big-Q8_0-00001-of-00003.gguf"] = stories_q8;
    split.files["big-Q8_0-00002-of-00003.gguf"] = random_bytes(200000, 2);
    split.files["big-Q8_0-00003-of-00003.gguf"] = random_bytes(150000, 3);
    split.files["config.json"] = "{}";
    split_commit = hub_.add_repo("acme/split-GGUF", split);

    FakeRepo gated;
    gated.gated = true;
    gated.files["secret-Q4_K_M.gguf"] = qwen_q4k;
    hub_.add_repo("acme/gated-GGUF", gated);
  }

  void TearDown() override {
    std::filesystem::remove_all(home_);
    ::unsetenv("HF_HOME");
    ::unsetenv("MOXING_CACHE");
    ::unsetenv("HF_ENDPOINT");
  }

  hub::HubSettings settings() const {
    hub::HubSettings s = hub::hub_settings_from_environment();
    s.progress = false;
    return s;
  }
  std::string cache_dir() const { return home_ + "/hub"; }
  std::string url_cache_dir() const { return home_ + "/moxing/urls"; }

  FakeHub hub_;
  std::string home_;
  std::string stories_q8, stories_f16, qwen_q4k;
  std::string single_commit, split_commit;
};

}  // namespace mx::test
