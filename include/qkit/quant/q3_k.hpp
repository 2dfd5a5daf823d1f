// qkit/quant/q3_k.hpp — Q3_K (3.4375 bits per weight): super-blocks of 256
// values in 16 sub-blocks of 16; value = d*scale_j*q with q in [-4, 3]
// (2 low bits in qs, the high bit in hmask, set meaning "no -4") and signed
// 6-bit scale_j. Scalar reference quantizers and dequantizer, bit-identical
// to ggml's quantize_row_q3_K_ref / quantize_row_q3_K_impl / dequantize_row_q3_K.
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

// Final quants in [0, 7] for the stored scales, then split into hmask
// (bit k of hmask[m] is the high bit of value 32*k + m) and 2-bit qs laid
// out as Q2_K's.
inline void finish_q3k(const float* x, BlockQ3K& y, int8_t* L) {
  const float dall = half_to_float(y.d);
  for (int j = 0; j < kQK / 16; ++j) {
    const float d = dall * get_scale_q3k(y.scales, j);
    if (!d) continue;
    for (int ii = 0; ii < 16; ++ii) {
      const int l = nearest_int(x[16 * j + ii] / d);
      L[16 * j + ii] = static_cast<int8_t>((l < -4 ? -4 : (l > 3 ? 3 : l)) + 4);
    }
  }
  std::memset(y.hmask, 0, sizeof y.hmask);
  for (int j = 0; j < kQK; ++j) {
    if (L[j] > 3) {
      y.hmask[j % 32] = static_cast<uint8_t>(y.hmask[j % 32] | (1u << (j / 32)));
      L[j] = static_cast<int8_t>(L[j] - 4);
    }
  }
  for (int j = 0; j < kQK; j += 128) {
    for (int l = 0; l < 32; ++l) {
      y.qs[j / 4 + l] =
          static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
    }
  }
}

inline void quantize_block_q3k(const float* x, BlockQ3K& y) {
  int8_t L[kQK];
  float scales[kQK / 16];
  float max_scale = 0;
  float amax = 0;
  for (int j = 0; j < kQK / 16; ++j) {
    scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j, true);
    const float scale = std::fabs(scales[j]);
    if (scale > amax) {
      amax = scale;
      max_scale = scales[j];
    }
  }
  if (max_scale) {
    const float iscale = -32.f / max_scale;
    int ls[kQK / 16];
    for (int j = 0; j < kQK / 16; ++j) {
      // The reference narrows to int8 before clamping.
      const int l = static_cast<int8_t>(nearest_int_mul(iscale, scales[j]));
      ls[j] = (l < -32 ? -32 : (l > 31 ? 31 : l)) + 32;
    }
    set_scales_q3k(ls, y.scales);
    y.d = float_to_half(1 / iscale);
  } else {
    std::memset(y.scales, 0, sizeof y.scales);
    y.d = float_to_half(0.f);
  }
  finish_q3k(x, y, L);
}

// Importance-weighted: weights qw[i]*sqrt(2*mean(x^2) + x[i]^2) (x[i]^2 when
// called without weights), sub-block fits and the scales' own fit by
// make_qx_quants.
inline void quantize_block_q3k_weighted(const float* x, const float* qw_block, BlockQ3K& y) {
  int8_t L[kQK];
  float scales[kQK / 16];
  float weights[kQK];
  float sw[kQK / 16];
  int8_t Ls[kQK / 16];

  float sumx2 = 0;
  for (int j = 0; j < kQK; ++j) sumx2 += fp_barrier(x[j] * x[j]);
  const float sigma2 = 2 * sumx2 / kQK;
  for (int j = 0; j < kQK / 16; ++j) {
    float* weight = weights + 16 * j;
    if (qw_block) {
      const float* qw = qw_block + 16 * j;
      for (int l = 0; l < 16; ++l) {
        weight[l] = fp_barrier(qw[l] * std::sqrt(sigma2 + fp_barrier(x[16 * j + l] * x[16 * j + l])));
      }
    } else {
      for (int l = 0; l < 16; ++l) weight[l] = fp_barrier(x[16 * j + l] * x[16 * j + l]);
    }
    float sumw = 0;
    for (int l = 0; l < 16; ++l) sumw += weight[l];
    sw[j] = sumw;
  }
  // The 16 sub-block fits are independent: eight at a time, one per vector lane.
  for (int j = 0; j < kQK / 16; j += 8) make_qx_quants_x8(16, 4, x + 16 * j, weights + 16 * j, 16, L + 16 * j, scales + j);
  const float d_block = make_qx_quants(kQK / 16, 32, scales, Ls, 1, sw);
  int ls[kQK / 16];
  for (int j = 0; j < kQK / 16; ++j) ls[j] = Ls[j];
  set_scales_q3k(ls, y.scales);
  y.d = float_to_half(d_block);
  finish_q3k(x, y, L);
}

inline void dequantize_block_q3k(const BlockQ3K& b, float* y) {
  const float d_all = half_to_float(b.d);
  for (int i = 0; i < kQK; ++i) {
    const int half = i / 128, r = i % 128, l = r % 32;
    const float dl = d_all * get_scale_q3k(b.scales, i / 16);
    const int lo = (b.qs[32 * half + l] >> (2 * (r / 32))) & 3;
    const int hi = (b.hmask[l] >> (i / 32)) & 1;
    y[i] = dl * (lo - (hi ? 0 : 4));
  }
}

}  // namespace qkit::quant

namespace qkit {

template <>
struct Codec<Format::Q3_K> : SuperBlockCodec<Format::Q3_K, BlockQ3K, Codec<Format::Q3_K>> {
  static void quantize_block(const float* x, const float* qw, Block& y) {
    if (qw) {
      quant::quantize_block_q3k_weighted(x, qw, y);
    } else {
      quant::quantize_block_q3k(x, y);
    }
  }
  static void dequantize_block(const Block& b, float* y) { quant::dequantize_block_q3k(b, y); }
};

}  // namespace qkit

QKIT_SCALAR_REF_END
