// qkit/kernels/vnni_k_x86.hpp — raw AVX-512 (BW + VNNI) matmul kernels for
// the K-quants of the Phi Q4_K_M models, Q4_K and Q6_K, against Q8_K
// activations, weights as GGUF stores them.
//
// Per 256-value super-block the weights are decoded once into four zmm of
// unsigned quants (64 values each, in activation order) and four zmm of
// int16 sub-block scales; then for every activation column:
//   vpmaddubsw  q * x, pairs summed to int16 (no saturation: |q| <= 63,
//               |x| <= 127, so a pair stays below 16,129)
//   vpdpwssd    int16 pairs * sub-block scale, summed into int32 lanes,
// which is the reference's integer sum of sc_j * dot_j, exact. The offsets
// (Q4_K's dmin * m_j, Q6_K's -32) use the activation's bsums:
//   Q4_K: y = d dx sum_j sc_j q.x  - dmin dx sum_j m_j (bsum_2j + bsum_2j+1)
//   Q6_K: y = d dx sum_s sc_s (q.x - 32 bsum_s)
// Every column runs the same sequence whatever the chunk of columns, so the
// thread count and N's split never change a bit of the result.
#pragma once

#include "qkit/kernels/vnni_x86.hpp"

#if defined(QKIT_HAVE_VNNI_X86)

// GCC 12 reports a false -Wmaybe-uninitialized inside avx512fintrin.h (its
// _mm512_undefined_* idiom) when these intrinsics are inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace qkit::kernels::vnni {

struct KDecoded {
  __m512i u[4];   // unsigned quants of values 64i .. 64i + 63
  __m512i sc[4];  // int16 scale of each int16 lane pair of u[i]
  __m256i m16;    // int16, paired with the 16 bsums (mins or scales)
  float d;        // super-block scale
  float dm;       // factor of the bsums term (Q4_K: -dmin; Q6_K: -32 d)
};

QKIT_VNNI_TARGET inline __m512i idx16(int a, int b) {
  // lanes 0..15 -> a, 16..31 -> b (vpermw indices)
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(static_cast<short>(a))),
                            _mm256_set1_epi16(static_cast<short>(b)), 1);
}

QKIT_VNNI_TARGET inline KDecoded decode_q4_k(const uint8_t* blk) {
  KDecoded r;
  r.d = f16_scalar(blk);
  r.dm = -f16_scalar(blk + 2);
  // 12 bytes of packed 6-bit scales and mins -> bytes 0..7 scales, 8..15
  // mins (the reference's 32-bit mask trick, no per-value branching).
  uint32_t u[4];
  std::memcpy(u, blk + 4, 12);
  constexpr uint32_t k1 = 0x3f3f3f3f, k2 = 0x0f0f0f0f, k3 = 0x03030303;
  u[3] = ((u[2] >> 4) & k2) | (((u[1] >> 6) & k3) << 4);
  const uint32_t mins_lo = u[1] & k1;
  u[1] = (u[2] & k2) | (((u[0] >> 6) & k3) << 4);
  u[2] = mins_lo;
  u[0] &= k1;
  const __m128i sm = _mm_loadu_si128(reinterpret_cast<const __m128i*>(u));
  const __m512i scv = _mm512_castsi128_si512(_mm_cvtepu8_epi16(sm));
  r.m16 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sm, sm));  // m0 m0 m1 m1 ... m7 m7
  const uint8_t* qs = blk + 16;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  for (int i = 0; i < 4; ++i) {
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * i));
    r.u[i] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(b, m4)),
                                _mm256_and_si256(_mm256_srli_epi16(b, 4), m4), 1);
    r.sc[i] = _mm512_permutexvar_epi16(idx16(2 * i, 2 * i + 1), scv);
  }
  return r;
}

