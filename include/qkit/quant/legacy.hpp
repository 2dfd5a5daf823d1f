// qkit/quant/legacy.hpp — the 32-value block formats Q4_0, Q4_1, Q5_0, Q5_1
// (this file) and Q8_0, Q8_1 (quant/q8.hpp, included here): block structs
// laid out byte for byte as ggml / GGUF store them, and scalar reference
// codecs bit-identical to ggml's, with and without an importance matrix.
//
// Without an imatrix each format uses ggml's quantize_row_*_ref (round from
// the block's extreme value); with one, ggml's *_impl search: per-column
// weights w = imatrix[j] * sqrt(sigma2 + x[j]^2), sigma2 = mean of x^2 over the
// whole row, then make_qx_quants (symmetric formats) or make_qkx3_quants
// (formats with a min). So n passed to quantize_row is the row length.
//
// NaN/Inf input: qkit::Error naming the element (see codec.hpp).
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "qkit/quant/codec.hpp"
#include "qkit/quant/search.hpp"
#include "qkit/quant/search_lanes.hpp"

QKIT_SCALAR_REF_BEGIN
namespace qkit {

inline constexpr int kQK4 = 32;  // values per block of every format here

// x ~ d * (q - 8), q in [0, 15]; value j in the low nibble of qs[j], value
// j + 16 in the high nibble of qs[j].
struct BlockQ4_0 {
  f16 d;
  uint8_t qs[kQK4 / 2];
};
static_assert(sizeof(BlockQ4_0) == 18, "q4_0 block");

// x ~ d * q + m, q in [0, 15].
struct BlockQ4_1 {
  f16 d;
  f16 m;
  uint8_t qs[kQK4 / 2];
};
static_assert(sizeof(BlockQ4_1) == 20, "q4_1 block");

// x ~ d * (q - 16), q in [0, 31]: low 4 bits as in Q4_0, bit 4 of value j in
// bit j of the little-endian 32-bit qh.
struct BlockQ5_0 {
  f16 d;
  uint8_t qh[4];
  uint8_t qs[kQK4 / 2];
};
static_assert(sizeof(BlockQ5_0) == 22, "q5_0 block");

// x ~ d * q + m, q in [0, 31], packed as Q5_0.
struct BlockQ5_1 {
  f16 d;
  f16 m;
  uint8_t qh[4];
  uint8_t qs[kQK4 / 2];
};
static_assert(sizeof(BlockQ5_1) == 24, "q5_1 block");

namespace quant {

// Signed value of largest magnitude (the first one on ties), as the reference scans.
inline float signed_absmax(const float* x, int n) {
  float amax = 0, max = 0;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

inline void min_max(const float* x, int n, float& min, float& max) {
  min = FLT_MAX;
  max = -FLT_MAX;
  for (int j = 0; j < n; ++j) {
    if (x[j] < min) min = x[j];
    if (x[j] > max) max = x[j];
  }
}

// sigma2 of the importance paths: mean of x^2 over the whole row.
inline float row_sigma2(const float* x, int64_t n) {
  QKIT_NO_CONTRACT
  float sum_x2 = 0;
  for (int64_t j = 0; j < n; ++j) sum_x2 += product(x[j], x[j]);
  return sum_x2 / static_cast<float>(n);
}

// Per-column weights of one block for the importance paths.
inline void importance_weights(const float* xb, const float* qw, float sigma2, float* weight) {
  QKIT_NO_CONTRACT
  for (int j = 0; j < kQK4; ++j) weight[j] = qw[j] * std::sqrt(sigma2 + product(xb[j], xb[j]));
}

// Packs 32 five-bit values: low nibbles into qs, bit 4 into qh.
inline void pack_q5(const uint8_t* L, uint8_t* qs, uint8_t* qh) {
  uint32_t h = 0;
  for (int j = 0; j < kQK4 / 2; ++j) {
    qs[j] = static_cast<uint8_t>((L[j] & 0x0f) | ((L[j + 16] & 0x0f) << 4));
    h |= static_cast<uint32_t>((L[j] >> 4) & 1) << j;
    h |= static_cast<uint32_t>((L[j + 16] >> 4) & 1) << (j + 16);
  }
  const uint8_t le[4] = {static_cast<uint8_t>(h), static_cast<uint8_t>(h >> 8), static_cast<uint8_t>(h >> 16),
                         static_cast<uint8_t>(h >> 24)};
  std::memcpy(qh, le, 4);
}

// The 5th bit of value j (0..31) of a Q5 block.
inline int q5_high_bit(const uint8_t* qh, int j) { return (qh[j >> 3] >> (j & 7)) & 1; }

inline void pack_q4(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < kQK4 / 2; ++j) qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
}

// Quantizes one block with a symmetric scale: d = max / -half (the extreme
// value maps to q = 0), q = min(qmax, trunc(x/d + half + 0.5)).
inline float quantize_symmetric(const float* x, int half, int qmax, uint8_t* L) {
  QKIT_NO_CONTRACT
  const float max = signed_absmax(x, kQK4);
  const float d = max / static_cast<float>(-half);
  const float id = d ? 1.0f / d : 0.0f;
  const float bias = static_cast<float>(half) + 0.5f;
  for (int j = 0; j < kQK4; ++j) {
    const int q = static_cast<int>(product(x[j], id) + bias);
    L[j] = static_cast<uint8_t>(q < qmax ? q : qmax);
  }
  return d;
}

// Quantizes one block with scale and min: d = (max - min) / qmax,
// q = min(qmax, trunc((x - min)/d + 0.5)).
inline void quantize_affine(const float* x, int qmax, uint8_t* L, float& d, float& m) {
  QKIT_NO_CONTRACT
  float min, max;
  min_max(x, kQK4, min, max);
  d = (max - min) / static_cast<float>(qmax);
  m = min;
  const float id = d ? 1.0f / d : 0.0f;
  for (int j = 0; j < kQK4; ++j) {
    const int q = static_cast<int>(product(x[j] - min, id) + 0.5f);
    L[j] = static_cast<uint8_t>(q < qmax ? q : qmax);
  }
}

// Importance path of the symmetric formats: L biased by +nmax.
inline float search_symmetric(const float* xb, const float* qw, float sigma2, int nmax, uint8_t* L) {
  float weight[kQK4];
  int8_t Ls[kQK4];
  importance_weights(xb, qw, sigma2, weight);
  const float d = make_qx_quants(kQK4, nmax, xb, Ls, 1, weight);
  for (int j = 0; j < kQK4; ++j) L[j] = static_cast<uint8_t>(Ls[j]);
  return d;
}

// Importance path of the formats with a min; returns d, sets m.
inline float search_affine(const float* xb, const float* qw, float sigma2, int nmax, uint8_t* L, float& m) {
  float weight[kQK4];
  uint8_t Laux[kQK4];
  importance_weights(xb, qw, sigma2, weight);
  float neg_min;
  const float d = make_qkx3_quants(kQK4, nmax, xb, weight, L, &neg_min, Laux, -0.9f, 0.05f, 36, false);
  m = -neg_min;
  return d;
}

// The importance path of a row's nb blocks: eight blocks at a time through
// the lane-parallel searches (bit-identical to search_symmetric /
// search_affine per block), the last nb % 8 one by one. store(i, d, m, L)
// writes block i (m is 0 for the symmetric formats).
template <bool kAffine, typename Store>
inline void search_row(const float* x, const float* qw, int64_t nb, float sigma2, int nmax, Store store) {
  int64_t i = 0;
  for (; i + 8 <= nb; i += 8) {
    const float* xb = x + i * kQK4;
    float weight[8 * kQK4];
    uint8_t L[8 * kQK4];
    float d[8], m[8] = {};
    for (int b = 0; b < 8; ++b) importance_weights(xb + b * kQK4, qw + (i + b) * kQK4, sigma2, weight + b * kQK4);
    if (kAffine) {
      float neg_min[8];
      make_qkx3_quants_x8(kQK4, nmax, xb, weight, kQK4, L, d, neg_min, -0.9f, 0.05f, 36, false);
      for (int b = 0; b < 8; ++b) m[b] = -neg_min[b];
    } else {
      int8_t Ls[8 * kQK4];
      make_qx_quants_x8(kQK4, nmax, xb, weight, kQK4, Ls, d);
      for (int j = 0; j < 8 * kQK4; ++j) L[j] = static_cast<uint8_t>(Ls[j]);
    }
    for (int b = 0; b < 8; ++b) store(i + b, d[b], m[b], L + b * kQK4);
  }
  for (; i < nb; ++i) {
    uint8_t L[kQK4];
    float d, m = 0;
    if (kAffine) {
      d = search_affine(x + i * kQK4, qw + i * kQK4, sigma2, nmax, L, m);
    } else {
      d = search_symmetric(x + i * kQK4, qw + i * kQK4, sigma2, nmax, L);
    }
    store(i, d, m, L);
  }
}

template <typename Block>
void validate_d(const char* fmt, const void* src, size_t n_blocks) {
  const auto* b = static_cast<const Block*>(src);
  for (size_t i = 0; i < n_blocks; ++i) check_scale(fmt, i, "d", b[i].d);
}

template <typename Block>
void validate_dm(const char* fmt, const void* src, size_t n_blocks) {
  const auto* b = static_cast<const Block*>(src);
  for (size_t i = 0; i < n_blocks; ++i) {
    check_scale(fmt, i, "d", b[i].d);
    check_scale(fmt, i, "m", b[i].m);
  }
}

}  // namespace quant

// The four legacy 32-value formats differ in two choices only: 4 or 5 bits
// per quant (the fifth bit of each in qh), and symmetric, x = (q - 2^(b-1)) d
// (Q4_0, Q5_0), or affine, x = q d + m (Q4_1, Q5_1). One codec serves all
// four; the quantizers are the reference's (quantize_symmetric /
// quantize_affine, or the imatrix search of search_row).
template <Format F, typename B, int kBits, bool kAffine>
struct LegacyCodec {
  using Block = B;
  static constexpr int kMaxQuant = (1 << kBits) - 1;
  static constexpr int kZero = 1 << (kBits - 1);  // symmetric formats' offset

