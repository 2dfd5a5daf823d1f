// qkit/kernels/vnni_legacy_x86.hpp — raw AVX-512 VNNI (vpdpbusd) matmul
// kernels for the 32-value block formats without a kernel of their own in
// vnni_x86.hpp: Q4_1 and Q5_1 (against Q8_1 activations), Q5_0 and MXFP4
// (against Q8_0), and IQ4_XS (against Q8_K; its 256-value super-blocks are
// read as 8 IQ4_NL-coded 32-value blocks with scale d * (ls - 32)), weights
// as GGUF stores them (rows of blocks).
//
// One description per format (LegacyKind<F>) says where a block keeps its
// quants, scale and min; decode2 turns two blocks into 64 unsigned bytes in
// value order and factors16 turns 16 blocks' first 4 bytes into f32 scales
// (and mins). Two generic loops use them:
//  * rows_blocks (GEMV, N < kPanelMinCols): a row is read front to back, 16
//    blocks per step (one stream the hardware prefetcher follows): 8 vpdpbusd
//    of block pairs, their lanes reduced to one zmm of 16 block sums, then
//    the scales are applied as one vector (no scalar work per block).
//  * LegacyPanel (GEMM, driven by panel_rows of vnni_panel_x86.hpp): 16
//    rows are decoded once per call into a panel in
//    the 16-row interleaved shape of vnni_repack_x86.hpp (f32 d[16],
//    f32 m[16], 8 chunks of 64 bytes), then one vpdpbusd with a broadcast
//    activation word advances 16 rows: 8 per block and column.
//
// The block dot, as the reference's vec_dot computes it:
//   Q4_1, Q5_1 : d_w d_x sum(q x) + m_w s_x   (s_x = f16(d_x sum(x)), Q8_1's)
//   Q5_0       : d_w d_x sum((q - 16) x)
//   MXFP4      : e8m0_half(e) d_x sum(v[q] x), v the doubled E2M1 values;
//                stored as v + 12 (unsigned), so the offset is 12.
//   IQ4_XS     : per 32 values d (ls - 32) d_x sum(v[q] x), v = kIQ4Values
//                stored as v + 128 (offset 128), sum(x) from Q8_K's bsums32.
// An offset o is applied exactly, as -o * sum(x) on the int32 block sum.
// Every column runs the same instruction sequence whatever the chunk of
// columns or rows, so results do not depend on the thread split.
#pragma once

#include "qkit/kernels/intrin_warnings.hpp"

#include "qkit/kernels/vnni_panel_x86.hpp"
#include "qkit/kernels/vnni_x86.hpp"

#if defined(QKIT_HAVE_VNNI_X86)

#include "qkit/base/aligned.hpp"
#include "qkit/quant/iq4.hpp"
#include "qkit/quant/legacy.hpp"
#include "qkit/quant/mxfp4.hpp"

QKIT_INTRIN_WARNINGS_BEGIN

