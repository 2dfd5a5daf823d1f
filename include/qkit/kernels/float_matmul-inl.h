// qkit/kernels/float_matmul-inl.h — per-target GEMV and GEMM for float
// weights: F32, F16 and BF16 rows as GGUF stores them.
//
// The reference engine pairs each float format with itself (ggml's
// vec_dot_type of F16 is F16, of BF16 is BF16, of F32 is F32): x is rounded
// through the weights' format, which QuantAct::xf already holds, and the
// dot product is an f32 sum of exact products.
//
// Kernel names (docs/dispatch.md grammar; the target is the namespace):
//   gemv_<f32|f16|bf16>_f32       one row at a time, four accumulators,
//                                 weights converted to f32 in registers
//                                 (F16C / fcvt; bf16 by a 16-bit shift): the
//                                 matrix streams as one sequential run, which
//                                 the hardware prefetchers follow best (4-row
//                                 tiles, 4 streams 1 row apart, measured
//                                 slower). Targets without native f16
//                                 conversion take the GEMM path with N = 1.
//   gemm_<f32|f16|bf16>_f32_4xC   register tile of 4 rows x C columns
//                                 (C = 6 with 32 vector registers, else 3):
//                                 each weight vector feeds C columns and each
//                                 activation vector 4 rows. Rows are copied /
//                                 converted once per column block into a
//                                 4-row f32 panel (contiguous, in L1/L2),
//                                 and the next panel's rows are prefetched
//                                 while the current one computes.
//   AVX3_DL with AVX-512 BF16 (variant "AVX3_DL+bf16"): gemv_bf16_bf16 /
//     gemm_bf16_bf16_4x6, vdpbf16ps on the raw weights (bf16_x86.hpp).
//
// Every GEMM output (r, c) runs the same operation sequence (vector FMAs
// over the whole of K, one reduction, a scalar tail) whatever the tile,
// block or row range it falls in, and every GEMV row the same as well:
// results do not depend on the thread count.
#if defined(QKIT_KERNELS_FLOAT_MATMUL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_FLOAT_MATMUL_INL_H_
#undef QKIT_KERNELS_FLOAT_MATMUL_INL_H_
#else
#define QKIT_KERNELS_FLOAT_MATMUL_INL_H_
#endif

#include <cstring>

#include "hwy/cache_control.h"
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

// Bytes of f32 activations per column block. The weights are copied into
// panels once per block, so a large block (past L2, still well inside L3)
// measured faster than one that fits L2: 512 KiB -> 2 MiB took F16 GEMM
// from ~72% to ~81% of the f32 FMA peak (N = 512, K = 3072).
inline constexpr size_t kFloatColumnBlockBytes = size_t(2) << 20;

// Floats between panel rows beyond K: with K * 4 a multiple of 4 KiB (K =
// 3072, 8192) the 4 rows would share L1 sets; 64 bytes more measured ~3%
// faster for F32/F16 GEMM.
inline constexpr size_t kFloatPanelPad = 16;

// Whether format S can be read straight into f32 vectors on this target.
template <Format S>
inline constexpr bool kDirectLoad = S == Format::F32 || S == Format::BF16 || (S == Format::F16 && QKIT_NATIVE_F16);

// Weights of a row in format S from value i on, as f32 lanes.
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

// GEMV: w . x for one row in format S; four accumulators over consecutive
// vectors hide the FMA latency.
template <Format S>
HWY_INLINE float FloatRowDot(const void* w, const float* HWY_RESTRICT x, size_t k) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
  size_t i = 0;
  for (; i + 4 * N <= k; i += 4 * N) {
    a0 = hn::MulAdd(LoadWeights<S>(d, w, i), hn::LoadU(d, x + i), a0);
    a1 = hn::MulAdd(LoadWeights<S>(d, w, i + N), hn::LoadU(d, x + i + N), a1);
    a2 = hn::MulAdd(LoadWeights<S>(d, w, i + 2 * N), hn::LoadU(d, x + i + 2 * N), a2);
    a3 = hn::MulAdd(LoadWeights<S>(d, w, i + 3 * N), hn::LoadU(d, x + i + 3 * N), a3);
  }
  for (; i + N <= k; i += N) a0 = hn::MulAdd(LoadWeights<S>(d, w, i), hn::LoadU(d, x + i), a0);
  float t = hn::GetLane(hn::SumOfLanes(d, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3))));
  for (; i < k; ++i) t += WeightAt<S>(w, i) * x[i];
  return t;
}

