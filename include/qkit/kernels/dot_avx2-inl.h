// qkit/kernels/dot_avx2-inl.h — raw AVX2 GEMV of Q8_0 / Q4_0 / IQ4_NL rows
// against one Q8_0 activation column (gemv_<w>_q8_0 on AVX2 and on AVX3
// without VNNI), used by dot_i16-inl.h when N == 1. GEMV is bound by the
// weight read; the Highway int16 kernel spends ~10 cycles per block on
// decoding to a buffer and widening, this one ~3:
//   vpmaddubsw  u8 x s8 pairs into int16, then vpmaddwd by ones into int32.
//     It saturates at |u*s + u*s| > 32767, so the unsigned operand is
//     bounded: Q4_0 the raw nibble (<= 15; the -8 offset is applied through
//     the activation block sums: -8 * sum_b d_w d_x sum(x_b)); Q8_0 /
//     IQ4_NL |w| <= 128 with the sign moved onto x (vpsignb), and the
//     activation quants are within [-127, 127] (quant/q8.hpp), so
//     2 * 128 * 127 = 32512 fits.
//   per 8 blocks the f16 scales are converted at once (vcvtph2ps) and
//   multiplied by the activation scales; per block one convert + FMA into
//   two f32 accumulators (alternating, to hide the FMA latency).
// Q4_K / Q6_K x Q8_K (gemv_q4_K_q8_K, gemv_q6_K_q8_K), the reference's
// scheme: per 32 values vpmaddubsw of the unsigned quants (Q4_K nibble
// <= 15, Q6_K 6-bit value <= 63: at most 2 * 63 * 127 = 16002), then
// vpmaddwd by the sub-block scales into int32 lanes; the offsets (Q4_K's
// mins, Q6_K's -32) through the activation's 16-value bsums.
// The integer sum per block is exact, as in the reference; the order of
// the f32 sums is fixed per row, whatever the thread count.
#if defined(QKIT_KERNELS_DOT_AVX2_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_DOT_AVX2_INL_H_
#undef QKIT_KERNELS_DOT_AVX2_INL_H_
#else
#define QKIT_KERNELS_DOT_AVX2_INL_H_
#endif

#include <cstring>

#include "hwy/highway.h"
#include "qkit/kernels/common-inl.h"
#include "qkit/quant/format.hpp"
#include "qkit/quant/iq4.hpp"
#include "qkit/quant/k_blocks.hpp"

#undef QKIT_HAVE_AVX2_GEMV
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3
#define QKIT_HAVE_AVX2_GEMV 1
#include <immintrin.h>
#endif

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {
#if defined(QKIT_HAVE_AVX2_GEMV)
namespace avx2 {

inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// One row (nb blocks) . one column: xq quants, xd scales, xs block sums.
template <Format F>
inline float GemvLegacy(const uint8_t* HWY_RESTRICT wr, int64_t nb, const int8_t* HWY_RESTRICT xq,
                        const float* HWY_RESTRICT xd, const int32_t* HWY_RESTRICT xs) {
  constexpr size_t kBytes = F == Format::Q8_0 ? 34 : 18;
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  const __m256i tbl = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIQ4Values)));
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), corr = _mm256_setzero_ps();
  alignas(32) float sc[8];
  alignas(32) float dx[8];
  alignas(32) int32_t sx[8];
  alignas(16) uint16_t dh[8];
  for (int64_t b0 = 0; b0 < nb; b0 += 8) {
    const int n = static_cast<int>(nb - b0 < 8 ? nb - b0 : 8);
    const uint8_t* blk0 = wr + static_cast<size_t>(b0) * kBytes;
    __m128i hv;
    if (n == 8) {  // in registers: 8 narrow stores then one wide load would miss store forwarding
      auto ld = [&](int i) {
        int16_t v;
        std::memcpy(&v, blk0 + static_cast<size_t>(i) * kBytes, 2);
        return v;
      };
      hv = _mm_set_epi16(ld(7), ld(6), ld(5), ld(4), ld(3), ld(2), ld(1), ld(0));
    } else {
      for (int i = 0; i < 8; ++i) {
        if (i < n) {
          std::memcpy(dh + i, blk0 + static_cast<size_t>(i) * kBytes, 2);
        } else {
          dh[i] = 0;
        }
      }
      hv = _mm_load_si128(reinterpret_cast<const __m128i*>(dh));
    }
    __m256 xdv;
    __m256i xsv = _mm256_setzero_si256();
    if (n == 8) {
      xdv = _mm256_loadu_ps(xd + b0);
      if constexpr (F == Format::Q4_0) xsv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs + b0));
    } else {  // the tail: never read past the column's blocks
      for (int i = 0; i < 8; ++i) {
        dx[i] = i < n ? xd[b0 + i] : 0.0f;
        sx[i] = i < n && F == Format::Q4_0 ? xs[b0 + i] : 0;
      }
      xdv = _mm256_load_ps(dx);
      xsv = _mm256_load_si256(reinterpret_cast<const __m256i*>(sx));
    }
    const __m256 s = _mm256_mul_ps(_mm256_cvtph_ps(hv), xdv);
    _mm256_store_ps(sc, s);
    if constexpr (F == Format::Q4_0) corr = _mm256_fmadd_ps(s, _mm256_cvtepi32_ps(xsv), corr);
    for (int i = 0; i < n; ++i) {
      const uint8_t* q = blk0 + static_cast<size_t>(i) * kBytes + 2;
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + (b0 + i) * 32));
      __m256i p;
      if constexpr (F == Format::Q8_0) {
        const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
        p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
      } else {
        // Value j in the low nibble of byte j, j + 16 in the high one.
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
        const __m256i nib = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), m4);
        if constexpr (F == Format::Q4_0) {
          p = _mm256_maddubs_epi16(nib, x);
        } else {
          const __m256i w = _mm256_shuffle_epi8(tbl, nib);
          p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
        }
      }
      const __m256 f = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
      if (i & 1) {
        acc1 = _mm256_fmadd_ps(f, _mm256_broadcast_ss(sc + i), acc1);
      } else {
        acc0 = _mm256_fmadd_ps(f, _mm256_broadcast_ss(sc + i), acc0);
      }
    }
  }
  __m256 acc = _mm256_add_ps(acc0, acc1);
  if constexpr (F == Format::Q4_0) acc = _mm256_fnmadd_ps(_mm256_set1_ps(8.0f), corr, acc);
  return HorizontalSum(acc);
}

