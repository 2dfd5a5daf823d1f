// qkit/kernels/dot_generic-inl.h — the f32 path every weight format has:
// dequantize a group of weight rows, then f32 dot products with the
// activation columns (already rounded through the pair format, so the
// result is the reference's quantized dot product up to f32 summation).
//
// It is the correct fallback of every quantized format without an integer
// kernel on a target. The float formats (F32, F16, BF16) have their own
// kernels in float_matmul-inl.h.
#if defined(QKIT_KERNELS_DOT_GENERIC_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_DOT_GENERIC_INL_H_
#undef QKIT_KERNELS_DOT_GENERIC_INL_H_
#else
#define QKIT_KERNELS_DOT_GENERIC_INL_H_
#endif

#include <cstring>

#include "hwy/highway.h"
#include "qkit/base/aligned.hpp"
#include "qkit/kernels/act_layout.hpp"
#include "qkit/kernels/common-inl.h"
#include "qkit/kernels/convert-inl.h"
#include "qkit/kernels/dequant-inl.h"
#include "qkit/kernels/dot-inl.h"
#include "qkit/quant/registry.hpp"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {

// Rows dequantized together: their f32 copies (16 x K floats) stay in L2
// while every activation column streams past once.
inline constexpr int64_t kGenericRowGroup = 16;

template <Format F>
inline void DequantizeWeightRow(const uint8_t* HWY_RESTRICT src, float* HWY_RESTRICT dst, int64_t n) {
  if constexpr (F == Format::F32) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
  } else if constexpr (F == Format::F16) {
    F16ToF32Row(reinterpret_cast<const uint16_t*>(src), dst, static_cast<size_t>(n));
  } else if constexpr (F == Format::BF16) {
    BF16ToF32Row(reinterpret_cast<const uint16_t*>(src), dst, static_cast<size_t>(n));
  } else {
    DequantizeRow<F>(src, dst, n);  // dispatched SIMD dequantization (dequant-inl.h)
  }
}

// Four weight rows x two activation columns: eight independent FMA chains,
// each loaded vector feeding 2 or 4 of them (a lone dot loads twice per
// FMA). out[c * 4 + r] = w_r . x_c.
inline void Dot4x2(const float* HWY_RESTRICT w, size_t k, const float* HWY_RESTRICT x0,
                   const float* HWY_RESTRICT x1, float* HWY_RESTRICT out) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const float* w0 = w;
  const float* w1 = w + k;
  const float* w2 = w + 2 * k;
  const float* w3 = w + 3 * k;
  auto a00 = hn::Zero(d), a10 = hn::Zero(d), a20 = hn::Zero(d), a30 = hn::Zero(d);
  auto a01 = hn::Zero(d), a11 = hn::Zero(d), a21 = hn::Zero(d), a31 = hn::Zero(d);
  size_t i = 0;
  for (; i + N <= k; i += N) {
    const auto v0 = hn::LoadU(d, x0 + i), v1 = hn::LoadU(d, x1 + i);
    const auto r0 = hn::LoadU(d, w0 + i), r1 = hn::LoadU(d, w1 + i);
    const auto r2 = hn::LoadU(d, w2 + i), r3 = hn::LoadU(d, w3 + i);
    a00 = hn::MulAdd(r0, v0, a00);
    a10 = hn::MulAdd(r1, v0, a10);
    a20 = hn::MulAdd(r2, v0, a20);
    a30 = hn::MulAdd(r3, v0, a30);
    a01 = hn::MulAdd(r0, v1, a01);
    a11 = hn::MulAdd(r1, v1, a11);
    a21 = hn::MulAdd(r2, v1, a21);
    a31 = hn::MulAdd(r3, v1, a31);
  }
  float o[8] = {hn::GetLane(hn::SumOfLanes(d, a00)), hn::GetLane(hn::SumOfLanes(d, a10)),
                hn::GetLane(hn::SumOfLanes(d, a20)), hn::GetLane(hn::SumOfLanes(d, a30)),
                hn::GetLane(hn::SumOfLanes(d, a01)), hn::GetLane(hn::SumOfLanes(d, a11)),
                hn::GetLane(hn::SumOfLanes(d, a21)), hn::GetLane(hn::SumOfLanes(d, a31))};
  // Tail (k not a multiple of the vector): one plain reduction per output.
  for (int r = 0; r < 4; ++r) {
    const float* wr = w + static_cast<size_t>(r) * k;
    float t0 = o[r], t1 = o[4 + r];
    for (size_t j = i; j < k; ++j) t0 += wr[j] * x0[j];
    for (size_t j = i; j < k; ++j) t1 += wr[j] * x1[j];
    out[r] = t0;
    out[4 + r] = t1;
  }
}

