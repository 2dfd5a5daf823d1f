// qkit/quant/ternary.hpp — the ternary formats (BitNet b1.58, TriLM): values
// d * t with t in {-1, 0, 1} and d the super-block's largest magnitude.
//   TQ1_0 (1.6875 bits per weight): 5 trits per byte in base 3 (240 values
//         in qs), 4 per byte for the last 16 (qh), stored as ceil(n*256/243)
//         so a trit is read back by multiplying by 3 and taking the high byte.
//   TQ2_0 (2.0625 bits per weight): 2 bits per trit.
// Scalar reference quantizers and dequantizers bit-identical to ggml's
// quantize_row_tq{1,2}_0_ref / dequantize_row_tq{1,2}_0. The reference has no
// importance-weighted path: an imatrix is accepted and ignored.
//
// Non-finite input: qkit::Error naming the element (codec.hpp's rule for
// weight quantizers). A block of subnormal values, whose inverse scale
// overflows to Inf, quantizes to d = 0 and all-zero trits, as the reference
// computes on x86 (where lroundf of a non-finite value is LONG_MIN).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "qkit/quant/k_blocks.hpp"

// GCC: no fused multiply-add anywhere below (see codec.hpp); clang contracts
// only within an expression, which fp_barrier() prevents.
QKIT_SCALAR_REF_BEGIN

namespace qkit {

// 256 ternary values: 240 packed five per byte in qs, 16 packed four per byte in qh.
struct BlockTQ1_0 {
  uint8_t qs[(kQK - 4 * kQK / 64) / 5];
  uint8_t qh[kQK / 64];
  f16 d;
};
static_assert(sizeof(BlockTQ1_0) == 54, "tq1_0 block");

// 256 ternary values at 2 bits each.
struct BlockTQ2_0 {
  uint8_t qs[kQK / 4];
  f16 d;
};
static_assert(sizeof(BlockTQ2_0) == 66, "tq2_0 block");

namespace quant {

// The reference's `lroundf(v) + 1` narrowed to int, with its x86 result made
// explicit where lroundf itself is unspecified: NaN, Inf and |v| >= 2^63 give
// LONG_MIN there, and LONG_MIN + 1 narrows to 1.
inline int ternary_level(float v) {
  if (!(std::fabs(v) < 9.2233720368547758e18f)) return 1;
  const long long l = std::llround(v);
  return static_cast<int>(static_cast<uint32_t>(static_cast<unsigned long long>(l) + 1u));
}

// The reference's amax = MAX(amax, |x|), NaN semantics included.
inline float ternary_scale(const float* x) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) {
    const float ax = std::fabs(x[j]);
    amax = amax > ax ? amax : ax;
  }
  return amax;
}

// Byte holding n trits t[0..n) (most significant first) as ceil(v * 256 / 243),
// with v the base-3 number scaled to 5 trits.
inline uint8_t pack_trits(const float* x, size_t stride, int n, float id) {
  uint8_t q = 0;
  for (int k = 0; k < n; ++k) {
    q = static_cast<uint8_t>(q * 3);
    q = static_cast<uint8_t>(q + ternary_level(x[k * stride] * id));
  }
  for (int k = n; k < 5; ++k) q = static_cast<uint8_t>(q * 3);
  return static_cast<uint8_t>((static_cast<uint16_t>(q) * 256 + (243 - 1)) / 243);
}

inline void quantize_block_tq1_0(const float* x, BlockTQ1_0& y) {
  const float d = ternary_scale(x);
  const float id = d ? 1.0f / d : 0.0f;
  y.d = float_to_half(d);
  // qs[0..32): values m + 32n, n = 0..4; qs[32..48): 160 + m + 16n; qh[0..4): 240 + j + 4n.
  for (int m = 0; m < 32; ++m) y.qs[m] = pack_trits(x + m, 32, 5, id);
  for (int m = 0; m < 16; ++m) y.qs[32 + m] = pack_trits(x + 160 + m, 16, 5, id);
  for (int j = 0; j < 4; ++j) y.qh[j] = pack_trits(x + 240 + j, 4, 4, id);
}

// Trit n (0 = most significant) of a byte packed by pack_trits, as -1/0/1.
inline int unpack_trit(uint8_t byte, int n) {
  static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
  const auto q = static_cast<uint8_t>(byte * kPow3[n]);
  return ((static_cast<uint16_t>(q) * 3) >> 8) - 1;
}

inline void dequantize_block_tq1_0(const BlockTQ1_0& b, float* y) {
  const float d = half_to_float(b.d);
  for (int n = 0; n < 5; ++n)
    for (int m = 0; m < 32; ++m) y[32 * n + m] = static_cast<float>(unpack_trit(b.qs[m], n)) * d;
  for (int n = 0; n < 5; ++n)
    for (int m = 0; m < 16; ++m) y[160 + 16 * n + m] = static_cast<float>(unpack_trit(b.qs[32 + m], n)) * d;
  for (int n = 0; n < 4; ++n)
    for (int j = 0; j < 4; ++j) y[240 + 4 * n + j] = static_cast<float>(unpack_trit(b.qh[j], n)) * d;
}

// Value 128h + 32k + m is bits 2k..2k+1 of qs[32h + m], stored as t + 1.
inline void quantize_block_tq2_0(const float* x, BlockTQ2_0& y) {
  const float d = ternary_scale(x);
  const float id = d ? 1.0f / d : 0.0f;
  y.d = float_to_half(d);
  for (int h = 0; h < 2; ++h) {
    for (int m = 0; m < 32; ++m) {
      uint8_t q = 0;
      for (int k = 0; k < 4; ++k) {
        q = static_cast<uint8_t>(q + ((ternary_level(x[128 * h + m + 32 * k] * id) & 3) << (2 * k)));
      }
      y.qs[32 * h + m] = q;
    }
  }
}

inline void dequantize_block_tq2_0(const BlockTQ2_0& b, float* y) {
  const float d = half_to_float(b.d);
  for (int i = 0; i < kQK; ++i) {
    const int q = (b.qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
    y[i] = static_cast<float>(q - 1) * d;
  }
}

}  // namespace quant

template <>
struct Codec<Format::TQ1_0> : SuperBlockCodec<Format::TQ1_0, BlockTQ1_0, Codec<Format::TQ1_0>> {
  static void quantize_block(const float* x, const float* /*imatrix: unused*/, Block& y) { quant::quantize_block_tq1_0(x, y); }
  static void dequantize_block(const Block& b, float* y) { quant::dequantize_block_tq1_0(b, y); }
};

template <>
struct Codec<Format::TQ2_0> : SuperBlockCodec<Format::TQ2_0, BlockTQ2_0, Codec<Format::TQ2_0>> {
  static void quantize_block(const float* x, const float* /*imatrix: unused*/, Block& y) { quant::quantize_block_tq2_0(x, y); }
  static void dequantize_block(const Block& b, float* y) { quant::dequantize_block_tq2_0(b, y); }
};

}  // namespace qkit

QKIT_SCALAR_REF_END
