#include "engine/prefix_cache.h"

#include <algorithm>
#include <cstring>

namespace mx {

PrefixCache::PrefixCache(const ModelConfig& config, int64_t capacity_tokens, int64_t block_tokens)
    : n_layer_(config.n_layer), k_width_(config.k_width()), v_width_(config.v_width()), block_(std::max<int64_t>(1, block_tokens)) {
  const int64_t slots = std::max<int64_t>(0, capacity_tokens / block_);
  k_.resize(static_cast<size_t>(slots * n_layer_ * block_ * k_width_));
  v_.resize(static_cast<size_t>(slots * n_layer_ * block_ * v_width_));
  blocks_.resize(static_cast<size_t>(slots));
  stats_.capacity_blocks = slots;
}

uint64_t PrefixCache::key(uint64_t parent, std::span<const Token> tokens) {
  // splitmix64 steps over the parent and the tokens; collisions are caught by find().
  auto mix = [](uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
  };
  uint64_t h = mix(parent);
  for (const Token t : tokens) h = mix(h ^ static_cast<uint32_t>(t));
  return h;
}

int64_t PrefixCache::find(uint64_t parent, std::span<const Token> tokens) const {
  const auto it = index_.find(key(parent, tokens));
  if (it == index_.end()) return -1;
  const Block& b = blocks_[it->second];
  return b.parent == parent && std::equal(b.tokens.begin(), b.tokens.end(), tokens.begin(), tokens.end()) ? it->second : -1;
}

int64_t PrefixCache::restore(std::span<const Token> tokens, int64_t max_tokens, KvCache& cache, int32_t seq) {
  stats_.lookup_tokens += static_cast<int64_t>(tokens.size());
  std::vector<int64_t> chain;
  uint64_t parent = 0;
  for (int64_t pos = 0; pos + block_ <= std::min<int64_t>(max_tokens, static_cast<int64_t>(tokens.size())); pos += block_) {
    const int64_t slot = find(parent, tokens.subspan(static_cast<size_t>(pos), static_cast<size_t>(block_)));
    if (slot < 0) break;
    chain.push_back(slot);
    parent = blocks_[slot].uid;
  }
  // The chain's end gets the oldest stamp, so eviction takes it before its parents.
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) blocks_[*it].last_used = ++tick_;
  for (size_t i = 0; i < chain.size(); ++i) copy_back(chain[i], cache, seq, static_cast<int64_t>(i) * block_);
  const int64_t restored = static_cast<int64_t>(chain.size()) * block_;
  cache.set_length(seq, restored);
  stats_.hit_tokens += restored;
  return restored;
}

void PrefixCache::store(std::span<const Token> tokens, const KvCache& cache, int32_t seq) {
  if (blocks_.empty()) return;
  const int64_t whole = std::min<int64_t>(static_cast<int64_t>(tokens.size()), cache.length(seq)) / block_;
  uint64_t parent = 0;
  std::vector<int64_t> chain;
  for (int64_t b = 0; b < whole; ++b) {
    const auto block_tokens = tokens.subspan(static_cast<size_t>(b * block_), static_cast<size_t>(block_));
    int64_t slot = find(parent, block_tokens);
    if (slot < 0) {
      // Never evict a block of this very chain to make room for its continuation.
      for (const int64_t s : chain) blocks_[s].last_used = ++tick_;
      slot = take_slot();
      Block& blk = blocks_[slot];
      blk.uid = next_uid_++;
      blk.parent = parent;
      blk.tokens.assign(block_tokens.begin(), block_tokens.end());
      index_[key(parent, block_tokens)] = slot;
      copy_block(cache, seq, b * block_, slot);
    }
    chain.push_back(slot);
    parent = blocks_[slot].uid;
  }
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) blocks_[*it].last_used = ++tick_;
  stats_.blocks_used = std::count_if(blocks_.begin(), blocks_.end(), [](const Block& b) { return b.uid != 0; });
}

int64_t PrefixCache::take_slot() {
  const auto lru = std::min_element(blocks_.begin(), blocks_.end(), [](const Block& a, const Block& b) {
    // Free slots first, then the least recently used.
    return (a.uid != 0) < (b.uid != 0) || ((a.uid != 0) == (b.uid != 0) && a.last_used < b.last_used);
  });
  const int64_t slot = lru - blocks_.begin();
  if (lru->uid != 0) {
    ++stats_.evicted_blocks;
    const auto it = index_.find(key(lru->parent, lru->tokens));
    if (it != index_.end() && it->second == slot) index_.erase(it);
    // Blocks that continued this one become unreachable (their parent uid never returns)
    // and age out in turn.
  }
  return slot;
}

void PrefixCache::copy_block(const KvCache& from, int32_t seq, int64_t pos, int64_t slot) {
  for (int64_t l = 0; l < n_layer_; ++l) {
    std::memcpy(k_.data() + k_at(slot, l), from.key(l, seq, pos), static_cast<size_t>(block_ * k_width_) * sizeof(float));
    std::memcpy(v_.data() + v_at(slot, l), from.value(l, seq, pos), static_cast<size_t>(block_ * v_width_) * sizeof(float));
  }
}

void PrefixCache::copy_back(int64_t slot, KvCache& to, int32_t seq, int64_t pos) const {
  for (int64_t l = 0; l < n_layer_; ++l) {
    std::memcpy(to.key(l, seq, pos), k_.data() + k_at(slot, l), static_cast<size_t>(block_ * k_width_) * sizeof(float));
    std::memcpy(to.value(l, seq, pos), v_.data() + v_at(slot, l), static_cast<size_t>(block_ * v_width_) * sizeof(float));
  }
}

}  // namespace mx
