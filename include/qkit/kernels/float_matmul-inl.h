// qkit/kernels/float_matmul-inl.h — per-target GEMV and GEMM for float
// weights: F32, F16 and BF16 rows as GGUF stores them.
//
// The reference engine pairs each float format with itself (ggml's
// vec_dot_type of F16 is F16, of BF16 is BF16, of F32 is F32): x is rounded
// through the weights' format, which QuantAct::xf already holds, and the
// dot product is an f32 sum of exact products.
//
// Kernel names (docs/dispatch.md grammar; the target is the namespace):
//   gemv_<f32|f16|bf16>_f32       4 rows at a time, weights converted to f32
//                                 as they stream past (F16C / fcvt, bf16 by
//                                 a 16-bit shift); targets without native
//                                 f16 conversion take the GEMM path (N = 1)
//   gemm_<f32|f16|bf16>_f32_4xC   register tile of 4 rows x C columns
//                                 (C = 6 with 32 vector registers, else 3):
//                                 each weight vector feeds C columns and each
//                                 activation vector 4 rows. F16/BF16 rows are
//                                 converted once per column block into an f32
//                                 panel; activation columns are blocked so
//                                 that a block stays in L2 while the rows pass.
//   AVX3_DL with AVX-512 BF16 (variant "AVX3_DL+bf16"): gemv_bf16_bf16 /
//     gemm_bf16_bf16_4x6, vdpbf16ps on the raw weights (bf16_x86.hpp).
//
// Every output (r, c) runs the same operation sequence (vector FMAs over
// the whole of K, one reduction, a scalar tail) whatever the tile, block or
// row range it falls in: results do not depend on the thread count, and the
// GEMV and GEMM paths of a target agree bit for bit.
#if defined(QKIT_KERNELS_FLOAT_MATMUL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_FLOAT_MATMUL_INL_H_
#undef QKIT_KERNELS_FLOAT_MATMUL_INL_H_
#else
#define QKIT_KERNELS_FLOAT_MATMUL_INL_H_
#endif

#include <cstring>

#include "hwy/highway.h"
#include "qkit/base/aligned.hpp"
#include "qkit/base/fp16.hpp"
#include "qkit/cpu/targets.hpp"
#include "qkit/kernels/act_layout.hpp"
#include "qkit/kernels/bf16_x86.hpp"
#include "qkit/kernels/common-inl.h"
#include "qkit/kernels/convert-inl.h"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {

#undef QKIT_FLOAT_BF16_X86
#if defined(QKIT_HAVE_BF16_X86) && HWY_TARGET == HWY_AVX3_DL
#define QKIT_FLOAT_BF16_X86 1
#else
#define QKIT_FLOAT_BF16_X86 0
#endif

// Columns per register tile: 4 x 6 accumulators + 4 weight vectors + one
// activation vector fit in 32 registers (AVX-512, NEON, SVE); 4 x 3 in 16.
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_SSE4
inline constexpr int kFloatTileCols = 3;
#else
inline constexpr int kFloatTileCols = 6;
#endif
inline constexpr int kFloatTileRows = 4;

// Bytes of f32 activations kept per column block (they stay in L2 while the
// thread's rows pass by).
inline constexpr size_t kFloatColumnBlockBytes = size_t(512) << 10;

// Whether format S can be read straight into f32 vectors on this target.
template <Format S>
inline constexpr bool kDirectLoad = S == Format::F32 || S == Format::BF16 || (S == Format::F16 && QKIT_NATIVE_F16);

// Weights of row `row` (format S) from value i on, as f32 lanes.
template <Format S, class D>
HWY_INLINE auto LoadWeights(D d, const void* row, size_t i) {
  if constexpr (S == Format::BF16) {
    // bf16 is the top half of an f32: widen and shift.
    const hn::RebindToUnsigned<D> du;
    const hn::Rebind<uint16_t, D> d16;
    const auto h = hn::LoadU(d16, static_cast<const uint16_t*>(row) + i);
    return hn::BitCast(d, hn::ShiftLeft<16>(hn::PromoteTo(du, h)));
  } else if constexpr (S == Format::F16) {
#if QKIT_NATIVE_F16
    const hn::Rebind<hwy::float16_t, D> dh;
    return hn::PromoteTo(d, hn::LoadU(dh, static_cast<const hwy::float16_t*>(row) + i));
#else
    static_assert(S != Format::F16, "no native f16 conversion on this target: use an f32 panel");
    return hn::Zero(d);
#endif
  } else {
    return hn::LoadU(d, static_cast<const float*>(row) + i);
  }
}

