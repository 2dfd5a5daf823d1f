// qkit/kernels/dequant_iq-inl.h — per-target dequantization of the 4-bit
// codebook formats IQ4_NL, IQ4_XS (quant/iq4.hpp) and MXFP4
// (quant/mxfp4.hpp), bit-identical to their scalar codecs.
//
// A 16-entry int8 codebook fits one 128-bit register, so each nibble is
// looked up with one byte shuffle (pshufb / tbl) and the int8 levels are
// then scaled like any other code (dequant_scale-inl.h).
#if defined(QKIT_KERNELS_DEQUANT_IQ_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_DEQUANT_IQ_INL_H_
#undef QKIT_KERNELS_DEQUANT_IQ_INL_H_
#else
#define QKIT_KERNELS_DEQUANT_IQ_INL_H_
#endif

#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "qkit/kernels/common-inl.h"
#include "qkit/kernels/dequant_scale-inl.h"
#include "qkit/quant/iq4.hpp"
#include "qkit/quant/mxfp4.hpp"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {

#if HWY_TARGET != HWY_SCALAR

// The levels of 16 packed bytes (value j: low nibble of qs[j]; j + 16: high).
HWY_INLINE void LookupNibbles(const int8_t* HWY_RESTRICT table, const uint8_t* HWY_RESTRICT qs,
                              int8_t* HWY_RESTRICT q) {
  const DqBytes d8;
  const DqSBytes s8;
  const auto levels = hn::LoadU(s8, table);
  const auto v = hn::LoadU(d8, qs);
  hn::StoreU(hn::TableLookupBytes(levels, hn::BitCast(s8, LowNibbles(v))), s8, q);
  hn::StoreU(hn::TableLookupBytes(levels, hn::BitCast(s8, HighNibbles(v))), s8, q + 16);
}

// quant::iq4_xs_scale and quant::e8m0_to_float_half, repeated so they
// inline here (see dequant_k-inl.h).
HWY_INLINE int ScaleIQ4XS(const BlockIQ4_XS& b, int ib) {
  return ((b.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xf) | (((b.scales_h >> (2 * ib)) & 3) << 4);
}
HWY_INLINE float E8M0Half(uint8_t e) {
  return f32_from_bits(e < 2 ? (0x00200000u << e) : (static_cast<uint32_t>(e - 1) << 23));
}

inline void DequantIQ4_NL(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const BlockIQ4_NL*>(src);
  alignas(32) int8_t q[32];
  for (size_t i = 0; i < nb; ++i, y += 32) {
    LookupNibbles(kIQ4Values, b[i].qs, q);
    ScaleI8(q, HalfScale(b[i].d), y, 32);
  }
}

// IQ4_XS: 8 sub-blocks of 32, scale d * (ls - 32) as the scalar code forms it.
inline void DequantIQ4_XS(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const BlockIQ4_XS*>(src);
  alignas(32) int8_t q[32];
  for (size_t i = 0; i < nb; ++i) {
    const float d = HalfScale(b[i].d);
    for (int ib = 0; ib < 8; ++ib, y += 32) {
      LookupNibbles(kIQ4Values, b[i].qs + 16 * ib, q);
      ScaleI8(q, d * static_cast<float>(ScaleIQ4XS(b[i], ib) - 32), y, 32);
    }
  }
}

inline void DequantMXFP4(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const BlockMXFP4*>(src);
  alignas(32) int8_t q[32];
  for (size_t i = 0; i < nb; ++i, y += 32) {
    LookupNibbles(kMXFP4Values, b[i].qs, q);
    ScaleI8(q, E8M0Half(b[i].e), y, 32);
  }
}

#endif  // HWY_TARGET != HWY_SCALAR

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
