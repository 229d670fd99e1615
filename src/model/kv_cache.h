// Keys and values of every layer, kept in pages of kPageTokens positions. Each sequence
// has a page table: its position p lives at row p % kPageTokens of page
// table[p / kPageTokens]. Pages are reference-counted, so a page that holds a prompt
// prefix can be read by several sequences and by the prefix cache at once (shared pages
// are never written: a write to one copies it first). Sequences take pages as they grow
// and give them back when cleared.
//
// The pool is sized once: by default room for every sequence's whole context plus
// `extra_pages` (what a prefix cache may keep on its own), so a sequence within its
// context never runs out of pages. A smaller pool (`seq_tokens`) lets many sequences
// share less memory than they could all fill; whoever adds rows then checks
// pages_to_write() against free_pages() first (the scheduler does).
//
// Keys and values are stored in a type of their own each (KvCacheTypes): F32, F16 (the
// default, as llama.cpp's), BF16, or the 32-element blocks of Q8_0 and Q4_0. A position's
// row holds its heads one after another, each head whole blocks, so attention reads one
// head's vector as one row of that type (a quantized type needs head_dim % 32 == 0).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "model/config.h"
#include "quant/types.h"

namespace mx {

using KvPage = int32_t;

// Storage types of the cached keys and values.
struct KvCacheTypes {
  GgmlType k = GgmlType::kF16;
  GgmlType v = GgmlType::kF16;
  friend bool operator==(const KvCacheTypes&, const KvCacheTypes&) = default;
};

// The type named `name` ("f32", "f16", "bf16", "q8_0", "q4_0", as llama.cpp's -ctk/-ctv),
// or an error listing those.
Expected<GgmlType> parse_kv_cache_type(std::string_view name);
// The name parse_kv_cache_type() takes: "f16", "q8_0", ...
std::string kv_cache_type_name(GgmlType type);
// Whether vectors of `head_dim` elements can be stored as `type`; the error names the type.
Status check_kv_cache_type(GgmlType type, int64_t head_dim, std::string_view which);
// Both types for a model; errors name the option (--cache-type-k / --cache-type-v).
Status check_kv_cache_types(const ModelConfig& config, const KvCacheTypes& types);
// Bytes one position takes in every layer, keys and values.
int64_t kv_bytes_per_position(const ModelConfig& config, const KvCacheTypes& types);

struct KvPageStats {
  int64_t used = 0;    // pages held by a sequence or the prefix cache
  int64_t shared = 0;  // of them, held more than once
  int64_t total = 0;
};

class KvCache {
 public:
  static constexpr int64_t kPageTokens = 32;

  // `seq_tokens`: the positions the sequences share in all (0: n_seq × n_ctx); never less
  // than one whole context, so a lone sequence always fits.
  // `types` must pass check_kv_cache_types (aborts otherwise: callers check first).
  KvCache(const ModelConfig& config, int64_t n_ctx, int32_t n_seq = 1, int64_t extra_pages = 0,
          int64_t seq_tokens = 0, KvCacheTypes types = {});
  // The pages a KvCache(config, n_ctx, n_seq, extra_pages, seq_tokens) holds.
  static int64_t pool_pages(int64_t n_ctx, int32_t n_seq, int64_t extra_pages, int64_t seq_tokens);

  int64_t n_ctx() const { return n_ctx_; }
  int32_t n_seq() const { return n_seq_; }
  size_t bytes() const { return k_.size() + v_.size(); }
  const KvCacheTypes& types() const { return types_; }
  // Bytes of one page in every layer, keys and values.
  int64_t page_bytes() const { return n_layer_ * kPageTokens * (k_row_bytes_ + v_row_bytes_); }

  // Number of positions of `seq` that hold valid entries (positions 0..length-1).
  int64_t length(int32_t seq) const { return lengths_[seq]; }
  // Shortening gives back the pages past the new length.
  void set_length(int32_t seq, int64_t n);
  void clear(int32_t seq) { set_length(seq, 0); }

