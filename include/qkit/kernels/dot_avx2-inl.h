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
// The K-quants' GEMV (Q2_K..Q6_K, IQ4_XS x Q8_K) is in dot_avx2_k-inl.h.
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

}  // namespace avx2
#endif  // QKIT_HAVE_AVX2_GEMV
}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
