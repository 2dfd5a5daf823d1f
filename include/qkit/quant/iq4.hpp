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

inline constexpr int kIQ4Ntry = 7;

// ggml's quantize_row_iq4_nl_impl for 16 levels: quantizes one super-block
// of `sbs` values (32 for IQ4_NL, 256 for IQ4_XS) in sub-blocks of 32. For
// IQ4_XS, scales_h/scales_l receive the 6-bit sub-block scales.
inline void quantize_iq4_superblock(int sbs, const float* x, f16* dh, uint8_t* q4, uint16_t* scales_h,
                                    uint8_t* scales_l, const float* qw, int ntry) {
  QKIT_NO_CONTRACT
  constexpr int bs = 32;
  const int8_t* values = kIQ4Values;
  float scales[256 / bs] = {};
  float weight[bs];
  uint8_t L[256];

  float sigma2 = 0;
  for (int j = 0; j < sbs; ++j) sigma2 += product(x[j], x[j]);
  sigma2 *= 2.f / static_cast<float>(sbs);

  std::memset(q4, 0, static_cast<size_t>(sbs / 2));
  *dh = float_to_half(0.f);

  float max_scale = 0, amax_scale = 0;
  for (int ib = 0; ib < sbs / bs; ++ib) {
    const float* xb = x + ib * bs;
    uint8_t* Lb = L + ib * bs;
    if (qw) {
      for (int j = 0; j < bs; ++j) weight[j] = qw[ib * bs + j] * std::sqrt(sigma2 + product(xb[j], xb[j]));
    } else {
      for (int j = 0; j < bs; ++j) weight[j] = product(xb[j], xb[j]);
    }
    float amax = 0, max = 0;
    for (int j = 0; j < bs; ++j) {
      const float ax = std::fabs(xb[j]);
      if (ax > amax) {
        amax = ax;
        max = xb[j];
      }
    }
    if (amax < kGroupMaxEps) {
      scales[ib] = 0;
      std::memset(Lb, 0, bs);
      continue;
    }
    float d = ntry > 0 ? -max / values[0] : max / values[0];
    float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < bs; ++j) {
      const int l = best_index_int8(16, values, id * xb[j]);
      Lb[j] = static_cast<uint8_t>(l);
      const float q = values[l];
      const float w = weight[j];
      sumqx += product(w * q, xb[j]);
      sumq2 += product(w * q, q);
    }
    d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
    float best = d * sumqx;
    for (int itry = -ntry; itry <= ntry; ++itry) {
      id = static_cast<float>(itry + values[0]) / max;
      sumqx = sumq2 = 0;
      for (int j = 0; j < bs; ++j) {
        const int l = best_index_int8(16, values, id * xb[j]);
        const float q = values[l];
        const float w = weight[j];
        sumqx += product(w * q, xb[j]);
        sumq2 += product(w * q, q);
      }
      if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
        d = sumqx / sumq2;
        best = d * sumqx;
      }
    }
    scales[ib] = d;
    const float abs_d = std::fabs(d);
    if (abs_d > amax_scale) {
      amax_scale = abs_d;
      max_scale = d;
    }
  }

  if (sbs / bs > 1) {
    *scales_h = 0;
    const float d = -max_scale / 32;
    *dh = float_to_half(d);
    const float id = d ? 1 / d : 0.f;
    for (int ib = 0; ib < sbs / bs; ++ib) {
      int l = nearest_int_product(id, scales[ib]);
      l = l < -32 ? -32 : (l > 31 ? 31 : l);
      const float dl = d * static_cast<float>(l);
      const float idl = dl ? 1 / dl : 0.f;
      for (int j = 0; j < bs; ++j) L[ib * bs + j] = static_cast<uint8_t>(best_index_int8(16, values, idl * x[ib * bs + j]));
      l += 32;
      const uint8_t l_l = static_cast<uint8_t>(l & 0xf);
      const uint8_t l_h = static_cast<uint8_t>(l >> 4);
      if (ib % 2 == 0) {
        scales_l[ib / 2] = l_l;
      } else {
        scales_l[ib / 2] = static_cast<uint8_t>(scales_l[ib / 2] | (l_l << 4));
      }
      *scales_h = static_cast<uint16_t>(*scales_h | (l_h << (2 * (ib % 8))));
    }
  } else {
    *dh = float_to_half(scales[0]);
    if (ntry > 0) {
      const float id = scales[0] ? 1 / scales[0] : 0;
      for (int j = 0; j < sbs; ++j) L[j] = static_cast<uint8_t>(best_index_int8(16, values, id * x[j]));
    }
  }

  for (int i = 0; i < sbs / 32; ++i)
    for (int j = 0; j < 16; ++j) q4[16 * i + j] = static_cast<uint8_t>(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
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
    for (int64_t i = 0; i < n / kQKIQ4NL; ++i) {
      uint16_t unused_h = 0;
      quant::quantize_iq4_superblock(kQKIQ4NL, x + i * kQKIQ4NL, &y[i].d, y[i].qs, &unused_h, nullptr,
                                     imatrix ? imatrix + i * kQKIQ4NL : nullptr, quant::kIQ4Ntry);
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
      quant::quantize_iq4_superblock(kSize, x + i * kSize, &y[i].d, y[i].qs, &y[i].scales_h, y[i].scales_l,
                                     imatrix ? imatrix + i * kSize : nullptr, quant::kIQ4Ntry);
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
