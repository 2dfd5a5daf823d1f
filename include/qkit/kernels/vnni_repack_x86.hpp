// qkit/kernels/vnni_repack_x86.hpp — AVX-512 VNNI kernels for Q8_0 / Q4_0 /
// IQ4_NL weights in the 16-row interleaved layout of repack.hpp, against
// Q8_0 activations: gemm_<w>_q8_0_32x4_r16 / _16x4_r16 and the N = 1 column
// kernels gemv_<w>_q8_0_r16 (w = q8_0, q4_0, iq4_nl).
//
// One zmm holds 4 consecutive values of 16 rows, so one vpdpbusd with a
// broadcast 4-byte activation word advances 16 rows. The weights are the
// unsigned operand (Q8_0 stored as w + 128, Q4_0 nibbles as they are,
// IQ4_NL nibbles mapped by vpshufb to codebook value + 128), so each
// block's int32 accumulator starts at -128 * sum(x) (Q4_0: -8 * sum(x)) and
// ends as the exact integer dot; then it is scaled by d_w * d_x per block.
// Q4_0 and IQ4_NL share one layout (18-byte blocks: f16 d + 16 bytes of
// nibbles) and one kernel; only the nibble -> byte step differs.
// A tile of 4 columns keeps 8 weight registers busy for 32
// vpdpbusd per block; the columns of a tile form independent chains.
// The sequence per column does not depend on how many columns share a tile
// beyond the fixed split of N into tiles of 4 and a remainder, which only N
// decides: thread count and row range never change a bit.
#pragma once

#include "qkit/kernels/intrin_warnings.hpp"

#include "qkit/kernels/vnni_x86.hpp"

#if defined(QKIT_HAVE_VNNI_X86)

QKIT_INTRIN_WARNINGS_BEGIN

// Full unrolling where g++ would keep a short loop (it then keeps vector
// indices and pointers in memory); clang reads the same pragma.
#define QKIT_VNNI_PRAGMA_(x) _Pragma(#x)
#define QKIT_UNROLL(n) QKIT_VNNI_PRAGMA_(GCC unroll n)

namespace qkit::kernels::vnni {

inline constexpr int kGroupRows = 16;

// Weight kinds of these kernels (vnni_x86.hpp's kKind* constants).
template <int kKind>
inline constexpr bool kNibbles = kKind == kKindQ4_0 || kKind == kKindIQ4NL;
// The accumulator seed is -kOffset * sum(x): the unsigned weights are w + kOffset.
template <int kKind>
inline constexpr int kOffset = kKind == kKindQ4_0 ? 8 : 128;
template <int kKind>
inline constexpr size_t kGroupBlockBytes = (kKind == kKindQ8_0 ? 34 : 18) * 16;

// IQ4_NL's codebook + 128: the unsigned vpdpbusd operand of each nibble.
struct Iq4UnsignedTable {
  uint8_t v[16];
};
inline constexpr Iq4UnsignedTable kIq4Unsigned = [] {
  Iq4UnsignedTable t{};
  for (int i = 0; i < 16; ++i) t.v[i] = static_cast<uint8_t>(kIQ4Values[i] + 128);
  return t;
}();

// Per-kind constants of the nibble decode, loaded once per tile.
template <int kKind>
struct NibbleDecoder {
  __m512i m4, tbl;
  QKIT_VNNI_TARGET NibbleDecoder()
      : m4(_mm512_set1_epi8(0x0f)),
        tbl(kKind == kKindIQ4NL ? _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4Unsigned.v)))
                                : _mm512_setzero_si512()) {}
  // Nibble values (bytes 0..15) -> unsigned weight bytes.
  QKIT_VNNI_TARGET __m512i map(__m512i q) const {
    if constexpr (kKind == kKindIQ4NL) return _mm512_shuffle_epi8(tbl, q);
    return q;
  }
  QKIT_VNNI_TARGET __m512i lo(__m512i p) const { return map(_mm512_and_si512(p, m4)); }
  QKIT_VNNI_TARGET __m512i hi(__m512i p) const { return map(_mm512_and_si512(_mm512_srli_epi16(p, 4), m4)); }
};

