// qkit/kernels/math-inl.h — per-target vector exp, tanh, erf, SiLU and GELU
// for f32 lanes (used by the activations, softmax and attention).
//
// Accuracy, measured against std:: in double by tests/test_ops.cpp over
// dense sweeps of the input ranges, on every target:
//   VecExp   relative error <= 3e-7 for x in [-87, 88.7]; exactly 0 for
//            x <= -104 and for -inf (so masked logits get exactly zero
//            weight); +inf above 88.72; results between ~-103 and -87.3
//            are subnormal with absolute error < 2e-45. NaN -> NaN.
//   VecTanh  absolute error <= 3e-7 (relative <= 1e-6 for |x| < 0.625).
//   VecErf   absolute error <= 5e-7 (Abramowitz-Stegun 7.1.26 rational
//            approximation, 1.5e-7, times VecExp, plus f32 rounding).
//   VecSilu  relative error <= 1e-6 (plus absolute 1e-37).
//   VecGeluTanh relative error <= 1e-6 + 4e-7 * |2u| (u: the tanh
//            argument; the f32 rounding of u itself), so <= 1e-6 for
//            x >= -1 and growing to ~4e-5 where the result underflows.
//   VecGeluErf: absolute error <= 4e-7 * |x| (half the erf error).
// Why hand-written rather than hwy/contrib/math: softmax needs
// exp(-inf) == 0 exactly and a documented, tested bound on every target
// including HWY_SCALAR; these are ~20 lines each.
#if defined(QKIT_KERNELS_MATH_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_MATH_INL_H_
#undef QKIT_KERNELS_MATH_INL_H_
#else
#define QKIT_KERNELS_MATH_INL_H_
#endif

#include <cmath>

#include "hwy/highway.h"
#include "qkit/kernels/common-inl.h"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {

// e^x: x = n*ln2 + r with |r| <= ln2/2, e^r by a degree-6 polynomial
// (Cephes expf coefficients), 2^n applied in two halves so that n in
// [-150, 128] never overflows the exponent field of one factor.
template <class D, class V = hn::Vec<D>>
HWY_INLINE V VecExp(D d, V x) {
  const hn::RebindToSigned<D> di;
  const V lo = hn::Set(d, -104.0f);
  const V hi = hn::Set(d, 88.72283935546875f);  // ln(FLT_MAX)
  const V xc = hn::Min(hn::Max(x, lo), hi);
  const V n = hn::Round(hn::Mul(xc, hn::Set(d, 1.44269504088896341f)));
  // ln2 split in a part exact in few bits and the rest (Cody-Waite).
  V r = hn::NegMulAdd(n, hn::Set(d, 0.693359375f), xc);
  r = hn::NegMulAdd(n, hn::Set(d, -2.12194440e-4f), r);
  V p = hn::Set(d, 1.9875691500e-4f);
  p = hn::MulAdd(p, r, hn::Set(d, 1.3981999507e-3f));
  p = hn::MulAdd(p, r, hn::Set(d, 8.3334519073e-3f));
  p = hn::MulAdd(p, r, hn::Set(d, 4.1665795894e-2f));
  p = hn::MulAdd(p, r, hn::Set(d, 1.6666665459e-1f));
  p = hn::MulAdd(p, r, hn::Set(d, 5.0000001201e-1f));
  const V r2 = hn::Mul(r, r);
  const V y = hn::Add(hn::MulAdd(p, r2, r), hn::Set(d, 1.0f));
  const auto ni = hn::ConvertTo(di, n);
  const auto n1 = hn::ShiftRight<1>(ni);  // arithmetic: floor(n / 2)
  const auto n2 = hn::Sub(ni, n1);
  const auto bias = hn::Set(di, 127);
  const V s1 = hn::BitCast(d, hn::ShiftLeft<23>(hn::Add(n1, bias)));
  const V s2 = hn::BitCast(d, hn::ShiftLeft<23>(hn::Add(n2, bias)));
  V res = hn::Mul(hn::Mul(y, s1), s2);
  res = hn::IfThenElse(hn::Gt(x, hi), hn::Set(d, HUGE_VALF), res);
  // Min/Max do not propagate NaN on every target; do it explicitly.
  return hn::IfThenElse(hn::Eq(x, x), res, x);
}

