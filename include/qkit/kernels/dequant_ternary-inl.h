// qkit/kernels/dequant_ternary-inl.h — per-target dequantization of the
// ternary formats TQ1_0 and TQ2_0, bit-identical to quant/ternary.hpp.
#if defined(QKIT_KERNELS_DEQUANT_TERNARY_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_DEQUANT_TERNARY_INL_H_
#undef QKIT_KERNELS_DEQUANT_TERNARY_INL_H_
#else
#define QKIT_KERNELS_DEQUANT_TERNARY_INL_H_
#endif

#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "qkit/kernels/common-inl.h"
#include "qkit/kernels/dequant_k-inl.h"
#include "qkit/kernels/dequant_scale-inl.h"
#include "qkit/quant/ternary.hpp"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {

#if HWY_TARGET != HWY_SCALAR

// TQ2_0: trit t stored as t + 1 in Q2_K's 2-bit layout.
inline void DequantTQ2_0(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const BlockTQ2_0*>(src);
  const DqSBytes s8;
  alignas(64) int8_t q[kQK];
  for (size_t i = 0; i < nb; ++i, y += kQK) {
    Unpack2Bit(b[i].qs, q);
    for (int j = 0; j < kQK; j += 16) hn::Store(hn::Sub(hn::Load(s8, q + j), hn::Set(s8, 1)), s8, q + j);
    ScaleI8(q, HalfScale(b[i].d), y, kQK);
  }
}

// TQ1_0: trit n (0 = most significant) of a byte packed as
// ceil(v * 256 / 243) is ((byte * 3^n mod 256) * 3 >> 8) - 1, computed in
// 32-bit lanes: qs[m] holds values m + 32n, qs[32 + m] values 160 + m + 16n,
// and the last 16 values (qh, 4 trits per byte) take the scalar formula.
inline void DequantTQ1_0(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const BlockTQ1_0*>(src);
  const DequantTag df;
  const hn::RebindToUnsigned<DequantTag> du;
  const hn::RebindToSigned<DequantTag> di;
  const hn::Rebind<uint8_t, DequantTag> du8;
  const size_t N = hn::Lanes(df);
  static constexpr uint32_t kPow3[5] = {1, 3, 9, 27, 81};
  for (size_t i = 0; i < nb; ++i, y += kQK) {
    const float d = HalfScale(b[i].d);
    const auto vd = hn::Set(df, d);
    const auto trits = [&](const uint8_t* p, uint32_t pow3) {
      const auto q = hn::And(hn::Mul(hn::PromoteTo(du, hn::LoadU(du8, p)), hn::Set(du, pow3)), hn::Set(du, 0xffu));
      const auto t = hn::Sub(hn::BitCast(di, hn::ShiftRight<8>(hn::Mul(q, hn::Set(du, 3u)))), hn::Set(di, 1));
      return hn::Mul(hn::ConvertTo(df, t), vd);
    };
    for (int n = 0; n < 5; ++n) {
      for (size_t m = 0; m < 32; m += N) hn::StoreU(trits(b[i].qs + m, kPow3[n]), df, y + 32 * n + m);
      for (size_t m = 0; m < 16; m += N) hn::StoreU(trits(b[i].qs + 32 + m, kPow3[n]), df, y + 160 + 16 * n + m);
    }
    for (int n = 0; n < 4; ++n)
      for (int j = 0; j < 4; ++j) y[240 + 4 * n + j] = static_cast<float>(quant::unpack_trit(b[i].qh[j], n)) * d;
  }
}

#endif  // HWY_TARGET != HWY_SCALAR

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
