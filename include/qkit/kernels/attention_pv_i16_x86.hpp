// qkit/kernels/attention_pv_i16_x86.hpp — decode attention's P V for a
// Q8_0 V cache and a GQA group of 2-4 query heads, as 16-bit integer dot
// products (AVX-512 VNNI vpdpwssd): attn_vnni::pv_tile_q8.
//
// Why: in f32 each key costs, per 16 values of the head, a sign extension
// and a conversion of the quants (shared by the group) and one multiply-add
// per head: 40 vector operations per key for Phi-4-mini (3 heads x 128
// dims), on a core that retires one zmm multiply-add per cycle. The V
// quants are small integers, so the weights can be too:
//  * per tile, head r and block b, the weights w_rj = p_r[j] * d_v(j, b)
//    are rounded to int16 on a scale of their own maximum over the tile
//    (q = round(w * 32767 / max), relative error <= 2^-16 of the largest
//    weight, against 2^-11 per weight for the f16 P V accumulation the
//    reference engine uses for f16 caches);
//  * vpdpwssd multiplies pairs of keys at once: the quants of keys j and
//    j + 1 sign-extended to words and interleaved (two unpacks per block
//    pair), against the dword (q_j, q_j+1) broadcast from memory: per key
//    12 instructions of 32 multiply-adds for the group instead of 24 of 16,
//    and 4 instead of 16 to widen the quants;
//  * int32 sums are exact (16 pairs x 2 x 32767 x 128 < 2^31) and meet the
//    f32 accumulators once per tile: acc = alpha acc + scale * sum.
// The unpacks work within 128-bit lanes, so the sums hold the dims of a
// block permuted (lo: 8L + 0..3, hi: 8L + 4..7 in lane group L); one
// two-source permute per 16 dims puts them back at the end of the tile.
#pragma once

#include "qkit/kernels/attention_job.hpp"  // kAttnKvTile
#include "qkit/kernels/attention_vnni_x86.hpp"
#include "qkit/kernels/vnni_repack_x86.hpp"  // QKIT_UNROLL

#ifdef QKIT_HAVE_VNNI_X86

#include <cstddef>
#include <cstdint>

QKIT_INTRIN_WARNINGS_BEGIN