template <Format S>
inline float WeightAt(const void* row, size_t i) {
  if constexpr (S == Format::BF16) {
    return bf16_to_f32(static_cast<const uint16_t*>(row)[i]);
  } else if constexpr (S == Format::F16) {
    return f16_to_f32(static_cast<const uint16_t*>(row)[i]);
  } else {
    return static_cast<const float*>(row)[i];
  }
}

// out[c * 4 + r] = w_r . x_c for 4 weight rows (format S) and C activation
// columns of k values. Accumulators are named variables, not arrays: SVE
// vectors are sizeless types.
template <Format S, int C>
HWY_INLINE void FloatTile(const void* const* w, const float* const* x, size_t k, float* HWY_RESTRICT out) {
  static_assert(C >= 1 && C <= 6, "tile columns");
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
#define QKIT_FT_ACC(c) auto a0##c = hn::Zero(d), a1##c = hn::Zero(d), a2##c = hn::Zero(d), a3##c = hn::Zero(d);
  QKIT_FT_ACC(0) QKIT_FT_ACC(1) QKIT_FT_ACC(2) QKIT_FT_ACC(3) QKIT_FT_ACC(4) QKIT_FT_ACC(5)
#undef QKIT_FT_ACC
  const void* const w0 = w[0];
  const void* const w1 = w[1];
  const void* const w2 = w[2];
  const void* const w3 = w[3];
  size_t i = 0;
  for (; i + N <= k; i += N) {
    const auto v0 = LoadWeights<S>(d, w0, i);
    const auto v1 = LoadWeights<S>(d, w1, i);
    const auto v2 = LoadWeights<S>(d, w2, i);
    const auto v3 = LoadWeights<S>(d, w3, i);
#define QKIT_FT_STEP(c)                        \
  if constexpr (C > c) {                       \
    const auto xv = hn::LoadU(d, x[c] + i);    \
    a0##c = hn::MulAdd(v0, xv, a0##c);         \
    a1##c = hn::MulAdd(v1, xv, a1##c);         \
    a2##c = hn::MulAdd(v2, xv, a2##c);         \
    a3##c = hn::MulAdd(v3, xv, a3##c);         \
  }
    QKIT_FT_STEP(0) QKIT_FT_STEP(1) QKIT_FT_STEP(2) QKIT_FT_STEP(3) QKIT_FT_STEP(4) QKIT_FT_STEP(5)
#undef QKIT_FT_STEP
  }
  // One reduction per output, then the tail (k not a multiple of the
  // vector) as a plain sum in order.
#define QKIT_FT_OUT(c)                                             \
  if constexpr (C > c) {                                           \
    out[c * 4 + 0] = hn::GetLane(hn::SumOfLanes(d, a0##c));        \
    out[c * 4 + 1] = hn::GetLane(hn::SumOfLanes(d, a1##c));        \
    out[c * 4 + 2] = hn::GetLane(hn::SumOfLanes(d, a2##c));        \
    out[c * 4 + 3] = hn::GetLane(hn::SumOfLanes(d, a3##c));        \
  }
  QKIT_FT_OUT(0) QKIT_FT_OUT(1) QKIT_FT_OUT(2) QKIT_FT_OUT(3) QKIT_FT_OUT(4) QKIT_FT_OUT(5)
#undef QKIT_FT_OUT
  if (i < k) {
    for (int c = 0; c < C; ++c)
      for (int r = 0; r < 4; ++r) {
        float t = out[c * 4 + r];
        for (size_t j = i; j < k; ++j) t += WeightAt<S>(w[r], j) * x[c][j];
        out[c * 4 + r] = t;
      }
  }
}

template <Format S>
inline void FloatTileCols(int cols, const void* const* w, const float* const* x, size_t k, float* out) {
  switch (cols) {
    case 1: FloatTile<S, 1>(w, x, k, out); break;
    case 2: FloatTile<S, 2>(w, x, k, out); break;
    case 3: FloatTile<S, 3>(w, x, k, out); break;
#if HWY_TARGET != HWY_AVX2 && HWY_TARGET != HWY_SSE4
    case 4: FloatTile<S, 4>(w, x, k, out); break;
    case 5: FloatTile<S, 5>(w, x, k, out); break;
    case 6: FloatTile<S, 6>(w, x, k, out); break;
#endif
    default: break;
  }
}

// Rows [r, r + valid) of Y for columns [c0, c1); w: 4 row pointers in
// format S (rows past `valid` repeat a valid row, their results dropped).
template <Format S>
inline void FloatRowTile(const MatmulArgs& a, const void* const* w, int64_t r, int valid, int64_t c0, int64_t c1) {
  const QuantAct& x = *a.act;
  const size_t k = static_cast<size_t>(a.cols);
  for (int64_t c = c0; c < c1; c += kFloatTileCols) {
    const int cols = c1 - c < kFloatTileCols ? static_cast<int>(c1 - c) : kFloatTileCols;
    const float* xs[kFloatTileCols];
    for (int j = 0; j < cols; ++j) xs[j] = x.xf + static_cast<size_t>(c + j) * x.xf_stride;
    float out[4 * kFloatTileCols];
    FloatTileCols<S>(cols, w, xs, k, out);
    for (int j = 0; j < cols; ++j) {
      float* y = a.y + static_cast<size_t>(c + j) * a.ldy + r;
      for (int i = 0; i < valid; ++i) y[i] = out[j * 4 + i];
    }
  }
}

// Weights read in place (F32, or F16/BF16 converted in registers): GEMV,
// and GEMM for F32.
template <Format F>
inline void FloatMatmulDirect(const MatmulArgs& a, int64_t c0, int64_t c1) {
  for (int64_t r = a.row_begin; r < a.row_end; r += kFloatTileRows) {
    const int valid = a.row_end - r < kFloatTileRows ? static_cast<int>(a.row_end - r) : kFloatTileRows;
    const void* w[kFloatTileRows];
    for (int j = 0; j < kFloatTileRows; ++j)
      w[j] = a.w + static_cast<size_t>(r + (j < valid ? j : valid - 1)) * a.row_stride;
    FloatRowTile<F>(a, w, r, valid, c0, c1);
  }
}

// F16/BF16 weights converted once per column block into an f32 panel of 4
// rows (exact conversions of convert-inl.h), then the f32 tile.
template <Format F>
inline void FloatMatmulPanel(const MatmulArgs& a, int64_t c0, int64_t c1) {
  const size_t k = static_cast<size_t>(a.cols);
  thread_local AlignedBuffer<float> panel;
  panel.ensure(static_cast<size_t>(kFloatTileRows) * k);
  for (int64_t r = a.row_begin; r < a.row_end; r += kFloatTileRows) {
    const int valid = a.row_end - r < kFloatTileRows ? static_cast<int>(a.row_end - r) : kFloatTileRows;
    const void* w[kFloatTileRows];
    for (int j = 0; j < kFloatTileRows; ++j) {
      float* dst = panel.data() + static_cast<size_t>(j) * k;
      w[j] = j < valid ? dst : panel.data();
      if (j >= valid) continue;
      const auto* src = reinterpret_cast<const uint16_t*>(a.w + static_cast<size_t>(r + j) * a.row_stride);
      if constexpr (F == Format::F16) {
        F16ToF32Row(src, dst, k);
      } else {
        BF16ToF32Row(src, dst, k);
      }
    }
    FloatRowTile<Format::F32>(a, w, r, valid, c0, c1);
  }
}

template <Format F>
inline void FloatMatmul(const MatmulArgs& a) {
  static_assert(F == Format::F32 || F == Format::F16 || F == Format::BF16, "float formats only");
#if QKIT_FLOAT_BF16_X86
  if constexpr (F == Format::BF16) {
    if (cpu::has_fast_path(cpu::kFastBf16)) {
      bf16x86::matmul(a);
      return;
    }
  }
#endif
  const QuantAct& x = *a.act;
  if (x.n == 1 && kDirectLoad<F>) {
    // GEMV: stream each weight once, converting in registers.
    if constexpr (kDirectLoad<F>) FloatMatmulDirect<F>(a, 0, 1);
    return;
  }
  const size_t k = static_cast<size_t>(a.cols);
  int64_t nc = static_cast<int64_t>(kFloatColumnBlockBytes / (k * sizeof(float))) / kFloatTileCols * kFloatTileCols;
  if (nc < kFloatTileCols) nc = kFloatTileCols;
  for (int64_t c0 = 0; c0 < x.n; c0 += nc) {
    const int64_t c1 = c0 + nc < x.n ? c0 + nc : x.n;
    if constexpr (F == Format::F32) {
      FloatMatmulDirect<F>(a, c0, c1);
    } else {
      FloatMatmulPanel<F>(a, c0, c1);
    }
  }
}

template <Format F>
inline bool FloatMatmulUsesBf16Dot() {
#if QKIT_FLOAT_BF16_X86
  if constexpr (F == Format::BF16) return cpu::has_fast_path(cpu::kFastBf16);
#endif
  return false;
}

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
