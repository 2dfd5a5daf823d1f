// qkit/kernels/dequant_legacy-inl.h — per-target dequantization of the
// 32-value block formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, bit-identical
// to their scalar codecs in quant/legacy.hpp and quant/q8.hpp.
//
// Each block is unpacked with 128-bit byte operations into 32 int8 codes
// (value j in the low nibble of qs[j], value j + 16 in the high one; Q5's
// fifth bit j in bit j of qh), then scaled by dequant_scale-inl.h.
#if defined(QKIT_KERNELS_DEQUANT_LEGACY_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_DEQUANT_LEGACY_INL_H_
#undef QKIT_KERNELS_DEQUANT_LEGACY_INL_H_
#else
#define QKIT_KERNELS_DEQUANT_LEGACY_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hwy/highway.h"
#include "qkit/kernels/common-inl.h"
#include "qkit/kernels/dequant_scale-inl.h"
#include "qkit/quant/legacy.hpp"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {

#if HWY_TARGET != HWY_SCALAR

// 0x10 in byte j of the result where bit `first + j` of the 32-bit
// little-endian qh is set (first = 0 for values 0..15, 16 for 16..31).
HWY_INLINE hn::Vec<DqBytes> Q5HighBits(const uint8_t* qh, int first) {
  const DqBytes d8;
  uint32_t h;
  std::memcpy(&h, qh, 4);
  // Byte k of `rep` is byte k % 4 of qh; spread qh byte first/8 over lanes
  // 0..7 and the next over lanes 8..15, then test one bit per lane.
  const auto rep = hn::BitCast(d8, hn::Set(hn::Full128<uint32_t>(), h));
  const uint8_t b0 = static_cast<uint8_t>(first / 8);
  alignas(16) const uint8_t idx[16] = {b0, b0, b0, b0, b0, b0, b0, b0,
                                       static_cast<uint8_t>(b0 + 1), static_cast<uint8_t>(b0 + 1),
                                       static_cast<uint8_t>(b0 + 1), static_cast<uint8_t>(b0 + 1),
                                       static_cast<uint8_t>(b0 + 1), static_cast<uint8_t>(b0 + 1),
                                       static_cast<uint8_t>(b0 + 1), static_cast<uint8_t>(b0 + 1)};
  alignas(16) static constexpr uint8_t kBit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const auto spread = hn::TableLookupBytes(rep, hn::Load(d8, idx));
  return hn::IfThenElseZero(hn::TestBit(spread, hn::Load(d8, kBit)), hn::Set(d8, 0x10));
}

// 32 codes of a Q4 block minus `offset` (8 for Q4_0, 0 for Q4_1).
HWY_INLINE void UnpackQ4(const uint8_t* qs, uint8_t offset, int8_t* HWY_RESTRICT q) {
  const DqBytes d8;
  const auto v = hn::LoadU(d8, qs);
  const auto off = hn::Set(d8, offset);
  StoreCodes(hn::Sub(LowNibbles(v), off), q);
  StoreCodes(hn::Sub(HighNibbles(v), off), q + 16);
}

// 32 codes of a Q5 block minus `offset` (16 for Q5_0, 0 for Q5_1).
HWY_INLINE void UnpackQ5(const uint8_t* qs, const uint8_t* qh, uint8_t offset, int8_t* HWY_RESTRICT q) {
  const DqBytes d8;
  const auto v = hn::LoadU(d8, qs);
  const auto off = hn::Set(d8, offset);
  StoreCodes(hn::Sub(hn::Or(LowNibbles(v), Q5HighBits(qh, 0)), off), q);
  StoreCodes(hn::Sub(hn::Or(HighNibbles(v), Q5HighBits(qh, 16)), off), q + 16);
}

inline void DequantQ4_0(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const BlockQ4_0*>(src);
  alignas(32) int8_t q[32];
  for (size_t i = 0; i < nb; ++i, y += 32) {
    UnpackQ4(b[i].qs, 8, q);
    ScaleI8(q, HalfScale(b[i].d), y, 32);
  }
}

inline void DequantQ4_1(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const BlockQ4_1*>(src);
  alignas(32) int8_t q[32];
  for (size_t i = 0; i < nb; ++i, y += 32) {
    UnpackQ4(b[i].qs, 0, q);
    ScaleAddI8(q, HalfScale(b[i].d), HalfScale(b[i].m), y, 32);
  }
}

inline void DequantQ5_0(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const BlockQ5_0*>(src);
  alignas(32) int8_t q[32];
  for (size_t i = 0; i < nb; ++i, y += 32) {
    UnpackQ5(b[i].qs, b[i].qh, 16, q);
    ScaleI8(q, HalfScale(b[i].d), y, 32);
  }
}

inline void DequantQ5_1(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const BlockQ5_1*>(src);
  alignas(32) int8_t q[32];
  for (size_t i = 0; i < nb; ++i, y += 32) {
    UnpackQ5(b[i].qs, b[i].qh, 0, q);
    ScaleAddI8(q, HalfScale(b[i].d), HalfScale(b[i].m), y, 32);
  }
}

// Q8_0 and Q8_1 (whose s field dequantization ignores).
template <typename Block>
inline void DequantQ8(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const Block*>(src);
  for (size_t i = 0; i < nb; ++i, y += 32) ScaleI8(b[i].qs, HalfScale(b[i].d), y, 32);
}

#endif  // HWY_TARGET != HWY_SCALAR

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
