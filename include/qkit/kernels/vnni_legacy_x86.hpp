// qkit/kernels/vnni_legacy_x86.hpp — raw AVX-512 VNNI (vpdpbusd) matmul
// kernels for the 32-value block formats without a kernel of their own in
// vnni_x86.hpp: Q4_1 and Q5_1 (against Q8_1 activations), Q5_0 and MXFP4
// (against Q8_0), weights as GGUF stores them (rows of blocks).
//
// One description per format (LegacyKind<F>) says how to turn a block into
// 32 unsigned bytes in value order and what multiplies them; two generic
// loops use it:
//  * rows_legacy (N < kPanelMinCols, GEMV): one zmm holds two consecutive
//    blocks of a row (64 values), decoded once for up to 4 columns. Per pair
//    of blocks the f32 factors [d0, m0, d1, m1] are built in one xmm and
//    multiplied by the column's [dx0, sx0, dx1, sx1], so per block there is
//    no scalar f16 conversion or broadcast on the column's path.
//  * panel_legacy (GEMM): 16 rows are decoded once per call into a panel in
//    the 16-row interleaved shape of vnni_repack_x86.hpp (f32 d[16],
//    f32 m[16], 8 chunks of 64 bytes), then one vpdpbusd with a broadcast
//    activation word advances 16 rows: 8 per block and column.
//
// The block dot, as the reference's vec_dot computes it:
//   Q4_1, Q5_1 : d_w d_x sum(q x) + m_w s_x   (s_x = f16(d_x sum(x)), Q8_1's)
//   Q5_0       : d_w d_x sum((q - 16) x)
//   MXFP4      : e8m0_half(e) d_x sum(v[q] x), v the doubled E2M1 values;
//                stored as v + 12 (unsigned), so the offset is 12.
// An offset o is exact: the int32 accumulator starts at -o * sum(x).
// Every column runs the same instruction sequence whatever the chunk of
// columns or rows, so results do not depend on the thread split.
#pragma once

#include "qkit/kernels/vnni_x86.hpp"

#if defined(QKIT_HAVE_VNNI_X86)

#include "qkit/base/aligned.hpp"
#include "qkit/quant/legacy.hpp"
#include "qkit/quant/mxfp4.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace qkit::kernels::vnni {

// How a block of format F is laid out (byte offsets) and what it means.
template <Format F>
struct LegacyKind;

template <>
struct LegacyKind<Format::Q4_1> {
  static constexpr size_t kBytes = 20, kQs = 4;
  static constexpr int kQh = -1, kOffset = 0;
  static constexpr bool kMin = true, kE8M0 = false;
};
template <>
struct LegacyKind<Format::Q5_0> {
  static constexpr size_t kBytes = 22, kQs = 6;
  static constexpr int kQh = 2, kOffset = 16;
  static constexpr bool kMin = false, kE8M0 = false;
};
template <>
struct LegacyKind<Format::Q5_1> {
  static constexpr size_t kBytes = 24, kQs = 8;
  static constexpr int kQh = 4, kOffset = 0;
  static constexpr bool kMin = true, kE8M0 = false;
};
template <>
struct LegacyKind<Format::MXFP4> {
  static constexpr size_t kBytes = 17, kQs = 1;
  static constexpr int kQh = -1, kOffset = 12;
  static constexpr bool kMin = false, kE8M0 = true;
};

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
  if constexpr (F == Format::MXFP4) {
    const __m512i tbl = _mm512_broadcast_i32x4(_mm_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0));
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

QKIT_VNNI_TARGET inline uint32_t load_u16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return h;
}

