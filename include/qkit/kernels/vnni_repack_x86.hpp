// qkit/kernels/vnni_repack_x86.hpp — AVX-512 VNNI kernels for Q8_0 / Q4_0
// weights in the 16-row interleaved layout of repack.hpp, against Q8_0
// activations: gemm_q8_0_q8_0_16x4 / gemm_q4_0_q8_0_16x4 and the N = 1
// column kernels gemv_q8_0_q8_0_16x1 / gemv_q4_0_q8_0_16x1.
//
// One zmm holds 4 consecutive values of 16 rows, so one vpdpbusd with a
// broadcast 4-byte activation word advances 16 rows. The weights are the
// unsigned operand (Q8_0 stored as w + 128, Q4_0 nibbles as they are), so
// each block's int32 accumulator starts at -128 * sum(x) (or -8 * sum(x))
// and ends as the exact integer dot; then it is scaled by d_w * d_x per
// block. A tile of 4 columns keeps 8 weight registers busy for 32
// vpdpbusd per block; the columns of a tile form independent chains.
// The sequence per column does not depend on how many columns share a tile
// beyond the fixed split of N into tiles of 4 and a remainder, which only N
// decides: thread count and row range never change a bit.
#pragma once

#include "qkit/kernels/vnni_x86.hpp"

#if defined(QKIT_HAVE_VNNI_X86)

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace qkit::kernels::vnni {

inline constexpr int kGroupRows = 16;

template <bool kQ4>
QKIT_VNNI_TARGET inline void load_group_block(const uint8_t* gb, __m512i W[8], __m512& dw) {
  dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb)));
  const uint8_t* q = gb + 32;
  if constexpr (kQ4) {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    for (int j = 0; j < 4; ++j) {
      const __m512i p = _mm512_loadu_si512(q + 64 * j);
      W[j] = _mm512_and_si512(p, m4);
      W[j + 4] = _mm512_and_si512(_mm512_srli_epi16(p, 4), m4);
    }
  } else {
    for (int j = 0; j < 8; ++j) W[j] = _mm512_loadu_si512(q + 64 * j);
  }
}

QKIT_VNNI_TARGET inline __m512i bcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// One 16-row group, columns [c, c + NC).
template <bool kQ4, int NC>
QKIT_VNNI_TARGET inline void group_tile(const MatmulArgs& a, int64_t g, int64_t c) {
  constexpr int kOffset = kQ4 ? 8 : 128;
  constexpr size_t kGroupBlock = (kQ4 ? 18 : 34) * kGroupRows;
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 32;
  const uint8_t* gw = a.w + static_cast<size_t>(g) * a.row_stride;
  const int8_t* xq[NC];
  const float* xd[NC];
  const int32_t* xs[NC];
  __m512 facc[NC];
  for (int j = 0; j < NC; ++j) {
    const size_t cc = static_cast<size_t>(c + j);
    xq[j] = x.qs + cc * x.qs_stride;
    xd[j] = x.d + cc * x.blk_stride;
    xs[j] = x.sums + cc * x.blk_stride;
    facc[j] = _mm512_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    __m512i W[8];
    __m512 dw;
    load_group_block<kQ4>(gw + static_cast<size_t>(b) * kGroupBlock, W, dw);
    if constexpr (NC == 1) {
      // A lone column: two chains hide vpdpbusd latency.
      const int8_t* xb = xq[0] + b * 32;
      __m512i i0 = _mm512_set1_epi32(-kOffset * xs[0][b]);
      __m512i i1 = _mm512_setzero_si512();
      for (int k = 0; k < 8; k += 2) {
        i0 = _mm512_dpbusd_epi32(i0, W[k], bcast4(xb + 4 * k));
        i1 = _mm512_dpbusd_epi32(i1, W[k + 1], bcast4(xb + 4 * k + 4));
      }
      facc[0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(i0, i1)),
                                _mm512_mul_ps(dw, _mm512_set1_ps(xd[0][b])), facc[0]);
    } else {
      __m512i iacc[NC];
      for (int j = 0; j < NC; ++j) iacc[j] = _mm512_set1_epi32(-kOffset * xs[j][b]);
      for (int k = 0; k < 8; ++k)
        for (int j = 0; j < NC; ++j) iacc[j] = _mm512_dpbusd_epi32(iacc[j], W[k], bcast4(xq[j] + b * 32 + 4 * k));
      for (int j = 0; j < NC; ++j)
        facc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc[j]), _mm512_mul_ps(dw, _mm512_set1_ps(xd[j][b])), facc[j]);
    }
  }
  const int64_t r0 = g * kGroupRows;
  const int64_t valid = a.rows - r0 < kGroupRows ? a.rows - r0 : kGroupRows;
  const __mmask16 m = static_cast<__mmask16>((1u << valid) - 1u);
  for (int j = 0; j < NC; ++j) _mm512_mask_storeu_ps(a.y + static_cast<size_t>(c + j) * a.ldy + r0, m, facc[j]);
}

