// qkit/quant/iq4.hpp — the non-linear 4-bit formats IQ4_NL (blocks of 32,
// one f16 scale) and IQ4_XS (super-blocks of 256: an f16 scale and eight
// 6-bit sub-block scales), both indexing the 16-entry table kIQ4Values.
// Scalar reference codecs bit-identical to ggml's quantize_iq4_nl /
// quantize_iq4_xs (the quantize_row_iq4_nl_impl search with ntry = 7, which
// is what llama-quantize runs with and without an importance matrix).
//
// NaN/Inf input: qkit::Error naming the element (see codec.hpp).
// Assumes a little-endian host for IQ4_XS's 16-bit scales_h field.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "qkit/quant/codec.hpp"
#include "qkit/quant/lanes.hpp"
#include "qkit/quant/search.hpp"

QKIT_SCALAR_REF_BEGIN
namespace qkit {

// The non-linear levels (sorted, so best_index_int8 can bisect them).
inline constexpr int8_t kIQ4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                          1,    13,   25,  38,  53,  69,  89,  113};

inline constexpr int kQKIQ4NL = 32;

// x ~ d * kIQ4Values[q]; value j in the low nibble of qs[j], j + 16 in the high.
struct BlockIQ4_NL {
  f16 d;
  uint8_t qs[kQKIQ4NL / 2];
};
static_assert(sizeof(BlockIQ4_NL) == 18, "iq4_nl block");

// 8 sub-blocks of 32: x ~ d * (ls - 32) * kIQ4Values[q], ls a 6-bit scale
// (low 4 bits in scales_l nibbles, high 2 bits in scales_h), quants packed
// per sub-block as IQ4_NL.
struct BlockIQ4_XS {
  f16 d;
  uint16_t scales_h;
  uint8_t scales_l[256 / 64];
  uint8_t qs[256 / 2];
};
static_assert(sizeof(BlockIQ4_XS) == 136, "iq4_xs block");