template <int kKind>
QKIT_VNNI_TARGET inline void load_group_block(const uint8_t* gb, const NibbleDecoder<kKind>& dec, __m512i W[8],
                                              __m512& dw) {
  dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb)));
  const uint8_t* q = gb + 32;
  if constexpr (kNibbles<kKind>) {
    for (int j = 0; j < 4; ++j) {
      const __m512i p = _mm512_loadu_si512(q + 64 * j);
      W[j] = dec.lo(p);
      W[j + 4] = dec.hi(p);
    }
  } else {
    for (int j = 0; j < 8; ++j) W[j] = _mm512_loadu_si512(q + 64 * j);
  }
}

QKIT_VNNI_TARGET inline __m512i bcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// One 16-row group, columns [c, c + NC).
template <int kKind, int NC>
QKIT_VNNI_TARGET inline void group_tile(const MatmulArgs& a, int64_t g, int64_t c) {
  constexpr int kOff = kOffset<kKind>;
  constexpr size_t kGroupBlock = kGroupBlockBytes<kKind>;
  const NibbleDecoder<kKind> dec;
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 32;
  const uint8_t* gw = a.w + static_cast<size_t>(g) * a.row_stride;
  const ActColumns<NC> cols(x, c);
  __m512 facc[NC];
  for (int j = 0; j < NC; ++j) facc[j] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m512i W[8];
    __m512 dw;
    load_group_block<kKind>(gw + static_cast<size_t>(b) * kGroupBlock, dec, W, dw);
    if constexpr (NC == 1) {
      // A lone column: two chains hide vpdpbusd latency.
      const int8_t* xb = cols.qs[0] + b * 32;
      __m512i i0 = _mm512_set1_epi32(-kOff * cols.sums[0][b]);
      __m512i i1 = _mm512_setzero_si512();
      for (int k = 0; k < 8; k += 2) {
        i0 = _mm512_dpbusd_epi32(i0, W[k], bcast4(xb + 4 * k));
        i1 = _mm512_dpbusd_epi32(i1, W[k + 1], bcast4(xb + 4 * k + 4));
      }
      facc[0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(i0, i1)),
                                _mm512_mul_ps(dw, _mm512_set1_ps(cols.d[0][b])), facc[0]);
    } else {
      __m512i iacc[NC];
      for (int j = 0; j < NC; ++j) iacc[j] = _mm512_set1_epi32(-kOff * cols.sums[j][b]);
      for (int k = 0; k < 8; ++k)
        for (int j = 0; j < NC; ++j) iacc[j] = _mm512_dpbusd_epi32(iacc[j], W[k], bcast4(cols.qs[j] + b * 32 + 4 * k));
      for (int j = 0; j < NC; ++j)
        facc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc[j]), _mm512_mul_ps(dw, _mm512_set1_ps(cols.d[j][b])), facc[j]);
    }
  }
  const int64_t r0 = g * kGroupRows;
  const int64_t valid = a.rows - r0 < kGroupRows ? a.rows - r0 : kGroupRows;
  const __mmask16 m = static_cast<__mmask16>((1u << valid) - 1u);
  for (int j = 0; j < NC; ++j) _mm512_mask_storeu_ps(a.y + static_cast<size_t>(c + j) * a.ldy + r0, m, facc[j]);
}

