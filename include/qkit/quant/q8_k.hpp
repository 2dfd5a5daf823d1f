// qkit/quant/q8_k.hpp — Q8_K, the activation format the K-quants' and the
// ternary formats' dot products pair with: per 256 values an f32 scale,
// 8-bit quants and the sum of each group of 16 quants (so a dot product can
// apply a weight format's per-sub-block minimum without touching the quants).
// The quantizer is bit-identical to ggml's quantize_row_q8_K_ref, which is
// also what its CPU backend runs on x86.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "qkit/quant/k_blocks.hpp"
#include "qkit/quant/k_search.hpp"

// GCC: no fused multiply-add anywhere below (see codec.hpp); clang contracts
// only within an expression, which fp_barrier() prevents.
QKIT_SCALAR_REF_BEGIN

namespace qkit::quant {

// q = nearest(-127/max * x), with max the signed value of largest magnitude
// (the first one on ties), so that value becomes exactly -127 and the rest
// lie in [-127, 127]; d = max/-127. An all-zero block stores d = 0 and zero
// quants and sums (the reference leaves its sums unwritten there).
// A block holding NaN or Inf stores d = NaN and zero quants and sums (the
// activation rule of codec.hpp; the reference would store -Inf or garbage).
inline void quantize_block_q8k(const float* x, BlockQ8K& y) {
  // Magnitudes compared as bit patterns: the same order as the reference's
  // float compare for finite values, and >= 0x7f800000 exactly for NaN/Inf.
  uint32_t amax_bits = 0;
  float max = 0;
  for (int j = 0; j < kQK; ++j) {
    const uint32_t a = f32_bits(x[j]) & 0x7fffffffu;
    if (a > amax_bits) {
      amax_bits = a;
      max = x[j];
    }
  }
  if (amax_bits == 0 || amax_bits >= 0x7f800000u) {
    y.d = amax_bits == 0 ? 0.0f : f32_from_bits(0x7fc00000u);
    std::memset(y.qs, 0, sizeof y.qs);
    std::memset(y.bsums, 0, sizeof y.bsums);
    return;
  }
  const float iscale = -127.f / max;
  for (int j = 0; j < kQK; ++j) {
    const int v = nearest_int_mul(iscale, x[j]);
    y.qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
  }
  for (int j = 0; j < kQK / 16; ++j) {
    int sum = 0;
    for (int ii = 0; ii < 16; ++ii) sum += y.qs[j * 16 + ii];
    y.bsums[j] = static_cast<int16_t>(sum);
  }
  y.d = 1 / iscale;
}

inline void dequantize_block_q8k(const BlockQ8K& b, float* y) {
  for (int j = 0; j < kQK; ++j) y[j] = b.d * b.qs[j];
}

}  // namespace qkit::quant

namespace qkit {

template <>
struct Codec<Format::Q8_K> {
  using Block = BlockQ8K;
  static constexpr bool kHasQuantizer = true;
  // Q8_K holds activations only: its quantizer is the activation rule
  // (imatrix ignored, as in the reference).
  static void quantize_row(const float* x, void* dst, int64_t n, const float* /*imatrix*/) {
    quantize_act_row(x, dst, n);
  }
  // The reference every SIMD Q8_K quantizer must equal bit for bit.
  static void quantize_act_row(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<Block*>(dst);
    const int64_t nb = quant::k_blocks_in_row("q8_K", n);
    for (int64_t i = 0; i < nb; ++i) quant::quantize_block_q8k(x + i * kQK, y[i]);
  }
  static void dequantize_row(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const Block*>(src);
    const int64_t nb = quant::k_blocks_in_row("q8_K", n);
    for (int64_t i = 0; i < nb; ++i) quant::dequantize_block_q8k(b[i], y + i * kQK);
  }
  // The f32 scale must be finite (as the reference's row validation checks).
  static void validate_blocks(const void* src, size_t n_blocks) {
    const auto* b = static_cast<const Block*>(src);
    for (size_t i = 0; i < n_blocks; ++i) {
      float d;
      std::memcpy(&d, reinterpret_cast<const uint8_t*>(b + i) + offsetof(Block, d), sizeof d);
      if (!std::isfinite(d)) fail("q8_K block ", i, ": scale d is ", std::isnan(d) ? "NaN" : "Inf");
    }
  }
};

}  // namespace qkit

QKIT_SCALAR_REF_END