// The f32 factors of two blocks: [d0, m0, d1, m1] (m = 0 without a min).
template <Format F>
QKIT_VNNI_TARGET inline __m128 header2(const uint8_t* b0, const uint8_t* b1) {
  using K = LegacyKind<F>;
  if constexpr (K::kE8M0) {
    // quant::e8m0_to_float_half in lanes 0 and 2: 2^(e - 128) as f32 bits,
    // (e - 1) << 23, or the subnormal 0x00200000 << e for e < 2.
    const __m128i e = _mm_setr_epi32(b0[0], 0, b1[0], 0);
    const __m128i normal = _mm_slli_epi32(_mm_sub_epi32(e, _mm_set1_epi32(1)), 23);
    const __m128i sub = _mm_sllv_epi32(_mm_set1_epi32(0x00200000), e);
    const __m128i bits = _mm_mask_mov_epi32(normal, _mm_cmplt_epi32_mask(e, _mm_set1_epi32(2)), sub);
    return _mm_castsi128_ps(_mm_maskz_mov_epi32(0x5, bits));
  } else {
    uint32_t h0, h1;
    if constexpr (K::kMin) {  // f16 d then f16 m
      std::memcpy(&h0, b0, 4);
      std::memcpy(&h1, b1, 4);
    } else {
      h0 = load_u16(b0);
      h1 = load_u16(b1);
    }
    return _mm_cvtph_ps(_mm_unpacklo_epi32(_mm_cvtsi32_si128(static_cast<int>(h0)), _mm_cvtsi32_si128(static_cast<int>(h1))));
  }
}

// One column's state in rows_legacy: two f32 accumulators (even / odd block
// pairs) and the min terms in lanes 1 and 3 of an xmm.
struct PairAcc {
  __m512 acc[2];
  __m128 macc;
};

// Blocks b, b + 1 of one column into accumulator P (kSingle: block b alone,
// the last of an odd count; the second half of u then meets zero
// activations and zero scales).
template <Format F, bool kSingle, int P>
QKIT_VNNI_TARGET inline void pair_step(const __m512i u, const __m128 hw, const QuantAct& x, size_t coff, int64_t b,
                                       const int8_t* xq, PairAcc& s) {
  constexpr int kOffset = LegacyKind<F>::kOffset;
  const size_t off = coff + static_cast<size_t>(b);
  __m128 xh;  // [dx0, sx0, dx1, sx1]
  __m128i sums;
  __m512i xv;
  if constexpr (kSingle) {
    const __m128 d = _mm_load_ss(x.d + off);
    xh = LegacyKind<F>::kMin ? _mm_unpacklo_ps(d, _mm_load_ss(x.s + off)) : d;
    sums = _mm_cvtsi32_si128(x.sums[off]);
    xv = _mm512_maskz_loadu_epi8(0xffffffffull, xq + b * 32);
  } else {
    const __m128 d = _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(x.d + off)));
    xh = LegacyKind<F>::kMin ? _mm_unpacklo_ps(d, _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(x.s + off))))
                             : _mm_unpacklo_ps(d, _mm_setzero_ps());
    sums = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x.sums + off));
    xv = _mm512_loadu_si512(xq + b * 32);
  }
  const __m128 f = _mm_mul_ps(hw, xh);  // [d0 dx0, m0 sx0, d1 dx1, m1 sx1]
  if constexpr (LegacyKind<F>::kMin) s.macc = _mm_mask_add_ps(s.macc, 0xa, s.macc, f);
  const __m512 scale = _mm512_permutexvar_ps(_mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0),
                                             _mm512_castps128_ps512(f));
  // The int32 accumulator starts at -offset * sum(x) in the first lane of
  // each block (lanes 0 and 8), so the block sums stay exact.
  __m512i seed = _mm512_setzero_si512();
  if constexpr (kOffset != 0) {
    const __m128i t = _mm_mullo_epi32(sums, _mm_set1_epi32(-kOffset));
    seed = _mm512_maskz_permutexvar_epi32(0x0101, _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                                          _mm512_castsi128_si512(t));
  }
  (void)sums;
  const __m512i dp = _mm512_dpbusd_epi32(seed, u, xv);
  s.acc[P] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dp), scale, s.acc[P]);
}

QKIT_VNNI_TARGET inline float pair_finish(const PairAcc& s) {
  const __m512 a = _mm512_add_ps(s.acc[0], s.acc[1]);
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(a), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
  // Lanes 1 and 3 of macc hold the min terms (zero without a min).
  const __m128 m = _mm_add_ss(_mm_shuffle_ps(s.macc, s.macc, 1), _mm_shuffle_ps(s.macc, s.macc, 3));
  return hsum8(h) + _mm_cvtss_f32(m);
}

