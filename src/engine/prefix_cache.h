// Keys and values of prompt prefixes that earlier requests computed, kept so that a new
// request starting the same way (same system prompt, same conversation so far) copies them
// instead of running those tokens through the model again.
//
// Prefixes are stored in fixed-size blocks of tokens. A block is identified by its tokens
// and the block before it, so one block serves every prompt that shares the whole prefix
// up to it, and prompts that diverge share the blocks before the divergence. When full,
// the least recently used block is evicted (a block is always used more recently than
// the blocks that continue it, so chains shrink from their ends).
//
// Restoring copies a prefix into a sequence's region of the KV cache (the attention
// kernels read one contiguous run of positions per sequence); the copy costs a few
// milliseconds where recomputing costs seconds.
//
// Not thread-safe: the scheduler's thread owns it.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/token.h"
#include "model/kv_cache.h"

namespace mx {

struct PrefixCacheStats {
  int64_t lookup_tokens = 0;  // prompt tokens looked up
  int64_t hit_tokens = 0;     // of them, restored from the cache
  int64_t blocks_used = 0, capacity_blocks = 0;
  int64_t evicted_blocks = 0;
};

class PrefixCache {
 public:
  // Room for `capacity_tokens` positions (rounded down to whole blocks).
  PrefixCache(const ModelConfig& config, int64_t capacity_tokens, int64_t block_tokens = 32);

  int64_t block_tokens() const { return block_; }

  // Copies the longest run of stored whole blocks that starts `tokens`, but no more than
  // `max_tokens` positions, into positions 0.. of `seq` in `cache` and sets its length.
  // Returns the positions restored (a multiple of block_tokens(), maybe 0).
  int64_t restore(std::span<const Token> tokens, int64_t max_tokens, KvCache& cache, int32_t seq);

  // Stores the whole blocks of `tokens`, whose keys and values positions 0.. of `seq`
  // in `cache` hold, that are not stored yet.
  void store(std::span<const Token> tokens, const KvCache& cache, int32_t seq);

  const PrefixCacheStats& stats() const { return stats_; }

 private:
  struct Block {
    uint64_t uid = 0;     // 0: free
    uint64_t parent = 0;  // uid of the block before, 0 for the first
    uint64_t last_used = 0;
    std::vector<Token> tokens;
  };
  static uint64_t key(uint64_t parent, std::span<const Token> tokens);
  int64_t find(uint64_t parent, std::span<const Token> tokens) const;
  int64_t take_slot();
  void copy_block(const KvCache& from, int32_t seq, int64_t pos, int64_t slot);
  void copy_back(int64_t slot, KvCache& to, int32_t seq, int64_t pos) const;
  // Where a block's keys / values of one layer start in k_ / v_.
  size_t k_at(int64_t slot, int64_t layer) const { return static_cast<size_t>((slot * n_layer_ + layer) * block_ * k_width_); }
  size_t v_at(int64_t slot, int64_t layer) const { return static_cast<size_t>((slot * n_layer_ + layer) * block_ * v_width_); }

  int64_t n_layer_, k_width_, v_width_, block_;
  std::vector<float> k_, v_;  // [slot][layer][block position][width]
  std::vector<Block> blocks_;
  std::unordered_map<uint64_t, int64_t> index_;  // key(parent, tokens) -> slot
  uint64_t next_uid_ = 1, tick_ = 0;
  PrefixCacheStats stats_;
};

}  // namespace mx