namespace quant {

// ggml's quantize_row_iq4_nl_impl with ntry = 7 (what quantize_iq4_nl and
// quantize_iq4_xs pass): the scale search tries 2*7+1 inverse scales around
// -max/values[0] per sub-block of 32, and the final quants are recomputed
// from the chosen scale.
inline constexpr int kIQ4Ntry = 7;
inline constexpr int kIQ4Sub = 32;  // values per sub-block (one scale search)

// Per-value weights of one super-block of sbs values: qw[j]*sqrt(sigma2 + x^2)
// with sigma2 = 2*mean(x^2) over the super-block, or x^2 without qw.
inline void iq4_weights(int sbs, const float* x, const float* qw, float* weight) {
  QKIT_NO_CONTRACT
  float sigma2 = 0;
  for (int j = 0; j < sbs; ++j) sigma2 += product(x[j], x[j]);
  sigma2 *= 2.f / static_cast<float>(sbs);
  for (int j = 0; j < sbs; ++j) weight[j] = qw ? qw[j] * std::sqrt(sigma2 + product(x[j], x[j])) : product(x[j], x[j]);
}

// The scale search of one sub-block of 32; returns d (0 when every |x| is
// below kGroupMaxEps).
inline float iq4_sub_scale(const float* xb, const float* weight) {
  QKIT_NO_CONTRACT
  const int8_t* values = kIQ4Values;
  float amax = 0, max = 0;
  for (int j = 0; j < kIQ4Sub; ++j) {
    const float ax = std::fabs(xb[j]);
    if (ax > amax) {
      amax = ax;
      max = xb[j];
    }
  }
  if (amax < kGroupMaxEps) return 0.f;
  float d = -max / values[0];
  float id = 1 / d;
  float sumqx = 0, sumq2 = 0;
  for (int j = 0; j < kIQ4Sub; ++j) {
    const float q = values[best_index_int8(16, values, id * xb[j])];
    const float w = weight[j];
    sumqx += product(w * q, xb[j]);
    sumq2 += product(w * q, q);
  }
  d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
  float best = d * sumqx;
  for (int itry = -kIQ4Ntry; itry <= kIQ4Ntry; ++itry) {
    id = static_cast<float>(itry + values[0]) / max;
    sumqx = sumq2 = 0;
    for (int j = 0; j < kIQ4Sub; ++j) {
      const float q = values[best_index_int8(16, values, id * xb[j])];
      const float w = weight[j];
      sumqx += product(w * q, xb[j]);
      sumq2 += product(w * q, q);
    }
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

// The level best_index_int8 picks for 2x, by floor(2x) in [-300, 300]: the
// midpoints val[j-1] + val[j] it compares 2x with are integers in
// [-231, 202], so 2x >= mid exactly when floor(2x) >= mid, and clamping 2x
// to [-300, 300] changes no comparison.
struct IQ4LevelTable {
  int32_t level[601];
  uint8_t index[601];
};
constexpr IQ4LevelTable make_iq4_level_table() {
  IQ4LevelTable t{};
  for (int k = -300; k <= 300; ++k) {
    int idx = 0;
    for (int j = 1; j < 16; ++j) idx += k >= kIQ4Values[j - 1] + kIQ4Values[j] ? 1 : 0;
    t.level[k + 300] = kIQ4Values[idx];
    t.index[k + 300] = static_cast<uint8_t>(idx);
  }
  return t;
}
inline constexpr IQ4LevelTable kIQ4LevelByFloor2x = make_iq4_level_table();

// iq4_sub_scale of eight sub-blocks at once (x and weight of sub-block k at
// offset 32k), one per vector lane, each lane in the scalar order (see
// lanes.hpp). best_index_int8's bisection becomes a lookup of the level by
// floor(2x) (kIQ4LevelByFloor2x; NaN, only in all-zero groups whose result
// is discarded, clamps to the lowest level as the bisection's index 0).
inline void iq4_sub_scale_x8(const float* x, const float* weight, float* d_out) {
  QKIT_NO_CONTRACT
#if QKIT_QUANT_LANES
  using namespace lanes;
  constexpr int G = 2, n = kIQ4Sub;
  const int8_t* values = kIQ4Values;
  F4 xv[n][G], wv[n][G];
  for (int i = 0; i < n; ++i) {
    for (int g = 0; g < G; ++g) {
      const float* xg = x + 4 * g * n + i;
      const float* wg = weight + 4 * g * n + i;
      xv[i][g] = F4{xg[0], xg[n], xg[2 * n], xg[3 * n]};
      wv[i][g] = F4{wg[0], wg[n], wg[2 * n], wg[3 * n]};
    }
  }
  const int32_t* level = kIQ4LevelByFloor2x.level + 300;
  const F4 lo = splat(-300.f), hi = splat(300.f);
  const F4 zero = splat(0.f);
  auto sums = [&](const F4* id, F4* sumqx, F4* sumq2) {
    for (int g = 0; g < G; ++g) sumqx[g] = sumq2[g] = zero;
    for (int i = 0; i < n; ++i) {
      for (int g = 0; g < G; ++g) {
        F4 x2 = barrier(id[g] * xv[i][g]) * splat(2.f);
        x2 = select(x2 > lo, x2, lo);  // NaN -> lo
        x2 = select(x2 < hi, x2, hi);
        I4 t = __builtin_convertvector(x2, I4);  // truncation; in range
        t += to_float(t) > x2;                   // floor: -1 where truncation rounded up
        const F4 fq = to_float(I4{level[t[0]], level[t[1]], level[t[2]], level[t[3]]});
        const F4 wq = wv[i][g] * fq;
        sumqx[g] += barrier(wq * xv[i][g]);
        sumq2[g] += barrier(wq * fq);
      }
    }
  };
  F4 max[G], amax[G], d[G], best[G], id[G], sumqx[G], sumq2[G];
  I4 flat[G];
  for (int g = 0; g < G; ++g) {
    amax[g] = max[g] = zero;
    for (int i = 0; i < n; ++i) {
      const F4 ax = abs(xv[i][g]);
      const I4 bigger = ax > amax[g];
      amax[g] = select(bigger, ax, amax[g]);
      max[g] = select(bigger, xv[i][g], max[g]);
    }
    flat[g] = amax[g] < splat(kGroupMaxEps);
    id[g] = splat(1.f) / (-max[g] / splat(static_cast<float>(values[0])));
  }
  sums(id, sumqx, sumq2);
  for (int g = 0; g < G; ++g) {
    d[g] = select(sumq2[g] > zero, sumqx[g] / sumq2[g], zero);
    best[g] = d[g] * sumqx[g];
  }
  for (int itry = -kIQ4Ntry; itry <= kIQ4Ntry; ++itry) {
    for (int g = 0; g < G; ++g) id[g] = splat(static_cast<float>(itry + values[0])) / max[g];
    sums(id, sumqx, sumq2);
    for (int g = 0; g < G; ++g) {
      const I4 better = (sumq2[g] > zero) & (sumqx[g] * sumqx[g] > best[g] * sumq2[g]);
      const F4 new_d = sumqx[g] / sumq2[g];
      d[g] = select(better, new_d, d[g]);
      best[g] = select(better, new_d * sumqx[g], best[g]);
    }
  }
  for (int k = 0; k < 4 * G; ++k) d_out[k] = flat[k / 4][k % 4] ? 0.f : d[k / 4][k % 4];
#else
  for (int k = 0; k < 8; ++k) d_out[k] = iq4_sub_scale(x + k * kIQ4Sub, weight + k * kIQ4Sub);
#endif
}

// Packs 32 level indices per sub-block as IQ4_NL: j low nibble, j + 16 high.
inline void pack_iq4(int sbs, const uint8_t* L, uint8_t* q4) {
  for (int i = 0; i < sbs / 32; ++i)
    for (int j = 0; j < 16; ++j) q4[16 * i + j] = static_cast<uint8_t>(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
}

// L[j] = best_index_int8(16, kIQ4Values, id * x[j]) for j < n (n a multiple
// of 4), four values per vector through kIQ4LevelByFloor2x.
inline void iq4_indices(const float* x, float id, int n, uint8_t* L) {
  QKIT_NO_CONTRACT
#if QKIT_QUANT_LANES
  using namespace lanes;
  const uint8_t* index = kIQ4LevelByFloor2x.index + 300;
  const F4 lo = splat(-300.f), hi = splat(300.f), vid = splat(id);
  for (int j = 0; j < n; j += 4) {
    F4 x2 = barrier(vid * F4{x[j], x[j + 1], x[j + 2], x[j + 3]}) * splat(2.f);
    x2 = select(x2 > lo, x2, lo);  // NaN -> lo, index 0 as the bisection gives
    x2 = select(x2 < hi, x2, hi);
    I4 t = __builtin_convertvector(x2, I4);
    t += to_float(t) > x2;
    for (int k = 0; k < 4; ++k) L[j + k] = index[t[k]];
  }
#else
  for (int j = 0; j < n; ++j) L[j] = static_cast<uint8_t>(best_index_int8(16, kIQ4Values, id * x[j]));
#endif
}

// One IQ4_NL block from its searched scale d.
inline void finish_iq4_nl(const float* x, float d, f16* dh, uint8_t* q4) {
  QKIT_NO_CONTRACT
  uint8_t L[kIQ4Sub];
  *dh = float_to_half(d);
  const float id = d ? 1 / d : 0;
  iq4_indices(x, id, kIQ4Sub, L);
  pack_iq4(kIQ4Sub, L, q4);
}

// One IQ4_XS super-block of 256: eight sub-block scales, stored as 6-bit
// levels of an f16 super-scale, and the quants for the stored levels.
inline void quantize_iq4_xs_block(const float* x, const float* qw, BlockIQ4_XS& y) {
  QKIT_NO_CONTRACT
  constexpr int sbs = 256, bs = kIQ4Sub;
  float weight[sbs];
  float scales[sbs / bs];
  uint8_t L[sbs];
  iq4_weights(sbs, x, qw, weight);
  iq4_sub_scale_x8(x, weight, scales);
  float max_scale = 0, amax_scale = 0;
  for (int ib = 0; ib < sbs / bs; ++ib) {
    const float abs_d = std::fabs(scales[ib]);
    if (abs_d > amax_scale) {
      amax_scale = abs_d;
      max_scale = scales[ib];
    }
  }
  y.scales_h = 0;
  const float d = -max_scale / 32;
  y.d = float_to_half(d);
  const float id = d ? 1 / d : 0.f;
  for (int ib = 0; ib < sbs / bs; ++ib) {
    int l = nearest_int_product(id, scales[ib]);
    l = l < -32 ? -32 : (l > 31 ? 31 : l);
    const float dl = d * static_cast<float>(l);
    const float idl = dl ? 1 / dl : 0.f;
    iq4_indices(x + ib * bs, idl, bs, L + ib * bs);
    l += 32;
    const uint8_t l_l = static_cast<uint8_t>(l & 0xf);
    const uint8_t l_h = static_cast<uint8_t>(l >> 4);
    if (ib % 2 == 0) {
      y.scales_l[ib / 2] = l_l;
    } else {
      y.scales_l[ib / 2] = static_cast<uint8_t>(y.scales_l[ib / 2] | (l_l << 4));
    }
    y.scales_h = static_cast<uint16_t>(y.scales_h | (l_h << (2 * (ib % 8))));
  }
  pack_iq4(sbs, L, y.qs);
}

// Decodes 32 values of one sub-block with scale d.
inline void dequantize_iq4_sub(const uint8_t* qs, float d, float* y) {
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>(kIQ4Values[qs[j] & 0xf]);
    y[j + 16] = d * static_cast<float>(kIQ4Values[qs[j] >> 4]);
  }
}

// The 6-bit scale of sub-block ib of an IQ4_XS block.
inline int iq4_xs_scale(const BlockIQ4_XS& b, int ib) {
  return ((b.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xf) | (((b.scales_h >> (2 * ib)) & 3) << 4);
}

}  // namespace quant

template <>
struct Codec<Format::IQ4_NL> {
  using Block = BlockIQ4_NL;
  static void quantize_row(const float* x, void* dst, int64_t n, const float* imatrix) {
    quant::require_finite("iq4_nl", x, n);
    auto* y = static_cast<Block*>(dst);
    const int64_t nb = n / kQKIQ4NL;
    int64_t i = 0;
    // Blocks are independent: eight searched at once, one per vector lane.
    for (; i + 8 <= nb; i += 8) {
      float weight[8 * kQKIQ4NL];
      float d[8];
      for (int b = 0; b < 8; ++b) {
        const int64_t off = (i + b) * kQKIQ4NL;
        quant::iq4_weights(kQKIQ4NL, x + off, imatrix ? imatrix + off : nullptr, weight + b * kQKIQ4NL);
      }
      quant::iq4_sub_scale_x8(x + i * kQKIQ4NL, weight, d);
      for (int b = 0; b < 8; ++b) quant::finish_iq4_nl(x + (i + b) * kQKIQ4NL, d[b], &y[i + b].d, y[i + b].qs);
    }
    for (; i < nb; ++i) {
      float weight[kQKIQ4NL];
      const int64_t off = i * kQKIQ4NL;
      quant::iq4_weights(kQKIQ4NL, x + off, imatrix ? imatrix + off : nullptr, weight);
      quant::finish_iq4_nl(x + off, quant::iq4_sub_scale(x + off, weight), &y[i].d, y[i].qs);
    }
  }
  static void dequantize_row(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const Block*>(src);
    for (int64_t i = 0; i < n / kQKIQ4NL; ++i) quant::dequantize_iq4_sub(b[i].qs, quant::half_to_float(b[i].d), y + i * kQKIQ4NL);
  }
  static void validate_blocks(const void* src, size_t n_blocks) {
    const auto* b = static_cast<const Block*>(src);
    for (size_t i = 0; i < n_blocks; ++i) quant::check_scale("iq4_nl", i, "d", b[i].d);
  }
};

template <>
struct Codec<Format::IQ4_XS> {
  using Block = BlockIQ4_XS;
  static constexpr int kSize = 256;
  static void quantize_row(const float* x, void* dst, int64_t n, const float* imatrix) {
    quant::require_finite("iq4_xs", x, n);
    auto* y = static_cast<Block*>(dst);
    for (int64_t i = 0; i < n / kSize; ++i) {
      quant::quantize_iq4_xs_block(x + i * kSize, imatrix ? imatrix + i * kSize : nullptr, y[i]);
    }
  }
  static void dequantize_row(const void* src, float* y, int64_t n) {
    QKIT_NO_CONTRACT
    const auto* b = static_cast<const Block*>(src);
    for (int64_t i = 0; i < n / kSize; ++i) {
      const float d = quant::half_to_float(b[i].d);
      for (int ib = 0; ib < kSize / 32; ++ib) {
        const float dl = d * static_cast<float>(quant::iq4_xs_scale(b[i], ib) - 32);
        quant::dequantize_iq4_sub(b[i].qs + 16 * ib, dl, y + i * kSize + 32 * ib);
      }
    }
  }
  static void validate_blocks(const void* src, size_t n_blocks) {
    const auto* b = static_cast<const Block*>(src);
    for (size_t i = 0; i < n_blocks; ++i) quant::check_scale("iq4_xs", i, "d", b[i].d);
  }
};

}  // namespace qkit
QKIT_SCALAR_REF_END
