#include "sampling/sampler_stage.h"

#include <algorithm>
#include <string>

namespace mx {
namespace {

using S = SamplerStage;

constexpr SamplerStageNames kStages[] = {
    {S::kPenalties, "penalties", {}},
    {S::kDry, "dry", {}},
    {S::kTopK, "top_k", {"top-k"}},
    {S::kTypicalP, "typ_p", {"typ-p", "typical", "typical_p"}},
    {S::kTopP, "top_p", {"top-p"}},
    {S::kMinP, "min_p", {"min-p"}},
    {S::kXtc, "xtc", {}},
    {S::kTemperature, "temperature", {"temp"}},
};

// stage_name() indexes the table by the enum: every stage has its row, in order.
constexpr bool rows_in_enum_order() {
  for (size_t i = 0; i < std::size(kStages); ++i)
    if (static_cast<size_t>(kStages[i].stage) != i) return false;
  return std::size(kStages) == static_cast<size_t>(S::kTemperature) + 1;
}
static_assert(rows_in_enum_order());

}  // namespace

std::span<const SamplerStageNames> sampler_stage_names() { return kStages; }

std::string_view stage_name(SamplerStage stage) { return kStages[static_cast<size_t>(stage)].name; }

Expected<SamplerStage> parse_sampler_stage(std::string_view name) {
  for (const SamplerStageNames& row : kStages)
    if (!name.empty() && (row.name == name || std::ranges::find(row.aliases, name) != row.aliases.end()))
      return row.stage;
  std::string known;
  for (const SamplerStageNames& row : kStages) known += (known.empty() ? "" : ", ") + std::string(row.name);
  return make_error("unknown sampler '{}' (known: {})", name, known);
}

Expected<std::vector<SamplerStage>> parse_sampler_order(std::string_view text) {
  std::vector<SamplerStage> order;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find_first_of(";,", start), text.size());
    if (const std::string_view name = text.substr(start, end - start); !name.empty()) {
      SamplerStage stage{};
      MX_TRY_ASSIGN(stage, parse_sampler_stage(name));
      order.push_back(stage);
    }
    start = end + 1;
  }
  return order;
}

}  // namespace mx
