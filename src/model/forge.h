// Writes a model of a real configuration with random weights: the benchmark input when
// the real weights are not at hand. Deterministic from the seed; values are drawn once per
// tensor for a pool of rows that the tensor's rows then reuse, so forging an 8B model costs
// about as much as writing its bytes (speed does not depend on the values).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "model/presets.h"
#include "quant/types.h"

namespace mx {

struct ForgeOptions {
  // The type of each weight matrix, by tensor name and dims (ne0 first). 1-D tensors
  // (norms, biases) and biases of experts are always F32.
  std::function<GgmlType(std::string_view name, const std::vector<int64_t>& dims)> weight_type;
  uint32_t file_type = 0;  // general.file_type (llama_ftype) to record
  uint64_t seed = 1;
  // Called after each tensor with the bytes written so far and the total.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

// The tensors a preset's model has, with their dims, in file order.
struct ForgedTensor {
  std::string name;
  std::vector<int64_t> dims;
};
std::vector<ForgedTensor> preset_tensors(const ModelPreset& preset);

Status forge_model(const ModelPreset& preset, const ForgeOptions& options, const std::string& path);

}  // namespace mx