namespace qkit::kernels::vnni {

// How a block of format F is laid out (byte offsets) and what it means.
// Every kind is read as 32-value blocks t = 0, 1, ... of a row: IQ4_XS's
// 256-value super-blocks as 8 sub-blocks of IQ4_NL-coded quants.
struct LegacyDefaults {
  static constexpr int kSub = 1;           // 32-value blocks per stored block
  static constexpr int kQh = -1;           // offset of the 5th bits, or none
  static constexpr int kOffset = 0;        // subtracted from the unsigned quant
  static constexpr bool kMin = false;      // f16 m after f16 d (Q8_1 pair)
  static constexpr bool kE8M0 = false;     // E8M0 byte instead of f16 d
  static constexpr bool kPairK = false;    // Q8_K activations (d per 256)
  static constexpr bool kHasTable = false;  // values by a codebook (kTable)
  static constexpr const int8_t* kTable = nullptr;  // nibble -> value
};

template <Format F>
struct LegacyKind;

template <>
struct LegacyKind<Format::Q4_1> : LegacyDefaults {
  static constexpr size_t kBytes = 20, kQs = 4;
  static constexpr bool kMin = true;
};
template <>
struct LegacyKind<Format::Q5_0> : LegacyDefaults {
  static constexpr size_t kBytes = 22, kQs = 6;
  static constexpr int kQh = 2, kOffset = 16;
};
template <>
struct LegacyKind<Format::Q5_1> : LegacyDefaults {
  static constexpr size_t kBytes = 24, kQs = 8;
  static constexpr int kQh = 4;
  static constexpr bool kMin = true;
};
template <>
struct LegacyKind<Format::MXFP4> : LegacyDefaults {
  static constexpr size_t kBytes = 17, kQs = 1;
  static constexpr int kOffset = 12;  // values + 12 are unsigned
  static constexpr bool kE8M0 = true;
  static constexpr bool kHasTable = true;
  static constexpr const int8_t* kTable = kMXFP4Values;
};
template <>
struct LegacyKind<Format::IQ4_XS> : LegacyDefaults {
  static constexpr size_t kBytes = 136, kQs = 0;  // block_at points at the quants
  static constexpr int kSub = 8, kOffset = 128;   // values + 128 are unsigned
  static constexpr bool kPairK = true;
  static constexpr bool kHasTable = true;
  static constexpr const int8_t* kTable = kIQ4Values;
};

// Block t of a row (IQ4_XS: the quants of sub-block t % 8 of super-block t / 8).
template <Format F>
inline const uint8_t* block_at(const uint8_t* row, int64_t t) {
  using K = LegacyKind<F>;
  if constexpr (K::kSub == 1) {
    return row + static_cast<size_t>(t) * K::kBytes;
  } else {
    return row + static_cast<size_t>(t / K::kSub) * K::kBytes + 8 + 16 * static_cast<size_t>(t % K::kSub);
  }
}

// What factors16 turns into block t's scale (and min): its first 4 bytes
// (kinds with kSub == 1; IQ4_XS goes through iq4_xs_factors).
template <Format F>
inline uint32_t head_at(const uint8_t* row, int64_t t) {
  uint32_t v;
  std::memcpy(&v, block_at<F>(row, t), 4);
  return v;
}

// Two blocks (any two: consecutive blocks of a row, or one block of two
// rows) as 64 unsigned bytes: values 0..31 of b0, then of b1.
template <Format F>
QKIT_VNNI_TARGET inline __m512i decode2(const uint8_t* b0, const uint8_t* b1) {
  using K = LegacyKind<F>;
  // Each block's 16 nibble bytes in two 128-bit lanes; lane 1 shifted by 4
  // (high nibbles are values 16..31).
  const __m256i l0 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b0 + K::kQs)));
  const __m256i l1 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b1 + K::kQs)));
  const __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(l0), l1, 1);
  const __m512i shifts = _mm512_set_epi64(0x0004000400040004, 0x0004000400040004, 0, 0, 0x0004000400040004,
                                          0x0004000400040004, 0, 0);
  __m512i u = _mm512_and_si512(_mm512_srlv_epi16(z, shifts), _mm512_set1_epi8(0x0f));
  if constexpr (K::kQh >= 0) {
    // Bit j of qh is bit 4 of value j: with values in order, a byte mask.
    uint32_t h0, h1;
    std::memcpy(&h0, b0 + K::kQh, 4);
    std::memcpy(&h1, b1 + K::kQh, 4);
    const __mmask64 k = _cvtu64_mask64(static_cast<uint64_t>(h0) | (static_cast<uint64_t>(h1) << 32));
    u = _mm512_mask_add_epi8(u, k, u, _mm512_set1_epi8(0x10));
  }
  if constexpr (K::kHasTable) {  // not kTable != nullptr: not a constant under -fsanitize
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(K::kTable));
    const __m512i tbl = _mm512_broadcast_i32x4(_mm_add_epi8(v, _mm_set1_epi8(static_cast<char>(static_cast<uint8_t>(K::kOffset)))));
    u = _mm512_shuffle_epi8(tbl, u);
  }
  return u;
}

