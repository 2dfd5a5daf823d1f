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
//  * The mins: sum_s m_s bsum_s by vpmaddwd.
//  * Rows go in pairs: one vector holds both rows' scale bytes, mins and
//    f32 sums (8 lanes each), so the scale, min and float work is shared.
// Per super-block and row: y += float(isum) (d dx) + float(imin) (-dmin dx),
// as the reference. Every row runs the same lane operations whether paired
// or not (q2k_gemv_row), so results do not depend on the thread count.
#pragma once

#include "qkit/kernels/intrin_warnings.hpp"

#include "qkit/base/aligned.hpp"
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
  int16_t v[2][2][32];  // [row of a pair: its scales at word 16 r][plane pair]
};
constexpr Q2KScaleIdx make_q2k_scale_idx() {
  Q2KScaleIdx r{};
  for (int row = 0; row < 2; ++row)
    for (int pr = 0; pr < 2; ++pr)
      for (int p = 0; p < 32; ++p) {
        const int L = p / 8, j = 2 * pr + (p % 8 >= 4 ? 1 : 0);
        r.v[row][pr][p] = static_cast<int16_t>(16 * row + 8 * (L / 2) + 2 * j + L % 2);
      }
  return r;
}
inline constexpr Q2KScaleIdx kQ2KScaleIdx = make_q2k_scale_idx();

// One column's Q8_K quants in plane order (256 bytes per super-block:
// plane j = values 32j .. 32j + 31, then 128 + 32j .. 128 + 32j + 31), the
// block's 16 bsums twice (for two rows' mins in one vector), and the
// activation scale of each super-block as {dx, -dx, dx, -dx}.
inline constexpr int kQ2KActBytes = 256;
inline void q2k_gemv_act(const QuantAct& x, int64_t c, int64_t nb, int8_t* xr, int16_t* bs2, float* dxp) {
  const int8_t* q = x.qs + static_cast<size_t>(c) * x.qs_stride;
  const float* d = x.d + static_cast<size_t>(c) * x.blk_stride;
  const int16_t* bs = x.bsums + static_cast<size_t>(c) * x.bsum_stride;
  for (int64_t b = 0; b < nb; ++b) {
    const int8_t* qb = q + b * 256;
    int8_t* o = xr + b * kQ2KActBytes;
    for (int j = 0; j < 4; ++j) {
      std::memcpy(o + 64 * j, qb + 32 * j, 32);
      std::memcpy(o + 64 * j + 32, qb + 128 + 32 * j, 32);
    }
    std::memcpy(bs2 + 32 * b, bs + 16 * b, 32);
    std::memcpy(bs2 + 32 * b + 16, bs + 16 * b, 32);
    for (int i = 0; i < 4; i += 2) {
      dxp[4 * b + i] = d[b];
      dxp[4 * b + i + 1] = -d[b];
    }
  }
}

// The integer sum_s sc_s (q_s . x_s) of one row's super-block, as 16 int32
// lanes; sc: the 16 scales as int16 at word 16 * kRow of a vector.
template <int kRow>
QKIT_VNNI_TARGET inline __m512i q2k_isum(const uint8_t* blk, const int8_t* xb, __m512i sc) {
  const __m512i z = _mm512_setzero_si512();
  const __m512i m3 = _mm512_set1_epi8(3);
  const __m512i qs = _mm512_loadu_si512(blk + 16);
  const __m512i p0 = _mm512_dpbusd_epi32(z, _mm512_and_si512(qs, m3), _mm512_load_si512(xb));
  const __m512i p1 = _mm512_dpbusd_epi32(z, _mm512_and_si512(_mm512_srli_epi16(qs, 2), m3), _mm512_load_si512(xb + 64));
  const __m512i p2 = _mm512_dpbusd_epi32(z, _mm512_and_si512(_mm512_srli_epi16(qs, 4), m3), _mm512_load_si512(xb + 128));
  const __m512i p3 = _mm512_dpbusd_epi32(z, _mm512_and_si512(_mm512_srli_epi16(qs, 6), m3), _mm512_load_si512(xb + 192));
  const __m512i s01 = _mm512_permutexvar_epi16(_mm512_loadu_si512(kQ2KScaleIdx.v[kRow][0]), sc);
  const __m512i s23 = _mm512_permutexvar_epi16(_mm512_loadu_si512(kQ2KScaleIdx.v[kRow][1]), sc);
  const __m512i isum = _mm512_dpwssd_epi32(z, _mm512_packs_epi32(p0, p1), s01);
  return _mm512_dpwssd_epi32(isum, _mm512_packs_epi32(p2, p3), s23);
}

// Every row keeps two 8-lane f32 sums: fi += float(isum lanes i + i + 8)
// * (d dx), fm += float(mins lane i) * (-dmin dx), and y = hsum(fi) +
// hsum(fm). Pairs of rows hold theirs in zmm halves, a single row in ymm:
// the same operation on every lane, so a row's result does not depend on
// whether it was paired (nor, then, on the thread count).
QKIT_VNNI_TARGET inline float q2k_finish(__m256 fi, __m256 fm) { return hsum8(fi) + hsum8(fm); }