// Row r x columns [c, c + NC): pairs of blocks alternate between two
// accumulators per column; the weights are decoded once for the NC columns.
template <Format F, int NC>
QKIT_VNNI_TARGET inline void row_pairs_tile(const MatmulArgs& a, int64_t r, int64_t c) {
  constexpr size_t kB = LegacyKind<F>::kBytes;
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 32;
  const uint8_t* wr = a.w + static_cast<size_t>(r) * a.row_stride;
  PairAcc s[NC];
  const int8_t* xq[NC];
  size_t coff[NC];
  for (int j = 0; j < NC; ++j) {
    s[j].acc[0] = s[j].acc[1] = _mm512_setzero_ps();
    s[j].macc = _mm_setzero_ps();
    xq[j] = x.qs + static_cast<size_t>(c + j) * x.qs_stride;
    coff[j] = static_cast<size_t>(c + j) * x.blk_stride;
  }
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    const uint8_t* blk = wr + static_cast<size_t>(b) * kB;
    const __m512i u0 = decode2<F>(blk, blk + kB);
    const __m128 h0 = header2<F>(blk, blk + kB);
    const __m512i u1 = decode2<F>(blk + 2 * kB, blk + 3 * kB);
    const __m128 h1 = header2<F>(blk + 2 * kB, blk + 3 * kB);
    for (int j = 0; j < NC; ++j) {
      pair_step<F, false, 0>(u0, h0, x, coff[j], b, xq[j], s[j]);
      pair_step<F, false, 1>(u1, h1, x, coff[j], b + 2, xq[j], s[j]);
    }
  }
  if (b + 2 <= nb) {
    const uint8_t* blk = wr + static_cast<size_t>(b) * kB;
    const __m512i u = decode2<F>(blk, blk + kB);
    const __m128 h = header2<F>(blk, blk + kB);
    for (int j = 0; j < NC; ++j) pair_step<F, false, 0>(u, h, x, coff[j], b, xq[j], s[j]);
    b += 2;
  }
  if (b < nb) {
    const uint8_t* blk = wr + static_cast<size_t>(b) * kB;
    const __m512i u = decode2<F>(blk, blk);
    const __m128 h = header2<F>(blk, blk);
    for (int j = 0; j < NC; ++j) pair_step<F, true, 1>(u, h, x, coff[j], b, xq[j], s[j]);
  }
  for (int j = 0; j < NC; ++j) a.y[static_cast<size_t>(c + j) * a.ldy + r] = pair_finish(s[j]);
}

// Rows [r0, r1) x columns [c0, c1) (GEMV and small N).
template <Format F>
QKIT_VNNI_TARGET inline void rows_pairs(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  for (int64_t r = r0; r < r1; ++r) {
    int64_t c = c0;
    for (; c + 4 <= c1; c += 4) row_pairs_tile<F, 4>(a, r, c);
    for (; c < c1; ++c) row_pairs_tile<F, 1>(a, r, c);
  }
}

// --- GEMM: 16-row panels ------------------------------------------------------

// Per block of a panel: f32 d[16] | f32 m[16] | 8 chunks of 64 bytes, chunk k
// holding values 4k..4k+3 of row r at bytes 4r..4r+3 (unsigned quants).
inline constexpr size_t kPanelBlock = 64 + 64 + 512;
inline constexpr int64_t kPanelMinCols = 4;  // N from which panels pay for their decoding

