// qkit/kernels/vnni_gemv_q2k_x86.hpp — AVX-512 VNNI GEMV of Q2_K weights
// (rows as GGUF stores them) against one Q8_K activation column:
// gemv_q2_K_q8_K. rows_k's GEMV hook (DecQ2K::gemv, vnni_k2_x86.hpp) runs
// it for single-column calls.
//
// Why not rows_k's decoder: a GEMV uses every weight byte once, so the
// decode is the whole cost (rows_k's Q2_K ran ~24 cycles per super-block,
// ~12.5 GB/s of weights per core, under the read bandwidth of 2 threads).
// Here the activation, shared by every row, is rearranged once per call so
// that the weights need the fewest operations:
//  * qs (64 bytes) is one load; its four 2-bit planes are (qs >> 2j) & 3,
//    and plane j of byte l belongs to value 128 (l / 32) + 32 j + l % 32.
//    The column's quants are copied into that order (xr: 4 x 64 bytes per
//    super-block), so one vpdpbusd per plane needs no weight shuffle.
//  * Each int32 lane of a plane's vpdpbusd covers 4 values of one 16-value
//    sub-block; vpackssdw pairs two planes' lanes as int16 (|lane| <= 4 * 3 *
//    127: exact) and vpdpwssd multiplies them by the sub-block scales,
//    spread by vpermw from the 16 low nibbles: the reference's integer
//    sum_s sc_s (q_s . x_s), exact.
//  * The mins: sum_s m_s bsum_s by one vpmaddwd on ymm.
// Per super-block and row: y += float(isum) (d dx) + float(imin) (-dmin dx),
// as the reference. Every row runs the same sequence whatever the row range
// or its partner row, so results do not depend on the thread count.
#pragma once

#include "qkit/kernels/intrin_warnings.hpp"

#include "qkit/base/aligned.hpp"
#include "qkit/kernels/vnni_repack_x86.hpp"  // QKIT_UNROLL
#include "qkit/kernels/vnni_x86.hpp"

#if defined(QKIT_HAVE_VNNI_X86)

QKIT_INTRIN_WARNINGS_BEGIN