#if QKIT_NATIVE_F16
// F16 GEMV for long rows: x (f16-rounded already, QuantAct::xf) stored as
// f16 too, so that with K = 8192 it takes 16 KiB of L1 beside the
// streaming weights instead of 32 KiB (all of Zen 4's L1d: x then came
// from L2, ~1.5x slower). f16 -> f32 is exact: the same products and sums
// as FloatRowDot<F16>.
inline constexpr size_t kF16GemvHalfXMinK = 4096;
HWY_INLINE float F16RowDotHalfX(const void* w, const hwy::float16_t* HWY_RESTRICT x, const float* xf, size_t k) {
  const hn::ScalableTag<float> d;
  const hn::Rebind<hwy::float16_t, decltype(d)> dh;
  const auto* wh = static_cast<const hwy::float16_t*>(w);
  const size_t N = hn::Lanes(d);
  auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
  size_t i = 0;
  for (; i + 4 * N <= k; i += 4 * N) {
    a0 = hn::MulAdd(hn::PromoteTo(d, hn::LoadU(dh, wh + i)), hn::PromoteTo(d, hn::LoadU(dh, x + i)), a0);
    a1 = hn::MulAdd(hn::PromoteTo(d, hn::LoadU(dh, wh + i + N)), hn::PromoteTo(d, hn::LoadU(dh, x + i + N)), a1);
    a2 = hn::MulAdd(hn::PromoteTo(d, hn::LoadU(dh, wh + i + 2 * N)), hn::PromoteTo(d, hn::LoadU(dh, x + i + 2 * N)), a2);
    a3 = hn::MulAdd(hn::PromoteTo(d, hn::LoadU(dh, wh + i + 3 * N)), hn::PromoteTo(d, hn::LoadU(dh, x + i + 3 * N)), a3);
  }
  for (; i + N <= k; i += N) a0 = hn::MulAdd(hn::PromoteTo(d, hn::LoadU(dh, wh + i)), hn::PromoteTo(d, hn::LoadU(dh, x + i)), a0);
  float t = hn::GetLane(hn::SumOfLanes(d, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3))));
  for (; i < k; ++i) t += WeightAt<Format::F16>(w, i) * xf[i];
  return t;
}

// x (f16-exact f32 values) as f16.
inline void F16FromExactF32(const float* HWY_RESTRICT x, hwy::float16_t* HWY_RESTRICT out, size_t k) {
  const hn::ScalableTag<float> d;
  const hn::Rebind<hwy::float16_t, decltype(d)> dh;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= k; i += N) hn::StoreU(hn::DemoteTo(dh, hn::LoadU(d, x + i)), dh, out + i);
  for (; i < k; ++i) {
    const uint16_t h = f32_to_f16(x[i]);
    std::memcpy(out + i, &h, 2);
  }
}
#endif

