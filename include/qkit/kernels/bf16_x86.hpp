// qkit/kernels/bf16_x86.hpp — raw AVX-512 BF16 (vdpbf16ps) GEMV / GEMM for
// BF16 weights against BF16 activations, weights as GGUF stores them. Compiled
// once per translation unit with its own target attribute (AVX3_DL does not
// imply BF16); float_matmul-inl.h's AVX3_DL kernel calls it when
// cpu::has_fast_path(kFastBf16) holds.
//
// Why this is exact enough: the activations arrive as x rounded through bf16
// (QuantAct::xf, low 16 bits zero), so dropping the low half is exact; each
// bf16 x bf16 product is exact in f32 and vdpbf16ps adds two of them per lane
// into an f32 accumulator (round to nearest even; denormal inputs and results
// flush to zero, as in the reference engine's own vdpbf16ps dot).
//
// Shapes: GEMV takes one row at a time with four accumulators (the matrix
// streams as one sequential run). GEMM takes a tile of 4 weight rows x up
// to 6 activation columns, 24 zmm accumulators, 32 values per instruction;
// each weight vector is loaded once per step and feeds every column of the
// tile, and the next tile's rows are prefetched meanwhile. Activation
// columns are converted to bf16 once per column block, padded with zeros to
// 32 values, so only the weights' last step needs a masked load. Every
// output runs the same instruction sequence whatever the tile it lands in,
// so results depend on neither N's split, the row range nor the thread
// count.
#pragma once

#include "qkit/kernels/intrin_warnings.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define QKIT_HAVE_BF16_X86 1
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qkit/base/aligned.hpp"
#include "qkit/kernels/act_layout.hpp"

#define QKIT_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma")))

QKIT_INTRIN_WARNINGS_BEGIN

namespace qkit::kernels::bf16x86 {

inline constexpr int kRows = 4;  // weight rows per tile
inline constexpr int kCols = 6;  // activation columns per tile (4 x 6 accumulators + 4 weights <= 32 zmm)

// Bytes of bf16 activations per column block: the weights stream from
// memory once per block, so the block is large (past L2, inside L3), as in
// float_matmul-inl.h.
inline constexpr size_t kColumnBlockBytes = size_t(1) << 20;

// x (f32 values that are exact bf16) -> bf16 bits, zeros up to kp.
QKIT_BF16_TARGET inline void pack_column(const float* x, size_t k, size_t kp, uint16_t* out) {
  size_t i = 0;
  for (; i + 16 <= k; i += 16) {
    const __m512i v = _mm512_srli_epi32(_mm512_loadu_si512(x + i), 16);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm512_cvtepi32_epi16(v));
  }
  for (; i < k; ++i) {
    uint32_t u;
    std::memcpy(&u, x + i, 4);
    out[i] = static_cast<uint16_t>(u >> 16);
  }
  for (; i < kp; ++i) out[i] = 0;
}

// out[c * kRows + r] = w_r . x_c for r < kRows, c < C. w: kRows rows of k bf16
// values; x: C columns of kp (>= k, multiple of 32, zero-padded) bf16 values.
template <int C>
QKIT_BF16_TARGET inline void tile(const uint16_t* const* w, const uint16_t* const* x, size_t k, float* out) {
  __m512 acc[kRows][C];
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= k; i += 32) {
    __m512i wv[kRows];
    for (int r = 0; r < kRows; ++r) wv[r] = _mm512_loadu_si512(w[r] + i);
    for (int c = 0; c < C; ++c) {
      const __m512bh xv = (__m512bh)_mm512_loadu_si512(x[c] + i);
      for (int r = 0; r < kRows; ++r) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], (__m512bh)wv[r], xv);
    }
  }
  if (i < k) {
    // Masked-off weights are zero, and so is the padding of x.
    const __mmask32 m = static_cast<__mmask32>((uint64_t(1) << (k - i)) - 1);
    __m512i wv[kRows];
    for (int r = 0; r < kRows; ++r) wv[r] = _mm512_maskz_loadu_epi16(m, w[r] + i);
    for (int c = 0; c < C; ++c) {
      const __m512bh xv = (__m512bh)_mm512_loadu_si512(x[c] + i);
      for (int r = 0; r < kRows; ++r) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], (__m512bh)wv[r], xv);
    }
  }
  for (int c = 0; c < C; ++c)
    for (int r = 0; r < kRows; ++r) out[c * kRows + r] = _mm512_reduce_add_ps(acc[r][c]);
}

QKIT_BF16_TARGET inline void tile_cols(int cols, const uint16_t* const* w, const uint16_t* const* x, size_t k,
                                       float* out) {
  switch (cols) {
    case 1: tile<1>(w, x, k, out); break;
    case 2: tile<2>(w, x, k, out); break;
    case 3: tile<3>(w, x, k, out); break;
    case 4: tile<4>(w, x, k, out); break;
    case 5: tile<5>(w, x, k, out); break;
    default: tile<6>(w, x, k, out); break;
  }
}