  // Gives `seq` a page it alone holds for position `pos` (a new one, or a copy of a
  // shared one), so that key()/value() of that position may be written. Fails only when
  // the pool is exhausted.
  Status make_writable(int32_t seq, int64_t pos);
  // The pages make_writable() would take for `seq` to write positions length(seq)..end-1
  // (new pages and copies of shared ones).
  int64_t pages_to_write(int32_t seq, int64_t end) const;
  int64_t free_pages() const { return static_cast<int64_t>(free_.size()); }

  // Stores the [n_head_kv × head_dim] key and value of one (layer, sequence, position),
  // converted to the cache's types; the position's page must be writable (make_writable).
  void write(int64_t layer, int32_t seq, int64_t pos, const float* key, const float* value);
  // The stored key / value of a position as floats (what attention reads).
  void read_key(int64_t layer, int32_t seq, int64_t pos, float* out) const;
  void read_value(int64_t layer, int32_t seq, int64_t pos, float* out) const;
  // Where a position's key row starts (two sequences sharing a page share the address).
  const uint8_t* key_row(int64_t layer, int32_t seq, int64_t pos) const {
    return k_.data() + k_offset(layer, page_at(seq, pos), pos);
  }

  // What attention needs to walk a sequence's keys of one layer: position p's row is at
  // keys(layer) + table[p / kPageTokens] * key_page_stride() + (p % kPageTokens) * key_stride()
  // (bytes), kv head h at + h * row_size(types().k, head_dim_k); values alike.
  const uint8_t* keys(int64_t layer) const { return k_.data() + k_offset(layer, 0, 0); }
  const uint8_t* values(int64_t layer) const { return v_.data() + v_offset(layer, 0, 0); }
  int64_t key_stride() const { return k_row_bytes_; }
  int64_t value_stride() const { return v_row_bytes_; }
  int64_t key_page_stride() const { return kPageTokens * k_row_bytes_; }
  int64_t value_page_stride() const { return kPageTokens * v_row_bytes_; }
  std::span<const KvPage> page_table(int32_t seq) const { return tables_[seq]; }

  // Sharing whole pages (the prefix cache). `seq`'s length must be a multiple of
  // kPageTokens: the page is appended to its table and the length grows by a page.
  void append_shared_page(int32_t seq, KvPage page);
  void retain(KvPage page) { ++refs_[page]; }
  void release(KvPage page);

  KvPageStats page_stats() const;

 private:
  KvPage page_at(int32_t seq, int64_t pos) const { return tables_[seq][static_cast<size_t>(pos / kPageTokens)]; }
  size_t k_offset(int64_t layer, KvPage page, int64_t pos) const {
    return static_cast<size_t>(((layer * n_pages_ + page) * kPageTokens + pos % kPageTokens) * k_row_bytes_);
  }
  size_t v_offset(int64_t layer, KvPage page, int64_t pos) const {
    return static_cast<size_t>(((layer * n_pages_ + page) * kPageTokens + pos % kPageTokens) * v_row_bytes_);
  }
  Expected<KvPage> take_page();
  void copy_page(KvPage from, KvPage to);

  int64_t n_ctx_;
  int32_t n_seq_;
  KvCacheTypes types_;
  int64_t n_layer_, k_width_, v_width_, k_row_bytes_, v_row_bytes_, n_pages_;
  std::vector<uint8_t> k_;  // [n_layer][n_pages][kPageTokens][row of n_head_kv · head_dim_k]
  std::vector<uint8_t> v_;  // [n_layer][n_pages][kPageTokens][row of n_head_kv · head_dim_v]
  std::vector<int32_t> refs_;              // holders of each page; 0: free
  std::vector<KvPage> free_;               // pages with no holder
  std::vector<std::vector<KvPage>> tables_;  // per sequence, one page per kPageTokens positions
  std::vector<int64_t> lengths_;
};

}  // namespace mx
