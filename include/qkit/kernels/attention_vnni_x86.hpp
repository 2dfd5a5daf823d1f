// qkit/kernels/attention_vnni_x86.hpp — decode attention's K.q for a Q8_0
// cache as integer dot products (AVX-512 VNNI vpdpbusd), the way the
// reference engine's CPU flash attention takes K.q for a Q8_0 cache: the
// query head is quantized to Q8_0 once per call (its vec_dot_type) and each
// key row is an int8 dot product per block, scaled by d_k * d_q.
//
// Compiled once per translation unit with its own target attribute; the
// AVX3 / AVX3_DL attention kernels call it when cpu::has_fast_path(kFastVnni).
//
// Why this shape:
//  * vpdpbusd multiplies unsigned by signed bytes. The KEY is made unsigned
//    (k ^ 0x80 = k + 128, one xor per loaded chunk, shared by every query
//    head of the GQA group), so sum((k + 128) q) = sum(k q) + 128 sum(q);
//    the 128 sum(q) of each lane's four bytes is a per-query constant,
//    subtracted by starting each accumulator at its negation (the seed):
//    no per-key correction at all.
//  * One zmm holds two blocks (64 quants); the two blocks' 32 quants are
//    2 bytes apart in the row, so two overlapping loads (+2 and +4) and a
//    64-bit blend assemble them. Each lane's partial sum is converted to
//    f32 and multiplied by the lane's d_k * d_q * scale, so block sums are
//    exact integers and the only rounding is f32 accumulation.
//  * d_k of the chunk's two blocks: one vpermw of the row's first 64 bytes
//    spreads the two f16 scales over lanes 0-7 / 8-15, one vcvtph2ps.
//  * Four keys at a time, reduced together by one transpose-add tree.
//  * Heads of at most four blocks (Phi-4-mini's 128) take
//    score_keys_q8_small instead, built for this Zen 4's limits as
//    measured: one zmm vpdpbusd, multiply or cross-lane shuffle per cycle
//    (in-lane unpacks 1.5, and they still slow vpdpbusd when mixed), and
//    one 64-byte load per cycle, 0.7 when it straddles cache lines (rows
//    of 136 bytes mostly do):
//    - a row is read in three loads (64 + 64 + 8 bytes, Q8Row); each
//      chunk is one word permute of them and the scales come from the
//      same registers (row_scales4), where two overlapping loads per
//      chunk plus two for the scales took six;
//    - four keys' chunks are transposed within 128-bit groups (transpose4,
//      shared by the heads) so that four vpdpbusd per chunk and head add a
//      key's 16 dims inside each lane; a key-per-vector layout needed a
//      tree of 14 shuffles per head and four keys instead;
//    - integer block sums of four keys in one vector before any
//      conversion: the per-block d_k * d_q costs one multiply per four
//      keys, not one per key and chunk.
//    In-cache Phi-4-mini Q8_0 decode: 20.0 ns per key and KV head with
//    per-key float scaling, 16.3 with the shuffle tree, 15.2 now (1T).
#pragma once

#include "qkit/kernels/vnni_x86.hpp"

#ifdef QKIT_HAVE_VNNI_X86

#include <cstddef>
#include <cstdint>

QKIT_INTRIN_WARNINGS_BEGIN

namespace qkit::kernels::attn_vnni {

// The query side of one head, prepared once per call (QuantizeQuery):
// for each 64-quant chunk c (two blocks; a last odd block is padded with
// zero quants): qq[c][64] the quants, seed[c][16] = -128 * (sum of lane's
// 4 quants), dq[c][16] = d_q of the lane's block * scale (0 in padding).
inline constexpr size_t kChunk = 64;

// Horizontal sums of four vectors as {sum a, sum b, sum c, sum d}.
QKIT_VNNI_TARGET inline __m128 sum4(__m512 a, __m512 b, __m512 c, __m512 d) {
  const __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));  // a b a b per 128 bits
  const __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
  const __m512 all = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd))),
                                   _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd))));
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(all), _mm512_extractf32x8_ps(all, 1));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

// Chunk c of a key row (two blocks, 68 bytes from `pair`): the unsigned
// quants and each lane's d_k. Loads stay inside the 68 bytes.
QKIT_VNNI_TARGET inline void load_pair(const uint8_t* pair, __m512i& ku, __m512& dk) {
  const __m512i a = _mm512_loadu_si512(pair + 2);  // block 0's quants in the low 32 bytes
  const __m512i b = _mm512_loadu_si512(pair + 4);  // block 1's quants in the high 32 bytes
  ku = _mm512_xor_si512(_mm512_mask_blend_epi64(0xF0, a, b), _mm512_set1_epi8(static_cast<char>(0x80)));
  // f16 d of block 0 is word 0, of block 1 word 17 (byte 34).
  const __m512i idx = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                                       17, 17, 17, 17, 17, 17, 17, 17, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i w = _mm512_permutexvar_epi16(idx, _mm512_loadu_si512(pair));
  dk = _mm512_cvtph_ps(_mm512_castsi512_si256(w));
}

