// qkit/kernels/activation-inl.h — per-target SiLU, SwiGLU, GELU (tanh
// approximation and exact erf) and softmax over rows of f32.
// Error bounds are those of math-inl.h; softmax rows sum to 1 within 1e-6.
#if defined(QKIT_KERNELS_ACTIVATION_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_ACTIVATION_INL_H_
#undef QKIT_KERNELS_ACTIVATION_INL_H_
#else
#define QKIT_KERNELS_ACTIVATION_INL_H_
#endif

#include <cmath>

#include "hwy/highway.h"
#include "qkit/kernels/common-inl.h"
#include "qkit/kernels/math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {

inline void SiluRow(const float* x, float* out, size_t n) {
  MapRow(x, out, n, [](auto d, auto v) HWY_ATTR { return VecSilu(d, v); });
}
inline void GeluTanhRow(const float* x, float* out, size_t n) {
  MapRow(x, out, n, [](auto d, auto v) HWY_ATTR { return VecGeluTanh(d, v); });
}
inline void GeluErfRow(const float* x, float* out, size_t n) {
  MapRow(x, out, n, [](auto d, auto v) HWY_ATTR { return VecGeluErf(d, v); });
}

// Each input row is [gate (n) | up (n)]: out = silu(gate) * up. This is the
// layout of a fused gate+up projection (Phi-3's ffn_up holds both halves).
inline void SwigluRows(const float* gate_up, float* out, size_t rows, size_t n) {
  const hn::ScalableTag<float> d;
  const hn::CappedTag<float, 1> d1;
  const size_t N = hn::Lanes(d);
  for (size_t r = 0; r < rows; ++r) {
    const float* g = gate_up + r * 2 * n;
    const float* u = g + n;
    float* o = out + r * n;
    size_t i = 0;
    for (; i + N <= n; i += N) hn::StoreU(hn::Mul(VecSilu(d, hn::LoadU(d, g + i)), hn::LoadU(d, u + i)), d, o + i);
    for (; i < n; ++i) hn::StoreU(hn::Mul(VecSilu(d1, hn::LoadU(d1, g + i)), hn::LoadU(d1, u + i)), d1, o + i);
  }
}

inline float MaxRow(const float* HWY_RESTRICT x, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  float m = -HUGE_VALF;
  size_t i = 0;
  if (n >= N) {
    auto vm = hn::LoadU(d, x);
    for (i = N; i + N <= n; i += N) vm = hn::Max(vm, hn::LoadU(d, x + i));
    m = hn::GetLane(hn::MaxOfLanes(d, vm));
  }
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// out[i] = exp(x[i]*k - m) where m = max_i x[i]*k; returns sum_i out[i].
inline float ExpShiftedRow(const float* x, float k, float m, float* out, size_t n) {
  const hn::ScalableTag<float> d;
  const hn::CappedTag<float, 1> d1;
  const size_t N = hn::Lanes(d);
  const auto vk = hn::Set(d, k), vm = hn::Set(d, m);
  auto vs = hn::Zero(d);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto e = VecExp(d, hn::MulSub(hn::LoadU(d, x + i), vk, vm));
    hn::StoreU(e, d, out + i);
    vs = hn::Add(vs, e);
  }
  float sum = hn::GetLane(hn::SumOfLanes(d, vs));
  for (; i < n; ++i) {
    const auto e = VecExp(d1, hn::MulSub(hn::LoadU(d1, x + i), hn::Set(d1, k), hn::Set(d1, m)));
    hn::StoreU(e, d1, out + i);
    sum += hn::GetLane(e);
  }
  return sum;
}

inline void ScaleRow(float* x, float s, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto vs = hn::Set(d, s);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::Mul(hn::LoadU(d, x + i), vs), d, x + i);
  for (; i < n; ++i) x[i] *= s;
}

// softmax(x * inv_temp) per row. The max is subtracted first, so large
// logits cannot overflow; -inf entries get exactly 0; a row that is all
// -inf becomes all 0 (rather than NaN). out may alias x.
inline void SoftmaxRows(const float* x, float* out, size_t rows, size_t n, float inv_temp) {
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* o = out + r * n;
    // inv_temp > 0, so the max of x*k is k * max(x).
    const float m = MaxRow(xr, n) * inv_temp;
    if (m == -HUGE_VALF) {
      for (size_t i = 0; i < n; ++i) o[i] = 0.0f;
      continue;
    }
    const float sum = ExpShiftedRow(xr, inv_temp, m, o, n);
    ScaleRow(o, 1.0f / sum, n);
  }
}

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
