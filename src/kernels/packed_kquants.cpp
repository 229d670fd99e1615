#include "kernels/packed_kquants.h"

#include <cstddef>
#include <cstring>

#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/quant.h"

namespace mx::kpacked {
namespace {

// The quants of a Q4_K / Q5_K / Q6_K super-block as unsigned values in element order.
void block_quants(GgmlType type, const uint8_t* block, uint8_t q[kQK_K]) {
  if (type == GgmlType::kQ4_K || type == GgmlType::kQ5_K) {
    BlockQ5_K b{};  // Q4_K: the same but for qh, which stays zero
    const size_t qs_at = type == GgmlType::kQ4_K ? offsetof(BlockQ4_K, qs) : offsetof(BlockQ5_K, qs);
    std::memcpy(&b, block, offsetof(BlockQ5_K, qh));
    if (type == GgmlType::kQ5_K) std::memcpy(b.qh, block + offsetof(BlockQ5_K, qh), sizeof(b.qh));
    std::memcpy(b.qs, block + qs_at, sizeof(b.qs));
    for (int p = 0; p < 4; ++p)
      for (int l = 0; l < 32; ++l) {
        q[64 * p + l] = static_cast<uint8_t>((b.qs[32 * p + l] & 0x0f) | (((b.qh[l] >> (2 * p)) & 1) << 4));
        q[64 * p + 32 + l] = static_cast<uint8_t>((b.qs[32 * p + l] >> 4) | (((b.qh[l] >> (2 * p + 1)) & 1) << 4));
      }
    return;
  }
  BlockQ6_K b;
  std::memcpy(&b, block, sizeof(b));
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l)
      for (int r = 0; r < 4; ++r) {
        const uint8_t lo = b.ql[64 * h + l + 32 * (r & 1)];
        q[128 * h + 32 * r + l] =
            static_cast<uint8_t>((r < 2 ? lo & 0x0f : lo >> 4) | (((b.qh[32 * h + l] >> (2 * r)) & 3) << 4));
      }
}

// Where quant e (0..255) of row `lane` lives in a Q6_K record: its low 4 bits at bit
// low_shift of byte `low`, its top 2 bits at bit high_shift of byte `high`.
struct Q6KSlot {
  size_t low, high;
  int low_shift, high_shift;
};
Q6KSlot q6k_slot(int lane, int e) {
  const int s = e / 32, k = e % 32, j = (k % 16) / 4, i = k % 4;
  const bool upper = k >= 16;  // the high nibble of its byte
  return {kQ6KQuants + 256 * static_cast<size_t>(s) + 64 * j + 4 * lane + i,
          kQ6KHigh + 128 * static_cast<size_t>(s) + 64 * (j / 2) + 4 * lane + i, upper ? 4 : 0,
          (j % 2 == 0 ? 4 : 0) + (upper ? 2 : 0)};
}

}  // namespace

bool is_k_quant(GgmlType type) {
  return type == GgmlType::kQ4_K || type == GgmlType::kQ5_K || type == GgmlType::kQ6_K;
}

void pack_block(GgmlType type, const uint8_t* block, int lane, uint8_t* record) {
  uint8_t q[kQK_K];
  block_quants(type, block, q);
  if (type != GgmlType::kQ6_K) {
    BlockQ4_K b;  // d, dmin and scales: Q5_K's start the same way
    std::memcpy(&b, block, offsetof(BlockQ4_K, qs));
    std::memcpy(record + 2 * lane, &b.d, 2);
    std::memcpy(record + 32 + 2 * lane, &b.dmin, 2);
    for (int s = 0; s < 8; ++s) {
      uint8_t sc, m;
      unpack_k_scale_min(b.scales, s, &sc, &m);
      record[kQ4KScales + 32 * (s / 2) + 2 * lane + s % 2] = sc;
      record[kQ4KMins + 32 * (s / 2) + 2 * lane + s % 2] = m;
      for (int j = 0; j < 4; ++j)
        for (int i = 0; i < 4; ++i) {
          const uint8_t lo = q[32 * s + 4 * j + i], hi = q[32 * s + 16 + 4 * j + i];
          record[kQ4KQuants + 256 * s + 64 * j + 4 * lane + i] = static_cast<uint8_t>((lo & 0x0f) | (hi << 4));
          if (type == GgmlType::kQ5_K)
            record[kQ5KHigh + 64 * s + 4 * lane + i] |= static_cast<uint8_t>(((lo >> 4) << j) | ((hi >> 4) << (4 + j)));
        }
    }
    return;
  }
  BlockQ6_K b;
  std::memcpy(&b, block, sizeof(b));
  std::memcpy(record + 2 * lane, &b.d, 2);
  for (int g = 0; g < 16; ++g) record[kQ6KScales + 32 * (g / 2) + 2 * lane + g % 2] = static_cast<uint8_t>(b.scales[g]);
  const auto put = [&](size_t at, int shift, int mask, int bits) {  // other quants share the byte
    record[at] = static_cast<uint8_t>((record[at] & ~(mask << shift)) | (bits << shift));
  };
  for (int e = 0; e < kQK_K; ++e) {
    const Q6KSlot at = q6k_slot(lane, e);
    put(at.low, at.low_shift, 0x0f, q[e] & 0x0f);
    put(at.high, at.high_shift, 3, q[e] >> 4);
  }
}

BlockSums block_sums(GgmlType type, const uint8_t* record, int lane, const uint8_t* q8k_block) {
  BlockQ8_K x;
  std::memcpy(&x, q8k_block, sizeof(x));
  uint16_t h;
  BlockSums out{};
  std::memcpy(&h, record + 2 * lane, 2);
  out.d = fp16_to_fp32(h);
  if (type != GgmlType::kQ6_K) {
    std::memcpy(&h, record + 32 + 2 * lane, 2);
    out.dmin = fp16_to_fp32(h);
    for (int s = 0; s < 8; ++s) {
      const int sc = record[kQ4KScales + 32 * (s / 2) + 2 * lane + s % 2];
      const int m = record[kQ4KMins + 32 * (s / 2) + 2 * lane + s % 2];
      int dot = 0;
      for (int k = 0; k < 32; ++k) {
        const int j = (k % 16) / 4;
        const uint8_t byte = record[kQ4KQuants + 256 * s + 64 * j + 4 * lane + k % 4];
        int q = k < 16 ? byte & 0x0f : byte >> 4;
        if (type == GgmlType::kQ5_K)
          q |= ((record[kQ5KHigh + 64 * s + 4 * lane + k % 4] >> (k < 16 ? j : 4 + j)) & 1) << 4;
        dot += q * x.qs[32 * s + k];
      }
      out.isum += sc * dot;
      out.msum += m * (x.bsums[2 * s] + x.bsums[2 * s + 1]);
    }
    return out;
  }
  for (int g = 0; g < 16; ++g) {
    const int sc = static_cast<int8_t>(record[kQ6KScales + 32 * (g / 2) + 2 * lane + g % 2]);
    int dot = 0;
    for (int e = 16 * g; e < 16 * g + 16; ++e) {
      const Q6KSlot at = q6k_slot(lane, e);
      const int q = ((record[at.low] >> at.low_shift) & 0x0f) | (((record[at.high] >> at.high_shift) & 3) << 4);
      dot += (q - 32) * x.qs[e];
    }
    out.isum += sc * dot;
  }
  return out;
}

}  // namespace mx::kpacked