// One activation word (4 int8) in every dword lane.
QKIT_VNNI_TARGET inline __m512i bcast_word(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// Column c's activation factors of blocks t (scalars) and [t, t + 16)
// (t a multiple of 16; lanes past vm are zero): d, sum of the quants, and
// (Q8_1) s. Q8_K keeps one d per 256 values and sums per 32 in bsums32.
template <Format F>
inline float act_d(const QuantAct& x, int64_t c, int64_t t) {
  return x.d[static_cast<size_t>(c) * x.blk_stride + static_cast<size_t>(LegacyKind<F>::kPairK ? t / 8 : t)];
}
template <Format F>
inline int32_t act_sum(const QuantAct& x, int64_t c, int64_t t) {
  if constexpr (LegacyKind<F>::kPairK) {
    return x.bsums32[static_cast<size_t>(c) * (x.bsum_stride / 2) + static_cast<size_t>(t)];
  } else {
    return x.sums[static_cast<size_t>(c) * x.blk_stride + static_cast<size_t>(t)];
  }
}
template <Format F>
QKIT_VNNI_TARGET inline __m512 act_d16(const QuantAct& x, int64_t c, int64_t t, __mmask16 vm) {
  const float* d = x.d + static_cast<size_t>(c) * x.blk_stride;
  if constexpr (LegacyKind<F>::kPairK) {
    const __mmask8 m2 = static_cast<__mmask8>((vm & 1) | ((vm >> 7) & 2));
    const __m128 two = _mm_maskz_loadu_ps(m2, d + t / 8);
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),
                                 _mm512_castps128_ps512(two));
  } else {
    return _mm512_maskz_loadu_ps(vm, d + t);
  }
}
template <Format F>
QKIT_VNNI_TARGET inline __m512i act_sum16(const QuantAct& x, int64_t c, int64_t t, __mmask16 vm) {
  if constexpr (LegacyKind<F>::kPairK) {
    const int16_t* s = x.bsums32 + static_cast<size_t>(c) * (x.bsum_stride / 2) + static_cast<size_t>(t);
    return _mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16(vm, s));
  } else {
    return _mm512_maskz_loadu_epi32(vm, x.sums + static_cast<size_t>(c) * x.blk_stride + static_cast<size_t>(t));
  }
}

// --- GEMV: 16 blocks of a row per step -------------------------------------

// The f32 scales (and mins) of 16 blocks from their first 4 bytes each,
// gathered into v by plain loads (vpgatherdd costs more here).
template <Format F>
QKIT_VNNI_TARGET inline void factors16(const uint32_t v[16], __m512& d, __m512& m) {
  using K = LegacyKind<F>;
  const __m512i g = _mm512_loadu_si512(v);
  if constexpr (K::kE8M0) {
    // quant::e8m0_to_float_half: (e - 1) << 23, or 0x00200000 << e for e < 2.
    const __m512i e = _mm512_and_si512(g, _mm512_set1_epi32(0xff));
    const __m512i normal = _mm512_slli_epi32(_mm512_sub_epi32(e, _mm512_set1_epi32(1)), 23);
    const __m512i sub = _mm512_sllv_epi32(_mm512_set1_epi32(0x00200000), e);
    d = _mm512_castsi512_ps(_mm512_mask_mov_epi32(normal, _mm512_cmplt_epi32_mask(e, _mm512_set1_epi32(2)), sub));
  } else {  // f16 d, then (Q4_1, Q5_1) f16 m
    d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(g));
  }
  if constexpr (K::kMin) m = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(g, 16)));
}

// IQ4_XS scales d * (ls - 32) of sub-blocks ib (per lane), from each lane's
// super-block dwords h = d | scales_h << 16 and l = scales_l.
QKIT_VNNI_TARGET inline __m512 iq4_xs_factors(__m512i h, __m512i l, __m512i ib) {
  // quant::iq4_xs_scale: 4 low bits from scales_l, 2 high from scales_h.
  const __m512i lo = _mm512_and_si512(_mm512_srlv_epi32(l, _mm512_slli_epi32(ib, 2)), _mm512_set1_epi32(0xf));
  const __m512i hi = _mm512_and_si512(_mm512_srlv_epi32(_mm512_srli_epi32(h, 16), _mm512_slli_epi32(ib, 1)), _mm512_set1_epi32(3));
  const __m512i ls = _mm512_sub_epi32(_mm512_or_si512(lo, _mm512_slli_epi32(hi, 4)), _mm512_set1_epi32(32));
  return _mm512_mul_ps(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(h)), _mm512_cvtepi32_ps(ls));
}