namespace qkit::kernels::attn_vnni {

// Keys per tile this kernel takes: the decode path's.
inline constexpr size_t kPvMaxKeys = kAttnKvTile;

// The tile's weights as int16: per group of four keys and head r, eight
// dwords, dword b * 2 + h holding block b's weights of keys 2h and 2h + 1
// (the lower key in the low word); per head and block a scale (max
// weight / 32767) in lane b * 4 of scale[r].
struct PvWeights {
  alignas(64) int32_t quad[kPvMaxKeys / 4][4][8];
  alignas(64) float scale[4][16];
};

// Weights of keys [0, n) (rows v0 + j * vb of kNB blocks) for kR heads.
// Four keys at a time, in lanes b * 4 + k (block b of key k): row_scales4
// gathers the keys' block scales d_v as for the scores, p_r of the four
// keys is one broadcast load, so each head's weights p_r[k] * d_v(k, b)
// are one multiply per four keys.
template <size_t kR, size_t kNB>
QKIT_VNNI_TARGET inline void pv_weights(const uint8_t* v0, size_t vb, const float* p, size_t T, size_t n,
                                        PvWeights& out) {
  static_assert(kR >= 1 && kR <= 4 && kNB >= 1 && kNB <= 4, "four heads and four blocks at most");
  alignas(64) float w[kPvMaxKeys / 4][kR][16];
  __m512 mx[kR];
  for (size_t r = 0; r < kR; ++r) mx[r] = _mm512_setzero_ps();
  for (size_t j = 0; j < n; j += 4) {
    // Keys past n take the last row and weight 0 (p is not read there).
    Q8Row<kNB> row[4];
    for (size_t k = 0; k < 4; ++k) row[k] = load_row<kNB>(v0 + (j + k < n ? j + k : n - 1) * vb);
    const __m512 dv = row_scales4(row);
    const __mmask8 live = static_cast<__mmask8>(n - j >= 4 ? 0xF : (1u << (n - j)) - 1);
    for (size_t r = 0; r < kR; ++r) {
      const __m512 wr = _mm512_mul_ps(dv, _mm512_broadcast_f32x4(_mm_maskz_loadu_ps(live, p + r * T + j)));
      _mm512_store_ps(w[j / 4][r], wr);
      mx[r] = _mm512_max_ps(mx[r], wr);
    }
  }
  // Per head and block the largest weight of the tile, in each of the
  // block's four lanes. A block whose weights are all 0 (past kNB, or
  // underflowed) keeps scale 0 and zero weights.
  __m512 inv[kR];
  for (size_t r = 0; r < kR; ++r) {
    __m512 m = _mm512_max_ps(mx[r], _mm512_permute_ps(mx[r], _MM_SHUFFLE(2, 3, 0, 1)));
    m = _mm512_max_ps(m, _mm512_permute_ps(m, _MM_SHUFFLE(1, 0, 3, 2)));
    const __mmask16 nonzero = _mm512_cmp_ps_mask(m, _mm512_setzero_ps(), _CMP_GT_OQ);
    inv[r] = _mm512_maskz_div_ps(nonzero, _mm512_set1_ps(32767.0f), m);
    _mm512_store_ps(out.scale[r], _mm512_mul_ps(m, _mm512_set1_ps(1.0f / 32767.0f)));
  }
  // Rounded to int16 and narrowed: words b * 4 + k, so dword b * 2 + h
  // pairs keys 2h and 2h + 1 of block b.
  for (size_t j = 0; j < n; j += 4)
    for (size_t r = 0; r < kR; ++r)
      _mm256_store_si256(reinterpret_cast<__m256i*>(out.quad[j / 4][r]),
                         _mm512_cvtepi32_epi16(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_load_ps(w[j / 4][r]), inv[r]))));
}

