// qkit/kernels/i8mm_arm.hpp — raw Arm int8 matrix-multiply (smmla) GEMM
// micro-kernel for Q8_0 and Q4_0 weights against Q8_0 activations:
// gemm_q8_0_q8_0_4x4 / gemm_q4_0_q8_0_4x4 (variant "+i8mm"). Compiled with
// its own target attribute; dot_q8_0-inl.h calls it from the NEON / SVE
// targets when cpu::has_fast_path(kFastI8mm) holds and N >= 2.
//
// smmla (vmmlaq_s32) multiplies a 2x8 int8 matrix by an 8x2 one into a 2x2
// int32 tile: lanes {A.C, A.D, B.C, B.D} for weight rows A, B (first
// operand: A's 8 bytes, then B's) and activation columns C, D (second
// operand, same shape). So both sides are first packed in pairs: per block
// of 32 values, four vectors {A[8j..8j+7], B[8j..8j+7]}, j = 0..3, and the
// block scales as {dA, dA, dB, dB} / {dC, dD, dC, dD}. Four smmla give the
// exact int32 dots of a block for 2 rows x 2 columns; they are converted
// to f32 and accumulated with the scale products d_w * d_x lane by lane.
//
// Every output lane runs the same operations (block order, one fused
// multiply-add per block) whatever tile, pair or thread it falls in; odd
// rows or columns pair with a copy of themselves and the copy is not
// stored. So results never depend on the row split or on N's split.
//
// Guest instructions of a Q8_0 gemm, 64 rows x K = 4096, N = 8, NEON
// target (qemu 7.2 counts, activation quantization included; no timing
// under emulation): smmla 0.47M, sdot 1.46M, Highway widening multiply
// 3.03M.
#pragma once

#if defined(__aarch64__) && defined(__GNUC__) && !defined(__clang__)
#define QKIT_HAVE_I8MM_ARM 1
#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "qkit/base/aligned.hpp"
#include "qkit/base/fp16.hpp"
#include "qkit/kernels/act_layout.hpp"
#include "qkit/kernels/neon_dot.hpp"

#define QKIT_I8MM_TARGET __attribute__((target("arch=armv8.2-a+i8mm")))

namespace qkit::kernels::i8mm {

// Stores the smmla operands of one block of two rows A, B (lo: values
// 0..15, hi: 16..31).
QKIT_I8MM_TARGET inline void store_pair(int8x16_t a_lo, int8x16_t a_hi, int8x16_t b_lo, int8x16_t b_hi, int8_t* out) {
  const int64x2_t al = vreinterpretq_s64_s8(a_lo), ah = vreinterpretq_s64_s8(a_hi);
  const int64x2_t bl = vreinterpretq_s64_s8(b_lo), bh = vreinterpretq_s64_s8(b_hi);
  vst1q_s8(out, vreinterpretq_s8_s64(vzip1q_s64(al, bl)));
  vst1q_s8(out + 16, vreinterpretq_s8_s64(vzip2q_s64(al, bl)));
  vst1q_s8(out + 32, vreinterpretq_s8_s64(vzip1q_s64(ah, bh)));
  vst1q_s8(out + 48, vreinterpretq_s8_s64(vzip2q_s64(ah, bh)));
}

// Signed quants of one weight block (Q4_0: nibble - 8, low nibbles first).
template <bool kQ4>
QKIT_I8MM_TARGET inline void load_block(const uint8_t* blk, int8x16_t& lo, int8x16_t& hi) {
  if constexpr (kQ4) {
    const uint8x16_t q = vld1q_u8(blk + 2);
    const int8x16_t eight = vdupq_n_s8(8);
    lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0f))), eight);
    hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), eight);
  } else {
    lo = vld1q_s8(reinterpret_cast<const int8_t*>(blk + 2));
    hi = vld1q_s8(reinterpret_cast<const int8_t*>(blk + 18));
  }
}

// Weight rows A, B (nb blocks each) -> q: 64 bytes per block, s: 4 floats.
template <bool kQ4>
QKIT_I8MM_TARGET inline void pack_weights(const uint8_t* wa, const uint8_t* wb, int64_t nb, int8_t* q, float* s) {
  constexpr size_t kBlockBytes = kQ4 ? 18 : 34;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* ba = wa + static_cast<size_t>(b) * kBlockBytes;
    const uint8_t* bb = wb + static_cast<size_t>(b) * kBlockBytes;
    int8x16_t al, ah, bl, bh;
    load_block<kQ4>(ba, al, ah);
    load_block<kQ4>(bb, bl, bh);
    store_pair(al, ah, bl, bh, q + 64 * b);
    const float da = neon::load_half(ba), db = neon::load_half(bb);
    s[4 * b + 0] = da;
    s[4 * b + 1] = da;
    s[4 * b + 2] = db;
    s[4 * b + 3] = db;
  }
}

// Activation columns C, D -> the same layout, scales {dC, dD, dC, dD}.
QKIT_I8MM_TARGET inline void pack_act(const int8_t* xc, const int8_t* xd, const float* dc, const float* dd, int64_t nb,
                                      int8_t* q, float* s) {
  for (int64_t b = 0; b < nb; ++b) {
    store_pair(vld1q_s8(xc + 32 * b), vld1q_s8(xc + 32 * b + 16), vld1q_s8(xd + 32 * b), vld1q_s8(xd + 32 * b + 16),
               q + 64 * b);
    s[4 * b + 0] = dc[b];
    s[4 * b + 1] = dd[b];
    s[4 * b + 2] = dc[b];
    s[4 * b + 3] = dd[b];
  }
}