  static const char* name() { return format_info(F).name; }
  static void pack(const uint8_t* L, Block& b) {
    if constexpr (kBits == 4) {
      quant::pack_q4(L, b.qs);
    } else {
      quant::pack_q5(L, b.qs, b.qh);
    }
  }
  // Quant j (0..31) of a block: low nibbles hold 0..15, high nibbles 16..31.
  static int quant_at(const Block& b, int j) {
    const int lo = j < 16 ? (b.qs[j] & 0x0f) : (b.qs[j - 16] >> 4);
    if constexpr (kBits == 4) {
      return lo;
    } else {
      return lo | (quant::q5_high_bit(b.qh, j) << 4);
    }
  }

  static void quantize_row(const float* x, void* dst, int64_t n, const float* imatrix) {
    quant::require_finite(name(), x, n);
    auto* y = static_cast<Block*>(dst);
    auto store = [y](int64_t i, float d, float m, const uint8_t* L) {
      y[i].d = quant::float_to_half(d);
      if constexpr (kAffine) y[i].m = quant::float_to_half(m);
      pack(L, y[i]);
    };
    if (imatrix)
      return quant::search_row<kAffine>(x, imatrix, n / kQK4, quant::row_sigma2(x, n), kAffine ? kMaxQuant : kZero,
                                        store);
    for (int64_t i = 0; i < n / kQK4; ++i) {
      uint8_t L[kQK4];
      if constexpr (kAffine) {
        float d, m;
        quant::quantize_affine(x + i * kQK4, kMaxQuant, L, d, m);
        store(i, d, m, L);
      } else {
        store(i, quant::quantize_symmetric(x + i * kQK4, kZero, kMaxQuant, L), 0.f, L);
      }
    }
  }
  static void dequantize_row(const void* src, float* y, int64_t n) {
    QKIT_NO_CONTRACT
    const auto* b = static_cast<const Block*>(src);
    for (int64_t i = 0; i < n / kQK4; ++i, y += kQK4) {
      const float d = quant::half_to_float(b[i].d);
      for (int j = 0; j < kQK4; ++j) {
        if constexpr (kAffine) {
          y[j] = static_cast<float>(quant_at(b[i], j)) * d + quant::half_to_float(b[i].m);
        } else {
          y[j] = static_cast<float>(quant_at(b[i], j) - kZero) * d;
        }
      }
    }
  }
  static void validate_blocks(const void* src, size_t n_blocks) {
    if constexpr (kAffine) {
      quant::validate_dm<Block>(name(), src, n_blocks);
    } else {
      quant::validate_d<Block>(name(), src, n_blocks);
    }
  }
};

template <>
struct Codec<Format::Q4_0> : LegacyCodec<Format::Q4_0, BlockQ4_0, 4, false> {};
template <>
struct Codec<Format::Q4_1> : LegacyCodec<Format::Q4_1, BlockQ4_1, 4, true> {};
template <>
struct Codec<Format::Q5_0> : LegacyCodec<Format::Q5_0, BlockQ5_0, 5, false> {};
template <>
struct Codec<Format::Q5_1> : LegacyCodec<Format::Q5_1, BlockQ5_1, 5, true> {};

}  // namespace qkit
QKIT_SCALAR_REF_END

#include "qkit/quant/q8.hpp"
