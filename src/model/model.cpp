#include "model/model.h"

#include "kernels/packed.h"

#include <algorithm>

namespace mx {

namespace {

// Packs every matrix whose kernels are faster on packed rows. The token embedding stays as
// it is (rows are looked up from it); a tied output matrix gets a packed copy of its own.
void pack_for_kernels(Model& m, const KernelTable& kernels) {
  auto pack = [&](WeightView& w) {
    if (!packable(w.type) || !kernels[w.type].gemm_packed) return;
    AlignedBuffer buffer(packed_size(w.type, w.rows, w.cols));
    pack_rows(w.type, w.data, w.row_bytes(), w.rows, w.cols, buffer.data());
    w.packed = buffer.data();
    m.packed.push_back(std::move(buffer));
  };
  for (LayerWeights& l : m.weights.layers)
    for (WeightView* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) pack(*w);
  pack(m.weights.output);
}

}  // namespace

Expected<std::unique_ptr<Model>> Model::from_file(gguf::File file, const KernelTable& kernels) {
  auto m = std::make_unique<Model>();
  m->file = std::move(file);
  MX_TRY_ASSIGN(m->config, ModelConfig::from_gguf(m->file));
  MX_TRY_ASSIGN(m->weights, ModelWeights::bind(m->file, m->config, kernels));
  pack_for_kernels(*m, kernels);
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