namespace qkit::kernels::vnni {

inline constexpr size_t kQ2KBytes = 84;  // scales[16], qs[64], d, dmin

// vpermw indices spreading the 16 sub-block scales over the int16 lanes of
// packs(p_a, p_b), p_j the vpdpbusd of plane j: int16 lane 8L + e holds
// p_a's int32 lane 4L + e (e < 4) or p_b's 4L + e - 4, whose values lie in
// sub-block 8 (L / 2) + 2 j + L % 2.
struct Q2KScaleIdx {
  int16_t v[2][32];
};
constexpr Q2KScaleIdx make_q2k_scale_idx() {
  Q2KScaleIdx r{};
  for (int pr = 0; pr < 2; ++pr)
    for (int p = 0; p < 32; ++p) {
      const int L = p / 8, j = 2 * pr + (p % 8 >= 4 ? 1 : 0);
      r.v[pr][p] = static_cast<int16_t>(8 * (L / 2) + 2 * j + L % 2);
    }
  return r;
}
inline constexpr Q2KScaleIdx kQ2KScaleIdx = make_q2k_scale_idx();

// One column's Q8_K quants in plane order (256 bytes per super-block:
// plane j = values 32j .. 32j + 31, then 128 + 32j .. 128 + 32j + 31), and
// the activation scale of each super-block as {dx, -dx}.
inline constexpr int kQ2KActBytes = 256;
inline void q2k_gemv_act(const QuantAct& x, int64_t c, int64_t nb, int8_t* xr, float* dxp) {
  const int8_t* q = x.qs + static_cast<size_t>(c) * x.qs_stride;
  const float* d = x.d + static_cast<size_t>(c) * x.blk_stride;
  for (int64_t b = 0; b < nb; ++b) {
    const int8_t* qb = q + b * 256;
    int8_t* o = xr + b * kQ2KActBytes;
    for (int j = 0; j < 4; ++j) {
      std::memcpy(o + 64 * j, qb + 32 * j, 32);
      std::memcpy(o + 64 * j + 32, qb + 128 + 32 * j, 32);
    }
    dxp[2 * b] = d[b];
    dxp[2 * b + 1] = -d[b];
  }
}

// kR rows against the rearranged column: returns nothing, writes y[row].
template <int kR>
QKIT_VNNI_TARGET inline void q2k_gemv_tile(const MatmulArgs& a, const int64_t* rows, int64_t c, const int8_t* xr,
                                           const float* dxp, const int16_t* bsums) {
  const int64_t nb = a.cols / 256;
  const __m512i z = _mm512_setzero_si512();
  const __m512i m3 = _mm512_set1_epi8(3);
  const __m512i idx01 = _mm512_loadu_si512(kQ2KScaleIdx.v[0]);
  const __m512i idx23 = _mm512_loadu_si512(kQ2KScaleIdx.v[1]);
  const __m256i m4 = _mm256_set1_epi16(0x0f);
  const uint8_t* wr[kR];
  __m512 acc[kR];
  __m256 macc[kR];
  for (int j = 0; j < kR; ++j) {
    wr[j] = a.w + static_cast<size_t>(rows[j]) * a.row_stride;
    acc[j] = _mm512_setzero_ps();
    macc[j] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    const int8_t* xb = xr + b * kQ2KActBytes;
    const __m128 dx2 = _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(dxp + 2 * b)));
    const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bsums + 16 * b));
    // Unrolled: the accumulators must stay in registers.
    QKIT_UNROLL(4)
    for (int j = 0; j < kR; ++j) {
      const uint8_t* blk = wr[j] + static_cast<size_t>(b) * kQ2KBytes;
      const __m512i qs = _mm512_loadu_si512(blk + 16);
      const __m512i p0 = _mm512_dpbusd_epi32(z, _mm512_and_si512(qs, m3), _mm512_load_si512(xb));
      const __m512i p1 = _mm512_dpbusd_epi32(z, _mm512_and_si512(_mm512_srli_epi16(qs, 2), m3), _mm512_load_si512(xb + 64));
      const __m512i p2 = _mm512_dpbusd_epi32(z, _mm512_and_si512(_mm512_srli_epi16(qs, 4), m3), _mm512_load_si512(xb + 128));
      const __m512i p3 = _mm512_dpbusd_epi32(z, _mm512_and_si512(_mm512_srli_epi16(qs, 6), m3), _mm512_load_si512(xb + 192));
      const __m256i raw = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk)));
      const __m512i sc = _mm512_castsi256_si512(_mm256_and_si256(raw, m4));
      __m512i isum = _mm512_dpwssd_epi32(z, _mm512_packs_epi32(p0, p1), _mm512_permutexvar_epi16(idx01, sc));
      isum = _mm512_dpwssd_epi32(isum, _mm512_packs_epi32(p2, p3), _mm512_permutexvar_epi16(idx23, sc));
      const __m256i imin = _mm256_madd_epi16(_mm256_srli_epi16(raw, 4), bs);
      // {d, dmin} * {dx, -dx}
      int dm;
      std::memcpy(&dm, blk + 80, 4);
      const __m128 dd = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(dm)), dx2);  // {d dx, -dmin dx}
      acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_broadcastss_ps(dd), acc[j]);
      macc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(imin), _mm256_broadcastss_ps(_mm_movehdup_ps(dd)), macc[j]);
    }
  }
  for (int j = 0; j < kR; ++j) {
    const __m512 t = _mm512_add_ps(acc[j], _mm512_castps256_ps512(macc[j]));
    a.y[static_cast<size_t>(c) * a.ldy + rows[j]] = _mm512_reduce_add_ps(t);
  }
}

// Rows [r0, r1) x columns [c0, c1), one column at a time.
QKIT_VNNI_TARGET inline void q2k_gemv(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 256;
  thread_local AlignedBuffer<int8_t> xr_buf;
  thread_local AlignedBuffer<float> dx_buf;
  xr_buf.ensure(static_cast<size_t>(nb * kQ2KActBytes));
  dx_buf.ensure(static_cast<size_t>(2 * nb + 2));
  for (int64_t c = c0; c < c1; ++c) {
    q2k_gemv_act(x, c, nb, xr_buf.data(), dx_buf.data());
    const int16_t* bs = x.bsums + static_cast<size_t>(c) * x.bsum_stride;
    // Two rows per pass, from the two halves of the range: each pass
    // shares the activation loads, and the weights stay two long
    // sequential streams the hardware prefetchers follow.
    const int64_t h = (r1 - r0) / 2;
    for (int64_t r = r0; r < r0 + h; ++r) {
      const int64_t rows[2] = {r, r + h};
      q2k_gemv_tile<2>(a, rows, c, xr_buf.data(), dx_buf.data(), bs);
    }
    if ((r1 - r0) % 2) {
      const int64_t last = r1 - 1;
      q2k_gemv_tile<1>(a, &last, c, xr_buf.data(), dx_buf.data(), bs);
    }
  }
}

}  // namespace qkit::kernels::vnni

QKIT_INTRIN_WARNINGS_END

#endif  // QKIT_HAVE_VNNI_X86
