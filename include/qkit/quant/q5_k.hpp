// qkit/quant/q5_k.hpp — Q5_K (5.5 bits per weight): Q4_K's layout of scales
// with 5-bit quants (low nibble in qs, high bit in qh). Scalar reference
// quantizers and dequantizer, bit-identical to ggml's quantize_row_q5_K_ref /
// quantize_row_q5_K_impl / dequantize_row_q5_K.
#pragma once

#include <cstdint>
#include <cstring>

#include "qkit/quant/k_blocks.hpp"
#include "qkit/quant/k_search.hpp"
#include "qkit/quant/q4_k.hpp"

// GCC: no fused multiply-add anywhere below (see codec.hpp); clang contracts
// only within an expression, which fp_barrier() prevents.
QKIT_SCALAR_REF_BEGIN

namespace qkit::quant {

// Low nibbles as Q4_K's; the high bit of value 64g + l is bit 2g of qh[l],
// of value 64g + 32 + l bit 2g+1.
inline void pack_q5k_quants(const uint8_t* L, uint8_t* qs, uint8_t* qh) {
  std::memset(qh, 0, kQK / 8);
  for (int g = 0; g < kQK / 64; ++g) {
    for (int l = 0; l < 32; ++l) {
      int l1 = L[64 * g + l];
      int l2 = L[64 * g + l + 32];
      if (l1 > 15) {
        l1 -= 16;
        qh[l] = static_cast<uint8_t>(qh[l] | (1u << (2 * g)));
      }
      if (l2 > 15) {
        l2 -= 16;
        qh[l] = static_cast<uint8_t>(qh[l] | (2u << (2 * g)));
      }
      qs[32 * g + l] = static_cast<uint8_t>(l1 | (l2 << 4));
    }
  }
}

inline void quantize_block_q5k(const float* x, const float* qw_block, bool weighted, BlockQ5K& y) {
  uint8_t L[kQK];
  if (weighted) {
    fit_scales_k4_weighted(x, qw_block, y, L, 31, true);
  } else {
    fit_scales_k4(x, y, L, 31, -0.5f, 0.1f, 15);
  }
  requantize_k4(x, y, L, 31);
  pack_q5k_quants(L, y.qs, y.qh);
}

inline void dequantize_block_q5k(const BlockQ5K& b, float* y) {
  const float d = half_to_float(b.d);
  const float min = half_to_float(b.dmin);
  for (int i = 0; i < kQK; ++i) {
    uint8_t sc, m;
    get_scale_min_k4(i / 32, b.scales, &sc, &m);
    const float dl = d * sc;
    const float ml = fp_barrier(min * m);
    const int l = i % 32;
    const uint8_t byte = b.qs[32 * (i / 64) + l];
    const int lo = (i / 32) % 2 ? byte >> 4 : byte & 0xF;
    const int hi = (b.qh[l] >> (i / 32)) & 1 ? 16 : 0;
    y[i] = fp_barrier(dl * (lo + hi)) - ml;
  }
}

}  // namespace qkit::quant

namespace qkit {

template <>
struct Codec<Format::Q5_K> : SuperBlockCodec<Format::Q5_K, BlockQ5K, Codec<Format::Q5_K>> {
  static void quantize_block(const float* x, const float* qw, Block& y) {
    quant::quantize_block_q5k(x, qw, qw != nullptr, y);
  }
  static void dequantize_block(const Block& b, float* y) { quant::dequantize_block_q5k(b, y); }
};

}  // namespace qkit

QKIT_SCALAR_REF_END
