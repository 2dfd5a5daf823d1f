// qkit/quant/q8.hpp — Q8_0 and Q8_1: 32 signed 8-bit values with an f16
// scale (Q8_1 also stores s = d * sum(q), which the Q4_1/Q5_1 dot products
// use for the min term). Included by quant/legacy.hpp.
//
// Two quantizers, because the reference engine has two:
//  - weights (Codec<Q8_0>::quantize_row, what llama-quantize writes):
//    ggml's quantize_row_q8_0_ref: d = amax/127, id = 1/d, q = roundf(x*id)
//    (ties away from zero). NaN/Inf input: qkit::Error.
//  - activations (quantize_act_row; Codec<Q8_1>::quantize_row is the same
//    thing, since Q8_1 only ever holds activations): the rule of ggml's x86
//    SIMD activation quantizer, which produced the reference's dot products:
//    d = amax/127, id = 127/amax, q = round-half-to-even(x*id). qkit follows
//    this rule on every target (ties to even is also what SIMD rounding
//    does natively), so every SIMD activation quantizer must equal
//    quantize_act_row bit for bit. A block holding NaN/Inf gets d = NaN
//    (f16 0x7e00; Q8_1: s = NaN too) and zero quants; no exception.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <ios>

#include "qkit/quant/codec.hpp"

QKIT_SCALAR_REF_BEGIN
namespace qkit {

inline constexpr int kQK8 = 32;

struct BlockQ8_0 {
  f16 d;
  int8_t qs[kQK8];
};
static_assert(sizeof(BlockQ8_0) == 34, "q8_0 block");

struct BlockQ8_1 {
  f16 d;  // scale
  f16 s;  // d * sum(qs)
  int8_t qs[kQK8];
};
static_assert(sizeof(BlockQ8_1) == 36, "q8_1 block");

namespace quant {

inline constexpr uint16_t kHalfNaN = 0x7e00;

// Largest |x| of a block as a bit pattern: compares correctly as an integer
// for every non-negative float, and is >= 0x7f800000 exactly when the block
// holds an Inf or NaN.
inline uint32_t absmax_bits(const float* x, int n) {
  uint32_t m = 0;
  for (int j = 0; j < n; ++j) {
    const uint32_t a = f32_bits(x[j]) & 0x7fffffffu;
    m = a > m ? a : m;
  }
  return m;
}

// The activation rule for one block of 32: writes qs, returns d (NaN for a
// non-finite block) and the sum of the quants.
inline float quantize_act_block(const float* x, int8_t* qs, int& sum) {
  QKIT_NO_CONTRACT
  sum = 0;
  const uint32_t bits = absmax_bits(x, kQK8);
  if (bits >= 0x7f800000u) {
    std::memset(qs, 0, kQK8);
    return f32_from_bits(0x7fc00000u);
  }
  const float amax = f32_from_bits(bits);
  const float d = amax / 127.f;
  const float id = amax != 0.0f ? 127.f / amax : 0.0f;
  for (int j = 0; j < kQK8; ++j) {
    const int q = nearest_int_product(x[j], id);  // ties to even, |q| <= 127
    qs[j] = static_cast<int8_t>(q);
    sum += q;
  }
  return d;
}

}  // namespace quant

template <>
struct Codec<Format::Q8_0> {
  using Block = BlockQ8_0;
  // Weight quantizer (imatrix is ignored, as in the reference).
  static void quantize_row(const float* x, void* dst, int64_t n, const float* /*imatrix*/) {
    QKIT_NO_CONTRACT
    quant::require_finite("q8_0", x, n);
    auto* y = static_cast<Block*>(dst);
    for (int64_t i = 0; i < n / kQK8; ++i) {
      const float* xb = x + i * kQK8;
      float amax = 0.0f;
      // fmaxf(amax, fabsf(x)) of finite values (no NaN to skip): a plain
      // compare, which the compiler keeps inline and vectorizes.
      for (int j = 0; j < kQK8; ++j) {
        const float a = std::fabs(xb[j]);
        amax = a > amax ? a : amax;
      }
      const float d = amax / 127.f;
      const float id = d ? 1.0f / d : 0.0f;
      y[i].d = quant::float_to_half(d);
      // roundf(x * id), |x * id| <= 127 (plus rounding).
      for (int j = 0; j < kQK8; ++j) y[i].qs[j] = static_cast<int8_t>(quant::round_half_away(xb[j] * id));
    }
  }
  // Activation quantizer: the reference for every SIMD path.
  static void quantize_act_row(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<Block*>(dst);
    for (int64_t i = 0; i < n / kQK8; ++i) {
      int sum;
      const float d = quant::quantize_act_block(x + i * kQK8, y[i].qs, sum);
      y[i].d = std::isnan(d) ? f16{quant::kHalfNaN} : quant::float_to_half(d);
    }
  }
  static void dequantize_row(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const Block*>(src);
    for (int64_t i = 0; i < n / kQK8; ++i, y += kQK8) {
      const float d = quant::half_to_float(b[i].d);
      for (int j = 0; j < kQK8; ++j) y[j] = static_cast<float>(b[i].qs[j]) * d;
    }
  }
  static void validate_blocks(const void* src, size_t n_blocks) {
    const auto* b = static_cast<const Block*>(src);
    for (size_t i = 0; i < n_blocks; ++i) quant::check_scale("q8_0", i, "d", b[i].d);
  }
};

template <>
struct Codec<Format::Q8_1> {
  using Block = BlockQ8_1;
  // Q8_1 holds activations only: its quantizer is the activation rule.
  static void quantize_row(const float* x, void* dst, int64_t n, const float* /*imatrix*/) {
    quantize_act_row(x, dst, n);
  }
  static void quantize_act_row(const float* x, void* dst, int64_t n) {
    QKIT_NO_CONTRACT
    auto* y = static_cast<Block*>(dst);
    for (int64_t i = 0; i < n / kQK8; ++i) {
      int sum;
      const float d = quant::quantize_act_block(x + i * kQK8, y[i].qs, sum);
      if (std::isnan(d)) {
        y[i].d = y[i].s = f16{quant::kHalfNaN};
      } else {
        y[i].d = quant::float_to_half(d);
        y[i].s = quant::float_to_half(d * static_cast<float>(sum));
      }
    }
  }
  static void dequantize_row(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const Block*>(src);
    for (int64_t i = 0; i < n / kQK8; ++i, y += kQK8) {
      const float d = quant::half_to_float(b[i].d);
      for (int j = 0; j < kQK8; ++j) y[j] = static_cast<float>(b[i].qs[j]) * d;
    }
  }
  static void validate_blocks(const void* src, size_t n_blocks) {
    const auto* b = static_cast<const Block*>(src);
    for (size_t i = 0; i < n_blocks; ++i) {
      quant::check_scale("q8_1", i, "d", b[i].d);
      // s = d * sum(q) legitimately overflows f16 to +-Inf for large blocks
      // (the reference's own quantizer writes that); only NaN is corrupt.
      if ((b[i].s.bits & 0x7c00u) == 0x7c00u && (b[i].s.bits & 0x3ffu))
        fail("q8_1 block ", i, ": s is NaN (bits 0x", std::hex, b[i].s.bits, ")");
    }
  }
};

}  // namespace qkit
QKIT_SCALAR_REF_END
