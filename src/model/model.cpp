#include "model/model.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/format.h"
#include "core/log.h"
#include "core/round_up.h"
#include "core/thread_pool.h"
#include "kernels/packed.h"

namespace mx {
namespace {

// Packs every matrix whose kernels are faster on packed rows, and releases the file's pages
// of each tensor as soon as nothing reads it unpacked any more, so memory never holds both
// copies of the whole model. The token embedding stays as it is (rows are looked up from
// it); a tied output matrix gets a packed copy of its own. Returns the released tensors.
std::vector<const gguf::TensorInfo*> pack_for_kernels(Model& m, const KernelTable& kernels, ThreadPool& pool) {
  // Matrices and whether their rows may be packed: stacked experts are sliced per expert,
  // so only when an expert's rows fill whole groups of kPackRows.
  std::vector<WeightView*> views;
  std::vector<const WeightView*> unpackable;
  const ModelConfig& c = m.config;
  for (LayerWeights& l : m.weights.layers) {
    for (WeightView* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down, &l.w_gate_shexp,
                          &l.w_up_shexp, &l.w_down_shexp})
      if (w->data) views.push_back(w);
    if (!c.is_moe()) continue;
    views.insert(views.end(), {&l.w_gate_exps, &l.w_up_exps, &l.w_down_exps});
    if (c.n_ff_exp % kPackRows != 0) unpackable.insert(unpackable.end(), {&l.w_gate_exps, &l.w_up_exps});
    if (c.n_embd % kPackRows != 0) unpackable.push_back(&l.w_down_exps);
  }
  views.push_back(&m.weights.output);
  // MXFP4 matrices pack only if every block's scale fits the packed records (kernels/packed.h).
  // Reading the scales brings the tensor's pages in: they leave again at once, so the scan
  // does not hold the file resident beside the packed copies that follow.
  for (const WeightView* w : views) {
    if (w->type == GgmlType::kF16 && !packs_exactly(w->type, w->data, w->row_bytes(), w->rows, w->cols))
      unpackable.push_back(w);  // (a row length check, no scan)
    if (w->type != GgmlType::kMXFP4) continue;
    if (!packs_exactly(w->type, w->data, w->row_bytes(), w->rows, w->cols)) unpackable.push_back(w);
    for (const auto& t : m.file.tensors())
      if (t.data == w->data) m.file.drop_tensor_pages(t);
  }
  auto will_pack = [&](const WeightView& w) {
    return packable(w.type) && kernels[w.type].gemm_packed != nullptr &&
           std::find(unpackable.begin(), unpackable.end(), &w) == unpackable.end();
  };
  auto overlaps = [](const WeightView& w, const gguf::TensorInfo& t) {
    return w.data < t.data + t.n_bytes && t.data < w.data + w.rows * w.row_bytes();
  };
  // A tensor leaves memory when every view of it is packed and it is not the embedding.
  auto releasable = [&](const gguf::TensorInfo& t) {
    if (overlaps(m.weights.token_embd, t)) return false;
    for (const WeightView* w : views)
      if (overlaps(*w, t) && !will_pack(*w)) return false;
    return true;
  };
  // One buffer for all packed matrices: large enough for huge pages (AlignedBuffer), which
  // spare the page walks of streaming the weights at 4 KB a page, with no per-matrix slack.
  size_t total = 0;
  for (const WeightView* w : views)
    if (will_pack(*w)) total += round_up(packed_size(w->type, w->rows, w->cols), size_t{64});
  m.packed = AlignedBuffer(total);
  size_t offset = 0;
  std::vector<const gguf::TensorInfo*> released;
  for (WeightView* w : views) {
    if (!will_pack(*w)) continue;
    w->packed = m.packed.data() + offset;
    // Groups of rows in parallel: packing a 17 GB model on one core took ~20 s.
    uint8_t* dst = m.packed.data() + offset;
    const size_t group_bytes = packed_group_bytes(w->type, w->cols);
    const int64_t n_groups = (w->rows + kPackRows - 1) / kPackRows;
    pool.parallel_for(n_groups, 1, [&](int64_t g0, int64_t g1) {
      const int64_t r0 = g0 * kPackRows, r1 = std::min(w->rows, g1 * kPackRows);
      pack_rows(w->type, w->data + r0 * w->row_bytes(), w->row_bytes(), r1 - r0, w->cols, dst + g0 * group_bytes);
    });
    offset += round_up(packed_size(w->type, w->rows, w->cols), size_t{64});
    for (const auto& t : m.file.tensors()) {
      if (!overlaps(*w, t) || !releasable(t)) continue;
      bool all_packed = true;  // fused matrices: wait for the last slice
      for (const WeightView* v : views) all_packed &= !overlaps(*v, t) || v->packed != nullptr;
      if (all_packed && std::find(released.begin(), released.end(), &t) == released.end()) {
        m.file.drop_tensor_pages(t);
        released.push_back(&t);
      }
    }
  }
  return released;
}

}  // namespace