// RP row pairs x CP column pairs over nb blocks; out[p * CP + c] holds the
// 2x2 tile of row pair p and column pair c.
template <int RP, int CP>
QKIT_I8MM_TARGET inline void tile(const int8_t* const wq[2], const float* const ws[2], const int8_t* const xq[2],
                                  const float* const xs[2], int64_t nb, float32x4_t out[4]) {
  float32x4_t acc[RP * CP];
  for (int i = 0; i < RP * CP; ++i) acc[i] = vdupq_n_f32(0.0f);
  const int32x4_t zero = vdupq_n_s32(0);
  for (int64_t b = 0; b < nb; ++b) {
    int8x16_t w[RP][4], x[CP][4];
    for (int p = 0; p < RP; ++p)
      for (int j = 0; j < 4; ++j) w[p][j] = vld1q_s8(wq[p] + 64 * b + 16 * j);
    for (int c = 0; c < CP; ++c)
      for (int j = 0; j < 4; ++j) x[c][j] = vld1q_s8(xq[c] + 64 * b + 16 * j);
    for (int p = 0; p < RP; ++p) {
      const float32x4_t sw = vld1q_f32(ws[p] + 4 * b);
      for (int c = 0; c < CP; ++c) {
        int32x4_t i = vmmlaq_s32(zero, w[p][0], x[c][0]);
        i = vmmlaq_s32(i, w[p][1], x[c][1]);
        i = vmmlaq_s32(i, w[p][2], x[c][2]);
        i = vmmlaq_s32(i, w[p][3], x[c][3]);
        acc[p * CP + c] = vfmaq_f32(acc[p * CP + c], vcvtq_f32_s32(i), vmulq_f32(sw, vld1q_f32(xs[c] + 4 * b)));
      }
    }
  }
  for (int i = 0; i < RP * CP; ++i) out[i] = acc[i];
}

// Rows [r0, r1) x activation columns [c0, c1) of Y, weights as GGUF rows.
// Tiles of 4 rows x 4 columns (two pairs each way).
template <bool kQ4>
QKIT_I8MM_TARGET inline void gemm_q8_0_act(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 32;
  const int64_t ncp = (c1 - c0 + 1) / 2;  // column pairs
  thread_local AlignedBuffer<int8_t> xq_buf, wq_buf;
  thread_local AlignedBuffer<float> xs_buf, ws_buf;
  const size_t pq = static_cast<size_t>(nb) * 64, ps = static_cast<size_t>(nb) * 4;
  xq_buf.ensure(static_cast<size_t>(ncp) * pq);
  xs_buf.ensure(static_cast<size_t>(ncp) * ps);
  wq_buf.ensure(2 * pq);
  ws_buf.ensure(2 * ps);
  for (int64_t cp = 0; cp < ncp; ++cp) {
    const size_t cc = static_cast<size_t>(c0 + 2 * cp);
    const size_t cd = static_cast<int64_t>(cc) + 1 < c1 ? cc + 1 : cc;
    pack_act(x.qs + cc * x.qs_stride, x.qs + cd * x.qs_stride, x.d + cc * x.blk_stride, x.d + cd * x.blk_stride, nb,
             xq_buf.data() + static_cast<size_t>(cp) * pq, xs_buf.data() + static_cast<size_t>(cp) * ps);
  }
  for (int64_t r = r0; r < r1; r += 4) {
    const int rp = r1 - r >= 3 ? 2 : 1;
    const int8_t* wq[2] = {nullptr, nullptr};
    const float* ws[2] = {nullptr, nullptr};
    for (int p = 0; p < rp; ++p) {
      const int64_t ra = r + 2 * p, rb = ra + 1 < r1 ? ra + 1 : ra;
      pack_weights<kQ4>(a.w + static_cast<size_t>(ra) * a.row_stride, a.w + static_cast<size_t>(rb) * a.row_stride, nb,
                        wq_buf.data() + p * pq, ws_buf.data() + p * ps);
      wq[p] = wq_buf.data() + p * pq;
      ws[p] = ws_buf.data() + p * ps;
    }
    for (int64_t cp = 0; cp < ncp; cp += 2) {
      const int np = ncp - cp >= 2 ? 2 : 1;
      const int8_t* xq[2] = {nullptr, nullptr};
      const float* xs[2] = {nullptr, nullptr};
      for (int c = 0; c < np; ++c) {
        xq[c] = xq_buf.data() + static_cast<size_t>(cp + c) * pq;
        xs[c] = xs_buf.data() + static_cast<size_t>(cp + c) * ps;
      }
      float32x4_t out[4];
      if (rp == 2 && np == 2) {
        tile<2, 2>(wq, ws, xq, xs, nb, out);
      } else if (rp == 2) {
        tile<2, 1>(wq, ws, xq, xs, nb, out);
      } else if (np == 2) {
        tile<1, 2>(wq, ws, xq, xs, nb, out);
      } else {
        tile<1, 1>(wq, ws, xq, xs, nb, out);
      }
      for (int p = 0; p < rp; ++p) {
        for (int c = 0; c < np; ++c) {
          alignas(16) float v[4];
          vst1q_f32(v, out[p * np + c]);
          const int64_t ra = r + 2 * p, cc = c0 + 2 * (cp + c);
          for (int l = 0; l < 4; ++l) {
            const int64_t row = ra + (l >> 1), col = cc + (l & 1);
            if (row < r1 && col < c1) a.y[static_cast<size_t>(col) * a.ldy + row] = v[l];
          }
        }
      }
    }
  }
}

}  // namespace qkit::kernels::i8mm

#endif  // aarch64 g++