// The scales (and mins) of blocks [b, b + 16) of a row; blocks past K (the
// tail, nv < 16) repeat block b and are multiplied by zero factors later.
template <Format F, bool kTail>
QKIT_VNNI_TARGET inline void row_factors16(const uint8_t* wr, int64_t b, int nv, __m512& d, __m512& m) {
  using K = LegacyKind<F>;
  if constexpr (K::kSub == 1) {
    alignas(64) uint32_t v[16];
    for (int t = 0; t < 16; ++t) v[t] = head_at<F>(wr, b + (!kTail || t < nv ? t : 0));
    factors16<F>(v, d, m);
  } else {
    // IQ4_XS: two super-blocks, lane t = sub-block t % 8 of super-block t / 8.
    static_assert(K::kSub == 8, "16 blocks are two super-blocks");
    const uint8_t* s0 = wr + static_cast<size_t>(b / 8) * K::kBytes;
    const uint8_t* s1 = !kTail || nv > 8 ? s0 + K::kBytes : s0;
    uint32_t h0, h1, l0, l1;
    std::memcpy(&h0, s0, 4);
    std::memcpy(&h1, s1, 4);
    std::memcpy(&l0, s0 + 4, 4);
    std::memcpy(&l1, s1 + 4, 4);
    const __m512i h = _mm512_mask_blend_epi32(0xff00, _mm512_set1_epi32(static_cast<int>(h0)), _mm512_set1_epi32(static_cast<int>(h1)));
    const __m512i l = _mm512_mask_blend_epi32(0xff00, _mm512_set1_epi32(static_cast<int>(l0)), _mm512_set1_epi32(static_cast<int>(l1)));
    d = iq4_xs_factors(h, l, _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7));
    m = _mm512_setzero_ps();
  }
}

// Eight vpdpbusd results (block pairs 2i, 2i + 1 in 128-bit lanes 0-1 and
// 2-3 of dp[i]) -> one zmm of the 16 block sums, lane t = block t.
QKIT_VNNI_TARGET inline __m512i block_sums16(const __m512i dp[8]) {
  auto fold = [](__m512i p, __m512i q, bool wide) QKIT_VNNI_TARGET {
    return wide ? _mm512_add_epi32(_mm512_unpacklo_epi64(p, q), _mm512_unpackhi_epi64(p, q))
                : _mm512_add_epi32(_mm512_unpacklo_epi32(p, q), _mm512_unpackhi_epi32(p, q));
  };
  // After two folds, 128-bit lane k of z0 holds the lane-k sums of dp[0..3]
  // in that order (z1: dp[4..7]).
  const __m512i z0 = fold(fold(dp[0], dp[1], false), fold(dp[2], dp[3], false), true);
  const __m512i z1 = fold(fold(dp[4], dp[5], false), fold(dp[6], dp[7], false), true);
  // Block 2i is lanes 0 + 1 of dp[i], block 2i + 1 lanes 2 + 3.
  const __m512i s0 = _mm512_add_epi32(z0, _mm512_shuffle_i32x4(z0, z0, 0xb1));
  const __m512i s1 = _mm512_add_epi32(z1, _mm512_shuffle_i32x4(z1, z1, 0xb1));
  // [s0 lane 0, s0 lane 2, s1 lane 0, s1 lane 2] = blocks 0 2 4 6 | 1 3 5 7 |
  // 8 10 12 14 | 9 11 13 15; put them in order.
  const __m512i r = _mm512_shuffle_i32x4(s0, s1, 0x88);
  return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15), r);
}