// tanh: odd polynomial (Cephes tanhf) for |x| < 0.625, where
// 1 - 2/(e^2x + 1) would cancel; that identity elsewhere (exact +-1 once
// e^2x overflows).
template <class D, class V = hn::Vec<D>>
HWY_INLINE V VecTanh(D d, V x) {
  const V ax = hn::Abs(x);
  const V z = hn::Mul(x, x);
  V p = hn::Set(d, -5.70498872745e-3f);
  p = hn::MulAdd(p, z, hn::Set(d, 2.06390887954e-2f));
  p = hn::MulAdd(p, z, hn::Set(d, -5.37397155531e-2f));
  p = hn::MulAdd(p, z, hn::Set(d, 1.33314422036e-1f));
  p = hn::MulAdd(p, z, hn::Set(d, -3.33332819422e-1f));
  const V small = hn::MulAdd(hn::Mul(p, z), x, x);
  const V e = VecExp(d, hn::Add(ax, ax));
  const V one = hn::Set(d, 1.0f);
  const V big_abs = hn::Sub(one, hn::Div(hn::Set(d, 2.0f), hn::Add(e, one)));
  const V big = hn::CopySign(big_abs, x);
  return hn::IfThenElse(hn::Lt(ax, hn::Set(d, 0.625f)), small, big);
}

// erf by Abramowitz-Stegun 7.1.26: 1 - t*P(t)*e^(-x^2), t = 1/(1 + p|x|).
template <class D, class V = hn::Vec<D>>
HWY_INLINE V VecErf(D d, V x) {
  const V ax = hn::Abs(x);
  const V one = hn::Set(d, 1.0f);
  const V t = hn::Div(one, hn::MulAdd(hn::Set(d, 0.3275911f), ax, one));
  V p = hn::Set(d, 1.061405429f);
  p = hn::MulAdd(p, t, hn::Set(d, -1.453152027f));
  p = hn::MulAdd(p, t, hn::Set(d, 1.421413741f));
  p = hn::MulAdd(p, t, hn::Set(d, -0.284496736f));
  p = hn::MulAdd(p, t, hn::Set(d, 0.254829592f));
  p = hn::Mul(p, t);
  const V e = VecExp(d, hn::Neg(hn::Mul(ax, ax)));
  const V r = hn::NegMulAdd(p, e, one);
  return hn::CopySign(r, x);
}

// x * sigmoid(x) = x / (1 + e^-x); -0 for x -> -inf, x for x -> +inf.
template <class D, class V = hn::Vec<D>>
HWY_INLINE V VecSilu(D d, V x) {
  return hn::Div(x, hn::Add(hn::Set(d, 1.0f), VecExp(d, hn::Neg(x))));
}

// GELU, tanh approximation (Phi-2, ggml_gelu):
// 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3), computed as
// x * sigmoid(2u), which has no cancellation for negative x.
template <class D, class V = hn::Vec<D>>
HWY_INLINE V VecGeluTanh(D d, V x) {
  const V x2 = hn::Mul(x, x);
  const V u = hn::Mul(hn::Mul(hn::Set(d, 0.7978845608028654f), x), hn::MulAdd(hn::Set(d, 0.044715f), x2, hn::Set(d, 1.0f)));
  // For x < -10, e^-2u overflows to inf and x/inf = -0: the right limit.
  return hn::Div(x, hn::Add(hn::Set(d, 1.0f), VecExp(d, hn::Mul(hn::Set(d, -2.0f), u))));
}

// Exact GELU: 0.5 x (1 + erf(x / sqrt 2)).
template <class D, class V = hn::Vec<D>>
HWY_INLINE V VecGeluErf(D d, V x) {
  const V e = VecErf(d, hn::Mul(x, hn::Set(d, 0.70710678118654752f)));
  return hn::Mul(hn::Mul(hn::Set(d, 0.5f), x), hn::Add(hn::Set(d, 1.0f), e));
}

// Applies Op(d, v) to n floats; the tail goes through a one-lane tag so
// every element sees the same formula as the vector body.
template <class Op>
HWY_INLINE void MapRow(const float* x, float* out, size_t n, Op op) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(op(d, hn::LoadU(d, x + i)), d, out + i);
  const hn::CappedTag<float, 1> d1;
  for (; i < n; ++i) hn::StoreU(op(d1, hn::LoadU(d1, x + i)), d1, out + i);
}

inline void ExpRow(const float* x, float* out, size_t n) {
  MapRow(x, out, n, [](auto d, auto v) HWY_ATTR { return VecExp(d, v); });
}
inline void TanhRow(const float* x, float* out, size_t n) {
  MapRow(x, out, n, [](auto d, auto v) HWY_ATTR { return VecTanh(d, v); });
}
inline void ErfRow(const float* x, float* out, size_t n) {
  MapRow(x, out, n, [](auto d, auto v) HWY_ATTR { return VecErf(d, v); });
}

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