// vpermt2d indices of the 16 x 8 dword transpose in build_panel (three
// stages; see there).
struct PanelTransposeIdx {
  alignas(64) int32_t a[2][16] = {};
  alignas(64) int32_t b[2][16] = {};
  alignas(64) int32_t c[2][16] = {};
  constexpr PanelTransposeIdx() {
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 16; ++l) {
        const int cc = l / 4, rr = l % 4;  // A: lane 4 cc + rr <- row rr, column 4h + cc
        a[h][l] = rr < 2 ? 8 * rr + 4 * h + cc : 16 + 8 * (rr - 2) + 4 * h + cc;
        const int c2 = l / 8, r8 = l % 8;  // B: lane 8 c2 + r8 <- row r8, column 2h + c2 (of 4)
        b[h][l] = r8 < 4 ? 4 * (2 * h + c2) + r8 : 16 + 4 * (2 * h + c2) + r8 - 4;
        c[h][l] = l < 8 ? 8 * h + l : 16 + 8 * h + l - 8;  // C: lane r <- row r, column h (of 2)
      }
  }
};
inline constexpr PanelTransposeIdx kPanelIdx{};

// Decodes rows [p, p + 16) (rows past `valid` repeat the last valid one) of
// all nb blocks into `panel`.
template <Format F>
QKIT_VNNI_TARGET inline void build_panel(const MatmulArgs& a, int64_t p, int valid, int64_t nb, uint8_t* panel) {
  constexpr size_t kB = LegacyKind<F>::kBytes;
  const uint8_t* rows[16];
  for (int r = 0; r < 16; ++r) rows[r] = a.w + static_cast<size_t>(p + (r < valid ? r : valid - 1)) * a.row_stride;
  const __m512i ia0 = _mm512_load_si512(kPanelIdx.a[0]), ia1 = _mm512_load_si512(kPanelIdx.a[1]);
  const __m512i ib0 = _mm512_load_si512(kPanelIdx.b[0]), ib1 = _mm512_load_si512(kPanelIdx.b[1]);
  const __m512i ic0 = _mm512_load_si512(kPanelIdx.c[0]), ic1 = _mm512_load_si512(kPanelIdx.c[1]);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* pb = panel + static_cast<size_t>(b) * kPanelBlock;
    const size_t o = static_cast<size_t>(b) * kB;
    // T[i]: rows 2i, 2i + 1 (8 dwords each); H[i]: their [d, m, d, m].
    __m512i T[8];
    __m128 H[8];
    for (int i = 0; i < 8; ++i) {
      T[i] = decode2<F>(rows[2 * i] + o, rows[2 * i + 1] + o);
      H[i] = header2<F>(rows[2 * i] + o, rows[2 * i + 1] + o);
    }
    // Stage A: rows 4i..4i+3 x columns 4h..4h+3; B: rows 8m..8m+7 x two
    // columns; C: one column (4 values) of all 16 rows.
    __m512i U[4][2], V[2][2][2];
    for (int i = 0; i < 4; ++i) {
      U[i][0] = _mm512_permutex2var_epi32(T[2 * i], ia0, T[2 * i + 1]);
      U[i][1] = _mm512_permutex2var_epi32(T[2 * i], ia1, T[2 * i + 1]);
    }
    for (int m = 0; m < 2; ++m)
      for (int h = 0; h < 2; ++h) {
        V[m][h][0] = _mm512_permutex2var_epi32(U[2 * m][h], ib0, U[2 * m + 1][h]);
        V[m][h][1] = _mm512_permutex2var_epi32(U[2 * m][h], ib1, U[2 * m + 1][h]);
      }
    for (int h = 0; h < 2; ++h)
      for (int g = 0; g < 2; ++g) {
        const int col = 4 * h + 2 * g;
        _mm512_store_si512(pb + 128 + 64 * col, _mm512_permutex2var_epi32(V[0][h][g], ic0, V[1][h][g]));
        _mm512_store_si512(pb + 128 + 64 * (col + 1), _mm512_permutex2var_epi32(V[0][h][g], ic1, V[1][h][g]));
      }
    const __m512 z0 = _mm512_insertf32x8(
        _mm512_castps256_ps512(_mm256_insertf128_ps(_mm256_castps128_ps256(H[0]), H[1], 1)),
        _mm256_insertf128_ps(_mm256_castps128_ps256(H[2]), H[3], 1), 1);
    const __m512 z1 = _mm512_insertf32x8(
        _mm512_castps256_ps512(_mm256_insertf128_ps(_mm256_castps128_ps256(H[4]), H[5], 1)),
        _mm256_insertf128_ps(_mm256_castps128_ps256(H[6]), H[7], 1), 1);
    _mm512_store_ps(reinterpret_cast<float*>(pb), _mm512_permutex2var_ps(z0, even, z1));
    _mm512_store_ps(reinterpret_cast<float*>(pb + 64), _mm512_permutex2var_ps(z0, odd, z1));
  }
}

