// qkit/kernels/dot_avx2_k-inl.h — raw AVX2 GEMV of the 256-value
// super-block formats against one Q8_K activation column:
// gemv_<w>_q8_K, w = q2_K, q3_K, q4_K, q5_K, q6_K, iq4_xs, on AVX2 and on
// AVX3 without VNNI (dot_i16-inl.h calls GemvK<F> when N == 1).
//
// One walk (GemvK) serves every format; a format is a decoder (KDec<F>):
//   Scales(blk)   the 16 int16 scales of the block's 16-value groups, the
//                 int16 multiplier of each of the activation's 16 bsums,
//                 d, and -dmin where the format has mins
//   Half(blk, h)  the quants of values 128h .. 128h + 127 as 4 vectors of
//                 32 bytes in activation order (kPairedX decoders: in the
//                 order PairX gives the activation once per call), and the
//                 group of each vector's 128-bit lanes (kGroupLo / kGroupHi):
//                 unsigned (q <= 63) or, for IQ4_XS, the signed table
//                 levels (|w| <= 127)
// Per 32 values, the reference's scheme: vpmaddubsw of the unsigned quants
// and the int8 activations (IQ4_XS: |w| and the sign moved onto x, as for
// IQ4_NL), at most 2 * 127 * 127 = 32258, no saturation; vpmaddwd by the
// group scales into int32 lanes. The quants' offset enters through the
// bsums, as in vnni_k_x86.hpp:
//   kFloat (Q2_K, Q4_K, Q5_K): y = d dx isum - dmin dx sum_s m_s bsum_s
//   kInt   (Q3_K, Q6_K):        isum += sum_s m16_s bsum_s (-4 sc, -32 sc)
//   kNone  (IQ4_XS):            signed quants, no offset
// The integer sum per block is exact, as in the reference; the f32 sums
// run in a fixed order per row, whatever the thread count.
#if defined(QKIT_KERNELS_DOT_AVX2_K_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_DOT_AVX2_K_INL_H_
#undef QKIT_KERNELS_DOT_AVX2_K_INL_H_
#else
#define QKIT_KERNELS_DOT_AVX2_K_INL_H_
#endif

#include <cstring>

#include "hwy/highway.h"
#include "qkit/kernels/common-inl.h"
#include "qkit/kernels/dot_avx2-inl.h"
#include "qkit/kernels/k_scales.hpp"
#include "qkit/quant/format.hpp"
#include "qkit/quant/iq4.hpp"
#include "qkit/quant/k_blocks.hpp"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {
#if defined(QKIT_HAVE_AVX2_GEMV)
namespace avx2 {

enum class BsumTerm { kNone, kInt, kFloat };

// One super-block's scales as the walk uses them.
struct KScales {
  __m256i sc;   // int16: lane t scales values 16t .. 16t + 15
  __m256i m16;  // int16: multiplier of bsum t (kInt: into isum; kFloat: times dm)
  float d;      // super-block scale
  float dm;     // kFloat: -dmin
};

inline __m256i Load32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// Bit `from` of every byte moved to bit `to` (other bits cleared); from and
// to are constants once the decoders' loops unroll.
inline __m256i BitTo(__m256i v, int from, int to) {
  const __m256i s = from <= to ? _mm256_slli_epi16(v, to - from) : _mm256_srli_epi16(v, from - to);
  return _mm256_and_si256(s, _mm256_set1_epi8(static_cast<char>(1 << to)));
}

// Q4_K / Q5_K: d | dmin | 12 bytes of 6-bit scales and mins (8 sub-blocks
// of 32, so each scale and min covers two 16-value groups).
inline KScales ScalesMinsK4(const uint8_t* blk) {
  uint32_t u[4];  // bytes 0..7: scales, 8..15: mins
  quant::unpack_scales_mins_k4(blk + 4, u);
  const __m128i sm = _mm_set_epi32(static_cast<int>(u[3]), static_cast<int>(u[2]), static_cast<int>(u[1]),
                                   static_cast<int>(u[0]));
  return {_mm256_cvtepu8_epi16(_mm_unpacklo_epi8(sm, sm)), _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sm, sm)),
          HalfToFloat(blk), -HalfToFloat(blk + 2)};
}

