// Packed layouts of the K-quants (see packed.h for the idea), one record per 16 rows and
// super-block of 256:
//
//   Q4_K (2368 bytes)                         Q6_K (3360 bytes, as GGUF's 16 blocks)
//   32   fp16 d of the 16 rows                32   fp16 d of the 16 rows
//   32   fp16 dmin                            256  scale pairs: for p = 0..7, lane i:
//   128  scale pairs: for p = 0..3, lane i:        int8 (sc[2p], sc[2p + 1]) of row i
//        bytes (sc[2p], sc[2p + 1]) of row i   2048 the quants' low 4 bits, laid out as Q4_K's
//   128  min pairs, the same for the mins          (sub-block s: groups 2s and 2s + 1)
//   2048 per sub-block s of 32, per dword j < 4: 1024 their top 2 bits: per sub-block s, per
//        lane i = bytes whose low nibbles are        m < 2, 64 bytes; byte b holds the bits
//        quants 32s + 4j .. + 3 of row i and         of the quants in byte b of nibble dwords
//        high nibbles quants 32s + 16 + 4j .. + 3    2m + 1 (bits 0-1: low nibble's, 2-3: high
//                                                    nibble's) and 2m (4-5 low, 6-7 high)
//
//   Q5_K (2880 bytes): a Q4_K record (the quants' low 4 bits), then their fifth bits: per
//   sub-block s, 64 bytes; byte b holds those of the quants in byte b of the 4 nibble
//   dwords, bit j the low nibble's of dword j, bit 4 + j the high nibble's.
//
// Pairs widen with one instruction into the int16 pairs vpdpwssd takes (mins times the
// activations' group sums), and into int32 scales for each sub-block's exact integer dot.
// One 64-byte load of Q6_K top bits serves exactly the lanes of two nibble loads, and puts
// each field where a mask and at most one 16-bit shift set it under its nibble; one of
// Q5_K fifth bits serves the lanes of a sub-block's four, and a mask of two of its bits
// (j and 4 + j) and one 16-bit shift each put them at bit 4 of their quants.
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/types.h"

namespace mx::kpacked {

inline constexpr size_t kQ4KRecord = 32 + 32 + 128 + 128 + 2048;
inline constexpr size_t kQ6KRecord = 32 + 256 + 2048 + 1024;
inline constexpr size_t kQ4KScales = 64, kQ4KMins = 192, kQ4KQuants = 320;
inline constexpr size_t kQ6KScales = 32, kQ6KQuants = 288, kQ6KHigh = 2336;
inline constexpr size_t kQ5KHigh = kQ4KRecord, kQ5KRecord = kQ4KRecord + 512;  // the rest is Q4_K's

bool is_k_quant(GgmlType type);  // Q4_K, Q5_K or Q6_K: packed here
constexpr size_t record_bytes(GgmlType type) {
  return type == GgmlType::kQ4_K ? kQ4KRecord : type == GgmlType::kQ5_K ? kQ5KRecord : kQ6KRecord;
}

// One record: row `lane` (0..15) of the group gets super-block `block` (GGUF bytes).
void pack_block(GgmlType type, const uint8_t* block, int lane, uint8_t* record);

// The signed integer products of one record's row `lane` with a Q8_K block: what the
// super-block adds to the row's sum is d * d_x * isum - dmin * d_x * msum.
struct BlockSums {
  float d, dmin;
  int isum, msum;
};
BlockSums block_sums(GgmlType type, const uint8_t* record, int lane, const uint8_t* q8k_block);

}  // namespace mx::kpacked
