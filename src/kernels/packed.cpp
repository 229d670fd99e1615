#include "kernels/packed.h"

#include <cstring>

#include "core/expected.h"
#include "kernels/packed_kquants.h"
#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/quant.h"

namespace mx {
namespace {

// Q5_0 is packed as bytes, in the Q8_0 layout: its values q - 16 are int8 with the same
// block scale, so the Q8_0 kernels compute exactly its products.
bool packs_as_bytes(GgmlType type) { return type == GgmlType::kQ8_0 || type == GgmlType::kQ5_0; }
// Where a 4-bit block's quants start: after its fp16 scale, or MXFP4's one exponent byte.
size_t nibbles_at(GgmlType type) { return type == GgmlType::kMXFP4 ? 1 : 2; }
// E8M0 exponents whose half scale 2^(e - 128) fp16 holds exactly (2^-24 subnormal .. 2^15).
constexpr int kMinFp16Exponent = 104, kMaxFp16Exponent = 143;
int quant_dwords(GgmlType type) { return packs_as_bytes(type) ? 8 : 4; }
size_t block_bytes(GgmlType type) { return row_size(type, traits(type).block_size); }

// The signed quants of one block, in element order.
void block_quants(GgmlType type, const uint8_t* block, int8_t q[32]) {
  if (type == GgmlType::kQ8_0) {
    std::memcpy(q, block + 2, 32);
    return;
  }
  float v[32];  // Q5_0: d * (q - 16); recover q - 16 exactly from the dequantized value
  BlockQ5_0 b;
  std::memcpy(&b, block, sizeof(b));
  b.d = fp32_to_fp16(1.0f);
  dequantize_row_q5_0(&b, v, 32);
  for (int j = 0; j < 32; ++j) q[j] = static_cast<int8_t>(v[j]);
}

// Element j (0..31) of a block's quants, as a signed value, read back from a packed record.
int packed_quant(GgmlType type, const uint8_t* record, int lane, int j) {
  const uint8_t* q = record + 32;
  if (packs_as_bytes(type)) return static_cast<int>(q[(j / 4) * 64 + lane * 4 + j % 4]) - 128;
  const int byte = j % 16;
  const uint8_t b = q[(byte / 4) * 64 + lane * 4 + byte % 4];
  const int nibble = j < 16 ? (b & 0x0f) : (b >> 4);
  if (type == GgmlType::kIQ4_NL) return kIQ4NLValues[nibble];
  if (type == GgmlType::kMXFP4) return kMXFP4Values[nibble];
  return nibble - 8;
}

using kpacked::is_k_quant;
// F16 rows go in records of 32 elements: element k of the 16 rows at bytes 32k .. 32k + 31.
constexpr int64_t kF16RecordElems = 32;
int64_t record_elems(GgmlType type) { return type == GgmlType::kF16 ? kF16RecordElems : traits(type).block_size; }

}  // namespace

bool packable(GgmlType type) {
  return packs_as_bytes(type) || type == GgmlType::kQ4_0 || type == GgmlType::kIQ4_NL || type == GgmlType::kMXFP4 ||
         is_k_quant(type) || type == GgmlType::kF16;
}

bool packs_exactly(GgmlType type, const uint8_t* w, size_t w_stride, int64_t rows, int64_t cols) {
  if (type == GgmlType::kF16) return cols % kF16RecordElems == 0;
  if (type != GgmlType::kMXFP4) return packable(type);
  const int64_t nb = cols / kQK_MXFP4;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < nb; ++b) {
      const int e = w[r * w_stride + b * sizeof(BlockMXFP4)];
      if (e < kMinFp16Exponent || e > kMaxFp16Exponent) return false;
    }
  return true;
}

size_t packed_record_bytes(GgmlType type) {
  if (is_k_quant(type)) return kpacked::record_bytes(type);
  if (type == GgmlType::kF16) return static_cast<size_t>(kPackRows * kF16RecordElems) * 2;
  return 32 + 64 * static_cast<size_t>(quant_dwords(type));
}

size_t packed_group_bytes(GgmlType type, int64_t cols) {
  return static_cast<size_t>(cols / record_elems(type)) * packed_record_bytes(type);
}

size_t packed_size(GgmlType type, int64_t rows, int64_t cols) {
  return static_cast<size_t>((rows + kPackRows - 1) / kPackRows) * packed_group_bytes(type, cols);
}