// The 16-bit lane pair (2j, 2j + 1) of a 128-bit register, in every lane.
inline __m128i PairIndex(int j) { return _mm_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * j)); }

inline float HalfToFloat(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

template <Format F>
inline float GemvK(const uint8_t* HWY_RESTRICT wr, int64_t nb, const int8_t* HWY_RESTRICT xq,
                   const float* HWY_RESTRICT xd, const int16_t* HWY_RESTRICT bsums) {
  constexpr bool kQ6 = F == Format::Q6_K;
  constexpr size_t kBytes = kQ6 ? 210 : 144;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = wr + static_cast<size_t>(b) * kBytes;
    const int8_t* x = xq + b * 256;
    const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bsums + b * 16));
    __m256i isum = _mm256_setzero_si256();
    if constexpr (kQ6) {
      const __m256i m30 = _mm256_set1_epi8(0x30);
      const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192));
      const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);  // the 16 sub-block scales
      const __m256i lo8 = _mm256_broadcastsi128_si256(_mm256_castsi256_si128(sc16));  // scales 0..7
      const __m256i hi8 = _mm256_broadcastsi128_si256(_mm256_extracti128_si256(sc16, 1));  // 8..15
      for (int h = 0; h < 2; ++h) {
        const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 64 * h));
        const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 64 * h + 32));
        const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 128 + 32 * h));
        const __m256i q[4] = {
            _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), m30)),
            _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), m30)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(hb, m30)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                            _mm256_and_si256(_mm256_srli_epi16(hb, 2), m30)),
        };
        const __m256i& tab = h == 0 ? lo8 : hi8;
        for (int t = 0; t < 4; ++t) {
          // values 32t .. 32t + 15: scale 8h + 2t; the next 16: 8h + 2t + 1
          const __m256i sc = _mm256_shuffle_epi8(tab, _mm256_set_m128i(PairIndex(2 * t + 1), PairIndex(2 * t)));
          const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 128 * h + 32 * t));
          isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(q[t], xv), sc));
        }
      }
      // - 32 sum_s sc_s bsum_s, exact in int32
      isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(_mm256_madd_epi16(sc16, bs), 5));
      const __m256 f = _mm256_cvtepi32_ps(isum);
      const __m256 dd = _mm256_set1_ps(HalfToFloat(blk + 208) * xd[b]);
      if (b & 1) {
        acc1 = _mm256_fmadd_ps(f, dd, acc1);
      } else {
        acc0 = _mm256_fmadd_ps(f, dd, acc0);
      }
    } else {
      uint32_t u[4];  // bytes 0..7: scales, 8..15: mins
      quant::unpack_scales_mins_k4(blk + 4, u);
      const __m128i sm = _mm_loadu_si128(reinterpret_cast<const __m128i*>(u));
      const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));  // scales 0..7, twice
      const __m256i mins = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sm, sm));  // m0 m0 m1 m1 .. m7 m7
      const uint8_t* qs = blk + 16;
      for (int i = 0; i < 4; ++i) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * i));
        const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 64 * i));
        const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 64 * i + 32));
        const __m256i s0 = _mm256_shuffle_epi8(sc, _mm256_broadcastsi128_si256(PairIndex(2 * i)));
        const __m256i s1 = _mm256_shuffle_epi8(sc, _mm256_broadcastsi128_si256(PairIndex(2 * i + 1)));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_and_si256(v, m4), x0), s0));
        isum = _mm256_add_epi32(
            isum, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 4), m4), x1), s1));
      }
      const float dx = xd[b];
      acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(HalfToFloat(blk) * dx), acc0);
      acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(mins, bs)), _mm256_set1_ps(-HalfToFloat(blk + 2) * dx),
                             acc1);
    }
  }
  return HorizontalSum(_mm256_add_ps(acc0, acc1));
}

}  // namespace avx2
#endif  // QKIT_HAVE_AVX2_GEMV
}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
