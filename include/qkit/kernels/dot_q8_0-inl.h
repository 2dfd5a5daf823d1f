// qkit/kernels/dot_q8_0-inl.h — portable integer kernels for Q8_0 and Q4_0
// weights against Q8_0 activations (every target without the AVX-512 VNNI
// kernels): gemv_q8_0_q8_0 / gemm_q8_0_q8_0_1x1 and the Q4_0 pair.
//
// Per block the exact integer dot of 32 int8 pairs (int16 products summed
// pairwise into int32 lanes, Highway's ReorderWidenMulAccumulate) is
// converted to f32 and scaled by d_w * d_x lane by lane, as the reference's
// SIMD paths do; the lanes are summed once per output. On Arm with the
// dot-product extension, sdot replaces the widening multiply (neon_dot.hpp).
#if defined(QKIT_KERNELS_DOT_Q8_0_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_DOT_Q8_0_INL_H_
#undef QKIT_KERNELS_DOT_Q8_0_INL_H_
#else
#define QKIT_KERNELS_DOT_Q8_0_INL_H_
#endif

#include <cstring>

#include "hwy/highway.h"
#include "qkit/base/fp16.hpp"
#include "qkit/cpu/targets.hpp"
#include "qkit/kernels/act_layout.hpp"
#include "qkit/kernels/common-inl.h"
#include "qkit/kernels/neon_dot.hpp"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {

// Signed quants of one weight block (Q4_0: nibble - 8).
template <bool kQ4>
inline const int8_t* WeightQuants(const uint8_t* HWY_RESTRICT blk, int8_t* HWY_RESTRICT tmp) {
  if constexpr (kQ4) {
    const uint8_t* q = blk + 2;
    for (int i = 0; i < 16; ++i) {
      tmp[i] = static_cast<int8_t>((q[i] & 0x0f) - 8);
      tmp[i + 16] = static_cast<int8_t>((q[i] >> 4) - 8);
    }
    return tmp;
  } else {
    return reinterpret_cast<const int8_t*>(blk + 2);
  }
}

#if HWY_TARGET != HWY_SCALAR
template <bool kQ4>
inline float DotRowQ8Portable(const uint8_t* HWY_RESTRICT wr, int64_t nb, const int8_t* HWY_RESTRICT xq,
                              const float* HWY_RESTRICT xd) {
  constexpr size_t kBlockBytes = kQ4 ? 18 : 34;
  const hn::CappedTag<int16_t, 32> d16;
  const hn::Rebind<int8_t, decltype(d16)> d8;
  const hn::Repartition<int32_t, decltype(d16)> d32;
  const hn::Rebind<float, decltype(d32)> df;
  const size_t N = hn::Lanes(d16);
  alignas(64) int8_t tmp[32];
  auto acc = hn::Zero(df);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = wr + static_cast<size_t>(b) * kBlockBytes;
    uint16_t dh;
    std::memcpy(&dh, blk, 2);
    const int8_t* w = WeightQuants<kQ4>(blk, tmp);
    const int8_t* x = xq + b * 32;
    auto s0 = hn::Zero(d32), s1 = hn::Zero(d32);
    for (size_t j = 0; j < 32; j += N)
      s0 = hn::ReorderWidenMulAccumulate(d32, hn::PromoteTo(d16, hn::LoadU(d8, w + j)),
                                         hn::PromoteTo(d16, hn::LoadU(d8, x + j)), s0, s1);
    acc = hn::MulAdd(hn::ConvertTo(df, hn::Add(s0, s1)), hn::Set(df, f16_to_f32(dh) * xd[b]), acc);
  }
  return hn::GetLane(hn::SumOfLanes(df, acc));
}
#endif

// Plain loop: the SCALAR target, and the reference order of the sums.
template <bool kQ4>
inline float DotRowQ8Scalar(const uint8_t* HWY_RESTRICT wr, int64_t nb, const int8_t* HWY_RESTRICT xq,
                            const float* HWY_RESTRICT xd) {
  constexpr size_t kBlockBytes = kQ4 ? 18 : 34;
  alignas(64) int8_t tmp[32];
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = wr + static_cast<size_t>(b) * kBlockBytes;
    uint16_t dh;
    std::memcpy(&dh, blk, 2);
    const int8_t* w = WeightQuants<kQ4>(blk, tmp);
    int32_t s = 0;
    for (int j = 0; j < 32; ++j) s += static_cast<int32_t>(w[j]) * xq[b * 32 + j];
    sum += static_cast<float>(s) * (f16_to_f32(dh) * xd[b]);
  }
  return sum;
}

// Whether this target has a sdot kernel and the CPU runs it.
inline bool UseNeonDot() {
#if defined(QKIT_HAVE_NEON_DOT) && (HWY_TARGET == HWY_NEON || HWY_TARGET == HWY_SVE || HWY_TARGET == HWY_SVE2 || \
                                     HWY_TARGET == HWY_SVE_256 || HWY_TARGET == HWY_SVE2_128)
  return cpu::has_fast_path(cpu::kFastDotprod);
#else
  return false;
#endif
}

template <bool kQ4>
inline void RowsQ8(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 32;
  const bool sdot = UseNeonDot();
  (void)sdot;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* wr = a.w + static_cast<size_t>(r) * a.row_stride;
    for (int64_t c = c0; c < c1; ++c) {
      const int8_t* xq = x.qs + static_cast<size_t>(c) * x.qs_stride;
      const float* xd = x.d + static_cast<size_t>(c) * x.blk_stride;
      float v;
#if defined(QKIT_HAVE_NEON_DOT)
      if (sdot) {
        v = neon::dot_row_q8_0_act<kQ4>(wr, nb, xq, xd);
      } else
#endif
      {
#if HWY_TARGET != HWY_SCALAR
        v = DotRowQ8Portable<kQ4>(wr, nb, xq, xd);
#else
        v = DotRowQ8Scalar<kQ4>(wr, nb, xq, xd);
#endif
      }
      a.y[static_cast<size_t>(c) * a.ldy + r] = v;
    }
  }
}

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