// The 4 x 64 nibbles of Q4_K / Q5_K at qs: per 64 values 32 bytes, low
// nibbles first.
inline void NibblesK4(const uint8_t* qs, int h, __m256i q[4]) {
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  const __m256i v0 = Load32(qs + 64 * h), v1 = Load32(qs + 64 * h + 32);
  q[0] = _mm256_and_si256(v0, m4);
  q[1] = _mm256_and_si256(_mm256_srli_epi16(v0, 4), m4);
  q[2] = _mm256_and_si256(v1, m4);
  q[3] = _mm256_and_si256(_mm256_srli_epi16(v1, 4), m4);
}

// What most decoders share: quants in activation order, so vector t of a
// half covers groups 2t (low 128-bit lane) and 2t + 1 (high lane).
struct KDecBase {
  static constexpr bool kPairedX = false;  // true: the activation arranged by PairX
  static constexpr int kGroupLo[4] = {0, 2, 4, 6};
  static constexpr int kGroupHi[4] = {1, 3, 5, 7};
};

template <Format F>
struct KDec;

template <>
struct KDec<Format::Q4_K> : KDecBase {
  static constexpr BsumTerm kTerm = BsumTerm::kFloat;
  static constexpr bool kSigned = false;
  static KScales Scales(const uint8_t* blk) { return ScalesMinsK4(blk); }
  static void Half(const uint8_t* blk, int h, __m256i q[4]) { NibblesK4(blk + 16, h, q); }
};

// Q5_K: Q4_K's fields, then qh[32] | qs[128]; value 32i + l has its 5th
// bit in bit i of qh[l].
template <>
struct KDec<Format::Q5_K> : KDecBase {
  static constexpr BsumTerm kTerm = BsumTerm::kFloat;
  static constexpr bool kSigned = false;
  static KScales Scales(const uint8_t* blk) { return ScalesMinsK4(blk); }
  static void Half(const uint8_t* blk, int h, __m256i q[4]) {
    NibblesK4(blk + 48, h, q);
    const __m256i hb = Load32(blk + 16);
    for (int t = 0; t < 4; ++t) q[t] = _mm256_or_si256(q[t], BitTo(hb, 4 * h + t, 4));
  }
};

// Q6_K: ql[128] | qh[64] | int8 scales[16] | d. Per half h, value 32t + l
// = ql[64h + l + 32 (t & 1)] nibble (t < 2: low) | qh[32h + l] bits 2t,
// 2t + 1 << 4; quants offset by 32.
template <>
struct KDec<Format::Q6_K> : KDecBase {
  static constexpr BsumTerm kTerm = BsumTerm::kInt;
  static constexpr bool kSigned = false;
  static KScales Scales(const uint8_t* blk) {
    const __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192)));
    return {sc, _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc, 5)), HalfToFloat(blk + 208), 0.0f};
  }
  static void Half(const uint8_t* blk, int h, __m256i q[4]) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
    const __m256i l0 = Load32(blk + 64 * h), l1 = Load32(blk + 64 * h + 32);
    const __m256i hb = Load32(blk + 128 + 32 * h);
    q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), m30));
    q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), m30));
    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(hb, m30));
    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                           _mm256_and_si256(_mm256_srli_epi16(hb, 2), m30));
  }
};

