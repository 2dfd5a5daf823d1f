// qkit/kernels/vnni_gemv_tq1_x86.hpp — AVX-512 VNNI GEMV of TQ1_0 weights
// (rows as GGUF stores them) against one or two Q8_K activation columns,
// without a trit decode: gemv_tq1_0_q8_K. rows_k's GEMV hook
// (DecTQ1::gemv, vnni_k2_x86.hpp) runs it.
//
// TQ1_0 (54 bytes per 256 values): qs[48], qh[4], d. Byte b holds trits
// t0..t4 as a base-3 fixed-point fraction; with m_n = (b * 3^n) mod 256
// (m_0 = b), trit n is the carry of 3 m_n: 3 m_n = 256 t_n + m_{n+1}, so
//   sum_n t_n x_n = (3 sum_n m_n x_n - sum_n m_{n+1} x_n) / 256,
// exact in each int32 lane. The m_n come from two byte adds each (m_{n+1}
// = m_n + m_n + m_n, wrapping): per super-block 10 vpdpbusd and 10 byte
// adds, against 4 vpdpbusd and ~36 decode operations (16 vpmullw among
// them) for decoded trits. The price is 320 bytes of activations per
// super-block, rearranged once per call (tq1_gemv_act): vector n holds, per
// 16-byte lane, the values of trit n of qs[0..15], qs[16..31], qs[32..47],
// and qh[0..3] (zero elsewhere: the block's d and the bytes past it then
// add nothing). The quants' -1 offset is 256 * (sum of the block's quants),
// seeded into the subtracted sum.
#pragma once

#include "qkit/kernels/intrin_warnings.hpp"

#include "qkit/base/aligned.hpp"
#include "qkit/kernels/vnni_repack_x86.hpp"  // QKIT_UNROLL
#include "qkit/kernels/vnni_x86.hpp"

#if defined(QKIT_HAVE_VNNI_X86)

QKIT_INTRIN_WARNINGS_BEGIN