QKIT_VNNI_TARGET inline KDecoded decode_q6_k(const uint8_t* blk) {
  KDecoded r;
  const uint8_t* ql = blk;
  const uint8_t* qh = blk + 128;
  const auto* scales = reinterpret_cast<const int8_t*>(blk + 192);
  r.d = f16_scalar(blk + 208);
  r.dm = -32.0f * r.d;
  const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales)));
  r.m16 = sc16;
  const __m512i scv = _mm512_castsi256_si512(sc16);
  const __m512i m4 = _mm512_set1_epi8(0x0f), m2 = _mm512_set1_epi8(0x03);
  for (int h = 0; h < 2; ++h) {
    const __m512i l = _mm512_loadu_si512(ql + 64 * h);
    const __m256i hy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh + 32 * h));
    // First half: qh bits 0-1 / 4-5; second half: bits 2-3 / 6-7.
    const __m512i hz = _mm512_inserti64x4(_mm512_castsi256_si512(hy), _mm256_srli_epi16(hy, 2), 1);
    r.u[2 * h] = _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_slli_epi16(_mm512_and_si512(hz, m2), 4));
    r.u[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                                     _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(hz, 4), m2), 4));
  }
  for (int i = 0; i < 4; ++i) {
    // u[i] holds sub-blocks 4i .. 4i+3, 8 int16 lanes each.
    const __m512i idx = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_setr_m128i(_mm_set1_epi16(static_cast<short>(4 * i)),
                                                 _mm_set1_epi16(static_cast<short>(4 * i + 1)))),
        _mm256_setr_m128i(_mm_set1_epi16(static_cast<short>(4 * i + 2)), _mm_set1_epi16(static_cast<short>(4 * i + 3))),
        1);
    r.sc[i] = _mm512_permutexvar_epi16(idx, scv);
  }
  return r;
}

// One super-block against one column: acc (16 lanes) and macc (8 lanes).
QKIT_VNNI_TARGET inline void k_block_fma(const KDecoded& w, const int8_t* xq, const int16_t* bsums, float dx,
                                          __m512& acc, __m256& macc) {
  __m512i iacc = _mm512_setzero_si512();
  for (int i = 0; i < 4; ++i) {
    const __m512i x = _mm512_loadu_si512(xq + 64 * i);
    iacc = _mm512_dpwssd_epi32(iacc, _mm512_maddubs_epi16(w.u[i], x), w.sc[i]);
  }
  acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc), _mm512_set1_ps(w.d * dx), acc);
  const __m256i mt = _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(bsums)), w.m16);
  macc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mt), _mm256_set1_ps(w.dm * dx), macc);
}

QKIT_VNNI_TARGET inline float k_finish(__m512 acc, __m256 macc) {
  const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(acc), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1)));
  return hsum8(a) + hsum8(macc);
}

// Rows [r0, r1) x columns [c0, c1) for Q4_K (kQ6 = false) or Q6_K weights.
template <bool kQ6>
QKIT_VNNI_TARGET inline void rows_q8_k_act(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  constexpr size_t kBlockBytes = kQ6 ? 210 : 144;
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 256;
  constexpr int kC = 8;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* wr = a.w + static_cast<size_t>(r) * a.row_stride;
    for (int64_t c = c0; c < c1; c += kC) {
      const int nc = static_cast<int>(c1 - c < kC ? c1 - c : kC);
      __m512 acc[kC];
      __m256 macc[kC];
      for (int j = 0; j < kC; ++j) {
        acc[j] = _mm512_setzero_ps();
        macc[j] = _mm256_setzero_ps();
      }
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = wr + static_cast<size_t>(b) * kBlockBytes;
        const KDecoded w = kQ6 ? decode_q6_k(blk) : decode_q4_k(blk);
        for (int j = 0; j < nc; ++j) {
          const size_t cc = static_cast<size_t>(c + j);
          k_block_fma(w, x.qs + cc * x.qs_stride + b * 256, x.bsums + cc * x.bsum_stride + b * 16,
                      x.d[cc * x.blk_stride + static_cast<size_t>(b)], acc[j], macc[j]);
        }
      }
      for (int j = 0; j < nc; ++j) a.y[static_cast<size_t>(c + j) * a.ldy + r] = k_finish(acc[j], macc[j]);
    }
  }
}

}  // namespace qkit::kernels::vnni

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // QKIT_HAVE_VNNI_X86
