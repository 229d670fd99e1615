// The stages of the sampler chain a user can order (llama.cpp's --samplers), named from one
// table: each stage's canonical name (llama.cpp's) and the other spellings accepted for it.
#pragma once

#include <array>
#include <span>
#include <string_view>
#include <vector>

#include "core/expected.h"

namespace mx {

// In llama.cpp's default order.
enum class SamplerStage { kPenalties, kDry, kTopK, kTypicalP, kTopP, kMinP, kXtc, kTemperature };

struct SamplerStageNames {
  SamplerStage stage;
  std::string_view name;                    // canonical: llama.cpp's --samplers name
  std::array<std::string_view, 3> aliases;  // also accepted ("" pads)
};

// The table, one row per stage in the enum's order.
std::span<const SamplerStageNames> sampler_stage_names();

std::string_view stage_name(SamplerStage stage);
// A canonical name or an alias; an unknown name's error lists the canonical names.
Expected<SamplerStage> parse_sampler_stage(std::string_view name);
// "top_k;top_p;temperature" (';' or ',' separated, empty items skipped) into an order.
Expected<std::vector<SamplerStage>> parse_sampler_order(std::string_view text);

}  // namespace mx
