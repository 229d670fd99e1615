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
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/expected.h"
#include "model/config.h"

namespace mx {

using KvPage = int32_t;

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
  KvCache(const ModelConfig& config, int64_t n_ctx, int32_t n_seq = 1, int64_t extra_pages = 0,
          int64_t seq_tokens = 0);
  // The pages a KvCache(config, n_ctx, n_seq, extra_pages, seq_tokens) holds.
  static int64_t pool_pages(int64_t n_ctx, int32_t n_seq, int64_t extra_pages, int64_t seq_tokens);

  int64_t n_ctx() const { return n_ctx_; }
  int32_t n_seq() const { return n_seq_; }
  size_t bytes() const { return (k_.size() + v_.size()) * sizeof(float); }

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

  // [n_head_kv × head_dim] vectors of one (layer, sequence, position); the position's
  // page must exist (make_writable, or a page appended with share_page).
  float* key(int64_t layer, int32_t seq, int64_t pos) { return k_.data() + k_offset(layer, page_at(seq, pos), pos); }
  float* value(int64_t layer, int32_t seq, int64_t pos) { return v_.data() + v_offset(layer, page_at(seq, pos), pos); }
  const float* key(int64_t layer, int32_t seq, int64_t pos) const { return k_.data() + k_offset(layer, page_at(seq, pos), pos); }
  const float* value(int64_t layer, int32_t seq, int64_t pos) const { return v_.data() + v_offset(layer, page_at(seq, pos), pos); }
  int64_t key_stride() const { return k_width_; }  // floats between consecutive positions of a page
  int64_t value_stride() const { return v_width_; }

  // What attention needs to walk a sequence's keys of one layer: position p is at
  // keys(layer) + table[p / kPageTokens] * key_page_stride() + (p % kPageTokens) * key_stride().
  const float* keys(int64_t layer) const { return k_.data() + k_offset(layer, 0, 0); }
  const float* values(int64_t layer) const { return v_.data() + v_offset(layer, 0, 0); }
  int64_t key_page_stride() const { return kPageTokens * k_width_; }
  int64_t value_page_stride() const { return kPageTokens * v_width_; }
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
    return static_cast<size_t>(((layer * n_pages_ + page) * kPageTokens + pos % kPageTokens) * k_width_);
  }
  size_t v_offset(int64_t layer, KvPage page, int64_t pos) const {
    return static_cast<size_t>(((layer * n_pages_ + page) * kPageTokens + pos % kPageTokens) * v_width_);
  }
  Expected<KvPage> take_page();
  void copy_page(KvPage from, KvPage to);

  int64_t n_ctx_;
  int32_t n_seq_;
  int64_t n_layer_, k_width_, v_width_, n_pages_;
  std::vector<float> k_;  // [n_layer][n_pages][kPageTokens][n_head_kv · head_dim_k]
  std::vector<float> v_;  // [n_layer][n_pages][kPageTokens][n_head_kv · head_dim_v]
  std::vector<int32_t> refs_;              // holders of each page; 0: free
  std::vector<KvPage> free_;               // pages with no holder
  std::vector<std::vector<KvPage>> tables_;  // per sequence, one page per kPageTokens positions
  std::vector<int64_t> lengths_;
};

}  // namespace mx
