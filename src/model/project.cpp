#include "model/project.h"

#include <array>
#include <span>

namespace mx {

void project(ExecContext& ctx, ForwardScratch& s, const WeightView& w, const float* x,
             int64_t n_tok, float* y) {
  const auto& kt = ctx.kernels();
  s.xq.convert(kt, ctx.pool(), kt[w.type].vec_dot_type, x, n_tok, w.cols);
  matmul(kt, ctx.pool(), w, s.xq, y, static_cast<size_t>(w.rows));
}

void project_together(ExecContext& ctx, ForwardScratch& s,
                      std::initializer_list<std::pair<const WeightView*, float*>> outs, const float* x,
                      int64_t n_tok) {
  const auto& kt = ctx.kernels();
  const GgmlType xq_type = kt[outs.begin()->first->type].vec_dot_type;
  s.xq.convert(kt, ctx.pool(), xq_type, x, n_tok, outs.begin()->first->cols);
  std::array<MatmulTarget, 3> together;
  size_t n_together = 0;
  for (const auto& [w, y] : outs)
    if (kt[w->type].vec_dot_type == xq_type) together.at(n_together++) = {w, y, static_cast<size_t>(w->rows)};
  matmul(kt, ctx.pool(), std::span<const MatmulTarget>(together.data(), n_together), s.xq);
  for (const auto& [w, y] : outs)
    if (kt[w->type].vec_dot_type != xq_type) project(ctx, s, *w, x, n_tok, y);
}

}  // namespace mx
