// qkit/kernels/neon_dot.hpp — raw Arm dot-product (sdot) kernels for Q8_0 and
// Q4_0 weights against Q8_0 activations, compiled once per translation unit
// with their own target attribute; the NEON / SVE kernels call them when
// cpu::has_fast_path(kFastDotprod) holds (every SVE CPU has it too).
//
// Per block: two sdot (16 int8 pairs each into 4 int32 lanes), convert,
// scale by d_w * d_x, accumulate lane-wise; lanes summed once per output.
#pragma once

#if defined(__aarch64__) && defined(__GNUC__) && !defined(__clang__)
#define QKIT_HAVE_NEON_DOT 1
#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "qkit/base/fp16.hpp"

#define QKIT_DOTPROD_TARGET __attribute__((target("arch=armv8.2-a+dotprod")))

namespace qkit::kernels::neon {

// An f16 block scale as f32 by the hardware conversion (fcvt: exact, as
// f16_to_f32, in 2 instructions instead of its ~12 of bit manipulation;
// only a NaN's payload could differ, and block scales are finite).
inline float load_half(const uint8_t* p) {
  __fp16 h;
  std::memcpy(&h, p, 2);
  return static_cast<float>(h);
}

template <bool kQ4>
QKIT_DOTPROD_TARGET inline float dot_row_q8_0_act(const uint8_t* wr, int64_t nb, const int8_t* xq, const float* xd) {
  constexpr size_t kBlockBytes = kQ4 ? 18 : 34;
  float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = wr + static_cast<size_t>(b) * kBlockBytes;
    int8x16_t w0, w1;
    if constexpr (kQ4) {
      const uint8x16_t q = vld1q_u8(blk + 2);
      const int8x16_t eight = vdupq_n_s8(8);
      w0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0f))), eight);
      w1 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), eight);
    } else {
      w0 = vld1q_s8(reinterpret_cast<const int8_t*>(blk + 2));
      w1 = vld1q_s8(reinterpret_cast<const int8_t*>(blk + 18));
    }
    const int8_t* x = xq + b * 32;
    const int32x4_t s = vdotq_s32(vdotq_s32(vdupq_n_s32(0), w0, vld1q_s8(x)), w1, vld1q_s8(x + 16));
    const float scale = load_half(blk) * xd[b];
    // Alternate accumulators: independent FMA chains.
    if (b & 1) {
      acc1 = vfmaq_n_f32(acc1, vcvtq_f32_s32(s), scale);
    } else {
      acc0 = vfmaq_n_f32(acc0, vcvtq_f32_s32(s), scale);
    }
  }
  return vaddvq_f32(vaddq_f32(acc0, acc1));
}

}  // namespace qkit::kernels::neon

#endif  // aarch64 g++
