// qkit/kernels/quantize_act-inl.h — per-target activation quantization to
// Q8_0 / Q8_1 / Q8_K, bit-identical to the scalar rule in act_layout.hpp.
//
// The rule: quant/q8.hpp (quant::quantize_act_block) and quant/q8_k.hpp
// (quant::quantize_block_q8k), including their handling of Inf/NaN.
// Why bit-identical on every target: every step is an IEEE operation on one
// lane (|x|, max, one division, x * id, round-half-even, integer sums), so
// vector width changes nothing; no fused multiply-add is involved.
// Vectors are capped at 16 f32 lanes so blocks of 32 and groups of 16 are
// whole vectors on every target (SVE included).
#if defined(QKIT_KERNELS_QUANTIZE_ACT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_QUANTIZE_ACT_INL_H_
#undef QKIT_KERNELS_QUANTIZE_ACT_INL_H_
#else
#define QKIT_KERNELS_QUANTIZE_ACT_INL_H_
#endif

#include <cstring>

#include "hwy/highway.h"
#include "qkit/kernels/act_layout.hpp"
#include "qkit/quant/k_quants.hpp"
#include "qkit/quant/q8.hpp"
#include "qkit/kernels/common-inl.h"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {

#if HWY_TARGET != HWY_SCALAR

// One block of 32 by quant::quantize_act_block's rule: writes the quants,
// returns d (NaN for a block holding Inf/NaN, whose quants are then zero)
// and the quants' sum.
inline float QuantizeQ8_0Block(const float* HWY_RESTRICT x, int8_t* HWY_RESTRICT qs, int32_t* sum) {
  const hn::CappedTag<float, 16> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int16_t, decltype(df)> di16;
  const hn::Rebind<int8_t, decltype(df)> di8;
  const size_t N = hn::Lanes(df);
  // Max of |x| as integer bit patterns: exact, and >= Inf's bits exactly
  // when the block is not finite (the float max of x86 drops NaN operands).
  const auto abs_mask = hn::Set(di, 0x7fffffff);
  auto vmax = hn::Zero(di);
  for (size_t j = 0; j < 32; j += N) vmax = hn::Max(vmax, hn::And(hn::BitCast(di, hn::LoadU(df, x + j)), abs_mask));
  const int32_t bits = hn::GetLane(hn::MaxOfLanes(di, vmax));
  if (bits >= 0x7f800000) {
    std::memset(qs, 0, 32);
    *sum = 0;
    return f32_from_bits(0x7fc00000u);
  }
  const float amax = f32_from_bits(static_cast<uint32_t>(bits));
  const float d = amax / 127.f;
  const float id = amax != 0.0f ? 127.f / amax : 0.0f;
  const auto vid = hn::Set(df, id);
  auto vsum = hn::Zero(di);
  for (size_t j = 0; j < 32; j += N) {
    const auto q = hn::NearestInt(hn::Mul(hn::LoadU(df, x + j), vid));
    vsum = hn::Add(vsum, q);
    hn::StoreU(hn::DemoteTo(di8, hn::DemoteTo(di16, q)), di8, qs + j);
  }
  *sum = hn::GetLane(hn::SumOfLanes(di, vsum));
  return d;
}

// One block of 256 by quant::quantize_block_q8k's rule; returns d.
inline float QuantizeQ8KBlock(const float* HWY_RESTRICT x, int8_t* HWY_RESTRICT qs, int16_t* HWY_RESTRICT bsums) {
  const hn::CappedTag<float, 16> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int16_t, decltype(df)> di16;
  const hn::Rebind<int8_t, decltype(df)> di8;
  const size_t N = hn::Lanes(df);
  // Compare-and-select keeps the reference's "NaN never wins" semantics.
  auto vmax = hn::Zero(df);
  for (size_t j = 0; j < 256; j += N) {
    const auto a = hn::Abs(hn::LoadU(df, x + j));
    vmax = hn::IfThenElse(hn::Gt(a, vmax), a, vmax);
  }
  float amax = 0.0f;
  {
    alignas(64) float lanes[16];
    hn::Store(vmax, df, lanes);
    for (size_t i = 0; i < N; ++i) amax = lanes[i] > amax ? lanes[i] : amax;
  }
  if (amax == 0.0f) {
    std::memset(qs, 0, 256);
    std::memset(bsums, 0, 32);
    return 0.0f;
  }
  // The reference keeps the sign of the FIRST element of largest magnitude.
  float max = amax;
  const auto vamax = hn::Set(df, amax);
  for (size_t j = 0; j < 256; j += N) {
    const intptr_t i = hn::FindFirstTrue(df, hn::Eq(hn::Abs(hn::LoadU(df, x + j)), vamax));
    if (i >= 0) {
      max = x[j + static_cast<size_t>(i)];
      break;
    }
  }
  const float iscale = -127.f / max;
  const auto vis = hn::Set(df, iscale);
  const auto v127 = hn::Set(di, 127);
  for (size_t g = 0; g < 256; g += 16) {
    auto vsum = hn::Zero(di);
    for (size_t j = g; j < g + 16; j += N) {
      const auto p = hn::Mul(hn::LoadU(df, x + j), vis);
      // The reference's rounding trick turns NaN into 0.
      const auto q = hn::IfThenZeroElse(hn::RebindMask(di, hn::IsNaN(p)), hn::Min(hn::NearestInt(p), v127));
      vsum = hn::Add(vsum, q);
      hn::StoreU(hn::DemoteTo(di8, hn::DemoteTo(di16, q)), di8, qs + j);
    }
    bsums[g / 16] = static_cast<int16_t>(hn::GetLane(hn::SumOfLanes(di, vsum)));
  }
  return 1.0f / iscale;
}