// Q4_1 / Q5_1 against Q8_1: the reference applies each block's min m to
// s = f16(d_x * sum(q_x)), not to the exact d_x * sum(q_x) that the f32 dot
// of dequantized values implies. Adding m * (s - d_x * sum) per block gives
// the reference's result (it matters with large activations).
template <Format F>
inline float MinTermCorrection(const uint8_t* HWY_RESTRICT wrow, const QuantAct& x, int64_t c) {
  constexpr size_t kBlockBytes = F == Format::Q4_1 ? 20 : 24;
  const int64_t nb = x.k / 32;
  const float* d = x.d + static_cast<size_t>(c) * x.blk_stride;
  const float* s = x.s + static_cast<size_t>(c) * x.blk_stride;
  const int32_t* sums = x.sums + static_cast<size_t>(c) * x.blk_stride;
  float corr = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    uint16_t mb;
    std::memcpy(&mb, wrow + static_cast<size_t>(b) * kBlockBytes + 2, 2);
    corr += f16_to_f32(mb) * (s[b] - d[b] * static_cast<float>(sums[b]));
  }
  return corr;
}

// Rows [r0, r1), every column, kRows layout.
template <Format F>
inline void MatmulGeneric(const MatmulArgs& a, int64_t r0, int64_t r1) {
  const QuantAct& x = *a.act;
  const size_t k = static_cast<size_t>(a.cols);
  thread_local AlignedBuffer<float> wbuf;
  wbuf.ensure(static_cast<size_t>(kGenericRowGroup) * k);
  const bool interleaved = a.layout == WeightLayout::kInterleaved16;
  thread_local AlignedBuffer<uint8_t> rowbuf;  // one GGUF row, for interleaved weights
  const size_t rb = static_cast<size_t>(a.cols / format_info(F).block_size) * format_info(F).block_bytes;
  if (interleaved) rowbuf.ensure(rb);
  // The GGUF row r (interleaved weights are unpacked on the fly).
  auto row_ptr = [&](int64_t r) -> const uint8_t* {
    if (!interleaved) return a.w + static_cast<size_t>(r) * a.row_stride;
    unpack_interleaved_row(F, a.w + static_cast<size_t>(r / 16) * a.row_stride, static_cast<int>(r % 16),
                           a.cols / static_cast<int64_t>(format_info(F).block_size), rowbuf.data());
    return rowbuf.data();
  };
  for (int64_t g = r0; g < r1; g += kGenericRowGroup) {
    const int64_t ge = g + kGenericRowGroup < r1 ? g + kGenericRowGroup : r1;
    for (int64_t r = g; r < ge; ++r)
      DequantizeWeightRow<F>(row_ptr(r), wbuf.data() + static_cast<size_t>(r - g) * k, a.cols);
    // Pairs of columns against quads of rows; what is left (odd column,
    // rows beyond a multiple of 4) one dot at a time. The split depends on
    // N and on 16-row group edges only, never on the thread count.
    int64_t c = 0;
    const int64_t quads = (ge - g) / 4 * 4;
    if (x.n >= 2 && quads > 0) {
      for (; c + 2 <= x.n; c += 2) {
        const float* x0 = x.xf + static_cast<size_t>(c) * x.xf_stride;
        const float* x1 = x0 + x.xf_stride;
        float* y0 = a.y + static_cast<size_t>(c) * a.ldy;
        float* y1 = y0 + a.ldy;
        for (int64_t r = g; r < g + quads; r += 4) {
          float o[8];
          Dot4x2(wbuf.data() + static_cast<size_t>(r - g) * k, k, x0, x1, o);
          for (int j = 0; j < 4; ++j) {
            y0[r + j] = o[j];
            y1[r + j] = o[4 + j];
          }
        }
        for (int64_t r = g + quads; r < ge; ++r) {
          y0[r] = DotF32(wbuf.data() + static_cast<size_t>(r - g) * k, x0, k);
          y1[r] = DotF32(wbuf.data() + static_cast<size_t>(r - g) * k, x1, k);
        }
        if constexpr (F == Format::Q4_1 || F == Format::Q5_1) {
          for (int64_t r = g; r < ge; ++r) {
            y0[r] += MinTermCorrection<F>(a.w + static_cast<size_t>(r) * a.row_stride, x, c);
            y1[r] += MinTermCorrection<F>(a.w + static_cast<size_t>(r) * a.row_stride, x, c + 1);
          }
        }
      }
    }
    for (; c < x.n; ++c) {
      const float* xc = x.xf + static_cast<size_t>(c) * x.xf_stride;
      float* yc = a.y + static_cast<size_t>(c) * a.ldy;
      for (int64_t r = g; r < ge; ++r) {
        yc[r] = DotF32(wbuf.data() + static_cast<size_t>(r - g) * k, xc, k);
        if constexpr (F == Format::Q4_1 || F == Format::Q5_1) {
          yc[r] += MinTermCorrection<F>(a.w + static_cast<size_t>(r) * a.row_stride, x, c);  // never interleaved
        }
      }
    }
  }
}

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
