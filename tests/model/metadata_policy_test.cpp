// The rule that nothing in a file is silently ignored, checked on one file of every
// architecture moxing runs: an unknown `{arch}.*` key, an unknown tensor, an unknown rope
// scaling type or a key of the wrong type refuses the file with an error naming it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "gguf_edit.h"
#include "model/model.h"
#include "test_paths.h"
#include "variant_models.h"

namespace mx {
namespace {

struct ArchFile {
  std::string arch, file;  // a tiny model of ../shared, or a variant of tests/variant_models.h
};
const ArchFile kArchFiles[] = {
    {"llama", "tiny-llama3-gqa-Q8_0.gguf"}, {"qwen2", "tiny-qwen2-Q8_0.gguf"},
    {"qwen3", "tiny-qwen3-Q8_0.gguf"},      {"qwen3moe", "tiny-qwen3moe-Q8_0.gguf"},
    {"phi3", "tiny-phi3-Q4_K.gguf"},        {"gemma2", "tiny-gemma2-Q4_K.gguf"},
    {"gemma3", "tiny-gemma3-Q4_K.gguf"},    {"qwen2moe", "tiny-qwen2moe-F16"},
    {"gpt-oss", "tiny-gpt-oss-MXFP4_MOE"},
};

// The file an edit starts from: ../shared's, or a variant written into a temp file
// (removed after the edit).
std::string base_file(const std::string& file) {
  if (file.ends_with(".gguf")) return test::shared_path("models/tiny/" + file);
  const std::string path = test::temp_path("policy_base_" + file + ".gguf");
  for (const auto& v : test::variant_models())
    if (v.name == file) EXPECT_TRUE(test::write_variant(v, path).ok());
  return path;
}

class MetadataPolicy : public ::testing::TestWithParam<ArchFile> {
 protected:
  std::string load_error(const test::GgufEdit& edit) {
    const std::string path = test::temp_path("policy_" + GetParam().arch + ".gguf");
    const std::string base = base_file(GetParam().file);
    EXPECT_TRUE(test::write_edited(base, edit, path).ok());
    if (!base.starts_with(test::shared_path(""))) std::filesystem::remove(base);
    auto m = Model::load(path, reference_kernels());
    std::filesystem::remove(path);
    return m.ok() ? std::string("(loaded)") : m.error().message;
  }
  std::string key(const std::string& suffix) const { return GetParam().arch + "." + suffix; }
};

TEST_P(MetadataPolicy, UnchangedCopyLoads) { EXPECT_EQ(load_error({}), "(loaded)"); }

TEST_P(MetadataPolicy, UnknownArchitectureKeyIsRefusedByName) {
  const auto e = load_error(test::GgufEdit{}.with(key("attention.scale"), {0.125f}));
  EXPECT_NE(e.find("'" + key("attention.scale") + "' is not known"), std::string::npos) << e;
}

TEST_P(MetadataPolicy, UnknownTensorIsRefusedByName) {
  test::GgufEdit edit;
  edit.add_tensors.push_back({"blk.0.attn_sub_norm.weight", GgmlType::kF32, {4}, test::f32_bytes({1, 2, 3, 4})});
  const auto e = load_error(edit);
  EXPECT_NE(e.find("tensor 'blk.0.attn_sub_norm.weight' is not part of"), std::string::npos) << e;
}

TEST_P(MetadataPolicy, UnknownRopeScalingTypeIsRefusedByName) {
  const auto e = load_error(test::GgufEdit{}.with(key("rope.scaling.type"), {std::string("dynamic")}));
  EXPECT_NE(e.find("'" + key("rope.scaling.type") + "' is 'dynamic'"), std::string::npos) << e;
}

TEST_P(MetadataPolicy, KeyOfTheWrongTypeIsRefusedByName) {
  gguf::Array per_layer{gguf::ValueType::kU32, {{uint32_t{2}}, {uint32_t{2}}}};
  const auto e = load_error(test::GgufEdit{}.with(key("attention.head_count_kv"), {per_layer}));
  EXPECT_NE(e.find("'" + key("attention.head_count_kv") + "' should be an integer"), std::string::npos) << e;
}

TEST_P(MetadataPolicy, KeysWithoutEffectAreAccepted) {
  EXPECT_EQ(load_error(test::GgufEdit{}
                           .with(key("vocab_size"), {uint32_t{512}})
                           .with(key("rope.scaling.finetuned"), {false})
                           .with(key("rope.scaling.type"), {std::string("none")})),
            "(loaded)");
}

INSTANTIATE_TEST_SUITE_P(EveryArchitecture, MetadataPolicy, ::testing::ValuesIn(kArchFiles),
                         [](const auto& info) {
                           std::string s = info.param.arch;
                           std::replace(s.begin(), s.end(), '-', '_');
                           return s;
                         });

TEST(MetadataPolicyRope, FrequencyFactorsOnlyWhereTheArchitectureHasThem) {
  const std::string path = test::temp_path("qwen2_rope_freqs.gguf");
  test::GgufEdit edit;
  edit.add_tensors.push_back({"rope_freqs.weight", GgmlType::kF32, {32}, test::f32_bytes(std::vector<float>(32, 2.0f))});
  ASSERT_TRUE(test::write_edited(test::shared_path("models/tiny/tiny-qwen2-Q8_0.gguf"), edit, path).ok());
  auto m = Model::load(path, reference_kernels());
  std::filesystem::remove(path);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("'qwen2' models have no rope frequency factors"), std::string::npos)
      << m.error().message;
}

TEST(MetadataPolicyRope, SlidingWindowOnAnArchitectureWithoutIt) {
  const std::string path = test::temp_path("qwen3_swa.gguf");
  ASSERT_TRUE(test::write_edited(test::shared_path("models/tiny/tiny-qwen3-Q8_0.gguf"),
                                 test::GgufEdit{}.with("qwen3.attention.sliding_window", {uint32_t{16}}), path)
                  .ok());
  auto m = Model::load(path, reference_kernels());
  std::filesystem::remove(path);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("'qwen3.attention.sliding_window' asks for sliding-window attention"),
            std::string::npos) << m.error().message;
}

}  // namespace
}  // namespace mx