// Two 16-row groups (g, g + 1) x 4 columns [c, c + 4): each broadcast
// activation word feeds both groups, so a block costs 48 loads for 64
// vpdpbusd. Per (row, column) the operations are those of group_tile (the
// integer sums are exact in any order), so results match it bit for bit.
template <int kKind>
QKIT_VNNI_TARGET inline void group_pair_tile(const MatmulArgs& a, int64_t g, int64_t c) {
  constexpr int NC = 4;
  constexpr int kOff = kOffset<kKind>;
  constexpr size_t kGroupBlock = kGroupBlockBytes<kKind>;
  const NibbleDecoder<kKind> dec;
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 32;
  const uint8_t* gw0 = a.w + static_cast<size_t>(g) * a.row_stride;
  const uint8_t* gw1 = gw0 + a.row_stride;
  const ActColumns<NC> cols(x, c);
  __m512 f0[NC], f1[NC];
  for (int j = 0; j < NC; ++j) f0[j] = f1[j] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* b0 = gw0 + static_cast<size_t>(b) * kGroupBlock;
    const uint8_t* b1 = gw1 + static_cast<size_t>(b) * kGroupBlock;
    __m512i i0[NC], i1[NC];
    for (int j = 0; j < NC; ++j) i0[j] = i1[j] = _mm512_set1_epi32(-kOff * cols.sums[j][b]);
    if constexpr (kNibbles<kKind>) {
      for (int k = 0; k < 4; ++k) {
        const __m512i p0 = _mm512_loadu_si512(b0 + 32 + 64 * k);
        const __m512i p1 = _mm512_loadu_si512(b1 + 32 + 64 * k);
        const __m512i lo0 = dec.lo(p0), hi0 = dec.hi(p0);
        const __m512i lo1 = dec.lo(p1), hi1 = dec.hi(p1);
        for (int j = 0; j < NC; ++j) {
          const __m512i xl = bcast4(cols.qs[j] + b * 32 + 4 * k);
          const __m512i xh = bcast4(cols.qs[j] + b * 32 + 16 + 4 * k);
          i0[j] = _mm512_dpbusd_epi32(i0[j], lo0, xl);
          i1[j] = _mm512_dpbusd_epi32(i1[j], lo1, xl);
          i0[j] = _mm512_dpbusd_epi32(i0[j], hi0, xh);
          i1[j] = _mm512_dpbusd_epi32(i1[j], hi1, xh);
        }
      }
    } else {
      for (int k = 0; k < 8; ++k) {
        const __m512i w0 = _mm512_loadu_si512(b0 + 32 + 64 * k);
        const __m512i w1 = _mm512_loadu_si512(b1 + 32 + 64 * k);
        for (int j = 0; j < NC; ++j) {
          const __m512i xv = bcast4(cols.qs[j] + b * 32 + 4 * k);
          i0[j] = _mm512_dpbusd_epi32(i0[j], w0, xv);
          i1[j] = _mm512_dpbusd_epi32(i1[j], w1, xv);
        }
      }
    }
    const __m512 dw0 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0)));
    const __m512 dw1 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b1)));
    for (int j = 0; j < NC; ++j) {
      const __m512 dx = _mm512_set1_ps(cols.d[j][b]);
      f0[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0[j]), _mm512_mul_ps(dw0, dx), f0[j]);
      f1[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1[j]), _mm512_mul_ps(dw1, dx), f1[j]);
    }
  }
  const int64_t r0 = g * kGroupRows;
  const int64_t rest = a.rows - (r0 + kGroupRows);
  const __mmask16 m1 = static_cast<__mmask16>(rest >= kGroupRows ? 0xffffu : (1u << rest) - 1u);
  for (int j = 0; j < NC; ++j) {
    float* y = a.y + static_cast<size_t>(c + j) * a.ldy + r0;
    _mm512_storeu_ps(y, f0[j]);
    _mm512_mask_storeu_ps(y + kGroupRows, m1, f1[j]);
  }
}

// Rows [r0, r1) (r0 a multiple of 16) x columns [c0, c1).
template <int kKind>
QKIT_VNNI_TARGET inline void interleaved_q8_0_act(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const int64_t g0 = r0 / kGroupRows, g1 = (r1 + kGroupRows - 1) / kGroupRows;
  int64_t g = g0;
  for (; g + 2 <= g1; g += 2) {
    int64_t c = c0;
    for (; c + 4 <= c1; c += 4) group_pair_tile<kKind>(a, g, c);
    for (; c < c1; ++c) {
      group_tile<kKind, 1>(a, g, c);
      group_tile<kKind, 1>(a, g + 1, c);
    }
  }
  for (; g < g1; ++g) {
    int64_t c = c0;
    for (; c + 4 <= c1; c += 4) group_tile<kKind, 4>(a, g, c);
    for (; c < c1; ++c) group_tile<kKind, 1>(a, g, c);
  }
}

}  // namespace qkit::kernels::vnni

QKIT_INTRIN_WARNINGS_END

#endif  // QKIT_HAVE_VNNI_X86