// Q2_K: scales[16] (low nibble scale, high nibble min) | qs[64] | d | dmin;
// value 128h + 32t + l = bits 2t, 2t + 1 of qs[32h + l].
template <>
struct KDec<Format::Q2_K> : KDecBase {
  static constexpr BsumTerm kTerm = BsumTerm::kFloat;
  static constexpr bool kSigned = false;
  static KScales Scales(const uint8_t* blk) {
    const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk));
    const __m128i m4 = _mm_set1_epi8(0x0f);
    return {_mm256_cvtepu8_epi16(_mm_and_si128(s, m4)),
            _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s, 4), m4)), HalfToFloat(blk + 80),
            -HalfToFloat(blk + 82)};
  }
  static void Half(const uint8_t* blk, int h, __m256i q[4]) {
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m256i v = Load32(blk + 16 + 32 * h);
    for (int t = 0; t < 4; ++t) q[t] = _mm256_and_si256(_mm256_srli_epi16(v, 2 * t), m3);
  }
};

// Q3_K: hmask[32] | qs[64] | 12 bytes of 6-bit scales | d; value
// 128h + 32t + l = bits 2t, 2t + 1 of qs[32h + l] | bit 4h + t of
// hmask[l] << 2, offset by 4 (the reference's "minus 4 where the high bit
// is clear").
template <>
struct KDec<Format::Q3_K> : KDecBase {
  static constexpr BsumTerm kTerm = BsumTerm::kInt;
  static constexpr bool kSigned = false;
  static KScales Scales(const uint8_t* blk) {
    uint32_t a[4];
    q3k_scale_words(blk + 96, a);
    const __m128i u = _mm_set_epi32(static_cast<int>(a[3]), static_cast<int>(a[2]), static_cast<int>(a[1]),
                                    static_cast<int>(a[0]));
    const __m256i sc = _mm256_cvtepi8_epi16(_mm_sub_epi8(u, _mm_set1_epi8(32)));
    return {sc, _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc, 2)), HalfToFloat(blk + 108), 0.0f};
  }
  static void Half(const uint8_t* blk, int h, __m256i q[4]) {
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m256i v = Load32(blk + 32 + 32 * h), hm = Load32(blk);
    for (int t = 0; t < 4; ++t)
      q[t] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 2 * t), m3), BitTo(hm, 4 * h + t, 2));
  }
};

// IQ4_XS: d | u16 scales_h | scales_l[4] | qs[128]; sub-block ib (32
// values) as an IQ4_NL block: value j in the low nibble of qs[16 ib + j],
// j + 16 in the high one, looked up in the 16 levels. Scale ib (6 bits,
// minus 32) = nibble ib of scales_l | bits 2 ib, 2 ib + 1 of scales_h << 4.
// One 32-byte load holds sub-blocks ib, ib + 1: its low nibbles are values
// 0..15 of both (one per 128-bit lane), its high nibbles 16..31, so the
// activation is arranged to match once per call (PairX) instead of the
// weights per row (a lane insert per 32 values).
template <>
struct KDec<Format::IQ4_XS> {
  static constexpr BsumTerm kTerm = BsumTerm::kNone;
  static constexpr bool kSigned = true;
  static constexpr bool kPairedX = true;
  // q[t]: sub-block 4h + 2 (t / 2) in the low lane, the next in the high
  // one; the half's group of sub-block 4h + j is 2j
  static constexpr int kGroupLo[4] = {0, 0, 4, 4};
  static constexpr int kGroupHi[4] = {2, 2, 6, 6};
  static KScales Scales(const uint8_t* blk) {
    uint32_t sl;
    uint16_t sh;
    std::memcpy(&sh, blk + 2, 2);
    std::memcpy(&sl, blk + 4, 4);
    const __m128i m4 = _mm_set1_epi8(0x0f);
    const __m128i l = _mm_cvtsi32_si128(static_cast<int>(sl));
    // nibble ib of scales_l (bytes in ib order), and bits 2 ib, 2 ib + 1 of scales_h
    const __m128i nib = _mm_unpacklo_epi8(_mm_and_si128(l, m4), _mm_and_si128(_mm_srli_epi16(l, 4), m4));
    const __m128i lo = _mm_cvtepu8_epi16(nib);
    const __m256i shifts = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    const __m256i h3 = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(sh), shifts), _mm256_set1_epi32(3));
    const __m128i hi = _mm_packs_epi32(_mm256_castsi256_si128(h3), _mm256_extracti128_si256(h3, 1));
    const __m128i ls = _mm_sub_epi16(_mm_or_si128(lo, _mm_slli_epi16(hi, 4)), _mm_set1_epi16(32));  // 8 scales
    return {_mm256_set_m128i(_mm_unpackhi_epi16(ls, ls), _mm_unpacklo_epi16(ls, ls)), _mm256_setzero_si256(),
            HalfToFloat(blk), 0.0f};
  }
  static void Half(const uint8_t* blk, int h, __m256i q[4]) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m256i tbl = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIQ4Values)));
    for (int p = 0; p < 2; ++p) {
      const __m256i v = Load32(blk + 8 + 64 * h + 32 * p);
      q[2 * p] = _mm256_shuffle_epi8(tbl, _mm256_and_si256(v, m4));
      q[2 * p + 1] = _mm256_shuffle_epi8(tbl, _mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
    }
  }
};