namespace qkit::kernels::vnni {

inline constexpr size_t kTq1Bytes = 54;
inline constexpr int kTq1ActBytes = 320;

// One column's Q8_K quants rearranged per super-block (kTq1ActBytes
// each), 256 * (sum of the block's quants), and dx / 256 (the identity's
// 1 / 256, exact in f32).
inline void tq1_gemv_act(const QuantAct& x, int64_t c, int64_t nb, int8_t* xp, int32_t* seed, float* dxs) {
  const int8_t* q = x.qs + static_cast<size_t>(c) * x.qs_stride;
  const int16_t* bs = x.bsums + static_cast<size_t>(c) * x.bsum_stride;
  const float* d = x.d + static_cast<size_t>(c) * x.blk_stride;
  for (int64_t b = 0; b < nb; ++b) {
    int8_t* o = xp + b * kTq1ActBytes;
    const int8_t* qb = q + b * 256;
    // Vector n: values 32n .. 32n + 31, 160 + 16n .. + 15, 240 + 4n .. + 3
    // (none for n = 4), then zeros.
    for (int n = 0; n < 5; ++n) {
      int8_t* v = o + 64 * n;
      std::memcpy(v, qb + 32 * n, 32);
      std::memcpy(v + 32, qb + 160 + 16 * n, 16);
      std::memset(v + 48, 0, 16);
      if (n < 4) std::memcpy(v + 48, qb + 240 + 4 * n, 4);
    }
    int32_t s = 0;
    for (int i = 0; i < 16; ++i) s += bs[b * 16 + i];
    seed[b] = 256 * s;
    dxs[b] = d[b] * (1.0f / 256.0f);
  }
}

// kR rows against one rearranged column; each row's sequence is the same
// whatever kR or its partner rows.
template <int kR>
QKIT_VNNI_TARGET inline void tq1_gemv_tile(const MatmulArgs& a, const int64_t* rows, int64_t c, const int8_t* xp,
                                           const int32_t* seed, const float* dxs) {
  const int64_t nb = a.cols / 256;
  const __m512i z = _mm512_setzero_si512();
  const uint8_t* wr[kR];
  __m512 acc[kR];
  for (int j = 0; j < kR; ++j) {
    wr[j] = a.w + static_cast<size_t>(rows[j]) * a.row_stride;
    acc[j] = _mm512_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    const int8_t* xb = xp + b * kTq1ActBytes;
    const __m512i sd = _mm512_castsi128_si512(_mm_cvtsi32_si128(seed[b]));
    __m512i m[kR], s[kR], t[kR];
    // Unrolled: the accumulators must stay in registers.
    QKIT_UNROLL(4)
    for (int j = 0; j < kR; ++j) {
      // 54 bytes: a masked load never touches the bytes past the block.
      m[j] = _mm512_maskz_loadu_epi8((1ull << 54) - 1, wr[j] + static_cast<size_t>(b) * kTq1Bytes);
      s[j] = z;
      t[j] = sd;
    }
    QKIT_UNROLL(5)
    for (int n = 0; n < 5; ++n) {
      const __m512i xv = _mm512_load_si512(xb + 64 * n);
      QKIT_UNROLL(4)
      for (int j = 0; j < kR; ++j) {
        s[j] = _mm512_dpbusd_epi32(s[j], m[j], xv);
        m[j] = _mm512_add_epi8(_mm512_add_epi8(m[j], m[j]), m[j]);
        t[j] = _mm512_dpbusd_epi32(t[j], m[j], xv);
      }
    }
    QKIT_UNROLL(4)
    for (int j = 0; j < kR; ++j) {
      // 256 * (the block's integer sum) per lane: exact in f32.
      const __m512i i256 = _mm512_sub_epi32(_mm512_add_epi32(_mm512_add_epi32(s[j], s[j]), s[j]), t[j]);
      const float dd = f16_scalar(wr[j] + static_cast<size_t>(b) * kTq1Bytes + 52) * dxs[b];
      acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i256), _mm512_set1_ps(dd), acc[j]);
    }
  }
  for (int j = 0; j < kR; ++j) a.y[static_cast<size_t>(c) * a.ldy + rows[j]] = _mm512_reduce_add_ps(acc[j]);
}

// Rows [r0, r1) x columns [c0, c1), one column at a time.
QKIT_VNNI_TARGET inline void tq1_gemv(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const int64_t nb = a.cols / 256;
  thread_local AlignedBuffer<int8_t> xp_buf;
  thread_local AlignedBuffer<int32_t> seed_buf;
  thread_local AlignedBuffer<float> dx_buf;
  xp_buf.ensure(static_cast<size_t>(nb * kTq1ActBytes));
  seed_buf.ensure(static_cast<size_t>(nb));
  dx_buf.ensure(static_cast<size_t>(nb));
  for (int64_t c = c0; c < c1; ++c) {
    tq1_gemv_act(*a.act, c, nb, xp_buf.data(), seed_buf.data(), dx_buf.data());
    // Two rows per pass, from the two halves of the range: each pass
    // shares the activation loads, and the weights stay two long
    // sequential streams (rows a row apart measured 10-20% faster in
    // cache but 2-3x slower streaming from memory).
    const int64_t h = (r1 - r0) / 2;
    for (int64_t r = r0; r < r0 + h; ++r) {
      const int64_t rows[2] = {r, r + h};
      tq1_gemv_tile<2>(a, rows, c, xp_buf.data(), seed_buf.data(), dx_buf.data());
    }
    if ((r1 - r0) % 2) {
      const int64_t last = r1 - 1;
      tq1_gemv_tile<1>(a, &last, c, xp_buf.data(), seed_buf.data(), dx_buf.data());
    }
  }
}

}  // namespace qkit::kernels::vnni

QKIT_INTRIN_WARNINGS_END

#endif  // QKIT_HAVE_VNNI_X86
