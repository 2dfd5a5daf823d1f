// qkit/kernels/vnni_repack_k_x86.hpp — AVX-512 VNNI kernels for Q4_K and
// Q6_K weights in the 16-row interleaved layout (act_layout.hpp /
// repack.hpp) against Q8_K activations: gemm_q4_K_q8_K_16x4_r16,
// gemv_q4_K_q8_K_r16 and the Q6_K pair.
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

inline constexpr size_t kQ6KGroupBlock = 210 * 16;

// Q6_K, interleaved: per 16-value sub-block 4 vpdpbusd (6-bit unsigned
// quants rebuilt from the ql nibble and the qh 2-bit field), times the
// rows' int8 scales (vpmulld); the -32 offset as 32 * sum_s sc_s * bsum_s
// through vpdpwssd of (sc_2p, sc_2p+1) pairs with the activation's bsums.
//   y = sum_s d dx (isum_s - 32 ioff_s), exact in int32 per super-block.
template <int NC>
QKIT_VNNI_TARGET inline void q6k_group_tile(const MatmulArgs& a, int64_t g, int64_t c) {
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
    xb[j] = x.bsums + cc * x.bsum_stride;
    f[j] = _mm512_setzero_ps();
  }
  const __m512i m4 = _mm512_set1_epi8(0x0f), m3 = _mm512_set1_epi8(0x03), lo16 = _mm512_set1_epi32(0xffff);
  for (int64_t s = 0; s < nb; ++s) {
    const uint8_t* gb = gw + static_cast<size_t>(s) * kQ6KGroupBlock;
    const uint8_t* sc8 = gb + 32;
    const uint8_t* ql = gb + 288;
    const uint8_t* qh = gb + 288 + 2048;
    __m512i isum[NC], ioff[NC];
    for (int j = 0; j < NC; ++j) isum[j] = ioff[j] = _mm512_setzero_si512();
    for (int h = 0; h < 2; ++h) {
      for (int qq = 0; qq < 4; ++qq) {
        for (int sh = 0; sh < 2; ++sh) {
          __m512i acc[NC];
          for (int j = 0; j < NC; ++j) acc[j] = _mm512_setzero_si512();
          for (int t = 4 * sh; t < 4 * sh + 4; ++t) {
            const __m512i hc = _mm512_loadu_si512(qh + 64 * (8 * h + t));
            const __m512i lq = _mm512_loadu_si512(ql + 64 * (16 * h + (qq & 1) * 8 + t));
            const __m512i low = qq < 2 ? _mm512_and_si512(lq, m4) : _mm512_and_si512(_mm512_srli_epi16(lq, 4), m4);
            __m512i hb;
            switch (qq) {
              case 0: hb = hc; break;
              case 1: hb = _mm512_srli_epi16(hc, 2); break;
              case 2: hb = _mm512_srli_epi16(hc, 4); break;
              default: hb = _mm512_srli_epi16(hc, 6); break;
            }
            const __m512i u = _mm512_or_si512(low, _mm512_slli_epi16(_mm512_and_si512(hb, m3), 4));
            for (int j = 0; j < NC; ++j)
              acc[j] = _mm512_dpbusd_epi32(acc[j], u, bcast4(xq[j] + 256 * s + 128 * h + 32 * qq + 4 * t));
          }
          const int sb = 8 * h + 2 * qq + sh;
          const __m512i sc = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc8 + 16 * sb)));
          for (int j = 0; j < NC; ++j) isum[j] = _mm512_add_epi32(isum[j], _mm512_mullo_epi32(acc[j], sc));
        }
      }
    }
    for (int p = 0; p < 8; ++p) {
      const __m512i s0 = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc8 + 32 * p)));
      const __m512i s1 = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc8 + 32 * p + 16)));
      const __m512i pair = _mm512_or_si512(_mm512_and_si512(s0, lo16), _mm512_slli_epi32(s1, 16));
      for (int j = 0; j < NC; ++j)
        ioff[j] = _mm512_dpwssd_epi32(ioff[j], pair, bcast4(reinterpret_cast<const int8_t*>(xb[j] + 16 * s + 2 * p)));
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb)));
    for (int j = 0; j < NC; ++j) {
      const __m512i tot = _mm512_sub_epi32(isum[j], _mm512_slli_epi32(ioff[j], 5));
      f[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(tot), _mm512_mul_ps(d, _mm512_set1_ps(xd[j][s])), f[j]);
    }
  }
  const int64_t r0 = g * kGroupRows;
  const int64_t valid = a.rows - r0 < kGroupRows ? a.rows - r0 : kGroupRows;
  const __mmask16 m = static_cast<__mmask16>((1u << valid) - 1u);
  for (int j = 0; j < NC; ++j) _mm512_mask_storeu_ps(a.y + static_cast<size_t>(c + j) * a.ldy + r0, m, f[j]);
}

QKIT_VNNI_TARGET inline void interleaved_q6_k(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  for (int64_t g = r0 / kGroupRows; g * kGroupRows < r1; ++g) {
    int64_t c = c0;
    for (; c + 4 <= c1; c += 4) q6k_group_tile<4>(a, g, c);
    for (; c < c1; ++c) q6k_group_tile<1>(a, g, c);
  }
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
