// qkit/kernels/common-inl.h — per-target helpers shared by every kernel
// family (included from each family's -inl.h).
#if defined(QKIT_KERNELS_COMMON_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_COMMON_INL_H_
#undef QKIT_KERNELS_COMMON_INL_H_
#else
#define QKIT_KERNELS_COMMON_INL_H_
#endif

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Variant name of kernels that use nothing beyond the Highway target.
inline const char* TargetVariant() { return hwy::TargetName(HWY_TARGET); }

// True on targets that can narrow and reorder lanes (not HWY_SCALAR, which
// g++ 12 picks as its fallback and which has one lane of each type).
inline constexpr bool kFullSimd = HWY_TARGET != HWY_SCALAR;

// Whether f16 <-> f32 conversion is a hardware instruction here (F16C from
// AVX2 on, Arm fcvt). Highway 1.0.3 emulates it elsewhere and its emulation
// is not IEEE-exact (Inf becomes 65536, for one), so those targets take
// qkit's exact scalar conversion instead.
#define QKIT_NATIVE_F16 \
  (HWY_TARGET != HWY_SSE4 && HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128)

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