// One row against one column: four accumulators over consecutive steps.
QKIT_BF16_TARGET inline float row_dot(const uint16_t* w, const uint16_t* x, size_t k) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 128 <= k; i += 128) {
    a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512(w + i), (__m512bh)_mm512_loadu_si512(x + i));
    a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_loadu_si512(w + i + 32), (__m512bh)_mm512_loadu_si512(x + i + 32));
    a2 = _mm512_dpbf16_ps(a2, (__m512bh)_mm512_loadu_si512(w + i + 64), (__m512bh)_mm512_loadu_si512(x + i + 64));
    a3 = _mm512_dpbf16_ps(a3, (__m512bh)_mm512_loadu_si512(w + i + 96), (__m512bh)_mm512_loadu_si512(x + i + 96));
  }
  for (; i + 32 <= k; i += 32)
    a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512(w + i), (__m512bh)_mm512_loadu_si512(x + i));
  if (i < k) {
    const __mmask32 m = static_cast<__mmask32>((uint64_t(1) << (k - i)) - 1);
    a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_maskz_loadu_epi16(m, w + i), (__m512bh)_mm512_loadu_si512(x + i));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

// Rows [row_begin, row_end) of Y for every column; a.act->xf holds x rounded
// through bf16.
QKIT_BF16_TARGET inline void matmul(const MatmulArgs& a) {
  const QuantAct& x = *a.act;
  const size_t k = static_cast<size_t>(a.cols);
  const size_t kp = (k + 31) / 32 * 32;
  // 64 bytes between columns beyond kp: with kp * 2 a multiple of 4 KiB
  // (K = 8192) the tile's 6 columns would share L1 sets (float_matmul-inl.h's
  // panels measured ~3% faster so padded; no change measured at K = 3072).
  const size_t xs_stride = kp + 32;
  int64_t nc = static_cast<int64_t>(kColumnBlockBytes / (xs_stride * 2)) / kCols * kCols;
  if (nc < kCols) nc = kCols;
  if (nc > x.n) nc = x.n;
  thread_local AlignedBuffer<uint16_t> xb;
  xb.ensure(static_cast<size_t>(nc) * xs_stride);
  if (x.n == 1) {  // GEMV: one row at a time, the matrix streams as one sequential run
    pack_column(x.xf, k, kp, xb.data());
    for (int64_t r = a.row_begin; r < a.row_end; ++r)
      a.y[r] = row_dot(reinterpret_cast<const uint16_t*>(a.w + static_cast<size_t>(r) * a.row_stride), xb.data(), k);
    return;
  }
  for (int64_t c0 = 0; c0 < x.n; c0 += nc) {
    const int64_t c1 = c0 + nc < x.n ? c0 + nc : x.n;
    for (int64_t c = c0; c < c1; ++c)
      pack_column(x.xf + static_cast<size_t>(c) * x.xf_stride, k, kp, xb.data() + static_cast<size_t>(c - c0) * xs_stride);
    for (int64_t r = a.row_begin; r < a.row_end; r += kRows) {
      const int valid = a.row_end - r < kRows ? static_cast<int>(a.row_end - r) : kRows;
      const uint16_t* w[kRows];
      for (int j = 0; j < kRows; ++j)  // rows past the end repeat the last one; their results are dropped
        w[j] = reinterpret_cast<const uint16_t*>(a.w + static_cast<size_t>(r + (j < valid ? j : valid - 1)) * a.row_stride);
      // Bring the next tile's rows into the caches while this one computes.
      const int64_t rn = r + kRows;
      const size_t next_bytes =
          rn < a.row_end ? static_cast<size_t>((a.row_end - rn < kRows ? a.row_end - rn : kRows) - 1) * a.row_stride + k * 2 : 0;
      const char* next = next_bytes ? reinterpret_cast<const char*>(a.w + static_cast<size_t>(rn) * a.row_stride) : nullptr;
      const size_t tiles = static_cast<size_t>((c1 - c0 + kCols - 1) / kCols);
      for (int64_t c = c0; c < c1; c += kCols) {
        const int cols = c1 - c < kCols ? static_cast<int>(c1 - c) : kCols;
        if (next_bytes) {
          const size_t t = static_cast<size_t>((c - c0) / kCols);
          const size_t hi = next_bytes * (t + 1) / tiles;
          for (size_t b = next_bytes * t / tiles / 64 * 64; b < hi; b += 64) _mm_prefetch(next + b, _MM_HINT_T0);
        }
        const uint16_t* xs[kCols];
        for (int j = 0; j < cols; ++j) xs[j] = xb.data() + static_cast<size_t>(c - c0 + j) * xs_stride;
        float out[kRows * kCols];
        tile_cols(cols, w, xs, k, out);
        for (int j = 0; j < cols; ++j) {
          float* y = a.y + static_cast<size_t>(c + j) * a.ldy + r;
          for (int i = 0; i < valid; ++i) y[i] = out[j * kRows + i];
        }
      }
    }
  }
}

}  // namespace qkit::kernels::bf16x86

QKIT_INTRIN_WARNINGS_END

#endif  // x86-64
