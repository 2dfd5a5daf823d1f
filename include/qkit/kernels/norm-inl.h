// qkit/kernels/norm-inl.h — per-target RMSNorm, LayerNorm and residual add
// over rows of f32.
//
// Sums use four vector accumulators in f32; the reference engine sums in
// double, and tests/test_ops.cpp holds these to a double-precision
// reference with a relative error budget of 1e-5.
#if defined(QKIT_KERNELS_NORM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_NORM_INL_H_
#undef QKIT_KERNELS_NORM_INL_H_
#else
#define QKIT_KERNELS_NORM_INL_H_
#endif

#include <cmath>

#include "hwy/highway.h"
#include "qkit/kernels/common-inl.h"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {

// sum_i (x[i] - c)^2.
inline float SumSquaresAbout(const float* HWY_RESTRICT x, size_t n, float c) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto vc = hn::Set(d, c);
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    const auto a = hn::Sub(hn::LoadU(d, x + i), vc), b = hn::Sub(hn::LoadU(d, x + i + N), vc);
    const auto e = hn::Sub(hn::LoadU(d, x + i + 2 * N), vc), f = hn::Sub(hn::LoadU(d, x + i + 3 * N), vc);
    s0 = hn::MulAdd(a, a, s0);
    s1 = hn::MulAdd(b, b, s1);
    s2 = hn::MulAdd(e, e, s2);
    s3 = hn::MulAdd(f, f, s3);
  }
  for (; i + N <= n; i += N) {
    const auto a = hn::Sub(hn::LoadU(d, x + i), vc);
    s0 = hn::MulAdd(a, a, s0);
  }
  float sum = hn::GetLane(hn::SumOfLanes(d, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3))));
  for (; i < n; ++i) sum += (x[i] - c) * (x[i] - c);
  return sum;
}

inline float SumRow(const float* HWY_RESTRICT x, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  auto s0 = hn::Zero(d), s1 = hn::Zero(d);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    s0 = hn::Add(s0, hn::LoadU(d, x + i));
    s1 = hn::Add(s1, hn::LoadU(d, x + i + N));
  }
  for (; i + N <= n; i += N) s0 = hn::Add(s0, hn::LoadU(d, x + i));
  float sum = hn::GetLane(hn::SumOfLanes(d, hn::Add(s0, s1)));
  for (; i < n; ++i) sum += x[i];
  return sum;
}

// out = (x - c) * s * w (+ b); w and b may be null (1 and 0).
inline void ScaleShiftRow(const float* x, float c, float s, const float* HWY_RESTRICT w,
                          const float* HWY_RESTRICT b, float* out, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto vc = hn::Set(d, c), vs = hn::Set(d, s);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    auto y = hn::Mul(hn::Sub(hn::LoadU(d, x + i), vc), vs);
    if (w) y = hn::Mul(y, hn::LoadU(d, w + i));
    if (b) y = hn::Add(y, hn::LoadU(d, b + i));
    hn::StoreU(y, d, out + i);
  }
  for (; i < n; ++i) {
    float y = (x[i] - c) * s;
    if (w) y *= w[i];
    if (b) y += b[i];
    out[i] = y;
  }
}

// out = x / sqrt(mean(x^2) + eps) * w, row by row (out may alias x).
inline void RmsNormRows(const float* x, const float* w, float* out, size_t rows, size_t n, float eps) {
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    const float ms = SumSquaresAbout(xr, n, 0.0f) / static_cast<float>(n);
    ScaleShiftRow(xr, 0.0f, 1.0f / std::sqrt(ms + eps), w, nullptr, out + r * n, n);
  }
}

// out = (x - mean) / sqrt(var + eps) * w + b (population variance, as the
// reference engine); out may alias x.
inline void LayerNormRows(const float* x, const float* w, const float* b, float* out, size_t rows, size_t n,
                          float eps) {
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    const float mean = SumRow(xr, n) / static_cast<float>(n);
    const float var = SumSquaresAbout(xr, n, mean) / static_cast<float>(n);
    ScaleShiftRow(xr, mean, 1.0f / std::sqrt(var + eps), w, b, out + r * n, n);
  }
}

// out = a + b (out may alias either).
inline void AddRow(const float* a, const float* b, float* out, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::Add(hn::LoadU(d, a + i), hn::LoadU(d, b + i)), d, out + i);
  for (; i < n; ++i) out[i] = a[i] + b[i];
}

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