// Blocks [kB0, kB1) of the head: kR x (kB1 - kB0) x 2 int32 accumulators
// in registers over the tile's key pairs, then acc = alpha acc + scale sum.
template <size_t kR, size_t kB0, size_t kB1>
QKIT_VNNI_TARGET inline void pv_blocks(const uint8_t* v0, size_t vb, size_t n, const PvWeights& wt,
                                       const float* alpha, float* acc, size_t D) {
  constexpr size_t kNB = kB1 - kB0;
  static_assert(kPvMaxKeys / 2 * 2 * 32767.0 * 128 < 2147483648.0, "int32 sums must stay exact");
  static_assert(kR * kNB * 2 <= 12, "accumulators must stay in registers");
  // Flat (index (b * kR + r) * 2 + half): GCC 12 shuffles registers
  // between the iterations of a three-dimensional array of them.
  __m512i s[kNB * kR * 2];
  QKIT_UNROLL(12)
  for (size_t i = 0; i < kNB * kR * 2; ++i) s[i] = _mm512_setzero_si512();
  for (size_t j = 0; j < n; j += 2) {
    const uint8_t* ra = v0 + j * vb;
    const uint8_t* rb = j + 1 < n ? ra + vb : ra;  // an odd last key pairs with itself at weight 0
    const int32_t(&q)[4][8] = wt.quad[j / 4];
    const size_t h = (j / 2) % 2;  // which pair of the group of four
    QKIT_UNROLL(4)
    for (size_t b = 0; b < kNB; ++b) {
      const size_t o = (kB0 + b) * 34 + 2;
      const __m512i xa = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(ra + o)));
      const __m512i xb = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(rb + o)));
      const __m512i lo = _mm512_unpacklo_epi16(xa, xb), hi = _mm512_unpackhi_epi16(xa, xb);
      QKIT_UNROLL(4)
      for (size_t r = 0; r < kR; ++r) {
        const __m512i qw = _mm512_set1_epi32(q[r][(kB0 + b) * 2 + h]);
        s[(b * kR + r) * 2] = _mm512_dpwssd_epi32(s[(b * kR + r) * 2], lo, qw);
        s[(b * kR + r) * 2 + 1] = _mm512_dpwssd_epi32(s[(b * kR + r) * 2 + 1], hi, qw);
      }
    }
  }
  // Dim 8L + m (m < 4) sits in lo lane 4L + m, 8L + 4 + m in hi lane 4L + m.
  const __m512i first = _mm512_set_epi32(23, 22, 21, 20, 7, 6, 5, 4, 19, 18, 17, 16, 3, 2, 1, 0);
  const __m512i second = _mm512_set_epi32(31, 30, 29, 28, 15, 14, 13, 12, 27, 26, 25, 24, 11, 10, 9, 8);
  // Unrolled (as every loop over s): an index known only at run time
  // would keep s in memory.
  QKIT_UNROLL(4)
  for (size_t r = 0; r < kR; ++r) {
    const __m512 va = _mm512_set1_ps(alpha[r]);
    QKIT_UNROLL(4)
    for (size_t b = 0; b < kNB; ++b) {
      const __m512 sc = _mm512_set1_ps(wt.scale[r][(kB0 + b) * 4]);
      float* a = acc + r * D + (kB0 + b) * 32;
      const __m512i lo = s[(b * kR + r) * 2], hi = s[(b * kR + r) * 2 + 1];
      const __m512 x0 = _mm512_cvtepi32_ps(_mm512_permutex2var_epi32(lo, first, hi));
      const __m512 x1 = _mm512_cvtepi32_ps(_mm512_permutex2var_epi32(lo, second, hi));
      _mm512_storeu_ps(a, _mm512_fmadd_ps(x0, sc, _mm512_mul_ps(_mm512_loadu_ps(a), va)));
      _mm512_storeu_ps(a + 16, _mm512_fmadd_ps(x1, sc, _mm512_mul_ps(_mm512_loadu_ps(a + 16), va)));
    }
  }
}

// Blocks [kB0, kNB) in passes of kPass blocks.
template <size_t kR, size_t kPass, size_t kNB, size_t kB0 = 0>
QKIT_VNNI_TARGET inline void pv_pass(const uint8_t* v0, size_t vb, size_t n, const PvWeights& wt, const float* alpha,
                                     float* acc, size_t D) {
  constexpr size_t kB1 = kB0 + kPass < kNB ? kB0 + kPass : kNB;
  pv_blocks<kR, kB0, kB1>(v0, vb, n, wt, alpha, acc, D);
  if constexpr (kB1 < kNB) pv_pass<kR, kPass, kNB, kB1>(v0, vb, n, wt, alpha, acc, D);
}

// acc_r = alpha_r acc_r + sum_j p_r[j] V_j over a tile of n <= kPvMaxKeys keys
// (rows v0 + j * vb, heads of kNB blocks), p_r = p + r * T.
template <size_t kR, size_t kNB>
QKIT_VNNI_TARGET inline void pv_tile_q8(const uint8_t* v0, size_t vb, const float* p, size_t T, size_t n,
                                        const float* alpha, float* acc, size_t D) {
  PvWeights wt;
  pv_weights<kR, kNB>(v0, vb, p, T, n, wt);
  // As many blocks per pass as 12 accumulators allow: with 24, GCC 12
  // spilled half of them every key pair.
  constexpr size_t kPass = 6 / kR < kNB ? 6 / kR : kNB;
  pv_pass<kR, kPass, kNB>(v0, vb, n, wt, alpha, acc, D);
}

}  // namespace qkit::kernels::attn_vnni

QKIT_INTRIN_WARNINGS_END

#endif  // QKIT_HAVE_VNNI_X86