void pack_rows(GgmlType type, const uint8_t* w, size_t w_stride, int64_t rows, int64_t cols, uint8_t* dst) {
  MX_CHECK(packable(type) && cols % record_elems(type) == 0);
  const int64_t nb = cols / record_elems(type);
  const size_t rec = packed_record_bytes(type), bb = block_bytes(type);
  std::memset(dst, 0, packed_size(type, rows, cols));
  if (type == GgmlType::kF16) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t b = 0; b < nb; ++b)
        for (int64_t k = 0; k < kF16RecordElems; ++k)
          std::memcpy(dst + (r / kPackRows) * packed_group_bytes(type, cols) + b * rec + k * 2 * kPackRows + 2 * (r % kPackRows),
                      w + r * w_stride + 2 * (b * kF16RecordElems + k), 2);
    return;
  }
  if (is_k_quant(type)) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t b = 0; b < nb; ++b)
        kpacked::pack_block(type, w + r * w_stride + b * bb, static_cast<int>(r % kPackRows),
                            dst + (r / kPackRows) * packed_group_bytes(type, cols) + b * rec);
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t g = r / kPackRows;
    const int lane = static_cast<int>(r % kPackRows);
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* blk = w + r * w_stride + b * bb;
      uint8_t* record = dst + g * packed_group_bytes(type, cols) + b * rec;
      if (type == GgmlType::kMXFP4) {
        const uint16_t d = fp32_to_fp16(kE8M0Half.v[blk[0]]);  // exact: packs_exactly
        std::memcpy(record + 2 * lane, &d, 2);
      } else {
        std::memcpy(record + 2 * lane, blk, 2);  // fp16 d
      }
      if (packs_as_bytes(type)) {
        int8_t q[32];
        block_quants(type, blk, q);
        for (int j = 0; j < 32; ++j)
          record[32 + (j / 4) * 64 + lane * 4 + j % 4] = static_cast<uint8_t>(q[j]) ^ 0x80;  // biased
      } else {
        for (int k = 0; k < quant_dwords(type); ++k)
          for (int i = 0; i < 4; ++i) record[32 + k * 64 + lane * 4 + i] = blk[nibbles_at(type) + 4 * k + i];
      }
    }
  }
}

void gemm_packed_reference(GgmlType type, int64_t n, const uint8_t* w, int64_t n_rows, const uint8_t* x,
                           size_t x_stride, int64_t n_tok, float* y, size_t y_stride) {
  if (is_k_quant(type)) {  // as the reference vec_dot: exact sums per super-block, then float
    const size_t rec = packed_record_bytes(type), group = packed_group_bytes(type, n);
    for (int64_t t = 0; t < n_tok; ++t)
      for (int64_t r = 0; r < n_rows; ++r) {
        float sum = 0.0f;
        for (int64_t b = 0; b < n / kQK_K; ++b) {
          const uint8_t* xb = x + t * x_stride + b * sizeof(BlockQ8_K);
          float dx;
          std::memcpy(&dx, xb, sizeof(dx));
          const auto s = kpacked::block_sums(type, w + (r / kPackRows) * group + b * rec,
                                             static_cast<int>(r % kPackRows), xb);
          sum += s.d * dx * static_cast<float>(s.isum) - s.dmin * dx * static_cast<float>(s.msum);
        }
        y[t * y_stride + r] = sum;
      }
    return;
  }
  if (type == GgmlType::kF16) {  // as the reference vec_dot: a double sum in element order
    const size_t rec = packed_record_bytes(type), group = packed_group_bytes(type, n);
    for (int64_t t = 0; t < n_tok; ++t)
      for (int64_t r = 0; r < n_rows; ++r) {
        double sum = 0.0;
        for (int64_t i = 0; i < n; ++i) {
          uint16_t h, xh;
          std::memcpy(&h, w + (r / kPackRows) * group + (i / kF16RecordElems) * rec + (i % kF16RecordElems) * 2 * kPackRows +
                              2 * (r % kPackRows), 2);
          std::memcpy(&xh, x + t * x_stride + 2 * i, 2);
          sum += fp16_to_fp32(h) * fp16_to_fp32(xh);
        }
        y[t * y_stride + r] = static_cast<float>(sum);
      }
    return;
  }
  const int64_t nb = n / 32;
  const size_t rec = packed_record_bytes(type), group = packed_group_bytes(type, n);
  for (int64_t t = 0; t < n_tok; ++t) {
    const auto* xb = reinterpret_cast<const BlockQ8_0*>(x + t * x_stride);
    for (int64_t r = 0; r < n_rows; ++r) {
      const int lane = static_cast<int>(r % kPackRows);
      float sum = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* record = w + (r / kPackRows) * group + b * rec;
        uint16_t d;
        std::memcpy(&d, record + 2 * lane, 2);
        int sumi = 0;
        for (int j = 0; j < 32; ++j) sumi += packed_quant(type, record, lane, j) * xb[b].qs[j];
        sum += static_cast<float>(sumi) * (fp16_to_fp32(d) * fp16_to_fp32(xb[b].d));
      }
      y[t * y_stride + r] = sum;
    }
  }
}

}  // namespace mx
