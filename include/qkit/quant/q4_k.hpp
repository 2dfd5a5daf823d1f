// qkit/quant/q4_k.hpp — Q4_K (4.5 bits per weight): super-blocks of 256
// values in 8 sub-blocks of 32; value = d*scale_j*q - dmin*min_j with
// q in [0, 15] and 6-bit scale_j, min_j. Scalar reference quantizers and
// dequantizer, bit-identical to ggml's quantize_row_q4_K_ref /
// quantize_row_q4_K_impl / dequantize_row_q4_K.
//
// The scale search here is shared with Q5_K (same scales, 5-bit quants).
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

// Plain path: each sub-block fitted by make_qkx2_quants with weights
// rms(sub-block) + |x|; the 8 scales and 8 mins scaled to 6 bits by their maxima.
// Fills d, dmin, scales of y and the provisional quants L.
template <typename Block>
inline void fit_scales_k4(const float* x, Block& y, uint8_t* L, int nmax, float rmin, float rdelta, int nstep) {
  float weights[kQK];
  float mins[kQK / 32];
  float scales[kQK / 32];
  for (int j = 0; j < kQK / 32; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += fp_barrier(x[32 * j + l] * x[32 * j + l]);
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[32 * j + l] = av_x + std::fabs(x[32 * j + l]);
  }
  // The 8 sub-block fits are independent: all at once, one per vector lane.
  make_qkx2_quants_x8(32, nmax, x, weights, 32, L, scales, mins, rmin, rdelta, nstep, false);
  float max_scale = 0;  // scales are >= 0 since the min is subtracted
  float max_min = 0;
  for (int j = 0; j < kQK / 32; ++j) {
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  uint8_t ls[kQK / 32], lm[kQK / 32];
  for (int j = 0; j < kQK / 32; ++j) {
    // As the reference: narrowed to 8 bits, then limited to 63.
    const auto s = static_cast<uint8_t>(nearest_int_mul(inv_scale, scales[j]));
    const auto m = static_cast<uint8_t>(nearest_int_mul(inv_min, mins[j]));
    ls[j] = s < 63 ? s : 63;
    lm[j] = m < 63 ? m : 63;
  }
  set_scales_mins_k4(ls, lm, y.scales);
  y.d = float_to_half(max_scale / 63.f);
  y.dmin = float_to_half(max_min / 63.f);
}

// Importance-weighted path: weights qw[i]*sqrt(2*mean(x^2) + x[i]^2) (without
// qw: sqrt(2*mean(x^2)) + |x|), sub-blocks fitted by make_qkx3_quants, the
// scales and mins themselves by make_qp_quants weighted by sub-block weight.
// clamp63 reproduces Q5_K's extra MIN(63, .) on the fitted levels.
template <typename Block>
inline void fit_scales_k4_weighted(const float* x, const float* qw_block, Block& y, uint8_t* L, int nmax,
                                   bool clamp63) {
  uint8_t Ls[kQK / 32];
  uint8_t Lm[kQK / 32];
  float weights[kQK];
  float sw[kQK / 32];
  float mins[kQK / 32];
  float scales[kQK / 32];

  float sum_x2 = 0;
  for (int l = 0; l < kQK; ++l) sum_x2 += fp_barrier(x[l] * x[l]);
  const float sigma2 = 2 * sum_x2 / kQK;
  const float av_x = std::sqrt(sigma2);
  for (int j = 0; j < kQK / 32; ++j) {
    float* wj = weights + 32 * j;
    if (qw_block) {
      const float* qw = qw_block + 32 * j;
      for (int l = 0; l < 32; ++l) {
        wj[l] = fp_barrier(qw[l] * std::sqrt(sigma2 + fp_barrier(x[32 * j + l] * x[32 * j + l])));
      }
    } else {
      for (int l = 0; l < 32; ++l) wj[l] = av_x + std::fabs(x[32 * j + l]);
    }
    float sumw = 0;
    for (int l = 0; l < 32; ++l) sumw += wj[l];
    sw[j] = sumw;
  }
  // The 8 sub-block fits are independent: all at once, one per vector lane.
  make_qkx3_quants_x8(32, nmax, x, weights, 32, L, scales, mins, -0.9f, 0.05f, 36, false);
  const float d_block = make_qp_quants(kQK / 32, 63, scales, Ls, sw);
  const float m_block = make_qp_quants(kQK / 32, 63, mins, Lm, sw);
  if (clamp63) {
    for (int j = 0; j < kQK / 32; ++j) {
      Ls[j] = Ls[j] < 63 ? Ls[j] : 63;
      Lm[j] = Lm[j] < 63 ? Lm[j] : 63;
    }
  }
  set_scales_mins_k4(Ls, Lm, y.scales);
  y.d = float_to_half(d_block);
  y.dmin = float_to_half(m_block);
}

// Final quants in [0, nmax] for the stored (f16-rounded) scales and mins.
template <typename Block>
inline void requantize_k4(const float* x, const Block& y, uint8_t* L, int nmax) {
  const float dall = half_to_float(y.d);
  const float dmin = half_to_float(y.dmin);
  for (int j = 0; j < kQK / 32; ++j) {
    uint8_t sc, m;
    get_scale_min_k4(j, y.scales, &sc, &m);
    const float d = dall * sc;
    if (!d) continue;
    const float dm = fp_barrier(dmin * m);
    for (int ii = 0; ii < 32; ++ii) {
      const int l = nearest_int((x[32 * j + ii] + dm) / d);
      L[32 * j + ii] = static_cast<uint8_t>(l < 0 ? 0 : (l > nmax ? nmax : l));
    }
  }
}

// Nibbles: byte l of each 32-byte group g holds value 64g + l (low) and 64g + 32 + l (high).
inline void pack_q4k_quants(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < kQK; j += 64) {
    for (int l = 0; l < 32; ++l) qs[j / 2 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
  }
}

inline void quantize_block_q4k(const float* x, const float* qw_block, bool weighted, BlockQ4K& y) {
  uint8_t L[kQK];
  if (weighted) {
    fit_scales_k4_weighted(x, qw_block, y, L, 15, false);
  } else {
    fit_scales_k4(x, y, L, 15, -1.f, 0.1f, 20);
  }
  requantize_k4(x, y, L, 15);
  pack_q4k_quants(L, y.qs);
}

inline void dequantize_block_q4k(const BlockQ4K& b, float* y) {
  const float d = half_to_float(b.d);
  const float min = half_to_float(b.dmin);
  for (int i = 0; i < kQK; ++i) {
    uint8_t sc, m;
    get_scale_min_k4(i / 32, b.scales, &sc, &m);
    const float dl = d * sc;
    const float ml = fp_barrier(min * m);
    const uint8_t byte = b.qs[32 * (i / 64) + i % 32];
    const int q = (i / 32) % 2 ? byte >> 4 : byte & 0xF;
    y[i] = fp_barrier(dl * q) - ml;
  }
}

}  // namespace qkit::quant

namespace qkit {

template <>
struct Codec<Format::Q4_K> : SuperBlockCodec<Format::Q4_K, BlockQ4K, Codec<Format::Q4_K>> {
  static void quantize_block(const float* x, const float* qw, Block& y) {
    quant::quantize_block_q4k(x, qw, qw != nullptr, y);
  }
  static void dequantize_block(const Block& b, float* y) { quant::dequantize_block_q4k(b, y); }
};

}  // namespace qkit

QKIT_SCALAR_REF_END
