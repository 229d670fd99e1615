#include "engine/prefix_cache.h"

#include <algorithm>

namespace mx {

namespace {
constexpr int64_t kBlock = PrefixCache::block_tokens();
}

PrefixCache::PrefixCache(KvCache& cache, int64_t capacity_tokens) : cache_(cache) {
  const int64_t slots = std::max<int64_t>(0, pages_for(capacity_tokens));
  blocks_.resize(static_cast<size_t>(slots));
  stats_.capacity_blocks = slots;
}

PrefixCache::~PrefixCache() {
  for (const Block& b : blocks_)
    if (b.uid != 0) cache_.release(b.page);
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

int64_t PrefixCache::restore(std::span<const Token> tokens, int64_t max_tokens, int32_t seq) {
  stats_.lookup_tokens += static_cast<int64_t>(tokens.size());
  std::vector<int64_t> chain;
  uint64_t parent = 0;
  for (int64_t pos = 0; pos + kBlock <= std::min<int64_t>(max_tokens, static_cast<int64_t>(tokens.size())); pos += kBlock) {
    const int64_t slot = find(parent, tokens.subspan(static_cast<size_t>(pos), static_cast<size_t>(kBlock)));
    if (slot < 0) break;
    chain.push_back(slot);
    parent = blocks_[slot].uid;
  }
  // The chain's end gets the oldest stamp, so eviction takes it before its parents.
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) blocks_[*it].last_used = ++tick_;
  cache_.clear(seq);
  for (const int64_t slot : chain) cache_.append_shared_page(seq, blocks_[slot].page);
  const int64_t restored = static_cast<int64_t>(chain.size()) * kBlock;
  stats_.hit_tokens += restored;
  return restored;
}

void PrefixCache::store(std::span<const Token> tokens, int32_t seq) {
  if (blocks_.empty()) return;
  const int64_t whole = std::min<int64_t>(static_cast<int64_t>(tokens.size()), cache_.length(seq)) / kBlock;
  const auto pages = cache_.page_table(seq);
  uint64_t parent = 0;
  std::vector<int64_t> chain;
  for (int64_t b = 0; b < whole; ++b) {
    const auto block_tokens = tokens.subspan(static_cast<size_t>(b * kBlock), static_cast<size_t>(kBlock));
    int64_t slot = find(parent, block_tokens);
    if (slot < 0) {
      // Never evict a block of this very chain to make room for its continuation.
      for (const int64_t s : chain) blocks_[s].last_used = ++tick_;
      slot = take_slot();
      Block& blk = blocks_[slot];
      blk.uid = next_uid_++;
      blk.parent = parent;
      blk.tokens.assign(block_tokens.begin(), block_tokens.end());
      blk.page = pages[static_cast<size_t>(b)];
      cache_.retain(blk.page);
      index_[key(parent, block_tokens)] = slot;
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
    cache_.release(lru->page);
    lru->uid = 0;
    // Blocks that continued this one become unreachable (their parent uid never returns)
    // and age out in turn.
  }
  return slot;
}

}  // namespace mx
