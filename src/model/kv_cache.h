// Keys and values of every layer for a fixed number of sequences, sized once from the
// context length. A sequence's position p lives at slot p of its own region.
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"

namespace mx {

class KvCache {
 public:
  KvCache(const ModelConfig& config, int64_t n_ctx, int32_t n_seq = 1);

  int64_t n_ctx() const { return n_ctx_; }
  int32_t n_seq() const { return n_seq_; }
  size_t bytes() const { return (k_.size() + v_.size()) * sizeof(float); }

  // [n_head_kv × head_dim] vectors of one (layer, sequence, position).
  float* key(int64_t layer, int32_t seq, int64_t pos) { return k_.data() + offset(layer, seq, pos, k_width_); }
  float* value(int64_t layer, int32_t seq, int64_t pos) { return v_.data() + offset(layer, seq, pos, v_width_); }
  const float* key(int64_t layer, int32_t seq, int64_t pos) const { return k_.data() + offset(layer, seq, pos, k_width_); }
  const float* value(int64_t layer, int32_t seq, int64_t pos) const { return v_.data() + offset(layer, seq, pos, v_width_); }
  int64_t key_stride() const { return k_width_; }    // floats between consecutive positions
  int64_t value_stride() const { return v_width_; }

  // Number of positions of `seq` that hold valid entries (positions 0..length-1).
  int64_t length(int32_t seq) const { return lengths_[seq]; }
  void set_length(int32_t seq, int64_t n) { lengths_[seq] = n; }
  void clear(int32_t seq) { lengths_[seq] = 0; }

 private:
  size_t offset(int64_t layer, int32_t seq, int64_t pos, int64_t width) const {
    return static_cast<size_t>(((layer * n_seq_ + seq) * n_ctx_ + pos) * width);
  }
  int64_t n_ctx_;
  int32_t n_seq_;
  int64_t k_width_, v_width_;
  std::vector<float> k_;  // [n_layer][n_seq][n_ctx][n_head_kv · head_dim_k]
  std::vector<float> v_;  // [n_layer][n_seq][n_ctx][n_head_kv · head_dim_v]
  std::vector<int64_t> lengths_;
};

}  // namespace mx
