// Products of weight matrices with activation rows, converting the rows to each
// matrix's dot-product type first: what every block of the forward pass calls.
#pragma once

#include <initializer_list>
#include <utility>

#include "kernels/matmul.h"
#include "model/exec_context.h"

namespace mx {

// y = W·x for all n_tok rows of x ([n_tok × w.cols] floats; y [n_tok × w.rows]).
void project(ExecContext& ctx, ForwardScratch& s, const WeightView& w, const float* x, int64_t n_tok,
             float* y);

// Projections of the same rows by several matrices (q, k, v; gate, up): those whose
// activation type agrees with the first's share one conversion and one pass over the pool.
void project_together(ExecContext& ctx, ForwardScratch& s,
                      std::initializer_list<std::pair<const WeightView*, float*>> outs, const float* x,
                      int64_t n_tok);

}  // namespace mx
