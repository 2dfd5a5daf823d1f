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
//
// Why it is used only from 256-bit vectors up or without NEON sdot
// (dot_q8_0-inl.h, UseSveDot): guest instructions per gemv call, 64 rows x
// K = 4096 (8192 blocks, the call's activation quantization included),
// counted with qemu 7.2 `-d in_asm,exec,nochain` (no timing is possible
// under emulation):
//   Q8_0  A64FX (512, no sdot)  svdot 142k   Highway widening multiply 389k
//         max, 512 bits         svdot 141k   NEON sdot 182k
//         max, 256 bits         svdot 143k   NEON sdot 184k
//         max, 128 bits         svdot 182k   NEON sdot 190k
//   Q4_0  A64FX                 svdot 220k   Highway 1406k
//         max, 256 bits         svdot 189k   NEON sdot 209k
//         max, 128 bits         svdot 243k   NEON sdot 215k
// (the 128-bit and A64FX svdot figures predate the per-width loops, which
// took Q4_0 at 256 bits from 221k to 189k) and a Q8_0 gemm with N = 8 on
// A64FX: svdot 1.13M, Highway 3.10M. At 512
// bits half of each vector idles (one block per vector); packing two
// blocks per vector would save a few instructions per block at the cost
// of a splice and a scale select, not done.
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

// The exact int32 dot of one block, in lanes of an svint32_t (which lanes
// hold it depends on the vector length; the sum over lanes does not).
// kWide: vectors of 256 bits or more, p32 = the first 32 byte lanes.
template <bool kQ4, bool kWide>
inline svint32_t block_dot(const uint8_t* blk, const int8_t* x, svbool_t p32, svbool_t p16) {
  const svbool_t all8 = svptrue_b8();
  const svint32_t zero = svdup_n_s32(0);
  if constexpr (kWide) {
    svint8_t w;
    if constexpr (kQ4) {
      // 16 bytes replicated per 128 bits: low nibbles in lanes 0..15,
      // high nibbles in 16..31 (activation order), minus 8.
      const svuint8_t q = svld1rq_u8(all8, blk + 2);
      const svuint8_t u = svsel_u8(p16, svand_n_u8_x(all8, q, 0x0f), svlsr_n_u8_x(all8, q, 4));
      w = svsub_n_s8_x(all8, svreinterpret_s8_u8(u), 8);
    } else {
      w = svld1_s8(p32, reinterpret_cast<const int8_t*>(blk + 2));
    }
    return svdot_s32(zero, w, svld1_s8(p32, x));
  } else {  // 128-bit vectors: values 0..15 and 16..31
    (void)p32, (void)p16;
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
}

template <bool kQ4, bool kWide>
inline float dot_row(const uint8_t* wr, int64_t nb, const int8_t* xq, const float* xd) {
  constexpr size_t kBlockBytes = kQ4 ? 18 : 34;
  const svbool_t all32 = svptrue_b32();
  const svbool_t p32 = svwhilelt_b8_u64(0, 32), p16 = svwhilelt_b8_u64(0, 16);
  // Even blocks into acc0, odd into acc1: independent FMA chains.
  // (Sizeless vectors cannot form arrays.)
  svfloat32_t acc0 = svdup_n_f32(0.0f), acc1 = svdup_n_f32(0.0f);
  int64_t b = 0;
  for (; b + 1 < nb; b += 2) {
    const uint8_t* blk = wr + static_cast<size_t>(b) * kBlockBytes;
    const svint32_t s0 = block_dot<kQ4, kWide>(blk, xq + 32 * b, p32, p16);
    const svint32_t s1 = block_dot<kQ4, kWide>(blk + kBlockBytes, xq + 32 * b + 32, p32, p16);
    acc0 = svmla_n_f32_x(all32, acc0, svcvt_f32_s32_x(all32, s0), neon::load_half(blk) * xd[b]);
    acc1 = svmla_n_f32_x(all32, acc1, svcvt_f32_s32_x(all32, s1), neon::load_half(blk + kBlockBytes) * xd[b + 1]);
  }
  if (b < nb) {
    const uint8_t* blk = wr + static_cast<size_t>(b) * kBlockBytes;
    acc0 = svmla_n_f32_x(all32, acc0, svcvt_f32_s32_x(all32, block_dot<kQ4, kWide>(blk, xq + 32 * b, p32, p16)),
                         neon::load_half(blk) * xd[b]);
  }
  return svaddv_f32(all32, svadd_f32_x(all32, acc0, acc1));
}

// One row of Q8_0 / Q4_0 blocks against one Q8_0 activation column.
template <bool kQ4>
inline float dot_row_q8_0_act(const uint8_t* wr, int64_t nb, const int8_t* xq, const float* xd) {
  return svcntb() >= 32 ? dot_row<kQ4, true>(wr, nb, xq, xd) : dot_row<kQ4, false>(wr, nb, xq, xd);
}

}  // namespace qkit::kernels::sve

#pragma GCC pop_options

#endif  // aarch64 g++
