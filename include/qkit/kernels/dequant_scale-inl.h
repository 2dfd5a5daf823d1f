// qkit/kernels/dequant_scale-inl.h — the second half of every block
// dequantizer: signed 8-bit codes (already decoded from the packed block)
// times a sub-block scale, optionally plus or minus a min, to f32.
//
// Why this reproduces the scalar codecs bit for bit: int8 -> f32 is exact,
// and each output is one IEEE multiply (and one add or subtract) on one lane,
// as in the scalar code. The one trap is contraction: GCC fuses a vector
// multiply feeding an add into an FMA when the target has one (its default
// for C++ is -ffp-contract=fast, and Highway's x86 Mul/Add are plain vector
// arithmetic), which rounds once instead of twice. Unfused() hides the
// product from the optimizer, the vector twin of quant::fp_barrier. (For
// today's formats the product is exact anyway, an f16 scale times a small
// integer, so fusing would not change a bit; the fence keeps the rule from
// depending on that argument.)
//
// Vectors are capped at 16 f32 lanes, so sub-blocks of 16 and 32 values are
// whole vectors on every target (SVE up to 2048 bits included). Not compiled
// for HWY_SCALAR, where the dequantizers call the scalar reference.
#if defined(QKIT_KERNELS_DEQUANT_SCALE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_DEQUANT_SCALE_INL_H_
#undef QKIT_KERNELS_DEQUANT_SCALE_INL_H_
#else
#define QKIT_KERNELS_DEQUANT_SCALE_INL_H_
#endif

#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "qkit/base/fp16.hpp"
#include "qkit/kernels/common-inl.h"
#include "qkit/quant/codec.hpp"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {

#if HWY_TARGET != HWY_SCALAR

// f32 lanes used by the dequantizers: at most 16 (see above).
using DequantTag = hn::CappedTag<float, 16>;

// Returns v unchanged, but the compiler can no longer fuse the operation
// that produced it with the one that consumes it.
template <class V>
HWY_INLINE V Unfused(V v) {
#if HWY_TARGET == HWY_EMU128
  // Plain C++ lanes, compiled for the baseline ISA (no FMA to fuse into).
#elif HWY_ARCH_X86
  __asm__("" : "+v"(v.raw));
#elif HWY_TARGET == HWY_SVE || HWY_TARGET == HWY_SVE2 || HWY_TARGET == HWY_SVE_256 || HWY_TARGET == HWY_SVE2_128
  __asm__("" : "+w"(v));
#elif HWY_ARCH_ARM
  __asm__("" : "+w"(v.raw));
#endif
  return v;
}

// n values (a multiple of 16): y[j] = float(q[j]) * d.
HWY_INLINE void ScaleI8(const int8_t* HWY_RESTRICT q, float d, float* HWY_RESTRICT y, size_t n) {
  const DequantTag df;
  const hn::RebindToSigned<DequantTag> di;
  const hn::Rebind<int8_t, DequantTag> d8;
  const auto vd = hn::Set(df, d);
  for (size_t j = 0; j < n; j += hn::Lanes(df)) {
    hn::StoreU(hn::Mul(hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, q + j))), vd), df, y + j);
  }
}

// n values (a multiple of 16): y[j] = float(q[j]) * d + m, rounded twice.
HWY_INLINE void ScaleAddI8(const int8_t* HWY_RESTRICT q, float d, float m, float* HWY_RESTRICT y, size_t n) {
  const DequantTag df;
  const hn::RebindToSigned<DequantTag> di;
  const hn::Rebind<int8_t, DequantTag> d8;
  const auto vd = hn::Set(df, d);
  const auto vm = hn::Set(df, m);
  for (size_t j = 0; j < n; j += hn::Lanes(df)) {
    const auto prod = Unfused(hn::Mul(hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, q + j))), vd));
    hn::StoreU(hn::Add(prod, vm), df, y + j);
  }
}

// n values (a multiple of 16): y[j] = float(q[j]) * d - m, rounded twice.
HWY_INLINE void ScaleSubI8(const int8_t* HWY_RESTRICT q, float d, float m, float* HWY_RESTRICT y, size_t n) {
  const DequantTag df;
  const hn::RebindToSigned<DequantTag> di;
  const hn::Rebind<int8_t, DequantTag> d8;
  const auto vd = hn::Set(df, d);
  const auto vm = hn::Set(df, m);
  for (size_t j = 0; j < n; j += hn::Lanes(df)) {
    const auto prod = Unfused(hn::Mul(hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, q + j))), vd));
    hn::StoreU(hn::Sub(prod, vm), df, y + j);
  }
}

// An f16 scale as f32. Hardware conversion where it is exact (F16C, Arm
// fcvt): it differs from quant::half_to_float only by quieting a signalling
// NaN, and the scale's first use (a multiply) quiets it anyway, with the
// same payload. Elsewhere, and as a plain call it would not be inlined,
// the scalar conversion.
HWY_INLINE float HalfScale(const f16& h) {
#if QKIT_NATIVE_F16
  const hn::CappedTag<hwy::float16_t, 1> dh;
  const hn::CappedTag<float, 1> d1;
  return hn::GetLane(hn::PromoteTo(d1, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(&h))));
#else
  return quant::half_to_float(h);
#endif
}

// 128-bit byte vectors for unpacking packed codes: every block layout works
// in 16-byte groups, and 128 bits exist on every SIMD target.
using DqBytes = hn::Full128<uint8_t>;
using DqSBytes = hn::Full128<int8_t>;

// Low and high nibbles of 16 packed bytes.
HWY_INLINE hn::Vec<DqBytes> LowNibbles(hn::Vec<DqBytes> b) { return hn::And(b, hn::Set(DqBytes(), 0x0f)); }
HWY_INLINE hn::Vec<DqBytes> HighNibbles(hn::Vec<DqBytes> b) { return hn::ShiftRight<4>(b); }

// Stores 16 codes (as wrapped bytes) to q as int8.
HWY_INLINE void StoreCodes(hn::Vec<DqBytes> v, int8_t* HWY_RESTRICT q) { hn::StoreU(hn::BitCast(DqSBytes(), v), DqSBytes(), q); }

#endif  // HWY_TARGET != HWY_SCALAR

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
