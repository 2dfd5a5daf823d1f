// qkit/kernels/sve_dot_arm.hpp — raw SVE dot-product (svdot) kernel for Q8_0
// and Q4_0 weights against Q8_0 activations, for every vector length:
// gemv_q8_0_q8_0 / gemm_q8_0_q8_0_1x1 and the Q4_0 pair on the SVE targets
// (SVE, SVE2, SVE_256, SVE2_128). svdot is part of base SVE, so it also
// runs where NEON's sdot does not (A64FX) and needs no fast-path bit.
//
// Vectors are sizeless: svcntb() bytes, a multiple of 16. One 32-value
// block fills one predicated vector from 256 bits up (at 512 bits the upper
// half idles: its activation lanes load as zero) and two at 128 bits. Per
// block: svdot into int32 lanes, convert, one fused multiply-add by
// d_w * d_x; lanes summed once per output, in the same order for every
// column, so thread count and N's split never change a bit.
#pragma once

// QKIT_NO_SVE_DOT leaves it out (the SVE targets then take NEON sdot or
// Highway's widening multiply), for comparing the two.
#if defined(__aarch64__) && defined(__GNUC__) && !defined(__clang__) && !defined(QKIT_NO_SVE_DOT)
#define QKIT_HAVE_SVE_DOT 1
#include <arm_sve.h>

#include <cstdint>
#include <cstring>

#include "qkit/kernels/neon_dot.hpp"

// SVE is switched on by pragma for this namespace only. g++ 12's
// __attribute__((target("+sve"))) leaks: every function compiled after it
// in the translation unit (the NEON target's kernels included) may get SVE
// instructions and dies with SIGILL on CPUs without SVE. (The dotprod and
// i8mm attributes of the other Arm headers do not leak; checked with
// objdump.)
#pragma GCC push_options
#pragma GCC target("+sve")

namespace qkit::kernels::sve {

// Bytes per SVE vector (svcntb), for callers compiled without SVE types.
inline uint64_t vector_bytes() { return svcntb(); }

// The exact int32 dot of block b, in lanes of an svint32_t (which lanes
// hold it depends on the vector length; the sum over lanes does not).
template <bool kQ4>
inline svint32_t block_dot(const uint8_t* blk, const int8_t* x) {
  const svbool_t all8 = svptrue_b8();
  const svint32_t zero = svdup_n_s32(0);
  if (svcntb() >= 32) {
    const svbool_t p32 = svwhilelt_b8_u64(0, 32);  // the block's 32 lanes
    svint8_t w;
    if constexpr (kQ4) {
      // 16 bytes replicated per 128 bits: low nibbles in lanes 0..15,
      // high nibbles in 16..31 (activation order), minus 8.
      const svuint8_t q = svld1rq_u8(all8, blk + 2);
      const svuint8_t u = svsel_u8(svwhilelt_b8_u64(0, 16), svand_n_u8_x(all8, q, 0x0f), svlsr_n_u8_x(all8, q, 4));
      w = svsub_n_s8_x(all8, svreinterpret_s8_u8(u), 8);
    } else {
      w = svld1_s8(p32, reinterpret_cast<const int8_t*>(blk + 2));
    }
    return svdot_s32(zero, w, svld1_s8(p32, x));
  }
  // 128-bit vectors: values 0..15 and 16..31.
  svint8_t w0, w1;
  if constexpr (kQ4) {
    const svuint8_t q = svld1_u8(all8, blk + 2);
    w0 = svsub_n_s8_x(all8, svreinterpret_s8_u8(svand_n_u8_x(all8, q, 0x0f)), 8);
    w1 = svsub_n_s8_x(all8, svreinterpret_s8_u8(svlsr_n_u8_x(all8, q, 4)), 8);
  } else {
    w0 = svld1_s8(all8, reinterpret_cast<const int8_t*>(blk + 2));
    w1 = svld1_s8(all8, reinterpret_cast<const int8_t*>(blk + 18));
  }
  return svdot_s32(svdot_s32(zero, w0, svld1_s8(all8, x)), w1, svld1_s8(all8, x + 16));
}

template <bool kQ4>
inline float dot_row_q8_0_act(const uint8_t* wr, int64_t nb, const int8_t* xq, const float* xd) {
  constexpr size_t kBlockBytes = kQ4 ? 18 : 34;
  const svbool_t all32 = svptrue_b32();
  // Even blocks into acc0, odd into acc1: independent FMA chains. (Sizeless
  // vectors cannot form arrays; the branch on svcntb() inside block_dot is
  // loop-invariant.)
  svfloat32_t acc0 = svdup_n_f32(0.0f), acc1 = svdup_n_f32(0.0f);
  int64_t b = 0;
  for (; b + 1 < nb; b += 2) {
    const uint8_t* blk = wr + static_cast<size_t>(b) * kBlockBytes;
    const svint32_t s0 = block_dot<kQ4>(blk, xq + 32 * b);
    const svint32_t s1 = block_dot<kQ4>(blk + kBlockBytes, xq + 32 * b + 32);
    acc0 = svmla_n_f32_x(all32, acc0, svcvt_f32_s32_x(all32, s0), neon::load_half(blk) * xd[b]);
    acc1 = svmla_n_f32_x(all32, acc1, svcvt_f32_s32_x(all32, s1), neon::load_half(blk + kBlockBytes) * xd[b + 1]);
  }
  if (b < nb) {
    const uint8_t* blk = wr + static_cast<size_t>(b) * kBlockBytes;
    acc0 = svmla_n_f32_x(all32, acc0, svcvt_f32_s32_x(all32, block_dot<kQ4>(blk, xq + 32 * b)),
                         neon::load_half(blk) * xd[b]);
  }
  return svaddv_f32(all32, svadd_f32_x(all32, acc0, acc1));
}

}  // namespace qkit::kernels::sve

#pragma GCC pop_options

#endif  // aarch64 g++