// One panel x columns [c, c + NC): y rows [p, p + valid).
template <Format F, int NC>
QKIT_VNNI_TARGET inline void panel_tile(const MatmulArgs& a, const uint8_t* panel, int64_t nb, int64_t p, int valid,
                                        int64_t c) {
  using K = LegacyKind<F>;
  const QuantAct& x = *a.act;
  const int8_t* xq[NC];
  const float* xd[NC];
  const float* xs[NC];
  const int32_t* xsum[NC];
  __m512 facc[NC];
  for (int j = 0; j < NC; ++j) {
    const size_t cc = static_cast<size_t>(c + j);
    xq[j] = x.qs + cc * x.qs_stride;
    xd[j] = x.d + cc * x.blk_stride;
    xs[j] = K::kMin ? x.s + cc * x.blk_stride : nullptr;
    xsum[j] = x.sums + cc * x.blk_stride;
    facc[j] = _mm512_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* pb = panel + static_cast<size_t>(b) * kPanelBlock;
    const __m512 dw = _mm512_load_ps(reinterpret_cast<const float*>(pb));
    __m512i W[8];
    for (int k = 0; k < 8; ++k) W[k] = _mm512_load_si512(pb + 128 + 64 * k);
    __m512i iacc[NC];
    for (int j = 0; j < NC; ++j) iacc[j] = _mm512_set1_epi32(-K::kOffset * xsum[j][b]);
    for (int k = 0; k < 8; ++k)
      for (int j = 0; j < NC; ++j) iacc[j] = _mm512_dpbusd_epi32(iacc[j], W[k], bcast_word(xq[j] + b * 32 + 4 * k));
    for (int j = 0; j < NC; ++j) {
      facc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc[j]), _mm512_mul_ps(dw, _mm512_set1_ps(xd[j][b])), facc[j]);
      if constexpr (K::kMin)
        facc[j] = _mm512_fmadd_ps(_mm512_load_ps(reinterpret_cast<const float*>(pb + 64)), _mm512_set1_ps(xs[j][b]), facc[j]);
    }
  }
  const __mmask16 m = static_cast<__mmask16>((1u << valid) - 1u);
  for (int j = 0; j < NC; ++j) _mm512_mask_storeu_ps(a.y + static_cast<size_t>(c + j) * a.ldy + p, m, facc[j]);
}

template <Format F>
QKIT_VNNI_TARGET inline void rows_panels(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const int64_t nb = a.cols / 32;
  thread_local AlignedBuffer<uint8_t> buf;
  buf.ensure(static_cast<size_t>(nb) * kPanelBlock);
  uint8_t* panel = buf.data();
  for (int64_t p = r0; p < r1; p += 16) {
    const int valid = static_cast<int>(r1 - p < 16 ? r1 - p : 16);
    build_panel<F>(a, p, valid, nb, panel);
    int64_t c = c0;
    for (; c + 4 <= c1; c += 4) panel_tile<F, 4>(a, panel, nb, p, valid, c);
    for (; c < c1; ++c) panel_tile<F, 1>(a, panel, nb, p, valid, c);
  }
}

// The kernel of vnni_registry_x86.hpp: panels from kPanelMinCols columns
// (a property of the call, so every thread takes the same path).
template <Format F>
QKIT_VNNI_TARGET inline void rows_legacy(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  if (a.act->n >= kPanelMinCols) {
    rows_panels<F>(a, r0, r1, c0, c1);
  } else {
    rows_pairs<F>(a, r0, r1, c0, c1);
  }
}

}  // namespace qkit::kernels::vnni

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // QKIT_HAVE_VNNI_X86