// Blocks [b, b + nv) of row wr (nv = 16 unless kTail) x NC columns into
// facc; the weights are decoded once for the NC columns.
template <Format F, int NC, bool kTail>
QKIT_VNNI_TARGET inline void span_step(const uint8_t* wr, const QuantAct& x, const int8_t* const xq[NC], int64_t c,
                                       int64_t b, int nv, __m512 facc[NC]) {
  using K = LegacyKind<F>;
  __m512i dp[NC][8];
  for (int i = 0; i < 8; ++i) {
    const int t = 2 * i;
    if (kTail && t >= nv) {
      for (int j = 0; j < NC; ++j) dp[j][i] = _mm512_setzero_si512();
      continue;
    }
    // A lone last block pairs with itself and meets zero activations.
    const bool pair = !kTail || t + 1 < nv;
    const __m512i u = decode2<F>(block_at<F>(wr, b + t), block_at<F>(wr, b + (pair ? t + 1 : t)));
    for (int j = 0; j < NC; ++j) {
      const int8_t* xb = xq[j] + (b + t) * 32;
      const __m512i xv = pair ? _mm512_loadu_si512(xb) : _mm512_maskz_loadu_epi8(0xffffffffull, xb);
      dp[j][i] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, xv);
    }
  }
  __m512 dw, mw;
  row_factors16<F, kTail>(wr, b, nv, dw, mw);
  (void)mw;
  const __mmask16 vm = kTail ? static_cast<__mmask16>((1u << nv) - 1u) : static_cast<__mmask16>(0xffff);
  for (int j = 0; j < NC; ++j) {
    __m512i sum = block_sums16(dp[j]);
    if constexpr (K::kOffset != 0)  // the exact -offset * sum(x) of each block
      sum = _mm512_sub_epi32(sum, _mm512_mullo_epi32(act_sum16<F>(x, c + j, b, vm), _mm512_set1_epi32(K::kOffset)));
    facc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_mul_ps(dw, act_d16<F>(x, c + j, b, vm)), facc[j]);
    if constexpr (K::kMin) {
      const float* s = x.s + static_cast<size_t>(c + j) * x.blk_stride + static_cast<size_t>(b);
      facc[j] = _mm512_fmadd_ps(mw, _mm512_maskz_loadu_ps(vm, s), facc[j]);
    }
  }
}

// Row r x columns [c, c + NC), 16 blocks per step.
template <Format F, int NC>
QKIT_VNNI_TARGET inline void row_tile(const MatmulArgs& a, int64_t r, int64_t c) {
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 32;
  const uint8_t* wr = a.w + static_cast<size_t>(r) * a.row_stride;
  const ActColumns<NC> cols(x, c);
  __m512 facc[NC];
  for (int j = 0; j < NC; ++j) facc[j] = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 16 <= nb; b += 16) span_step<F, NC, false>(wr, x, cols.qs, c, b, 16, facc);
  if (b < nb) span_step<F, NC, true>(wr, x, cols.qs, c, b, static_cast<int>(nb - b), facc);
  for (int j = 0; j < NC; ++j) a.y[static_cast<size_t>(c + j) * a.ldy + r] = _mm512_reduce_add_ps(facc[j]);
}

// Rows [r0, r1) x columns [c0, c1) (GEMV and small N); each column runs
// the same sequence whether it shares a tile or not.
template <Format F>
QKIT_VNNI_TARGET inline void rows_blocks(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  for (int64_t r = r0; r < r1; ++r) {
    int64_t c = c0;
    for (; c + 2 <= c1; c += 2) row_tile<F, 2>(a, r, c);
    for (; c < c1; ++c) row_tile<F, 1>(a, r, c);
  }
}

// --- GEMM: 16-row panels ------------------------------------------------------

// Per block of a panel: f32 d[16] | f32 m[16] | 8 chunks of 64 bytes, chunk k
// holding values 4k..4k+3 of row r at bytes 4r..4r+3 (unsigned quants).
inline constexpr size_t kPanelBlock = 64 + 64 + 512;
// Decodes rows [p, p + 16) (rows past `valid` repeat the last valid one) of
// all nb blocks into `panel`.
template <Format F>
QKIT_VNNI_TARGET inline void build_panel(const MatmulArgs& a, int64_t p, int valid, int64_t nb, uint8_t* panel) {
  const uint8_t* rows[16];
  for (int r = 0; r < 16; ++r) rows[r] = a.w + static_cast<size_t>(p + (r < valid ? r : valid - 1)) * a.row_stride;
  const PanelTranspose tr;
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* pb = panel + static_cast<size_t>(b) * kPanelBlock;
    // T[i]: rows 2i, 2i + 1 (8 dwords each).
    __m512i T[8];
    for (int i = 0; i < 8; ++i) T[i] = decode2<F>(block_at<F>(rows[2 * i], b), block_at<F>(rows[2 * i + 1], b));
    tr.run(T, pb + 128);
    __m512 dw, mw = _mm512_setzero_ps();
    if constexpr (LegacyKind<F>::kSub == 1) {
      alignas(64) uint32_t v[16];
      for (int r = 0; r < 16; ++r) v[r] = head_at<F>(rows[r], b);
      factors16<F>(v, dw, mw);
    } else {
      alignas(64) uint32_t h[16], l[16];
      for (int r = 0; r < 16; ++r) {
        const uint8_t* sb = rows[r] + static_cast<size_t>(b / LegacyKind<F>::kSub) * LegacyKind<F>::kBytes;
        std::memcpy(&h[r], sb, 4);
        std::memcpy(&l[r], sb + 4, 4);
      }
      dw = iq4_xs_factors(_mm512_load_si512(h), _mm512_load_si512(l),
                          _mm512_set1_epi32(static_cast<int>(b % LegacyKind<F>::kSub)));
    }
    _mm512_store_ps(reinterpret_cast<float*>(pb), dw);
    _mm512_store_ps(reinterpret_cast<float*>(pb + 64), mw);
  }
}

