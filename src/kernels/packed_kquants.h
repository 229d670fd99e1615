// Packed layouts of the K-quants (see packed.h for the idea), one record per 16 rows and
// super-block of 256:
//
//   Q4_K (2368 bytes)                         Q6_K (4384 bytes)
//   32   fp16 d of the 16 rows                32   fp16 d of the 16 rows
//   32   fp16 dmin                            256  scale pairs: for p = 0..7, lane i:
//   128  scale pairs: for p = 0..3, lane i:        int8 (sc[2p], sc[2p + 1]) of row i
//        bytes (sc[2p], sc[2p + 1]) of row i   4096 per group g of 16 elements, per dword j:
//   128  min pairs, the same for the mins           lane i = quants 16g + 4j .. + 3 of row i,
//   2048 per sub-block s of 32, per dword j < 4:    one unsigned byte (0..63) each
//        lane i = bytes whose low nibbles are
//        quants 32s + 4j .. + 3 of row i and high nibbles quants 32s + 16 + 4j .. + 3
//
// Pairs widen with one instruction into the int16 pairs vpdpwssd takes (mins times the
// activations' group sums), and into int32 scales for each sub-block's exact integer dot.
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/types.h"

namespace mx::kpacked {

inline constexpr size_t kQ4KRecord = 32 + 32 + 128 + 128 + 2048;
inline constexpr size_t kQ6KRecord = 32 + 256 + 4096;
inline constexpr size_t kQ4KScales = 64, kQ4KMins = 192, kQ4KQuants = 320;
inline constexpr size_t kQ6KScales = 32, kQ6KQuants = 288;

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
