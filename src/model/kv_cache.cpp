#include "model/kv_cache.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "quant/quant.h"

namespace mx {

namespace {

constexpr std::array<GgmlType, 5> kCacheTypes = {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16,
                                                 GgmlType::kQ8_0, GgmlType::kQ4_0};

std::string cache_type_list() {
  std::string names;
  for (GgmlType t : kCacheTypes) names += (names.empty() ? "" : ", ") + kv_cache_type_name(t);
  return names;
}

}  // namespace

std::string kv_cache_type_name(GgmlType type) {
  std::string name(type_name(type));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name;
}

Expected<GgmlType> parse_kv_cache_type(std::string_view name) {
  const std::optional<GgmlType> t = type_from_name(name);
  if (!t || std::find(kCacheTypes.begin(), kCacheTypes.end(), *t) == kCacheTypes.end())
    return make_error("unknown KV cache type '{}' (one of: {})", name, cache_type_list());
  return *t;
}

Status check_kv_cache_type(GgmlType type, int64_t head_dim, std::string_view which) {
  if (std::find(kCacheTypes.begin(), kCacheTypes.end(), type) == kCacheTypes.end())
    return make_error("{}: {} is not a KV cache type (one of: {})", which, kv_cache_type_name(type), cache_type_list());
  const int64_t block = traits(type).block_size;
  if (head_dim % block != 0)
    return make_error("{} {}: the model's head size {} is not a multiple of the type's block of {}", which,
                      kv_cache_type_name(type), head_dim, block);
  return {};
}

Status check_kv_cache_types(const ModelConfig& c, const KvCacheTypes& types) {
  if (auto st = check_kv_cache_type(types.k, c.head_dim_k, "--cache-type-k"); !st) return st;
  return check_kv_cache_type(types.v, c.head_dim_v, "--cache-type-v");
}

int64_t kv_bytes_per_position(const ModelConfig& c, const KvCacheTypes& types) {
  return c.n_layer * static_cast<int64_t>(row_size(types.k, c.k_width()) + row_size(types.v, c.v_width()));
}

int64_t KvCache::pool_pages(int64_t n_ctx, int32_t n_seq, int64_t extra_pages, int64_t seq_tokens) {
  const int64_t per_seq = (n_ctx + kPageTokens - 1) / kPageTokens;
  const int64_t all = n_seq * per_seq;
  const int64_t seq_pages = seq_tokens > 0 ? std::max(per_seq, std::min((seq_tokens + kPageTokens - 1) / kPageTokens, all)) : all;
  return seq_pages + std::max<int64_t>(0, extra_pages);
}

KvCache::KvCache(const ModelConfig& c, int64_t n_ctx, int32_t n_seq, int64_t extra_pages, int64_t seq_tokens,
                 KvCacheTypes types)
    : n_ctx_(n_ctx),
      n_seq_(n_seq),
      types_(types),
      n_layer_(c.n_layer),
      k_width_(c.k_width()),
      v_width_(c.v_width()),
      k_row_bytes_(static_cast<int64_t>(row_size(types.k, k_width_))),
      v_row_bytes_(static_cast<int64_t>(row_size(types.v, v_width_))),
      n_pages_(pool_pages(n_ctx, n_seq, extra_pages, seq_tokens)),
      k_(static_cast<size_t>(n_layer_ * n_pages_ * kPageTokens * k_row_bytes_)),
      v_(static_cast<size_t>(n_layer_ * n_pages_ * kPageTokens * v_row_bytes_)),
      refs_(static_cast<size_t>(n_pages_), 0),
      tables_(static_cast<size_t>(n_seq)),
      lengths_(static_cast<size_t>(n_seq), 0) {
  MX_CHECK(check_kv_cache_types(c, types).ok());
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

void KvCache::write(int64_t layer, int32_t seq, int64_t pos, const float* key, const float* value) {
  const KvPage page = page_at(seq, pos);
  MX_CHECK(refs_[page] == 1);
  quantize_row(types_.k, key, k_.data() + k_offset(layer, page, pos), k_width_);
  quantize_row(types_.v, value, v_.data() + v_offset(layer, page, pos), v_width_);
}

void KvCache::read_key(int64_t layer, int32_t seq, int64_t pos, float* out) const {
  dequantize_row(types_.k, k_.data() + k_offset(layer, page_at(seq, pos), pos), out, k_width_);
}

void KvCache::read_value(int64_t layer, int32_t seq, int64_t pos, float* out) const {
  dequantize_row(types_.v, v_.data() + v_offset(layer, page_at(seq, pos), pos), out, v_width_);
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
    std::memcpy(k_.data() + k_offset(l, to, 0), k_.data() + k_offset(l, from, 0), kPageTokens * k_row_bytes_);
    std::memcpy(v_.data() + v_offset(l, to, 0), v_.data() + v_offset(l, from, 0), kPageTokens * v_row_bytes_);
  }
}

}  // namespace mx
