#include "model/kv_cache.h"

namespace mx {

KvCache::KvCache(const ModelConfig& c, int64_t n_ctx, int32_t n_seq)
    : n_ctx_(n_ctx), n_seq_(n_seq), k_width_(c.k_width()), v_width_(c.v_width()),
      k_(static_cast<size_t>(c.n_layer * n_seq * n_ctx * c.k_width())),
      v_(static_cast<size_t>(c.n_layer * n_seq * n_ctx * c.v_width())),
      lengths_(static_cast<size_t>(n_seq), 0) {}

}  // namespace mx