// Rows ra and rb against the rearranged column.
QKIT_VNNI_TARGET inline void q2k_gemv_pair(const MatmulArgs& a, int64_t ra, int64_t rb, int64_t c, const int8_t* xr,
                                           const int16_t* bs2, const float* dxp) {
  const int64_t nb = a.cols / 256;
  const uint8_t* wa = a.w + static_cast<size_t>(ra) * a.row_stride;
  const uint8_t* wb = a.w + static_cast<size_t>(rb) * a.row_stride;
  const __m512i m4 = _mm512_set1_epi16(0x0f);
  const __m512i di = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2);
  const __m512i dm = _mm512_setr_epi32(1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3);
  __m512 fi = _mm512_setzero_ps(), fm = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* ba = wa + static_cast<size_t>(b) * kQ2KBytes;
    const uint8_t* bb = wb + static_cast<size_t>(b) * kQ2KBytes;
    const int8_t* xb = xr + b * kQ2KActBytes;
    // Both rows' scale bytes as int16: low nibble the scale, high the min.
    const __m512i raw = _mm512_cvtepu8_epi16(_mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(bb),
                                                                 reinterpret_cast<const __m128i*>(ba)));
    const __m512i sc = _mm512_and_si512(raw, m4);
    const __m512i ia = q2k_isum<0>(ba, xb, sc);
    const __m512i ib = q2k_isum<1>(bb, xb, sc);
    // [a lanes i + i + 8 | b lanes i + i + 8]
    const __m512i is = _mm512_add_epi32(_mm512_shuffle_i64x2(ia, ib, 0x44), _mm512_shuffle_i64x2(ia, ib, 0xee));
    const __m512i im = _mm512_madd_epi16(_mm512_srli_epi16(raw, 4), _mm512_load_si512(bs2 + 32 * b));
    int da, db;
    std::memcpy(&da, ba + 80, 4);
    std::memcpy(&db, bb + 80, 4);
    // {d_a dx, -dmin_a dx, d_b dx, -dmin_b dx}
    const __m128 dd = _mm_mul_ps(_mm_cvtph_ps(_mm_insert_epi32(_mm_cvtsi32_si128(da), db, 1)), _mm_loadu_ps(dxp + 4 * b));
    const __m512 d16 = _mm512_castps128_ps512(dd);
    fi = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_permutexvar_ps(di, d16), fi);
    fm = _mm512_fmadd_ps(_mm512_cvtepi32_ps(im), _mm512_permutexvar_ps(dm, d16), fm);
  }
  float* y = a.y + static_cast<size_t>(c) * a.ldy;
  y[ra] = q2k_finish(_mm512_castps512_ps256(fi), _mm512_castps512_ps256(fm));
  y[rb] = q2k_finish(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(fi), 1)),
                     _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(fm), 1)));
}

// One row, the same lanes as a pair's half.
QKIT_VNNI_TARGET inline void q2k_gemv_row(const MatmulArgs& a, int64_t r, int64_t c, const int8_t* xr,
                                          const int16_t* bs2, const float* dxp) {
  const int64_t nb = a.cols / 256;
  const uint8_t* w = a.w + static_cast<size_t>(r) * a.row_stride;
  const __m256i m4 = _mm256_set1_epi16(0x0f);
  __m256 fi = _mm256_setzero_ps(), fm = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w + static_cast<size_t>(b) * kQ2KBytes;
    const __m256i raw = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk)));
    const __m512i i16 = q2k_isum<0>(blk, xr + b * kQ2KActBytes, _mm512_castsi256_si512(_mm256_and_si256(raw, m4)));
    const __m256i is = _mm256_add_epi32(_mm512_castsi512_si256(i16), _mm512_extracti64x4_epi64(i16, 1));
    const __m256i im = _mm256_madd_epi16(_mm256_srli_epi16(raw, 4), _mm256_load_si256(reinterpret_cast<const __m256i*>(bs2 + 32 * b)));
    int dv;
    std::memcpy(&dv, blk + 80, 4);
    const __m128 dd = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(dv)), _mm_loadu_ps(dxp + 4 * b));
    fi = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_broadcastss_ps(dd), fi);
    fm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(im), _mm256_broadcastss_ps(_mm_movehdup_ps(dd)), fm);
  }
  a.y[static_cast<size_t>(c) * a.ldy + r] = q2k_finish(fi, fm);
}

// Rows [r0, r1) x columns [c0, c1), one column at a time.
QKIT_VNNI_TARGET inline void q2k_gemv(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 256;
  thread_local AlignedBuffer<int8_t> xr_buf;
  thread_local AlignedBuffer<int16_t> bs_buf;
  thread_local AlignedBuffer<float> dx_buf;
  xr_buf.ensure(static_cast<size_t>(nb * kQ2KActBytes));
  bs_buf.ensure(static_cast<size_t>(32 * nb));
  dx_buf.ensure(static_cast<size_t>(4 * nb));
  for (int64_t c = c0; c < c1; ++c) {
    q2k_gemv_act(x, c, nb, xr_buf.data(), bs_buf.data(), dx_buf.data());
    // Pairs of rows from the two halves of the range: each pass shares
    // the activation loads and two rows' scale and float work, and the
    // weights stay two long sequential streams the hardware prefetchers
    // follow.
    const int64_t h = (r1 - r0) / 2;
    for (int64_t r = r0; r < r0 + h; ++r) q2k_gemv_pair(a, r, r + h, c, xr_buf.data(), bs_buf.data(), dx_buf.data());
    if ((r1 - r0) % 2) q2k_gemv_row(a, r1 - 1, c, xr_buf.data(), bs_buf.data(), dx_buf.data());
  }
}

}  // namespace qkit::kernels::vnni

QKIT_INTRIN_WARNINGS_END

#endif  // QKIT_HAVE_VNNI_X86