Expected<std::unique_ptr<Model>> Model::from_file(gguf::File file, const KernelTable& kernels) {
  auto m = std::make_unique<Model>();
  m->file = std::move(file);
  MX_TRY_ASSIGN(m->config, ModelConfig::from_gguf(m->file));
  MX_TRY_ASSIGN(m->weights, ModelWeights::bind(m->file, m->config, kernels));
  ThreadPool pool(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  const auto start = std::chrono::steady_clock::now();
  m->released_tensors = pack_for_kernels(*m, kernels, pool);
  MX_LOG_DEBUG("packed {} of weights for the kernels in {:.2f} s on {} threads", format_bytes(m->packed.size()),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), pool.size());
  return m;
}

Expected<std::unique_ptr<Model>> Model::load(const std::string& path, const KernelTable& kernels,
                                             const Progress& progress) {
  auto file = gguf::File::open(path);
  if (!file) return file.error();
  auto model = from_file(std::move(*file), kernels);
  if (!model) return model.error();
  // Touch every page the forward pass reads from the file now, so the first tokens are not
  // slowed by page faults and the user sees loading progress on large files. Packed
  // tensors were read (and their pages dropped) while packing: count them as done.
  const Model& m = **model;
  auto is_dropped = [&](const gguf::TensorInfo& t) {
    return std::find(m.released_tensors.begin(), m.released_tensors.end(), &t) != m.released_tensors.end();
  };
  const uint64_t total = m.weight_bytes();
  uint64_t done = 0;
  volatile uint8_t sink = 0;
  for (const auto& t : m.file.tensors()) {
    if (!is_dropped(t))
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

namespace {

// Of each tensor, the share one token reads: the chosen experts' slices of expert tensors,
// and of a token embedding that is not also the output, one row (counted as nothing).
template <class Size>
double active_sum(const Model& m, Size size) {
  const ModelConfig& c = m.config;
  const double expert_share = c.is_moe() ? static_cast<double>(c.n_expert_used) / c.n_expert : 1.0;
  const std::string embedding = tensor_name(TensorKind::kTokenEmbd);
  double n = 0;
  for (const auto& t : m.file.tensors()) {
    if (t.name == embedding && !m.weights.tied_output) continue;
    n += static_cast<double>(size(t)) * (t.name.find("_exps.") != std::string::npos ? expert_share : 1.0);
  }
  return n;
}

}  // namespace

double Model::active_weight_bytes() const {
  return active_sum(*this, [](const gguf::TensorInfo& t) { return t.n_bytes; });
}

double Model::active_params() const {
  return active_sum(*this, [](const gguf::TensorInfo& t) { return t.n_elements(); });
}

int64_t Model::n_params() const {
  int64_t n = 0;
  for (const auto& t : file.tensors()) n += t.n_elements();
  return n;
}

}  // namespace mx
