// Keys and values of prompt prefixes that earlier requests computed, kept so that a new
// request starting the same way (same system prompt, same conversation so far) reads them
// instead of running those tokens through the model again.
//
// Prefixes are kept as whole pages of the KV cache (KvCache::kPageTokens tokens each),
// which the cache shares by reference counting: storing a prompt keeps a reference to
// the pages its sequence computed, restoring puts the same pages into another sequence's
// page table. Nothing is copied, and every sequence that starts with a stored prefix reads
// the one copy of it. A block is identified by its tokens and the block before it, so one
// block serves every prompt that shares the whole prefix up to it, and prompts that
// diverge share the blocks before the divergence. When full, the least recently used block
// is evicted (a block is always used more recently than the blocks that continue it, so
// chains shrink from their ends); its page returns to the pool once no sequence reads it.
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
  // Keeps up to `capacity_tokens` positions (rounded down to whole pages) of `cache`,
  // which should have been given that many extra pages (KvCache's extra_pages).
  PrefixCache(KvCache& cache, int64_t capacity_tokens);
  ~PrefixCache();  // gives its pages back
  PrefixCache(const PrefixCache&) = delete;
  PrefixCache& operator=(const PrefixCache&) = delete;

  static constexpr int64_t block_tokens() { return KvCache::kPageTokens; }
  // Pages to add to a KvCache for a prefix cache of `capacity_tokens`.
  static int64_t pages_for(int64_t capacity_tokens) { return capacity_tokens / block_tokens(); }

  // Gives the empty sequence `seq` the longest run of stored blocks that starts `tokens`,
  // but no more than `max_tokens` positions, as positions 0.., and sets its length.
  // Returns the positions restored (a multiple of block_tokens(), maybe 0).
  int64_t restore(std::span<const Token> tokens, int64_t max_tokens, int32_t seq);

  // Stores the whole blocks of `tokens`, whose keys and values positions 0.. of `seq`
  // hold, that are not stored yet.
  void store(std::span<const Token> tokens, int32_t seq);

  const PrefixCacheStats& stats() const { return stats_; }

 private:
  struct Block {
    uint64_t uid = 0;     // 0: free
    uint64_t parent = 0;  // uid of the block before, 0 for the first
    uint64_t last_used = 0;
    KvPage page = -1;
    std::vector<Token> tokens;
  };
  static uint64_t key(uint64_t parent, std::span<const Token> tokens);
  int64_t find(uint64_t parent, std::span<const Token> tokens) const;
  int64_t take_slot();

  KvCache& cache_;
  std::vector<Block> blocks_;
  std::unordered_map<uint64_t, int64_t> index_;  // key(parent, tokens) -> slot
  uint64_t next_uid_ = 1, tick_ = 0;
  PrefixCacheStats stats_;
};

}  // namespace mx
