// qkit/kernels/vnni_panel_x86.hpp — what the AVX-512 VNNI GEMM kernels on
// 16-row panels share (vnni_legacy_x86.hpp, vnni_k_panel_x86.hpp): the
// 16 x 8 dword transpose that turns decoded rows into panel chunks, and the
// driver loop that decodes one panel per 16 rows of a call into a
// thread_local buffer and runs a micro-kernel over its columns.
//
// A panel chunk is 64 bytes: dword r = 4 consecutive unsigned quants of row
// r, so one vpdpbusd with a broadcast activation word advances 16 rows and
// its int32 lanes are the rows (no horizontal reductions).
#pragma once

#include "qkit/kernels/intrin_warnings.hpp"

#include "qkit/kernels/vnni_x86.hpp"

#if defined(QKIT_HAVE_VNNI_X86)

#include "qkit/base/aligned.hpp"

QKIT_INTRIN_WARNINGS_BEGIN

namespace qkit::kernels::vnni {

inline constexpr int64_t kPanelMinCols = 4;  // N from which panels pay for their decoding

// vpermt2d indices of the 16 x 8 dword transpose (three stages; see
// transpose16x8).
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

// The transpose's six index vectors, loaded once per panel.
struct PanelTranspose {
  __m512i ia0, ia1, ib0, ib1, ic0, ic1;
  QKIT_VNNI_TARGET PanelTranspose()
      : ia0(_mm512_load_si512(kPanelIdx.a[0])), ia1(_mm512_load_si512(kPanelIdx.a[1])),
        ib0(_mm512_load_si512(kPanelIdx.b[0])), ib1(_mm512_load_si512(kPanelIdx.b[1])),
        ic0(_mm512_load_si512(kPanelIdx.c[0])), ic1(_mm512_load_si512(kPanelIdx.c[1])) {}

  // T[i]: rows 2i (low 256 bits) and 2i + 1 (high), 8 dwords each. Writes
  // 8 chunks to out + 64 k: dword k of rows 0..15 (out 64-byte aligned).
  QKIT_VNNI_TARGET void run(const __m512i T[8], uint8_t* out) const {
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
        _mm512_store_si512(out + 64 * col, _mm512_permutex2var_epi32(V[0][h][g], ic0, V[1][h][g]));
        _mm512_store_si512(out + 64 * (col + 1), _mm512_permutex2var_epi32(V[0][h][g], ic1, V[1][h][g]));
      }
  }
};

// Rows [r0, r1) x columns [c0, c1) by a panel kernel P:
//   P::kCols                               columns per tile
//   P::panel_bytes()                       bytes of one 16-row panel
//   P::build(p, valid, panel)              decode rows [p, p + 16) (rows
//                                          past `valid` repeat a valid one)
//   P::template tile<NC>(panel, p, valid, c)  y rows [p, p + valid) of
//                                          columns [c, c + NC)
// Columns in tiles of P::kCols, the rest one by one: each column runs the same
// instruction sequence whatever its tile, so the split of N or rows never
// changes a result.
template <class P>
QKIT_VNNI_TARGET inline void panel_rows(const P& k, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  thread_local AlignedBuffer<uint8_t> buf;
  buf.ensure(k.panel_bytes());
  uint8_t* panel = buf.data();
  for (int64_t p = r0; p < r1; p += 16) {
    const int valid = static_cast<int>(r1 - p < 16 ? r1 - p : 16);
    k.build(p, valid, panel);
    int64_t c = c0;
    for (; c + P::kCols <= c1; c += P::kCols) k.template tile<P::kCols>(panel, p, valid, c);
    for (; c < c1; ++c) k.template tile<1>(panel, p, valid, c);
  }
}

}  // namespace qkit::kernels::vnni

QKIT_INTRIN_WARNINGS_END

#endif  // QKIT_HAVE_VNNI_X86