// A last single block (head_dim % 64 == 32): quants in the low half, the
// high half's products vanish against the zero-padded query.
QKIT_VNNI_TARGET inline void load_single(const uint8_t* blk, __m512i& ku, __m512& dk) {
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
  ku = _mm512_xor_si512(_mm512_zextsi256_si512(a), _mm512_set1_epi8(static_cast<char>(0x80)));
  dk = _mm512_set1_ps(vnni::f16_scalar(blk));
}

// Chunk c of one key row `key` against kR query heads: acc[r] += the
// lanes' d_k * d_q * (integer block dots). A full pair of blocks when
// `pair`, else the row's last single block.
template <size_t kR>
QKIT_VNNI_TARGET inline void accumulate_key_chunk(const uint8_t* key, size_t c, bool pair, const int8_t* qq,
                                                  const int32_t* seed, const float* dq, size_t n_chunks,
                                                  __m512 (&acc)[kR]) {
  const uint8_t* p = key + c * 68;
  __m512i ku;
  __m512 dk;
  if (pair) {
    load_pair(p, ku, dk);
  } else {
    load_single(p, ku, dk);
  }
  for (size_t r = 0; r < kR; ++r) {
    const size_t o = r * n_chunks + c;
    const __m512i s =
        _mm512_dpbusd_epi32(_mm512_loadu_si512(seed + o * 16), ku, _mm512_loadu_si512(qq + o * kChunk));
    acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dk, _mm512_loadu_ps(dq + o * 16)), acc[r]);
  }
}

// Scores of keys [0, n) (rows k0 + j * kb) for kR query heads:
// sc[r * T + j] = scale * q~_r . K_j, q~ the Q8_0 query. n_pairs full
// chunks, plus one single block when odd.
template <size_t kR>
QKIT_VNNI_TARGET inline void score_keys_q8(const int8_t* qq, const int32_t* seed, const float* dq, size_t n_chunks,
                                           bool odd, const uint8_t* k0, size_t kb, size_t n, float* sc, size_t T) {
  const size_t n_pairs = odd ? n_chunks - 1 : n_chunks;
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    __m512 f[4][kR];
    for (size_t k = 0; k < 4; ++k)
      for (size_t r = 0; r < kR; ++r) f[k][r] = _mm512_setzero_ps();
    for (size_t c = 0; c < n_chunks; ++c)
      for (size_t k = 0; k < 4; ++k)
        accumulate_key_chunk<kR>(k0 + (j + k) * kb, c, c < n_pairs, qq, seed, dq, n_chunks, f[k]);
    for (size_t r = 0; r < kR; ++r) _mm_storeu_ps(sc + r * T + j, sum4(f[0][r], f[1][r], f[2][r], f[3][r]));
  }
  for (; j < n; ++j) {
    __m512 f[kR];
    for (size_t r = 0; r < kR; ++r) f[r] = _mm512_setzero_ps();
    for (size_t c = 0; c < n_chunks; ++c)
      accumulate_key_chunk<kR>(k0 + j * kb, c, c < n_pairs, qq, seed, dq, n_chunks, f);
    for (size_t r = 0; r < kR; ++r) sc[r * T + j] = _mm512_reduce_add_ps(f[r]);
  }
}

