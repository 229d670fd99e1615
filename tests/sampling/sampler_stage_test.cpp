// The one table of sampler-stage names: canonical names round-trip, aliases map to their
// stage, an unknown name's error lists the known ones, and an order's text parses.
#include "sampling/sampler_stage.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "sampling/chain.h"

namespace mx {
namespace {

TEST(SamplerStage, EveryStageRoundTripsThroughItsName) {
  std::set<SamplerStage> seen;
  for (const SamplerStageNames& row : sampler_stage_names()) {
    EXPECT_EQ(stage_name(row.stage), row.name);
    auto parsed = parse_sampler_stage(row.name);
    ASSERT_TRUE(parsed.ok()) << row.name;
    EXPECT_EQ(*parsed, row.stage);
    seen.insert(row.stage);
  }
  EXPECT_EQ(seen.size(), 8u);  // every enumerator has its row
  EXPECT_EQ(seen.size(), sampler_stage_names().size());
}

TEST(SamplerStage, CanonicalNamesAreLlamaCpps) {
  std::string names;
  for (const SamplerStage s : SamplingParams{}.order) names += std::string(stage_name(s)) + ";";
  EXPECT_EQ(names, "penalties;dry;top_k;typ_p;top_p;min_p;xtc;temperature;");  // its --samplers default too
}

TEST(SamplerStage, AliasesMapToTheirStage) {
  const std::pair<const char*, SamplerStage> aliases[] = {
      {"top-k", SamplerStage::kTopK},         {"top-p", SamplerStage::kTopP},         {"min-p", SamplerStage::kMinP},
      {"typical", SamplerStage::kTypicalP},   {"typ-p", SamplerStage::kTypicalP},     {"typical_p", SamplerStage::kTypicalP},
      {"temp", SamplerStage::kTemperature},
  };
  for (const auto& [alias, stage] : aliases) {
    auto parsed = parse_sampler_stage(alias);
    ASSERT_TRUE(parsed.ok()) << alias;
    EXPECT_EQ(*parsed, stage) << alias;
  }
  for (const SamplerStageNames& row : sampler_stage_names())
    for (std::string_view alias : row.aliases)
      if (!alias.empty()) EXPECT_EQ(*parse_sampler_stage(alias), row.stage) << alias;
}

TEST(SamplerStage, AnUnknownNameListsTheKnownOnes) {
  for (const char* bad : {"banana", "", "Top_K", "top_k "}) {
    auto parsed = parse_sampler_stage(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    const std::string& message = parsed.error().message;
    EXPECT_NE(message.find(std::string("'") + bad + "'"), std::string::npos) << message;
    for (const SamplerStageNames& row : sampler_stage_names())
      EXPECT_NE(message.find(row.name), std::string::npos) << message;
  }
}

TEST(SamplerStage, OrderTextParses) {
  auto order = parse_sampler_order("top-k;temp,min_p;;");
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(*order, (std::vector<SamplerStage>{SamplerStage::kTopK, SamplerStage::kTemperature, SamplerStage::kMinP}));
  EXPECT_TRUE(parse_sampler_order("").ok());
  auto bad = parse_sampler_order("top_k;banana");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, parse_sampler_stage("banana").error().message);
}

}  // namespace
}  // namespace mx
