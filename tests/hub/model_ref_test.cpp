// Names a user may type for a model.
#include <gtest/gtest.h>

#include "hub/model_ref.h"
#include "hub/url_cache.h"

namespace mx::hub {
namespace {

ModelRef parse_ok(std::string_view text) {
  auto ref = parse_model_ref(text);
  EXPECT_TRUE(ref) << text << ": " << (ref ? "" : ref.error().message);
  return ref ? *ref : ModelRef{};
}

TEST(ModelRef, RepoWithAndWithoutQuant) {
  ModelRef r = parse_ok("Qwen/Qwen3-0.6B-GGUF:Q8_0");
  EXPECT_EQ(r.kind, ModelRef::Kind::kRepo);
  EXPECT_EQ(r.repo, "Qwen/Qwen3-0.6B-GGUF");
  EXPECT_EQ(r.quant, "Q8_0");
  EXPECT_EQ(r.revision, "main");
  r = parse_ok("bartowski/Llama-3.2-1B-Instruct-GGUF");
  EXPECT_EQ(r.repo, "bartowski/Llama-3.2-1B-Instruct-GGUF");
  EXPECT_EQ(r.quant, "");
  EXPECT_EQ(r.display_name(), "bartowski/Llama-3.2-1B-Instruct-GGUF");
}

TEST(ModelRef, HostPrefixes) {
  for (const char* s : {"hf.co/unsloth/Qwen3-4B-GGUF:q4_k_m", "huggingface.co/unsloth/Qwen3-4B-GGUF:q4_k_m",
                        "HF.CO/unsloth/Qwen3-4B-GGUF:q4_k_m"}) {
    ModelRef r = parse_ok(s);
    EXPECT_EQ(r.repo, "unsloth/Qwen3-4B-GGUF") << s;
    EXPECT_EQ(r.quant, "q4_k_m") << s;
    EXPECT_TRUE(r.endpoint.empty()) << s;
  }
}

TEST(ModelRef, FileUrl) {
  ModelRef r = parse_ok("https://huggingface.co/acme/m-GGUF/resolve/main/sub/m-Q8_0.gguf?download=true");
  EXPECT_EQ(r.kind, ModelRef::Kind::kRepo);
  EXPECT_EQ(r.repo, "acme/m-GGUF");
  EXPECT_EQ(r.revision, "main");
  EXPECT_EQ(r.file, "sub/m-Q8_0.gguf");
  EXPECT_EQ(r.endpoint, "https://huggingface.co");
  r = parse_ok("http://127.0.0.1:8080/acme/m-GGUF/blob/0123456789abcdef0123456789abcdef01234567/m.gguf");
  EXPECT_EQ(r.endpoint, "http://127.0.0.1:8080");
  EXPECT_EQ(r.revision, "0123456789abcdef0123456789abcdef01234567");
  r = parse_ok("https://huggingface.co/acme/m-GGUF");
  EXPECT_EQ(r.repo, "acme/m-GGUF");
  EXPECT_TRUE(r.file.empty());
}

TEST(ModelRef, PlainUrls) {
  for (const char* s : {"https://example.com/models/tiny.gguf", "https://example.com/tiny.GGUF",
                        "http://host:8080/a/b/c/m-Q4_K_M.gguf?token=1", "https://huggingface.co/acme/m/raw/x.gguf"}) {
    ModelRef r = parse_ok(s);
    EXPECT_EQ(r.kind, ModelRef::Kind::kUrl) << s;
    EXPECT_EQ(r.url, s);
    EXPECT_EQ(r.display_name(), s);
  }
  // A hub file URL stays a repo file.
  EXPECT_EQ(parse_ok("https://huggingface.co/acme/m/resolve/main/m.gguf").kind, ModelRef::Kind::kRepo);
}

TEST(UrlCachePath, StaysInsideItsFolder) {
  EXPECT_EQ(url_relative_path("https://Example.COM:8443/models/tiny.gguf?x=1#y"), "example.com:8443/models/tiny.gguf");
  EXPECT_EQ(url_relative_path("https://user:pw@example.com/a b.gguf"), "example.com/a_b.gguf");
  for (const char* s : {"https://example.com/../x.gguf", "https://example.com/a/./x.gguf",
                        "https://example.com//x.gguf", "https://example.com/", "https://../x.gguf", "no-scheme/x.gguf"})
    EXPECT_EQ(url_relative_path(s), "") << s;
  EXPECT_EQ(shard_url("https://h/m-Q8_0-00001-of-00003.gguf?dl=1", 3), "https://h/m-Q8_0-00003-of-00003.gguf?dl=1");
  EXPECT_EQ(split_set_urls("https://h/m-00002-of-00002.gguf").front(), "https://h/m-00001-of-00002.gguf");
}

TEST(ModelRef, LocalPaths) {
  for (const char* s : {"/models/x.gguf", "./x", "../a/b", "~/m.gguf", "model.gguf", "a/b/c", "models/x.gguf", "x"}) {
    ModelRef r = parse_ok(s);
    EXPECT_EQ(r.kind, ModelRef::Kind::kLocalPath) << s;
    EXPECT_EQ(r.path, s);
  }
}

TEST(ModelRef, Rejects) {
  for (const char* s : {"", "acme/:Q4", "org/repo:", "org/repo:Q 4", "-org/repo", "org/..repo", "hf.co/justone",
                        "https://huggingface.co/", "https://huggingface.co/acme/m/tree/main",
                        "https://example.com/readme.txt", "https://example.com",
                        "https://huggingface.co/acme/m/resolve/main/../../etc/passwd"})
    EXPECT_FALSE(parse_model_ref(s)) << s;
}

}  // namespace
}  // namespace mx::hub
