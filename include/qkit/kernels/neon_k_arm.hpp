// qkit/kernels/neon_k_arm.hpp — raw Arm dot-product (sdot) kernels for the
// K-quants Q4_K and Q6_K against Q8_K activations, weights as GGUF stores
// them: gemv_q4_K_q8_K / gemm_q4_K_q8_K_1x8 and the Q6_K pair (variant
// "+dotprod"). dot_q8_0-inl.h calls them from the NEON / SVE targets when
// cpu::has_fast_path(kFastDotprod) holds.
//
// Per 256-value super-block the weights are decoded once per row and chunk
// of up to 8 columns into 16 vectors of quants in activation order (Q4_K:
// the nibbles 0..15; Q6_K: the unsigned 6-bit values 0..63, both fit int8)
// and the sub-block scales; then per column:
//   sdot       16 int8 pairs into 4 int32 lanes, per 16- or 32-value
//              sub-block, times the sub-block scale (vmla by a scalar):
//              sum_j sc_j (q_j . x_j), exact in int32;
//   bsums      the offsets: Q4_K's mins, y -= dmin dx sum_j m_j sum(x_j),
//              and Q6_K's -32, y -= 32 d dx sum_s sc_s sum(x_s), from the
//              activation's 16-value sums (one widening multiply-add),
// as the reference's vec_dot_q4_K_q8_K / vec_dot_q6_K_q8_K compute them.
// Every column runs the same operations in the same order whatever the
// chunk, so the thread count and N's split never change a bit.
//
// Guest instructions per call, 64 rows x K = 4096, neoverse-n1 under qemu
// 7.2 (activation quantization included; no timing under emulation):
// Q4_K gemv: sdot 0.19M, f32 path 0.95M; Q6_K gemv: 0.27M vs 0.89M;
// Q4_K gemm N = 8: 0.93M vs 2.32M.
#pragma once

#include "qkit/kernels/neon_dot.hpp"

#if defined(QKIT_HAVE_NEON_DOT)

#include "qkit/kernels/act_layout.hpp"
#include "qkit/quant/k_blocks.hpp"

namespace qkit::kernels::neon {

struct KBlock {
  int8x16_t q[16];  // quants of values 16i .. 16i + 15
  int32_t sc[16];   // Q4_K: scale of 32-value sub-block j (8); Q6_K: of 16-value sub-block s
  int16x8_t m[2];   // coefficients of the 16 bsums (Q4_K: m_j twice; Q6_K: sc_s)
  float d;          // super-block scale
  float dm;         // factor of the bsums term (Q4_K: -dmin; Q6_K: -32 d)
};

// Q4_K: f16 d | f16 dmin | 12 bytes of 6-bit scales and mins | 128 qs.
QKIT_DOTPROD_TARGET inline void decode_q4_k(const uint8_t* blk, KBlock& w) {
  w.d = load_half(blk);
  w.dm = -load_half(blk + 2);
  uint32_t u[4];  // bytes 0..7: scales, 8..15: mins
  quant::unpack_scales_mins_k4(blk + 4, u);
  uint8_t sm[16];
  std::memcpy(sm, u, 16);
  for (int j = 0; j < 8; ++j) w.sc[j] = sm[j];
  const uint8x8_t mins = vld1_u8(sm + 8);
  const uint8x8x2_t mm = vzip_u8(mins, mins);  // m0 m0 m1 m1 ... m7 m7
  w.m[0] = vreinterpretq_s16_u16(vmovl_u8(mm.val[0]));
  w.m[1] = vreinterpretq_s16_u16(vmovl_u8(mm.val[1]));
  // 32 bytes of qs per 64 values: low nibbles values 0..31, high 32..63.
  const uint8_t* qs = blk + 16;
  const uint8x16_t m4 = vdupq_n_u8(0x0f);
  for (int i = 0; i < 4; ++i) {
    const uint8x16_t b0 = vld1q_u8(qs + 32 * i), b1 = vld1q_u8(qs + 32 * i + 16);
    w.q[4 * i + 0] = vreinterpretq_s8_u8(vandq_u8(b0, m4));
    w.q[4 * i + 1] = vreinterpretq_s8_u8(vandq_u8(b1, m4));
    w.q[4 * i + 2] = vreinterpretq_s8_u8(vshrq_n_u8(b0, 4));
    w.q[4 * i + 3] = vreinterpretq_s8_u8(vshrq_n_u8(b1, 4));
  }
}

// Q6_K: ql[128] | qh[64] | int8 scales[16] | f16 d. Per 128-value half h:
// value 32t + l (t = 0..3, l < 32) = ql nibble | 2 qh bits << 4, where
// ql byte = ql[64h + l + 32 (t & 1)], nibble = t < 2 ? low : high, and
// the qh bits = bits 2t, 2t+1 of qh[32h + l].
QKIT_DOTPROD_TARGET inline void decode_q6_k(const uint8_t* blk, KBlock& w) {
  const uint8_t* ql = blk;
  const uint8_t* qh = blk + 128;
  const auto* scales = reinterpret_cast<const int8_t*>(blk + 192);
  w.d = load_half(blk + 208);
  w.dm = -32.0f * w.d;
  const int8x16_t sc8 = vld1q_s8(scales);
  w.m[0] = vmovl_s8(vget_low_s8(sc8));
  w.m[1] = vmovl_high_s8(sc8);
  for (int s = 0; s < 16; ++s) w.sc[s] = scales[s];
  const uint8x16_t m4 = vdupq_n_u8(0x0f), m30 = vdupq_n_u8(0x30);
  for (int h = 0; h < 2; ++h) {
    const uint8_t* l = ql + 64 * h;
    for (int k = 0; k < 2; ++k) {  // values l = 16k .. 16k + 15 of each quarter
      const uint8x16_t l0 = vld1q_u8(l + 16 * k), l1 = vld1q_u8(l + 32 + 16 * k);
      const uint8x16_t hb = vld1q_u8(qh + 32 * h + 16 * k);
      int8x16_t* out = w.q + 8 * h + k;  // vector index 8h + 2t + k
      out[0] = vreinterpretq_s8_u8(vorrq_u8(vandq_u8(l0, m4), vandq_u8(vshlq_n_u8(hb, 4), m30)));
      out[2] = vreinterpretq_s8_u8(vorrq_u8(vandq_u8(l1, m4), vandq_u8(vshlq_n_u8(hb, 2), m30)));
      out[4] = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(l0, 4), vandq_u8(hb, m30)));
      out[6] = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(l1, 4), vandq_u8(vshrq_n_u8(hb, 2), m30)));
    }
  }
}

