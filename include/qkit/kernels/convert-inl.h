// qkit/kernels/convert-inl.h — per-target f16/bf16 <-> f32 row conversion
// (dequantize of the F16/BF16 formats, and the KV cache's f16 rows).
//
// Results are bit-identical to qkit/base/fp16.hpp: hardware conversions
// (F16C, AVX-512, NEON fcvt) round to nearest even like the scalar code, and
// the bf16 narrowing below reproduces the reference engine's rounding and
// NaN quieting lane by lane.
#if defined(QKIT_KERNELS_CONVERT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_CONVERT_INL_H_
#undef QKIT_KERNELS_CONVERT_INL_H_
#else
#define QKIT_KERNELS_CONVERT_INL_H_
#endif

#include "hwy/highway.h"
#include "qkit/base/fp16.hpp"
#include "qkit/kernels/common-inl.h"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {

inline void F16ToF32Row(const uint16_t* HWY_RESTRICT src, float* HWY_RESTRICT dst, size_t n) {
  const hn::ScalableTag<float> df;
  const hn::Rebind<hwy::float16_t, decltype(df)> dh;
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  const auto* hsrc = reinterpret_cast<const hwy::float16_t*>(src);
#if QKIT_NATIVE_F16
  for (; i + N <= n; i += N) hn::StoreU(hn::PromoteTo(df, hn::LoadU(dh, hsrc + i)), df, dst + i);
#else
  (void)dh;
  (void)N;
  (void)hsrc;
#endif
  for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}

inline void BF16ToF32Row(const uint16_t* HWY_RESTRICT src, float* HWY_RESTRICT dst, size_t n) {
  const hn::ScalableTag<float> df;
  const hn::RebindToUnsigned<decltype(df)> du32;
  const hn::Rebind<uint16_t, decltype(df)> du16;
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  // bf16 is the top half of an f32: widen and shift, no rounding involved.
  for (; i + N <= n; i += N) {
    const auto wide = hn::ShiftLeft<16>(hn::PromoteTo(du32, hn::LoadU(du16, src + i)));
    hn::StoreU(hn::BitCast(df, wide), df, dst + i);
  }
  for (; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}

inline void F32ToF16Row(const float* HWY_RESTRICT src, uint16_t* HWY_RESTRICT dst, size_t n) {
  const hn::ScalableTag<float> df;
  const hn::Rebind<hwy::float16_t, decltype(df)> dh;
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  auto* hdst = reinterpret_cast<hwy::float16_t*>(dst);
#if QKIT_NATIVE_F16
  for (; i + N <= n; i += N) hn::StoreU(hn::DemoteTo(dh, hn::LoadU(df, src + i)), dh, hdst + i);
#else
  (void)dh;
  (void)N;
  (void)hdst;
#endif
  for (; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

inline void F32ToBF16Row(const float* HWY_RESTRICT src, uint16_t* HWY_RESTRICT dst, size_t n) {
  const hn::ScalableTag<float> df;
  const hn::RebindToUnsigned<decltype(df)> du;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<uint16_t, decltype(df)> du16;
  const size_t N = hn::Lanes(df);
  size_t i = 0;
#if HWY_TARGET != HWY_SCALAR
  // Round to nearest even: u + 0x7fff + ((u >> 16) & 1); NaN: (u >> 16) | 64.
  const auto abs_mask = hn::Set(du, 0x7fffffffu);
  const auto inf = hn::Set(du, 0x7f800000u);
  for (; i + N <= n; i += N) {
    const auto u = hn::BitCast(du, hn::LoadU(df, src + i));
    const auto lsb = hn::And(hn::ShiftRight<16>(u), hn::Set(du, 1u));
    const auto rounded = hn::ShiftRight<16>(hn::Add(u, hn::Add(hn::Set(du, 0x7fffu), lsb)));
    const auto quiet = hn::Or(hn::ShiftRight<16>(u), hn::Set(du, 64u));
    const auto is_nan = hn::Gt(hn::And(u, abs_mask), inf);
    // Values are < 2^16, so the saturating i32 -> u16 demotion is exact
    // (Highway 1.0.3 has no u32 -> u16 DemoteTo).
    hn::StoreU(hn::DemoteTo(du16, hn::BitCast(di, hn::IfThenElse(is_nan, quiet, rounded))), du16, dst + i);
  }
#else
  (void)df;
  (void)du;
  (void)di;
  (void)du16;
  (void)N;
#endif
  for (; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