// Two 16-row groups (g, g + 1) x 4 columns [c, c + 4): each broadcast
// activation word feeds both groups, so a block costs 48 loads for 64
// vpdpbusd. Per (row, column) the operations are those of group_tile (the
// integer sums are exact in any order), so results match it bit for bit.
template <bool kQ4>
QKIT_VNNI_TARGET inline void group_pair_tile(const MatmulArgs& a, int64_t g, int64_t c) {
  constexpr int NC = 4;
  constexpr int kOffset = kQ4 ? 8 : 128;
  constexpr size_t kGroupBlock = (kQ4 ? 18 : 34) * kGroupRows;
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 32;
  const uint8_t* gw0 = a.w + static_cast<size_t>(g) * a.row_stride;
  const uint8_t* gw1 = gw0 + a.row_stride;
  const int8_t* xq[NC];
  const float* xd[NC];
  const int32_t* xs[NC];
  __m512 f0[NC], f1[NC];
  for (int j = 0; j < NC; ++j) {
    const size_t cc = static_cast<size_t>(c + j);
    xq[j] = x.qs + cc * x.qs_stride;
    xd[j] = x.d + cc * x.blk_stride;
    xs[j] = x.sums + cc * x.blk_stride;
    f0[j] = f1[j] = _mm512_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* b0 = gw0 + static_cast<size_t>(b) * kGroupBlock;
    const uint8_t* b1 = gw1 + static_cast<size_t>(b) * kGroupBlock;
    __m512i i0[NC], i1[NC];
    for (int j = 0; j < NC; ++j) i0[j] = i1[j] = _mm512_set1_epi32(-kOffset * xs[j][b]);
    if constexpr (kQ4) {
      const __m512i m4 = _mm512_set1_epi8(0x0f);
      for (int k = 0; k < 4; ++k) {
        const __m512i p0 = _mm512_loadu_si512(b0 + 32 + 64 * k);
        const __m512i p1 = _mm512_loadu_si512(b1 + 32 + 64 * k);
        const __m512i lo0 = _mm512_and_si512(p0, m4), hi0 = _mm512_and_si512(_mm512_srli_epi16(p0, 4), m4);
        const __m512i lo1 = _mm512_and_si512(p1, m4), hi1 = _mm512_and_si512(_mm512_srli_epi16(p1, 4), m4);
        for (int j = 0; j < NC; ++j) {
          const __m512i xl = bcast4(xq[j] + b * 32 + 4 * k);
          const __m512i xh = bcast4(xq[j] + b * 32 + 16 + 4 * k);
          i0[j] = _mm512_dpbusd_epi32(i0[j], lo0, xl);
          i1[j] = _mm512_dpbusd_epi32(i1[j], lo1, xl);
          i0[j] = _mm512_dpbusd_epi32(i0[j], hi0, xh);
          i1[j] = _mm512_dpbusd_epi32(i1[j], hi1, xh);
        }
      }
    } else {
      for (int k = 0; k < 8; ++k) {
        const __m512i w0 = _mm512_loadu_si512(b0 + 32 + 64 * k);
        const __m512i w1 = _mm512_loadu_si512(b1 + 32 + 64 * k);
        for (int j = 0; j < NC; ++j) {
          const __m512i xv = bcast4(xq[j] + b * 32 + 4 * k);
          i0[j] = _mm512_dpbusd_epi32(i0[j], w0, xv);
          i1[j] = _mm512_dpbusd_epi32(i1[j], w1, xv);
        }
      }
    }
    const __m512 dw0 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0)));
    const __m512 dw1 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b1)));
    for (int j = 0; j < NC; ++j) {
      const __m512 dx = _mm512_set1_ps(xd[j][b]);
      f0[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0[j]), _mm512_mul_ps(dw0, dx), f0[j]);
      f1[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1[j]), _mm512_mul_ps(dw1, dx), f1[j]);
    }
  }
  const int64_t r0 = g * kGroupRows;
  const int64_t rest = a.rows - (r0 + kGroupRows);
  const __mmask16 m1 = static_cast<__mmask16>(rest >= kGroupRows ? 0xffffu : (1u << rest) - 1u);
  for (int j = 0; j < NC; ++j) {
    float* y = a.y + static_cast<size_t>(c + j) * a.ldy + r0;
    _mm512_storeu_ps(y, f0[j]);
    _mm512_mask_storeu_ps(y + kGroupRows, m1, f1[j]);
  }
}

// Rows [r0, r1) (r0 a multiple of 16) x columns [c0, c1).
template <bool kQ4>
QKIT_VNNI_TARGET inline void interleaved_q8_0_act(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const int64_t g0 = r0 / kGroupRows, g1 = (r1 + kGroupRows - 1) / kGroupRows;
  int64_t g = g0;
  for (; g + 2 <= g1; g += 2) {
    int64_t c = c0;
    for (; c + 4 <= c1; c += 4) group_pair_tile<kQ4>(a, g, c);
    for (; c < c1; ++c) {
      group_tile<kQ4, 1>(a, g, c);
      group_tile<kQ4, 1>(a, g + 1, c);
    }
  }
  for (; g < g1; ++g) {
    int64_t c = c0;
    for (; c + 4 <= c1; c += 4) group_tile<kQ4, 4>(a, g, c);
    for (; c < c1; ++c) group_tile<kQ4, 1>(a, g, c);
  }
}

}  // namespace qkit::kernels::vnni

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // QKIT_HAVE_VNNI_X86