// One panel x columns [c, c + NC): y rows [p, p + valid).
template <Format F, int NC>
QKIT_VNNI_TARGET inline void panel_tile(const MatmulArgs& a, const uint8_t* panel, int64_t nb, int64_t p, int valid,
                                        int64_t c) {
  using K = LegacyKind<F>;
  const QuantAct& x = *a.act;
  const ActColumns<NC> cols(x, c);
  __m512 facc[NC];
  for (int j = 0; j < NC; ++j) facc[j] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* pb = panel + static_cast<size_t>(b) * kPanelBlock;
    const __m512 dw = _mm512_load_ps(reinterpret_cast<const float*>(pb));
    __m512i W[8];
    for (int k = 0; k < 8; ++k) W[k] = _mm512_load_si512(pb + 128 + 64 * k);
    __m512i iacc[NC];
    for (int j = 0; j < NC; ++j) iacc[j] = _mm512_set1_epi32(-K::kOffset * act_sum<F>(x, c + j, b));
    for (int k = 0; k < 8; ++k)
      for (int j = 0; j < NC; ++j) iacc[j] = _mm512_dpbusd_epi32(iacc[j], W[k], bcast_word(cols.qs[j] + b * 32 + 4 * k));
    for (int j = 0; j < NC; ++j) {
      facc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc[j]), _mm512_mul_ps(dw, _mm512_set1_ps(act_d<F>(x, c + j, b))), facc[j]);
      if constexpr (K::kMin)
        facc[j] = _mm512_fmadd_ps(_mm512_load_ps(reinterpret_cast<const float*>(pb + 64)), _mm512_set1_ps(cols.s[j][b]), facc[j]);
    }
  }
  const __mmask16 m = static_cast<__mmask16>((1u << valid) - 1u);
  for (int j = 0; j < NC; ++j) _mm512_mask_storeu_ps(a.y + static_cast<size_t>(c + j) * a.ldy + p, m, facc[j]);
}

// The panel kernel of panel_rows (vnni_panel_x86.hpp).
template <Format F>
struct LegacyPanel {
  static constexpr int kCols = 4;
  const MatmulArgs& a;
  int64_t nb;
  size_t panel_bytes() const { return static_cast<size_t>(nb) * kPanelBlock; }
  QKIT_VNNI_TARGET void build(int64_t p, int valid, uint8_t* panel) const { build_panel<F>(a, p, valid, nb, panel); }
  template <int NC>
  QKIT_VNNI_TARGET void tile(const uint8_t* panel, int64_t p, int valid, int64_t c) const {
    panel_tile<F, NC>(a, panel, nb, p, valid, c);
  }
};

// The kernel of vnni_registry_x86.hpp: panels from kPanelMinCols columns
// (a property of the call, so every thread takes the same path).
template <Format F>
QKIT_VNNI_TARGET inline void rows_legacy(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  if (a.act->n >= kPanelMinCols) {
    panel_rows(LegacyPanel<F>{a, a.cols / 32}, r0, r1, c0, c1);
  } else {
    rows_blocks<F>(a, r0, r1, c0, c1);
  }
}

}  // namespace qkit::kernels::vnni

QKIT_INTRIN_WARNINGS_END

#endif  // QKIT_HAVE_VNNI_X86