#else  // HWY_SCALAR: one lane, no narrowing; the scalar rule is the SIMD rule.

inline float QuantizeQ8_0Block(const float* HWY_RESTRICT x, int8_t* HWY_RESTRICT qs, int32_t* sum) {
  int s = 0;
  const float d = quant::quantize_act_block(x, qs, s);
  *sum = s;
  return d;
}
inline float QuantizeQ8KBlock(const float* HWY_RESTRICT x, int8_t* HWY_RESTRICT qs, int16_t* HWY_RESTRICT bsums) {
  BlockQ8K blk;
  quant::quantize_block_q8k(x, blk);
  std::memcpy(qs, blk.qs, 256);
  std::memcpy(bsums, blk.bsums, 32);
  return blk.d;
}

#endif

inline uint16_t ActScaleBits(float d) { return d != d ? quant::kHalfNaN : f32_to_f16(d); }

// Row entry points, GGUF block layouts (n a multiple of the block size).
inline void ActQ8_0Row(const float* HWY_RESTRICT x, void* HWY_RESTRICT dst, int64_t n) {
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t b = 0; b < n / 32; ++b, out += 34) {
    int32_t sum;
    const uint16_t d16 = ActScaleBits(QuantizeQ8_0Block(x + b * 32, reinterpret_cast<int8_t*>(out + 2), &sum));
    std::memcpy(out, &d16, 2);
  }
}

inline void ActQ8_1Row(const float* HWY_RESTRICT x, void* HWY_RESTRICT dst, int64_t n) {
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t b = 0; b < n / 32; ++b, out += 36) {
    int32_t sum;
    const float d = QuantizeQ8_0Block(x + b * 32, reinterpret_cast<int8_t*>(out + 4), &sum);
    const uint16_t d16 = ActScaleBits(d);
    const uint16_t s16 = ActScaleBits(d * static_cast<float>(sum));
    std::memcpy(out, &d16, 2);
    std::memcpy(out + 2, &s16, 2);
  }
}

inline void ActQ8KRow(const float* HWY_RESTRICT x, void* HWY_RESTRICT dst, int64_t n) {
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t b = 0; b < n / 256; ++b, out += 292) {
    int16_t bsums[16];
    const float d = QuantizeQ8KBlock(x + b * 256, reinterpret_cast<int8_t*>(out + 4), bsums);
    std::memcpy(out, &d, 4);
    std::memcpy(out + 260, bsums, 32);
  }
}

// One activation column into the kernels' layout (see QuantAct). `pair` is
// Q8_0, Q8_1 or Q8_K; pointers for fields the pair lacks may be null.
inline void ActKernelColumn(Format pair, const float* HWY_RESTRICT x, int64_t k, int8_t* HWY_RESTRICT qs,
                            float* HWY_RESTRICT d, int32_t* HWY_RESTRICT sums, float* HWY_RESTRICT s,
                            int16_t* HWY_RESTRICT bsums) {
  if (pair == Format::Q8_K) {
    for (int64_t b = 0; b < k / 256; ++b) d[b] = QuantizeQ8KBlock(x + b * 256, qs + b * 256, bsums + b * 16);
    return;
  }
  for (int64_t b = 0; b < k / 32; ++b) {
    int32_t sum;
    const float dd = QuantizeQ8_0Block(x + b * 32, qs + b * 32, &sum);
    d[b] = f16_to_f32(ActScaleBits(dd));
    sums[b] = sum;
    if (s) s[b] = f16_to_f32(ActScaleBits(dd * static_cast<float>(sum)));
  }
}

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