// acc += one super-block against one column (256 quants, 16 bsums, dx).
template <bool kQ6>
QKIT_DOTPROD_TARGET inline float32x4_t k_block_dot(const KBlock& w, const int8_t* x, const int16_t* bsums, float dx,
                                                   float32x4_t acc) {
  const int32x4_t zero = vdupq_n_s32(0);
  int32x4_t isum = zero;
  if constexpr (kQ6) {
    for (int s = 0; s < 16; ++s) isum = vmlaq_n_s32(isum, vdotq_s32(zero, w.q[s], vld1q_s8(x + 16 * s)), w.sc[s]);
  } else {
    for (int j = 0; j < 8; ++j) {
      const int32x4_t p =
          vdotq_s32(vdotq_s32(zero, w.q[2 * j], vld1q_s8(x + 32 * j)), w.q[2 * j + 1], vld1q_s8(x + 32 * j + 16));
      isum = vmlaq_n_s32(isum, p, w.sc[j]);
    }
  }
  const int16x8_t b0 = vld1q_s16(bsums), b1 = vld1q_s16(bsums + 8);
  int32x4_t ms = vmull_s16(vget_low_s16(b0), vget_low_s16(w.m[0]));
  ms = vmlal_high_s16(ms, b0, w.m[0]);
  ms = vmlal_s16(ms, vget_low_s16(b1), vget_low_s16(w.m[1]));
  ms = vmlal_high_s16(ms, b1, w.m[1]);
  acc = vfmaq_n_f32(acc, vcvtq_f32_s32(isum), w.d * dx);
  return vfmaq_n_f32(acc, vcvtq_f32_s32(ms), w.dm * dx);
}

// Rows [r0, r1) x columns [c0, c1) for Q4_K (kQ6 = false) or Q6_K weights.
template <bool kQ6>
QKIT_DOTPROD_TARGET inline void rows_q8_k_act(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  constexpr size_t kBlockBytes = kQ6 ? 210 : 144;
  constexpr int kC = 8;
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 256;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* wr = a.w + static_cast<size_t>(r) * a.row_stride;
    for (int64_t c = c0; c < c1; c += kC) {
      const int nc = static_cast<int>(c1 - c < kC ? c1 - c : kC);
      float32x4_t acc[kC];
      for (int j = 0; j < kC; ++j) acc[j] = vdupq_n_f32(0.0f);
      for (int64_t b = 0; b < nb; ++b) {
        KBlock w;
        if constexpr (kQ6) {
          decode_q6_k(wr + static_cast<size_t>(b) * kBlockBytes, w);
        } else {
          decode_q4_k(wr + static_cast<size_t>(b) * kBlockBytes, w);
        }
        for (int j = 0; j < nc; ++j) {
          const size_t cc = static_cast<size_t>(c + j);
          acc[j] = k_block_dot<kQ6>(w, x.qs + cc * x.qs_stride + b * 256, x.bsums + cc * x.bsum_stride + b * 16,
                                    x.d[cc * x.blk_stride + static_cast<size_t>(b)], acc[j]);
        }
      }
      for (int j = 0; j < nc; ++j) a.y[static_cast<size_t>(c + j) * a.ldy + r] = vaddvq_f32(acc[j]);
    }
  }
}

}  // namespace qkit::kernels::neon

#endif  // QKIT_HAVE_NEON_DOT
