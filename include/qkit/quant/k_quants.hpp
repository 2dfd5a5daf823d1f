// qkit/quant/k_quants.hpp — the K-quant block formats (Q2_K, Q3_K, Q4_K,
// Q5_K, Q6_K and the activation format Q8_K): block structs laid out byte
// for byte as ggml / GGUF store them, and their Codec specializations.
//
// Super-blocks hold kQK = 256 values. Scales are f16 (Q8_K: f32).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qkit/base/error.hpp"
#include "qkit/base/fp16.hpp"
#include "qkit/quant/format.hpp"

namespace qkit {

template <Format F>
struct Codec;

inline constexpr int kQK = 256;          // values per K-quant super-block
inline constexpr int kKScaleSize = 12;   // packed 6-bit scales + mins (q4_K, q5_K)

// 16 sub-blocks of 16: 2-bit quants, 4-bit scale and 4-bit min per sub-block.
struct BlockQ2K {
  uint8_t scales[kQK / 16];  // low nibble scale, high nibble min
  uint8_t qs[kQK / 4];       // 2-bit quants
  f16 d;                     // super-block scale for the scales
  f16 dmin;                  // super-block scale for the mins
};
static_assert(sizeof(BlockQ2K) == 84, "q2_K block");

// 16 sub-blocks of 16: 3-bit quants (2 low bits + 1 high bit), 6-bit scales.
struct BlockQ3K {
  uint8_t hmask[kQK / 8];  // high bit of each quant
  uint8_t qs[kQK / 4];     // low 2 bits
  uint8_t scales[12];      // 16 packed 6-bit scales
  f16 d;
};
static_assert(sizeof(BlockQ3K) == 110, "q3_K block");

// 8 sub-blocks of 32: 4-bit quants, 6-bit scales and mins.
struct BlockQ4K {
  f16 d;
  f16 dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ4K) == 144, "q4_K block");

// 8 sub-blocks of 32: 5-bit quants (4 low + 1 high), 6-bit scales and mins.
struct BlockQ5K {
  f16 d;
  f16 dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qh[kQK / 8];
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ5K) == 176, "q5_K block");

// 16 sub-blocks of 16: 6-bit quants (4 low + 2 high), 8-bit signed scales.
struct BlockQ6K {
  uint8_t ql[kQK / 2];
  uint8_t qh[kQK / 4];
  int8_t scales[kQK / 16];
  f16 d;
};
static_assert(sizeof(BlockQ6K) == 210, "q6_K block");

// The activation format of the K-quants' dot products: f32 scale, 8-bit
// quants and the sums of each group of 16 quants.
struct BlockQ8K {
  float d;
  int8_t qs[kQK];
  int16_t bsums[kQK / 16];
};
static_assert(sizeof(BlockQ8K) == 292, "q8_K block");

namespace kquant_detail {
[[noreturn]] inline void not_yet(const char* what) { fail(what, ": codec not implemented yet"); }
}  // namespace kquant_detail

#define QKIT_KQUANT_STUB(F, B)                                                                    \
  template <>                                                                                     \
  struct Codec<Format::F> {                                                                       \
    using Block = B;                                                                              \
    static void quantize_row(const float*, void*, int64_t, const float*) { kquant_detail::not_yet(#F); } \
    static void dequantize_row(const void*, float*, int64_t) { kquant_detail::not_yet(#F); }     \
    static void validate_blocks(const void*, size_t) { kquant_detail::not_yet(#F); }             \
  };
QKIT_KQUANT_STUB(Q2_K, BlockQ2K)
QKIT_KQUANT_STUB(Q3_K, BlockQ3K)
QKIT_KQUANT_STUB(Q4_K, BlockQ4K)
QKIT_KQUANT_STUB(Q5_K, BlockQ5K)
QKIT_KQUANT_STUB(Q6_K, BlockQ6K)
QKIT_KQUANT_STUB(Q8_K, BlockQ8K)
#undef QKIT_KQUANT_STUB

}  // namespace qkit