// A row of kNB <= 4 blocks (34 * kNB bytes, 136 for four) in three
// registers: a = bytes [0, 64), b = [64, 128), c = [128, 136), each
// reading only bytes the row has (zeros past its end). Three loads per
// row where taking each chunk as two overlapping 64-byte loads and the
// scales as two more took six: this Zen 4 retires one 64-byte load per
// cycle, fewer when they straddle cache lines, as rows of 136 bytes do.
template <size_t kBytes>
QKIT_VNNI_TARGET inline __m512i load_bytes(const uint8_t* p) {
  if constexpr (kBytes == 0) {
    return _mm512_setzero_si512();
  } else if constexpr (kBytes >= 64) {
    return _mm512_loadu_si512(p);
  } else if constexpr (kBytes == 8) {
    return _mm512_zextsi128_si512(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  } else {
    return _mm512_maskz_loadu_epi8((__mmask64{1} << kBytes) - 1, p);
  }
}
template <size_t kNB>
struct Q8Row {
  static constexpr size_t kBytes = 34 * kNB;
  static constexpr size_t kA = kBytes < 64 ? kBytes : 64;
  static constexpr size_t kB = kBytes <= 64 ? 0 : kBytes - 64 < 64 ? kBytes - 64 : 64;
  static constexpr size_t kC = kBytes <= 128 ? 0 : kBytes - 128;
  __m512i a, b, c;
};
template <size_t kNB>
QKIT_VNNI_TARGET inline Q8Row<kNB> load_row(const uint8_t* row) {
  static_assert(kNB >= 1 && kNB <= 4, "at most four blocks");
  using R = Q8Row<kNB>;
  return R{load_bytes<R::kA>(row), load_bytes<R::kB>(row + 64), load_bytes<R::kC>(row + 128)};
}

// Chunk kC (blocks 2kC and 2kC + 1) of a loaded row: its 64 quants by one
// two-source word permute (the blocks sit 2 bytes apart, at row bytes
// 2-33 / 36-67 and 70-101 / 104-135). Zeros past the row's blocks.
template <size_t kC, size_t kNB>
QKIT_VNNI_TARGET inline __m512i row_chunk(const Q8Row<kNB>& r) {
  static_assert(kC < 2, "two chunks");
  // Word w of the chunk: row word w + 1 (w < 16) or w + 2, after kC * 34 words.
  const __m512i step = _mm512_set_epi16(2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  //
                                        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  const __m512i iota = _mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,  //
                                        15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  if constexpr (kC == 0) {
    return _mm512_permutex2var_epi16(r.a, _mm512_add_epi16(iota, step), r.b);
  } else {  // words 34 on: from b (word 32 of the row is its word 0)
    return _mm512_permutex2var_epi16(r.b, _mm512_add_epi16(iota, _mm512_add_epi16(step, _mm512_set1_epi16(2))), r.c);
  }
}

// The f16 scales of four loaded rows' blocks as f32 in lanes b * 4 + k
// (block b of row k; 0 past kNB): block b's scale is word 17b of the row
// (a's words 0 and 17, b's 2 and 19); rows (0, 1) and (2, 3) by one
// two-source permute each per half of the blocks, joined by ORs.
template <size_t kNB>
QKIT_VNNI_TARGET inline __m512 row_scales4(const Q8Row<kNB> (&r)[4]) {
  const __m512i idx = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                                       51, 19, 51, 19, 34, 2, 34, 2, 49, 17, 49, 17, 32, 0, 32, 0);
  __m512i w = _mm512_or_si512(_mm512_maskz_permutex2var_epi16(0x0033, r[0].a, idx, r[1].a),
                              _mm512_maskz_permutex2var_epi16(0x00CC, r[2].a, idx, r[3].a));
  if constexpr (kNB > 2)
    w = _mm512_or_si512(w, _mm512_or_si512(_mm512_maskz_permutex2var_epi16(0x3300, r[0].b, idx, r[1].b),
                                           _mm512_maskz_permutex2var_epi16(0xCC00, r[2].b, idx, r[3].b)));
  return _mm512_cvtph_ps(_mm512_castsi512_si256(w));
}

// Four keys' chunks a, b, c, d (dwords 0-15 each) -> t[m], lane g * 4 + k
// holding key k's dword 4g + m: a 4 x 4 dword transpose within each
// 128-bit group (eight unpacks for four keys, shared by every head).
QKIT_VNNI_TARGET inline void transpose4(__m512i a, __m512i b, __m512i c, __m512i d, __m512i (&t)[4]) {
  const __m512i ab0 = _mm512_unpacklo_epi32(a, b), ab1 = _mm512_unpackhi_epi32(a, b);  // a0 b0 a1 b1 | a2 b2 a3 b3
  const __m512i cd0 = _mm512_unpacklo_epi32(c, d), cd1 = _mm512_unpackhi_epi32(c, d);
  t[0] = _mm512_unpacklo_epi64(ab0, cd0);
  t[1] = _mm512_unpackhi_epi64(ab0, cd0);
  t[2] = _mm512_unpacklo_epi64(ab1, cd1);
  t[3] = _mm512_unpackhi_epi64(ab1, cd1);
}

// One head's query in score_keys_q8_small's layout, from QuantizeQueryQ8's
// (qq, seed, dq) of its nb <= 4 blocks (a missing chunk is zero):
// qx[(c * 4 + m) * 64 ..] repeats dword 4g + m of chunk c over the four
// lanes of each 128-bit group g, matching transpose4's t[m]; seedx[c * 16
// + g * 4 + k] is the sum of the seeds of dwords 4g .. 4g + 3, the
// constant the four vpdpbusd into a lane of group g must start from;
// dq4[b * 4 + k] is block b's d_q * scale (0 past nb), as the block sums.
QKIT_VNNI_TARGET inline void expand_query(const int8_t* qq, const int32_t* seed, const float* dq, size_t nb,
                                          int8_t* qx, int32_t* seedx, float* dq4) {
  const size_t n_chunks = (nb + 1) / 2;
  for (size_t b = 0; b < 4; ++b)  // block b is lane (b % 2) * 8 of chunk b / 2
    for (size_t k = 0; k < 4; ++k) dq4[b * 4 + k] = b < nb ? dq[b * 8] : 0.0f;
  for (size_t c = 0; c < 2; ++c) {
    const __m512i q = c < n_chunks ? _mm512_loadu_si512(qq + c * kChunk) : _mm512_setzero_si512();
    _mm512_storeu_si512(qx + (c * 4 + 0) * kChunk, _mm512_shuffle_epi32(q, _MM_PERM_AAAA));
    _mm512_storeu_si512(qx + (c * 4 + 1) * kChunk, _mm512_shuffle_epi32(q, _MM_PERM_BBBB));
    _mm512_storeu_si512(qx + (c * 4 + 2) * kChunk, _mm512_shuffle_epi32(q, _MM_PERM_CCCC));
    _mm512_storeu_si512(qx + (c * 4 + 3) * kChunk, _mm512_shuffle_epi32(q, _MM_PERM_DDDD));
    const __m512i s = c < n_chunks ? _mm512_loadu_si512(seed + c * 16) : _mm512_setzero_si512();
    const __m512i s2 = _mm512_add_epi32(s, _mm512_shuffle_epi32(s, _MM_PERM_CDAB));
    _mm512_storeu_si512(seedx + c * 16, _mm512_add_epi32(s2, _mm512_shuffle_epi32(s2, _MM_PERM_BADC)));
  }
}

// Lanes g * 4 + k of x (chunk 0: groups of blocks 0, 0, 1, 1) and y
// (chunk 1: blocks 2, 2, 3, 3) added per block: lanes b * 4 + k.
QKIT_VNNI_TARGET inline __m512i block_sums(__m512i x, __m512i y) {
  return _mm512_add_epi32(_mm512_shuffle_i32x4(x, y, 0x88), _mm512_shuffle_i32x4(x, y, 0xDD));
}

// Scores of keys [0, n) (rows k0 + j * kb, kNB <= 4 blocks each) for kR
// query heads: sc[r * T + j] = sum_b d_k(j, b) * dq4[r][b * 4] * (integer
// dot of block b), dq4[r] holding each block's d_q * scale four times
// (lanes b * 4 + k, 0 past kNB), qx / seedx the heads' expand_query
// layouts (r * 4 * kChunk * 2 / r * 32 on). Four keys at a time: their
// chunks transposed so that lane g * 4 + k holds key k's dwords, four
// vpdpbusd per chunk and head add up 16 dims of a key in each lane
// (where a key-per-vector layout needs a tree of 14 shuffles per head to
// add its lanes), one more add per block, then one conversion and two
// multiplies per head. Keys past the last group of four are scored as a
// group whose missing keys repeat the last one (their scores are not
// stored).
template <size_t kR, size_t kNB>
QKIT_VNNI_TARGET inline void score_keys_q8_small(const int8_t* qx, const int32_t* seedx, const float* dq4,
                                                 const uint8_t* k0, size_t kb, size_t n, float* sc, size_t T) {
  static_assert(kNB >= 1 && kNB <= 4, "at most four blocks");
  constexpr size_t kCh = (kNB + 1) / 2;
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (size_t j = 0; j < n; j += 4) {
    // The four keys' rows, their unsigned quants per chunk transposed, and
    // their d_k as lanes b * 4 + k.
    Q8Row<kNB> row[4];
    for (size_t k = 0; k < 4; ++k) row[k] = load_row<kNB>(k0 + (j + k < n ? j + k : n - 1) * kb);
    __m512i kt[kCh][4];
    transpose4(_mm512_xor_si512(row_chunk<0>(row[0]), flip), _mm512_xor_si512(row_chunk<0>(row[1]), flip),
               _mm512_xor_si512(row_chunk<0>(row[2]), flip), _mm512_xor_si512(row_chunk<0>(row[3]), flip), kt[0]);
    if constexpr (kCh > 1)
      transpose4(_mm512_xor_si512(row_chunk<1>(row[0]), flip), _mm512_xor_si512(row_chunk<1>(row[1]), flip),
                 _mm512_xor_si512(row_chunk<1>(row[2]), flip), _mm512_xor_si512(row_chunk<1>(row[3]), flip),
                 kt[kCh - 1]);
    const __m512 dk = row_scales4(row);
    for (size_t r = 0; r < kR; ++r) {
      __m512i s[2];
      for (size_t c = 0; c < 2; ++c) {
        if (c >= kCh) {
          s[c] = _mm512_setzero_si512();
          continue;
        }
        const size_t o = r * 2 + c;
        s[c] = _mm512_loadu_si512(seedx + o * 16);
        for (size_t m = 0; m < 4; ++m)
          s[c] = _mm512_dpbusd_epi32(s[c], kt[c][m], _mm512_loadu_si512(qx + (o * 4 + m) * kChunk));
      }
      const __m512i isum = block_sums(s[0], s[1]);
      const __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(dk, _mm512_loadu_ps(dq4 + r * 16)));
      const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(f), _mm512_extractf32x8_ps(f, 1));
      const __m128 q4 = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));  // blocks summed per key
      if (j + 4 <= n) {
        _mm_storeu_ps(sc + r * T + j, q4);
      } else {
        _mm_mask_storeu_ps(sc + r * T + j, static_cast<__mmask8>((1u << (n - j)) - 1), q4);
      }
    }
  }
}

