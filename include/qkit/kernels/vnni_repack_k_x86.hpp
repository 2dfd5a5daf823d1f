// qkit/kernels/vnni_repack_k_x86.hpp — AVX-512 VNNI kernel for Q4_K weights
// in the 16-row interleaved layout (act_layout.hpp / repack.hpp) against
// Q8_K activations: gemm_q4_k_q8_k_16x4 and gemv_q4_k_q8_k_16x1.
//
// Per 32-value sub-block, 8 vpdpbusd (unsigned nibbles x broadcast
// activation words) give the 16 rows' integer dots; they are multiplied by
// the rows' 6-bit scales (vpmulld) and summed over the super-block, exact.
// The mins enter through vpdpwssd of (m_2p, m_2p+1) int16 pairs with the
// activation's sums of 32 quants. The 16 rows' packed scale words are
// unpacked with the reference's 32-bit mask trick, one lane per row.
//   y = sum_s d dx isum_s - dmin dx imin_s
// Every column runs the same sequence whatever its tile, so results do not
// depend on N's split, the row range or the thread count.
#pragma once

#include "qkit/kernels/vnni_repack_x86.hpp"

#if defined(QKIT_HAVE_VNNI_X86)

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace qkit::kernels::vnni {

inline constexpr size_t kQ4KGroupBlock = 144 * 16;

template <int K>
QKIT_VNNI_TARGET inline __m512i byte_lane(__m512i v) {
  return _mm512_and_si512(_mm512_srli_epi32(v, 8 * K), _mm512_set1_epi32(0xff));
}

// (byte 2Q, byte 2Q + 1) of every lane as an int16 pair.
template <int Q>
QKIT_VNNI_TARGET inline __m512i byte_pair16(__m512i v) {
  return _mm512_or_si512(byte_lane<2 * Q>(v), _mm512_slli_epi32(byte_lane<2 * Q + 1>(v), 16));
}

template <int NC>
QKIT_VNNI_TARGET inline void q4k_group_tile(const MatmulArgs& a, int64_t g, int64_t c) {
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 256;
  const uint8_t* gw = a.w + static_cast<size_t>(g) * a.row_stride;
  const int8_t* xq[NC];
  const float* xd[NC];
  const int16_t* xb[NC];
  __m512 f[NC];
  for (int j = 0; j < NC; ++j) {
    const size_t cc = static_cast<size_t>(c + j);
    xq[j] = x.qs + cc * x.qs_stride;
    xd[j] = x.d + cc * x.blk_stride;
    xb[j] = x.bsums32 + cc * (x.bsum_stride / 2);
    f[j] = _mm512_setzero_ps();
  }
  const __m512i k1 = _mm512_set1_epi32(0x3f3f3f3f), k2 = _mm512_set1_epi32(0x0f0f0f0f),
                k3 = _mm512_set1_epi32(0x03030303), m4 = _mm512_set1_epi8(0x0f);
  for (int64_t s = 0; s < nb; ++s) {
    const uint8_t* gb = gw + static_cast<size_t>(s) * kQ4KGroupBlock;
    const __m512i u0 = _mm512_loadu_si512(gb + 64), u1 = _mm512_loadu_si512(gb + 128),
                  u2 = _mm512_loadu_si512(gb + 192);
    const __m512i sc_lo4 = _mm512_and_si512(u0, k1);  // scales 0..3
    const __m512i sc_hi4 = _mm512_or_si512(_mm512_and_si512(u2, k2),
                                           _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u0, 6), k3), 4));
    const __m512i mn_lo4 = _mm512_and_si512(u1, k1);  // mins 0..3
    const __m512i mn_hi4 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u2, 4), k2),
                                           _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u1, 6), k3), 4));
    const __m512i scv[8] = {byte_lane<0>(sc_lo4), byte_lane<1>(sc_lo4), byte_lane<2>(sc_lo4), byte_lane<3>(sc_lo4),
                            byte_lane<0>(sc_hi4), byte_lane<1>(sc_hi4), byte_lane<2>(sc_hi4), byte_lane<3>(sc_hi4)};
    __m512i isum[NC], imin[NC];
    for (int j = 0; j < NC; ++j) isum[j] = imin[j] = _mm512_setzero_si512();
    for (int i = 0; i < 4; ++i) {
      const __m512i sc0 = scv[2 * i], sc1 = scv[2 * i + 1];
      __m512i lo_acc[NC], hi_acc[NC];
      for (int j = 0; j < NC; ++j) lo_acc[j] = hi_acc[j] = _mm512_setzero_si512();
      for (int t = 0; t < 8; ++t) {
        const __m512i p = _mm512_loadu_si512(gb + 256 + 64 * (8 * i + t));
        const __m512i lo = _mm512_and_si512(p, m4);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(p, 4), m4);
        for (int j = 0; j < NC; ++j) {
          const int8_t* xo = xq[j] + 256 * s + 64 * i + 4 * t;
          lo_acc[j] = _mm512_dpbusd_epi32(lo_acc[j], lo, bcast4(xo));
          hi_acc[j] = _mm512_dpbusd_epi32(hi_acc[j], hi, bcast4(xo + 32));
        }
      }
      for (int j = 0; j < NC; ++j)
        isum[j] = _mm512_add_epi32(isum[j], _mm512_add_epi32(_mm512_mullo_epi32(lo_acc[j], sc0),
                                                             _mm512_mullo_epi32(hi_acc[j], sc1)));
    }
    const __m512i mps[4] = {byte_pair16<0>(mn_lo4), byte_pair16<1>(mn_lo4), byte_pair16<0>(mn_hi4),
                            byte_pair16<1>(mn_hi4)};
    for (int q = 0; q < 4; ++q) {
      const __m512i mp = mps[q];
      for (int j = 0; j < NC; ++j)
        imin[j] = _mm512_dpwssd_epi32(imin[j], mp, bcast4(reinterpret_cast<const int8_t*>(xb[j] + 8 * s + 2 * q)));
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb)));
    const __m512 dm = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + 32)));
    for (int j = 0; j < NC; ++j) {
      const __m512 dx = _mm512_set1_ps(xd[j][s]);
      f[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[j]), _mm512_mul_ps(d, dx), f[j]);
      f[j] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(imin[j]), _mm512_mul_ps(dm, dx), f[j]);
    }
  }
  const int64_t r0 = g * kGroupRows;
  const int64_t valid = a.rows - r0 < kGroupRows ? a.rows - r0 : kGroupRows;
  const __mmask16 m = static_cast<__mmask16>((1u << valid) - 1u);
  for (int j = 0; j < NC; ++j) _mm512_mask_storeu_ps(a.y + static_cast<size_t>(c + j) * a.ldy + r0, m, f[j]);
}

// Rows [r0, r1) (r0 a multiple of 16) x columns [c0, c1).
QKIT_VNNI_TARGET inline void interleaved_q4_k(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  for (int64_t g = r0 / kGroupRows; g * kGroupRows < r1; ++g) {
    int64_t c = c0;
    for (; c + 4 <= c1; c += 4) q4k_group_tile<4>(a, g, c);
    for (; c < c1; ++c) q4k_group_tile<1>(a, g, c);
  }
}

}  // namespace qkit::kernels::vnni

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // QKIT_HAVE_VNNI_X86