// GEMM tile: out[c * 4 + r] = w_r . x_c for 4 f32 weight rows and C
// activation columns of k values. Accumulators are named variables, not
// arrays: SVE vectors are sizeless types.
template <int C>
HWY_INLINE void FloatTile(const float* const* w, const float* const* x, size_t k, float* HWY_RESTRICT out) {
  static_assert(C >= 1 && C <= 6, "tile columns");
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
#define QKIT_FT_ACC(c) auto a0##c = hn::Zero(d), a1##c = hn::Zero(d), a2##c = hn::Zero(d), a3##c = hn::Zero(d);
  QKIT_FT_ACC(0) QKIT_FT_ACC(1) QKIT_FT_ACC(2) QKIT_FT_ACC(3) QKIT_FT_ACC(4) QKIT_FT_ACC(5)
#undef QKIT_FT_ACC
  const float* HWY_RESTRICT w0 = w[0];
  const float* HWY_RESTRICT w1 = w[1];
  const float* HWY_RESTRICT w2 = w[2];
  const float* HWY_RESTRICT w3 = w[3];
  size_t i = 0;
  for (; i + N <= k; i += N) {
    const auto v0 = hn::LoadU(d, w0 + i);
    const auto v1 = hn::LoadU(d, w1 + i);
    const auto v2 = hn::LoadU(d, w2 + i);
    const auto v3 = hn::LoadU(d, w3 + i);
#define QKIT_FT_STEP(c)                     \
  if constexpr (C > c) {                    \
    const auto xv = hn::LoadU(d, x[c] + i); \
    a0##c = hn::MulAdd(v0, xv, a0##c);      \
    a1##c = hn::MulAdd(v1, xv, a1##c);      \
    a2##c = hn::MulAdd(v2, xv, a2##c);      \
    a3##c = hn::MulAdd(v3, xv, a3##c);      \
  }
    QKIT_FT_STEP(0) QKIT_FT_STEP(1) QKIT_FT_STEP(2) QKIT_FT_STEP(3) QKIT_FT_STEP(4) QKIT_FT_STEP(5)
#undef QKIT_FT_STEP
  }
  // One reduction per output, then the tail (k not a multiple of the
  // vector) as a plain sum in order.
#define QKIT_FT_OUT(c)                                      \
  if constexpr (C > c) {                                    \
    out[c * 4 + 0] = hn::GetLane(hn::SumOfLanes(d, a0##c)); \
    out[c * 4 + 1] = hn::GetLane(hn::SumOfLanes(d, a1##c)); \
    out[c * 4 + 2] = hn::GetLane(hn::SumOfLanes(d, a2##c)); \
    out[c * 4 + 3] = hn::GetLane(hn::SumOfLanes(d, a3##c)); \
  }
  QKIT_FT_OUT(0) QKIT_FT_OUT(1) QKIT_FT_OUT(2) QKIT_FT_OUT(3) QKIT_FT_OUT(4) QKIT_FT_OUT(5)
#undef QKIT_FT_OUT
  if (i < k) {
    for (int c = 0; c < C; ++c)
      for (int r = 0; r < 4; ++r) {
        float t = out[c * 4 + r];
        for (size_t j = i; j < k; ++j) t += w[r][j] * x[c][j];
        out[c * 4 + r] = t;
      }
  }
}

inline void FloatTileCols(int cols, const float* const* w, const float* const* x, size_t k, float* out) {
  switch (cols) {
    case 1: FloatTile<1>(w, x, k, out); break;
    case 2: FloatTile<2>(w, x, k, out); break;
    case 3: FloatTile<3>(w, x, k, out); break;
#if HWY_TARGET != HWY_AVX2 && HWY_TARGET != HWY_SSE4
    case 4: FloatTile<4>(w, x, k, out); break;
    case 5: FloatTile<5>(w, x, k, out); break;
    case 6: FloatTile<6>(w, x, k, out); break;
#endif
    default: break;
  }
}

// Rows [r, r + valid) of Y for columns [c0, c1) from a 4-row f32 panel w
// (rows past `valid` repeat row 0; their results are dropped); column c is
// xb + (c - c0) * xstride. Prefetches `next_bytes` from `next` spread over
// the column tiles.
inline void FloatPanelColumns(const MatmulArgs& a, const float* const* w, int64_t r, int valid, int64_t c0,
                              int64_t c1, const float* xb, size_t xstride, const uint8_t* next, size_t next_bytes) {
  const size_t k = static_cast<size_t>(a.cols);
  const size_t tiles = static_cast<size_t>((c1 - c0 + kFloatTileCols - 1) / kFloatTileCols);
  for (int64_t c = c0; c < c1; c += kFloatTileCols) {
    const int cols = c1 - c < kFloatTileCols ? static_cast<int>(c1 - c) : kFloatTileCols;
    const float* xs[kFloatTileCols];
    for (int j = 0; j < cols; ++j) xs[j] = xb + static_cast<size_t>(c - c0 + j) * xstride;
    if (next_bytes) {
      const size_t t = static_cast<size_t>((c - c0) / kFloatTileCols);
      const size_t hi = next_bytes * (t + 1) / tiles;
      for (size_t b = next_bytes * t / tiles / 64 * 64; b < hi; b += 64) hwy::Prefetch(next + b);
    }
    float out[4 * kFloatTileCols];
    FloatTileCols(cols, w, xs, k, out);
    for (int j = 0; j < cols; ++j) {
      float* y = a.y + static_cast<size_t>(c + j) * a.ldy + r;
      for (int i = 0; i < valid; ++i) y[i] = out[j * 4 + i];
    }
  }
}

// Rows [row_begin, row_end) x columns [c0, c1): each group of 4 rows is
// copied (F32) or converted exactly (F16/BF16, convert-inl.h) into an f32
// panel, then meets every column of the block. F32 is copied too: reading
// its rows in place measured ~57% of the FMA peak against ~71% copied.
template <Format F>
inline void FloatMatmulPanels(const MatmulArgs& a, int64_t c0, int64_t c1) {
  const size_t k = static_cast<size_t>(a.cols);
  const QuantAct& x = *a.act;
  const float* xb = x.xf + static_cast<size_t>(c0) * x.xf_stride;
  const size_t row_bytes = k * (F == Format::F32 ? 4 : 2);
  thread_local AlignedBuffer<float> panel;
  const size_t ps = k + kFloatPanelPad;
  panel.ensure(static_cast<size_t>(kFloatTileRows) * ps);
  for (int64_t r = a.row_begin; r < a.row_end; r += kFloatTileRows) {
    const int valid = a.row_end - r < kFloatTileRows ? static_cast<int>(a.row_end - r) : kFloatTileRows;
    const float* w[kFloatTileRows];
    for (int j = 0; j < kFloatTileRows; ++j) {
      float* dst = panel.data() + static_cast<size_t>(j) * ps;
      w[j] = j < valid ? dst : panel.data();
      if (j >= valid) continue;
      const uint8_t* src = a.w + static_cast<size_t>(r + j) * a.row_stride;
      if constexpr (F == Format::F32) {
        std::memcpy(dst, src, row_bytes);
      } else if constexpr (F == Format::F16) {
        F16ToF32Row(reinterpret_cast<const uint16_t*>(src), dst, k);
      } else {
        BF16ToF32Row(reinterpret_cast<const uint16_t*>(src), dst, k);
      }
    }
    const int64_t rn = r + kFloatTileRows;
    const uint8_t* next = nullptr;
    size_t next_bytes = 0;
    if (rn < a.row_end) {
      const int64_t nv = a.row_end - rn < kFloatTileRows ? a.row_end - rn : kFloatTileRows;
      next = a.w + static_cast<size_t>(rn) * a.row_stride;
      next_bytes = static_cast<size_t>(nv - 1) * a.row_stride + row_bytes;
    }
    FloatPanelColumns(a, w, r, valid, c0, c1, xb, x.xf_stride, next, next_bytes);
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
  if constexpr (kDirectLoad<F>) {
    if (x.n == 1) {  // GEMV: stream each weight once, converting in registers
      const size_t k = static_cast<size_t>(a.cols);
#if QKIT_NATIVE_F16
      if (F == Format::F16 && k >= kF16GemvHalfXMinK) {
        thread_local AlignedBuffer<hwy::float16_t> xh;
        xh.ensure(k);
        F16FromExactF32(x.xf, xh.data(), k);
        for (int64_t r = a.row_begin; r < a.row_end; ++r)
          a.y[r] = F16RowDotHalfX(a.w + static_cast<size_t>(r) * a.row_stride, xh.data(), x.xf, k);
        return;
      }
#endif
      for (int64_t r = a.row_begin; r < a.row_end; ++r)
        a.y[r] = FloatRowDot<F>(a.w + static_cast<size_t>(r) * a.row_stride, x.xf, k);
      return;
    }
  }
  const size_t k = static_cast<size_t>(a.cols);
  int64_t nc = static_cast<int64_t>(kFloatColumnBlockBytes / (k * sizeof(float))) / kFloatTileCols * kFloatTileCols;
  if (nc < kFloatTileCols) nc = kFloatTileCols;
  for (int64_t c0 = 0; c0 < x.n; c0 += nc) FloatMatmulPanels<F>(a, c0, c0 + nc < x.n ? c0 + nc : x.n);
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