// The f16 scales of kB <= 4 consecutive Q8_0 blocks from `blk` on, as
// f32 in lanes 0..kB-1: one permute of the bytes up to the last scale
// (words 0, 17, 34, 51). Masked loads read nothing past that scale.
template <size_t kB>
QKIT_VNNI_TARGET inline __m128 block_scales(const uint8_t* blk) {
  static_assert(kB >= 1 && kB <= 4, "at most four blocks per call");
  constexpr unsigned kWords = (kB - 1) * 17 + 1;  // words up to and including the last scale
  constexpr __mmask32 kLo = kWords >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((1ull << kWords) - 1);
  constexpr __mmask32 kHi = kWords > 32 ? static_cast<__mmask32>((1ull << (kWords - 32)) - 1) : 0;
  const __m512i lo = _mm512_maskz_loadu_epi16(kLo, blk);
  const __m512i hi = kHi ? _mm512_maskz_loadu_epi16(kHi, blk + 64) : _mm512_setzero_si512();
  const __m512i idx = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                                       0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 51, 34, 17, 0);
  return _mm_cvtph_ps(_mm512_castsi512_si128(_mm512_permutex2var_epi16(lo, idx, hi)));
}

// The P V weights of a tile of a Q8_0 V cache, key-major: wt[(j * kR + r)
// * nb + b] = p_r[j] * d_v(j, b) for keys j < n (rows v0 + j * vb),
// p_r[j] = p[r * T + j]. Per key one permute gathers the row's block
// scales (four at a time) and one multiply per row and four blocks forms
// the weights: a contiguous 4 x kR table per key that the P V loop reads
// as broadcasts. (Copying the f16 scales one by one into a block-major
// table and reading it back as vectors stalled on store forwarding.)
template <size_t kR>
QKIT_VNNI_TARGET inline void weight_table_q8(const uint8_t* v0, size_t vb, size_t nb, const float* p, size_t T,
                                             size_t n, float* wt) {
  for (size_t j = 0; j < n; ++j) {
    const uint8_t* row = v0 + j * vb;
    float* w = wt + j * kR * nb;
    for (size_t b0 = 0; b0 < nb; b0 += 4) {
      __m128 dv;
      switch (nb - b0 < 4 ? nb - b0 : 4) {
        case 1: dv = block_scales<1>(row + b0 * 34); break;
        case 2: dv = block_scales<2>(row + b0 * 34); break;
        case 3: dv = block_scales<3>(row + b0 * 34); break;
        default: dv = block_scales<4>(row + b0 * 34); break;
      }
      if (nb - b0 >= 4) {
        for (size_t r = 0; r < kR; ++r) _mm_storeu_ps(w + r * nb + b0, _mm_mul_ps(dv, _mm_set1_ps(p[r * T + j])));
      } else {  // a last partial group: masked stores (slower, rare: head_dim % 128 != 0)
        const __mmask8 m = static_cast<__mmask8>((1u << (nb - b0)) - 1);
        for (size_t r = 0; r < kR; ++r)
          _mm_mask_storeu_ps(w + r * nb + b0, m, _mm_mul_ps(dv, _mm_set1_ps(p[r * T + j])));
      }
    }
  }
}

}  // namespace qkit::kernels::attn_vnni

QKIT_INTRIN_WARNINGS_END

#endif  // QKIT_HAVE_VNNI_X86
