// qkit/quant/q2_k.hpp — Q2_K (2.625 bits per weight): super-blocks of 256
// values in 16 sub-blocks of 16; value = d*scale_j*q - dmin*min_j with
// q in [0, 3] and 4-bit scale_j, min_j. Scalar reference quantizers (plain
// and importance-weighted) and dequantizer, bit-identical to ggml's
// quantize_row_q2_K_ref / quantize_row_q2_K_impl / dequantize_row_q2_K.
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

// 2-bit quants: values 32*k .. 32*k+31 of each 128-value half sit in the
// bits 2k..2k+1 of qs[32*half + l].
inline void pack_q2k_quants(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < kQK; j += 128) {
    for (int l = 0; l < 32; ++l) {
      qs[j / 4 + l] =
          static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
    }
  }
}

// Final quants for the stored (f16-rounded) scales and mins.
inline void requantize_q2k(const float* x, const BlockQ2K& b, uint8_t* L) {
  const float dall = half_to_float(b.d);
  const float dmin = half_to_float(b.dmin);
  for (int j = 0; j < kQK / 16; ++j) {
    const float d = dall * (b.scales[j] & 0xF);
    if (!d) continue;
    const float dm = fp_barrier(dmin * (b.scales[j] >> 4));
    for (int ii = 0; ii < 16; ++ii) {
      const int l = nearest_int((x[16 * j + ii] + dm) / d);
      L[16 * j + ii] = static_cast<uint8_t>(l < 0 ? 0 : (l > 3 ? 3 : l));
    }
  }
}

inline void quantize_block_q2k(const float* x, BlockQ2K& y) {
  uint8_t L[kQK];
  float weights[kQK];
  float mins[kQK / 16];
  float scales[kQK / 16];
  const float q4scale = 15.f;

  for (int l = 0; l < kQK; ++l) weights[l] = std::fabs(x[l]);
  // The 16 sub-block fits are independent: eight at a time, one per vector lane.
  for (int j = 0; j < kQK / 16; j += 8) {
    make_qkx2_quants_x8(16, 3, x + 16 * j, weights + 16 * j, 16, L + 16 * j, &scales[j], &mins[j], -0.5f, 0.1f, 15,
                        true);
  }
  float max_scale = 0;  // scales are >= 0 since the min is subtracted
  float max_min = 0;
  for (int j = 0; j < kQK / 16; ++j) {
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  if (max_scale > 0) {
    const float iscale = q4scale / max_scale;
    for (int j = 0; j < kQK / 16; ++j) y.scales[j] = static_cast<uint8_t>(nearest_int_mul(iscale, scales[j]));
    y.d = float_to_half(max_scale / q4scale);
  } else {
    for (int j = 0; j < kQK / 16; ++j) y.scales[j] = 0;
    y.d = float_to_half(0.f);
  }
  if (max_min > 0) {
    const float iscale = q4scale / max_min;
    for (int j = 0; j < kQK / 16; ++j) {
      const int l = nearest_int_mul(iscale, mins[j]);
      y.scales[j] = static_cast<uint8_t>(y.scales[j] | (l << 4));
    }
    y.dmin = float_to_half(max_min / q4scale);
  } else {
    y.dmin = float_to_half(0.f);
  }
  requantize_q2k(x, y, L);
  pack_q2k_quants(L, y.qs);
}

// Importance-weighted: weights qw[i]*sqrt(sigma2 + x[i]^2), sub-block fits by
// make_qkx3_quants, and the 16 scales and mins themselves fitted by
// make_qp_quants weighted by each sub-block's total weight.
inline void quantize_block_q2k_weighted(const float* x, const float* qw_block, BlockQ2K& y) {
  uint8_t L[kQK];
  float mins[kQK / 16];
  float scales[kQK / 16];
  float sw[kQK / 16] = {};
  float weights[kQK];
  uint8_t Ls[kQK / 16], Lm[kQK / 16];

  float sumx2 = 0;
  for (int j = 0; j < kQK; ++j) sumx2 += fp_barrier(x[j] * x[j]);
  const float sigma2 = sumx2 / kQK;
  for (int j = 0; j < kQK / 16; ++j) {
    const float* qw = qw_block + 16 * j;
    float* weight = weights + 16 * j;
    for (int l = 0; l < 16; ++l) {
      weight[l] = fp_barrier(qw[l] * std::sqrt(sigma2 + fp_barrier(x[16 * j + l] * x[16 * j + l])));
    }
    for (int l = 0; l < 16; ++l) sw[j] += weight[l];
  }
  // The 16 sub-block fits are independent: eight at a time, one per vector lane.
  for (int j = 0; j < kQK / 16; j += 8) {
    make_qkx3_quants_x8(16, 3, x + 16 * j, weights + 16 * j, 16, L + 16 * j, &scales[j], &mins[j], -0.9f, 0.05f, 36,
                        false);
  }
  const float dm = make_qp_quants(kQK / 16, 15, scales, Ls, sw);
  const float mm = make_qp_quants(kQK / 16, 15, mins, Lm, sw);
  y.d = float_to_half(dm);
  y.dmin = float_to_half(mm);
  for (int j = 0; j < kQK / 16; ++j) y.scales[j] = static_cast<uint8_t>(Ls[j] | (Lm[j] << 4));
  requantize_q2k(x, y, L);
  pack_q2k_quants(L, y.qs);
}

inline void dequantize_block_q2k(const BlockQ2K& b, float* y) {
  const float d = half_to_float(b.d);
  const float min = half_to_float(b.dmin);
  for (int i = 0; i < kQK; ++i) {
    const int half = i / 128, r = i % 128;
    const uint8_t sc = b.scales[i / 16];
    const float dl = d * (sc & 0xF);
    const float ml = fp_barrier(min * (sc >> 4));
    const int q = (b.qs[32 * half + r % 32] >> (2 * (r / 32))) & 3;
    y[i] = fp_barrier(dl * q) - ml;
  }
}

}  // namespace qkit::quant

namespace qkit {

template <>
struct Codec<Format::Q2_K> : SuperBlockCodec<Format::Q2_K, BlockQ2K, Codec<Format::Q2_K>> {
  static void quantize_block(const float* x, const float* qw, Block& y) {
    if (qw) {
      quant::quantize_block_q2k_weighted(x, qw, y);
    } else {
      quant::quantize_block_q2k(x, y);
    }
  }
  static void dequantize_block(const Block& b, float* y) { quant::dequantize_block_q2k(b, y); }
};

}  // namespace qkit

QKIT_SCALAR_REF_END
