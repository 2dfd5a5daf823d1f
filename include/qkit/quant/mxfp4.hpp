// qkit/quant/mxfp4.hpp — MXFP4 (OCP microscaling FP4): 32 E2M1 values
// sharing a power-of-two E8M0 scale. Stored as ggml does: the scale byte e,
// then value j in the low nibble of qs[j] and j + 16 in the high nibble.
//
// kMXFP4Values holds twice the E2M1 values (so they are integers) and the
// scale decodes at half weight: x = kMXFP4Values[q] * 2^(e - 128).
// Quantizer: ggml's quantize_row_mxfp4_ref (no importance path; an imatrix
// is ignored): e = floor(log2(amax)) - 2 + 127, then each value takes the
// nearest level (first one on ties). NaN/Inf input: qkit::Error. e = 0xff is
// invalid data (validate_blocks rejects it, as the reference does).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "qkit/quant/codec.hpp"

QKIT_SCALAR_REF_BEGIN
namespace qkit {

inline constexpr int8_t kMXFP4Values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

inline constexpr int kQKMXFP4 = 32;

struct BlockMXFP4 {
  uint8_t e;  // E8M0 shared exponent
  uint8_t qs[kQKMXFP4 / 2];
};
static_assert(sizeof(BlockMXFP4) == 17, "mxfp4 block");

namespace quant {

// 2^(e - 128): the E8M0 scale at half weight (matching the doubled table);
// e = 0 and 1 are the f32 subnormals 2^-128 and 2^-127.
inline float e8m0_to_float_half(uint8_t e) {
  const uint32_t bits = e < 2 ? (0x00200000u << e) : (static_cast<uint32_t>(e - 1) << 23);
  return f32_from_bits(bits);
}

// Nearest level to x at scale d by linear scan; the first index wins ties.
inline int mxfp4_best_index(float x, float d) {
  QKIT_NO_CONTRACT
  int best = 0;
  float best_err = std::fabs(product(static_cast<float>(kMXFP4Values[0]), d) - x);
  for (int i = 1; i < 16; ++i) {
    const float err = std::fabs(product(static_cast<float>(kMXFP4Values[i]), d) - x);
    if (err < best_err) {
      best = i;
      best_err = err;
    }
  }
  return best;
}

// The shared exponent of a block whose largest magnitude is amax. The float
// result goes through int like the reference's x86 build, so a (theoretical)
// negative value wraps instead of being undefined.
inline uint8_t mxfp4_exponent(float amax) {
  QKIT_NO_CONTRACT
  if (!(amax > 0.0f)) return 0;
  const float e = std::floor(std::log2(amax)) - 2 + 127;
  return static_cast<uint8_t>(static_cast<int>(e));
}

}  // namespace quant

template <>
struct Codec<Format::MXFP4> {
  using Block = BlockMXFP4;
  static void quantize_row(const float* x, void* dst, int64_t n, const float* /*imatrix*/) {
    quant::require_finite("mxfp4", x, n);
    auto* y = static_cast<Block*>(dst);
    for (int64_t i = 0; i < n / kQKMXFP4; ++i) {
      const float* xb = x + i * kQKMXFP4;
      float amax = 0.0f;
      for (int j = 0; j < kQKMXFP4; ++j)
        if (amax < std::fabs(xb[j])) amax = std::fabs(xb[j]);
      const uint8_t e = quant::mxfp4_exponent(amax);
      const float d = quant::e8m0_to_float_half(e);
      y[i].e = e;
      for (int j = 0; j < kQKMXFP4 / 2; ++j) {
        const int lo = quant::mxfp4_best_index(xb[j], d);
        const int hi = quant::mxfp4_best_index(xb[j + 16], d);
        y[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
      }
    }
  }
  static void dequantize_row(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const Block*>(src);
    for (int64_t i = 0; i < n / kQKMXFP4; ++i, y += kQKMXFP4) {
      const float d = quant::e8m0_to_float_half(b[i].e);
      for (int j = 0; j < kQKMXFP4 / 2; ++j) {
        y[j] = static_cast<float>(kMXFP4Values[b[i].qs[j] & 0x0f]) * d;
        y[j + 16] = static_cast<float>(kMXFP4Values[b[i].qs[j] >> 4]) * d;
      }
    }
  }
  static void validate_blocks(const void* src, size_t n_blocks) {
    const auto* b = static_cast<const Block*>(src);
    for (size_t i = 0; i < n_blocks; ++i)
      if (b[i].e == 0xff) fail("mxfp4 block ", i, ": scale e is 0xff (invalid E8M0, NaN)");
  }
};

}  // namespace qkit
QKIT_SCALAR_REF_END
