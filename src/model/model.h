// A loaded model: the mapped GGUF file, its config and views of its weights.
#pragma once

#include <vector>

#include "core/aligned_buffer.h"

#include <functional>
#include <memory>
#include <string>

#include "core/expected.h"
#include "gguf/gguf_file.h"
#include "kernels/kernel_table.h"
#include "model/config.h"
#include "model/weights.h"

namespace mx {

struct Model {
  gguf::File file;
  ModelConfig config;
  ModelWeights weights;
  // Copies of weight matrices rearranged for the kernels (kernels/packed.h); the views in
  // `weights` point into them.
  AlignedBuffer packed;
  // Tensors read only through `packed` copies; their file pages were released.
  std::vector<const gguf::TensorInfo*> released_tensors;

  // progress(done_bytes, total_bytes) is called while the weights are paged in.
  using Progress = std::function<void(uint64_t done, uint64_t total)>;
  static Expected<std::unique_ptr<Model>> load(const std::string& path, const KernelTable& kernels,
                                               const Progress& progress = nullptr);
  static Expected<std::unique_ptr<Model>> from_file(gguf::File file, const KernelTable& kernels);

  uint64_t weight_bytes() const;  // bytes of all tensors
  int64_t n_params() const;
  // What one token reads: all tensors but the unchosen experts' share of the expert tensors
  // (n_expert_used of n_expert); equal to the totals for a dense model.
  double active_weight_bytes() const;
  double active_params() const;
};

}  // namespace mx
