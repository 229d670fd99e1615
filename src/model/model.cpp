#include "model/model.h"

#include <algorithm>

namespace mx {

Expected<std::unique_ptr<Model>> Model::from_file(gguf::File file, const KernelTable& kernels) {
  auto m = std::make_unique<Model>();
  m->file = std::move(file);
  MX_TRY_ASSIGN(m->config, ModelConfig::from_gguf(m->file));
  MX_TRY_ASSIGN(m->weights, ModelWeights::bind(m->file, m->config, kernels));
  return m;
}

Expected<std::unique_ptr<Model>> Model::load(const std::string& path, const KernelTable& kernels,
                                             const Progress& progress) {
  auto file = gguf::File::open(path);
  if (!file) return file.error();
  auto model = from_file(std::move(*file), kernels);
  if (!model) return model.error();
  // Touch every page now so the first tokens are not slowed by page faults and the user
  // sees loading progress on large files.
  const uint64_t total = (*model)->weight_bytes();
  uint64_t done = 0;
  volatile uint8_t sink = 0;
  for (const auto& t : (*model)->file.tensors()) {
    for (size_t off = 0; off < t.n_bytes; off += 4096) sink = sink + t.data[off];
    done += t.n_bytes;
    if (progress) progress(done, total);
  }
  return model;
}

uint64_t Model::weight_bytes() const {
  uint64_t n = 0;
  for (const auto& t : file.tensors()) n += t.n_bytes;
  return n;
}

int64_t Model::n_params() const {
  int64_t n = 0;
  for (const auto& t : file.tensors()) n += t.n_elements();
  return n;
}

}  // namespace mx
