#include "model/kv_cache.h"

#include <algorithm>

namespace mx {

int64_t KvCache::pool_pages(int64_t n_ctx, int32_t n_seq, int64_t extra_pages, int64_t seq_tokens) {
  const int64_t per_seq = (n_ctx + kPageTokens - 1) / kPageTokens;
  const int64_t all = n_seq * per_seq;
  const int64_t seq_pages = seq_tokens > 0 ? std::max(per_seq, std::min((seq_tokens + kPageTokens - 1) / kPageTokens, all)) : all;
  return seq_pages + std::max<int64_t>(0, extra_pages);
}

KvCache::KvCache(const ModelConfig& c, int64_t n_ctx, int32_t n_seq, int64_t extra_pages, int64_t seq_tokens)
    : n_ctx_(n_ctx),
      n_seq_(n_seq),
      n_layer_(c.n_layer),
      k_width_(c.k_width()),
      v_width_(c.v_width()),
      n_pages_(pool_pages(n_ctx, n_seq, extra_pages, seq_tokens)),
      k_(static_cast<size_t>(n_layer_ * n_pages_ * kPageTokens * k_width_)),
      v_(static_cast<size_t>(n_layer_ * n_pages_ * kPageTokens * v_width_)),
      refs_(static_cast<size_t>(n_pages_), 0),
      tables_(static_cast<size_t>(n_seq)),
      lengths_(static_cast<size_t>(n_seq), 0) {
  // Lowest pages first, so a small workload stays in the first part of the pool.
  for (int64_t p = n_pages_ - 1; p >= 0; --p) free_.push_back(static_cast<KvPage>(p));
}

void KvCache::set_length(int32_t seq, int64_t n) {
  lengths_[seq] = n;
  auto& table = tables_[seq];
  const auto keep = static_cast<size_t>((n + kPageTokens - 1) / kPageTokens);
  while (table.size() > keep) {
    release(table.back());
    table.pop_back();
  }
}

Status KvCache::make_writable(int32_t seq, int64_t pos) {
  auto& table = tables_[seq];
  const auto index = static_cast<size_t>(pos / kPageTokens);
  while (table.size() <= index) {
    KvPage page = 0;
    MX_TRY_ASSIGN(page, take_page());
    table.push_back(page);
  }
  if (refs_[table[index]] > 1) {  // shared: this sequence gets its own copy
    KvPage page = 0;
    MX_TRY_ASSIGN(page, take_page());
    copy_page(table[index], page);
    release(table[index]);
    table[index] = page;
  }
  return {};
}

int64_t KvCache::pages_to_write(int32_t seq, int64_t end) const {
  const auto& table = tables_[seq];
  int64_t n = 0;
  for (int64_t page = lengths_[seq] / kPageTokens; page * kPageTokens < end; ++page)
    n += static_cast<size_t>(page) >= table.size() || refs_[table[static_cast<size_t>(page)]] > 1;
  return n;
}

void KvCache::append_shared_page(int32_t seq, KvPage page) {
  MX_CHECK(lengths_[seq] == static_cast<int64_t>(tables_[seq].size()) * kPageTokens);
  retain(page);
  tables_[seq].push_back(page);
  lengths_[seq] += kPageTokens;
}

void KvCache::release(KvPage page) {
  MX_CHECK(refs_[page] > 0);
  if (--refs_[page] == 0) free_.push_back(page);
}

KvPageStats KvCache::page_stats() const {
  KvPageStats s{.total = n_pages_};
  for (const int32_t r : refs_) {
    s.used += r > 0;
    s.shared += r > 1;
  }
  return s;
}

Expected<KvPage> KvCache::take_page() {
  if (free_.empty()) return make_error("the KV cache has no free page left (all {} in use)", n_pages_);
  const KvPage page = free_.back();
  free_.pop_back();
  refs_[page] = 1;
  return page;
}

void KvCache::copy_page(KvPage from, KvPage to) {
  for (int64_t l = 0; l < n_layer_; ++l) {
    std::copy_n(k_.data() + k_offset(l, from, 0), kPageTokens * k_width_, k_.data() + k_offset(l, to, 0));
    std::copy_n(v_.data() + v_offset(l, from, 0), kPageTokens * v_width_, v_.data() + v_offset(l, to, 0));
  }
}

}  // namespace mx
