// qkit/quant/q6_k.hpp — Q6_K (6.5625 bits per weight): super-blocks of 256
// values in 16 sub-blocks of 16; value = d*scale_j*q with q in [-32, 31]
// (low nibble in ql, 2 high bits in qh) and signed 8-bit scale_j. Scalar
// reference quantizer (plain and importance-weighted) and dequantizer,
// bit-identical to ggml's quantize_row_q6_K_ref / _impl / dequantize_row_q6_K.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "qkit/quant/k_blocks.hpp"
#include "qkit/quant/k_search.hpp"
#include "qkit/quant/search_lanes.hpp"

// GCC: no fused multiply-add anywhere below (see codec.hpp); clang contracts
// only within an expression, which fp_barrier() prevents.
QKIT_SCALAR_REF_BEGIN

namespace qkit::quant {

// Value 128h + 32k + l (k = 0..3, l = 0..31): low nibble in ql[64h + l + 32*(k&1)]
// (high nibble if k >= 2), high 2 bits at bit 2k of qh[32h + l].
inline void pack_q6k_quants(const int8_t* L, uint8_t* ql, uint8_t* qh) {
  for (int j = 0; j < kQK; j += 128) {
    for (int l = 0; l < 32; ++l) {
      const int q1 = L[j + l + 0] & 0xF;
      const int q2 = L[j + l + 32] & 0xF;
      const int q3 = L[j + l + 64] & 0xF;
      const int q4 = L[j + l + 96] & 0xF;
      ql[l + 0] = static_cast<uint8_t>(q1 | (q3 << 4));
      ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
      qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                   ((L[j + l + 96] >> 4) << 6));
    }
    ql += 64;
    qh += 32;
  }
}

// qw_block: the block's importance weights, used as they are (the reference
// does not mix in the values here), or nullptr for x^2 weighting.
inline void quantize_block_q6k(const float* x, const float* qw_block, BlockQ6K& y) {
  int8_t L[kQK];
  float scales[kQK / 16];
  float xx[kQK];  // rmse_type 1's default weights x^2, when no importance is given
  if (!qw_block) {
    for (int i = 0; i < kQK; ++i) xx[i] = product(x[i], x[i]);
  }
  // The 16 sub-block fits are independent: eight at a time, one per vector lane.
  for (int ib = 0; ib < kQK / 16; ib += 8) {
    make_qx_quants_x8(16, 32, x + 16 * ib, (qw_block ? qw_block : xx) + 16 * ib, 16, L + 16 * ib, scales + ib);
  }
  float max_scale = 0;
  float max_abs_scale = 0;
  for (int ib = 0; ib < kQK / 16; ++ib) {
    const float scale = scales[ib];
    const float abs_scale = std::fabs(scale);
    if (abs_scale > max_abs_scale) {
      max_abs_scale = abs_scale;
      max_scale = scale;
    }
  }
  if (max_abs_scale < kGroupMaxEps) {
    std::memset(&y, 0, sizeof y);
    y.d = float_to_half(0.f);
    return;
  }
  const float iscale = -128.f / max_scale;
  y.d = float_to_half(1 / iscale);
  for (int ib = 0; ib < kQK / 16; ++ib) {
    const int s = nearest_int_mul(iscale, scales[ib]);
    y.scales[ib] = static_cast<int8_t>(s < 127 ? s : 127);
  }
  const float dall = half_to_float(y.d);
  for (int j = 0; j < kQK / 16; ++j) {
    const float d = dall * y.scales[j];
    if (!d) continue;
    for (int ii = 0; ii < 16; ++ii) {
      const int l = nearest_int(x[16 * j + ii] / d);
      L[16 * j + ii] = static_cast<int8_t>((l < -32 ? -32 : (l > 31 ? 31 : l)) + 32);
    }
  }
  pack_q6k_quants(L, y.ql, y.qh);
}

inline void dequantize_block_q6k(const BlockQ6K& b, float* y) {
  const float d = half_to_float(b.d);
  for (int i = 0; i < kQK; ++i) {
    const int h = i / 128, k = (i % 128) / 32, l = i % 32;
    const uint8_t lo_byte = b.ql[64 * h + l + 32 * (k & 1)];
    const int lo = k >= 2 ? lo_byte >> 4 : lo_byte & 0xF;
    const int hi = (b.qh[32 * h + l] >> (2 * k)) & 3;
    const int q = (lo | (hi << 4)) - 32;
    const int sc = b.scales[8 * h + l / 16 + 2 * k];
    y[i] = d * sc * q;
  }
}

}  // namespace qkit::quant

namespace qkit {

template <>
struct Codec<Format::Q6_K> : SuperBlockCodec<Format::Q6_K, BlockQ6K, Codec<Format::Q6_K>> {
  static void quantize_block(const float* x, const float* qw, Block& y) {
    quant::quantize_block_q6k(x, qw, y);
  }
  static void dequantize_block(const Block& b, float* y) { quant::dequantize_block_q6k(b, y); }
};

}  // namespace qkit

QKIT_SCALAR_REF_END
