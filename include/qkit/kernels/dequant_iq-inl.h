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

inline void DequantIQ4_NL(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const BlockIQ4_NL*>(src);
  alignas(32) int8_t q[32];
  for (size_t i = 0; i < nb; ++i, y += 32) {
    LookupNibbles(kIQ4Values, b[i].qs, q);
    ScaleI8(q, quant::half_to_float(b[i].d), y, 32);
  }
}

// IQ4_XS: 8 sub-blocks of 32, scale d * (ls - 32) as the scalar code forms it.
inline void DequantIQ4_XS(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const BlockIQ4_XS*>(src);
  alignas(32) int8_t q[32];
  for (size_t i = 0; i < nb; ++i) {
    const float d = quant::half_to_float(b[i].d);
    for (int ib = 0; ib < 8; ++ib, y += 32) {
      LookupNibbles(kIQ4Values, b[i].qs + 16 * ib, q);
      ScaleI8(q, d * static_cast<float>(quant::iq4_xs_scale(b[i], ib) - 32), y, 32);
    }
  }
}

inline void DequantMXFP4(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const BlockMXFP4*>(src);
  alignas(32) int8_t q[32];
  for (size_t i = 0; i < nb; ++i, y += 32) {
    LookupNibbles(kMXFP4Values, b[i].qs, q);
    ScaleI8(q, quant::e8m0_to_float_half(b[i].e), y, 32);
  }
}

#endif  // HWY_TARGET != HWY_SCALAR

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