// The activation in the order of kPairedX decoders: per 64 values the
// 16-byte chunks 0, 2, 1, 3 (values 0..15 and 32..47 of each pair of
// 32-value sub-blocks first, then 16..31 and 48..63). k: a multiple of 64.
inline void PairX(const int8_t* HWY_RESTRICT x, int64_t k, int8_t* HWY_RESTRICT out) {
  for (int64_t i = 0; i < k; i += 64) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i + 32));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm256_permute2x128_si256(a, b, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i + 32), _mm256_permute2x128_si256(a, b, 0x31));
  }
}

// One row (nb super-blocks) . one column: xq quants (arranged by PairX
// for kPairedX decoders), xd scales, bsums.
template <Format F>
inline float GemvK(const uint8_t* HWY_RESTRICT wr, int64_t nb, const int8_t* HWY_RESTRICT xq,
                   const float* HWY_RESTRICT xd, const int16_t* HWY_RESTRICT bsums) {
  using Dec = KDec<F>;
  constexpr size_t kBytes = kFormatInfo[format_index(F)].block_bytes;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = wr + static_cast<size_t>(b) * kBytes;
    const int8_t* x = xq + b * 256;
    const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bsums + b * 16));
    const KScales s = Dec::Scales(blk);
    __m256i isum = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      __m256i q[4];
      Dec::Half(blk, h, q);
      // the 8 group scales of this half in both 128-bit lanes
      const __m256i tab = _mm256_broadcastsi128_si256(h == 0 ? _mm256_castsi256_si128(s.sc)
                                                             : _mm256_extracti128_si256(s.sc, 1));
      for (int t = 0; t < 4; ++t) {
        // the group scale of each 128-bit lane of q[t]
        const __m256i sc =
            _mm256_shuffle_epi8(tab, _mm256_set_m128i(PairIndex(Dec::kGroupHi[t]), PairIndex(Dec::kGroupLo[t])));
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 128 * h + 32 * t));
        __m256i p;
        if constexpr (Dec::kSigned) {
          p = _mm256_maddubs_epi16(_mm256_sign_epi8(q[t], q[t]), _mm256_sign_epi8(xv, q[t]));
        } else {
          p = _mm256_maddubs_epi16(q[t], xv);
        }
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, sc));
      }
    }
    if constexpr (Dec::kTerm == BsumTerm::kInt) isum = _mm256_add_epi32(isum, _mm256_madd_epi16(s.m16, bs));
    // One FMA chain per term: a block's integer work takes far longer
    // than the FMA's latency.
    const float dx = xd[b];
    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(s.d * dx), acc0);
    if constexpr (Dec::kTerm == BsumTerm::kFloat)
      acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(s.m16, bs)), _mm256_set1_ps(s.dm * dx), acc1);
  }
  return HorizontalSum(_mm256_add_ps(acc0, acc1));
}

}  // namespace avx2
#endif  // QKIT_HAVE_AVX2_GEMV
}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
