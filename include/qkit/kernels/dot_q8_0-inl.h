// qkit/kernels/dot_q8_0-inl.h — the integer matmul kernels of every target
// without the AVX-512 VNNI ones, and the routing to them:
//   Targets without an int8 dot instruction (AVX2, SSE4, AVX3 without
//     VNNI, NEON without dotprod): Q8_0 / Q4_0 / IQ4_NL x Q8_0 and Q2_K ..
//     Q6_K / IQ4_XS x Q8_K in dot_i16-inl.h (gemv_<w>_q8_0 / gemm_<w>_q8_0_1x4,
//     gemv_<w>_q8_K / gemm_<w>_q8_K_2x4: Highway int16 widening
//     multiply-add on rows decoded once per call; on AVX2 / AVX3 the GEMV
//     is raw vpmaddubsw code, dot_avx2-inl.h).
//   Q8_0 / Q4_0 x Q8_0 on SVE without sdot and SCALAR: gemv_q8_0_q8_0 /
//     gemm_q8_0_q8_0_1x1 and the Q4_0 pair. Per block the exact integer dot
//     of 32 int8 pairs (int16 products summed pairwise into int32 lanes,
//     Highway's ReorderWidenMulAccumulate) is converted to f32 and scaled
//     by d_w * d_x lane by lane, as the reference's SIMD paths do; the lanes
//     are summed once per output.
//   Arm, "+dotprod": sdot replaces the widening multiply (neon_dot.hpp), and
//     Q4_K / Q6_K x Q8_K get integer kernels instead of the f32 path
//     (neon_k_arm.hpp: gemv_q4_K_q8_K / gemm_q4_K_q8_K_1x8, Q6_K alike).
//   Arm, "+i8mm": GEMM (N >= 2) of Q8_0 / Q4_0 with smmla, 4x4 tiles
//     (i8mm_arm.hpp: gemm_q8_0_q8_0_4x4, gemm_q4_0_q8_0_4x4).
//   SVE targets: Q8_0 / Q4_0 GEMV (and GEMM without i8mm) with svdot, any
//     vector length (sve_dot_arm.hpp), instead of NEON sdot (from 256-bit
//     vectors up) or Highway's widening multiply (SVE without sdot: A64FX).
// matmul-inl.h asks HasIntKernel<F>() and runs MatmulInt<F>().
#if defined(QKIT_KERNELS_DOT_Q8_0_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_DOT_Q8_0_INL_H_
#undef QKIT_KERNELS_DOT_Q8_0_INL_H_
#else
#define QKIT_KERNELS_DOT_Q8_0_INL_H_
#endif

#include <cstring>
#include <string>

#include "hwy/highway.h"
#include "qkit/base/aligned.hpp"
#include "qkit/base/fp16.hpp"
#include "qkit/cpu/targets.hpp"
#include "qkit/kernels/act_layout.hpp"
#include "qkit/kernels/common-inl.h"
#include "qkit/kernels/dot_i16-inl.h"
#include "qkit/kernels/i8mm_arm.hpp"
#include "qkit/kernels/neon_dot.hpp"
#include "qkit/kernels/neon_k_arm.hpp"
#include "qkit/kernels/sve_dot_arm.hpp"

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

#if HWY_TARGET != HWY_SCALAR && !defined(QKIT_HAVE_I16_DOT)
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

#undef QKIT_ARM_TARGET
#if HWY_TARGET == HWY_NEON || HWY_TARGET == HWY_SVE || HWY_TARGET == HWY_SVE2 || HWY_TARGET == HWY_SVE_256 || \
    HWY_TARGET == HWY_SVE2_128
#define QKIT_ARM_TARGET 1
#else
#define QKIT_ARM_TARGET 0
#endif

// Whether this target has a sdot kernel and the CPU runs it.
inline bool UseNeonDot() {
#if defined(QKIT_HAVE_NEON_DOT) && QKIT_ARM_TARGET
  return cpu::has_fast_path(cpu::kFastDotprod);
#else
  return false;
#endif
}

// Whether Q8_0 / Q4_0 rows take the svdot kernel (base SVE: no fast-path
// bit): on the SVE targets when the vectors are 256 bits or wider, or when
// the CPU has no NEON sdot (A64FX). At 128 bits NEON sdot does the same
// work in fewer instructions (qemu counts in sve_dot_arm.hpp), so SVE2_128
// never takes it.
inline bool UseSveDot() {
#if defined(QKIT_HAVE_SVE_DOT) && (HWY_TARGET == HWY_SVE || HWY_TARGET == HWY_SVE2 || HWY_TARGET == HWY_SVE_256)
  return !UseNeonDot() || sve::vector_bytes() >= 32;
#elif defined(QKIT_HAVE_SVE_DOT) && HWY_TARGET == HWY_SVE2_128
  return !UseNeonDot();
#else
  return false;
#endif
}

// Whether this target has the smmla GEMM kernel and the CPU runs it.
inline bool UseI8mm() {
#if defined(QKIT_HAVE_I8MM_ARM) && QKIT_ARM_TARGET
  return cpu::has_fast_path(cpu::kFastI8mm);
#else
  return false;
#endif
}

template <bool kQ4>
inline void RowsQ8(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const QuantAct& x = *a.act;
#if defined(QKIT_HAVE_I8MM_ARM)
  // GEMM: two rows x two columns per smmla. Decided by N, not by the
  // chunk, so every column of a call takes the same path.
  if (x.n >= 2 && UseI8mm()) {
    i8mm::gemm_q8_0_act<kQ4>(a, r0, r1, c0, c1);
    return;
  }
#endif
  const int64_t nb = a.cols / 32;
  const bool svdot = UseSveDot();
  const bool sdot = UseNeonDot();
  (void)svdot;
  (void)sdot;
#if defined(QKIT_HAVE_I16_DOT)
  if (!sdot) {  // no dot-product instruction: the int16 kernels (dot_i16-inl.h)
    i16::Rows<kQ4 ? Format::Q4_0 : Format::Q8_0>(a, r0, r1, c0, c1);
    return;
  }
#endif
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* wr = a.w + static_cast<size_t>(r) * a.row_stride;
    for (int64_t c = c0; c < c1; ++c) {
      const int8_t* xq = x.qs + static_cast<size_t>(c) * x.qs_stride;
      const float* xd = x.d + static_cast<size_t>(c) * x.blk_stride;
      float v;
#if defined(QKIT_HAVE_SVE_DOT)
      if (svdot) {
        v = sve::dot_row_q8_0_act<kQ4>(wr, nb, xq, xd);
      } else
#endif
#if defined(QKIT_HAVE_NEON_DOT)
      if (sdot) {
        v = neon::dot_row_q8_0_act<kQ4>(wr, nb, xq, xd);
      } else
#endif
      {
#if HWY_TARGET != HWY_SCALAR && !defined(QKIT_HAVE_I16_DOT)
        v = DotRowQ8Portable<kQ4>(wr, nb, xq, xd);
#else  // SCALAR (with the int16 kernels: not reached, i16::Rows above)
        v = DotRowQ8Scalar<kQ4>(wr, nb, xq, xd);
#endif
      }
      a.y[static_cast<size_t>(c) * a.ldy + r] = v;
    }
  }
}

// --- routing (matmul-inl.h) ---------------------------------------------------

// Activation columns handled together: their quants (64 x K bytes) stay in
// L2 while the thread's weight rows stream past.
inline constexpr int64_t kIntColumnBlock = 64;

// Whether format F has an integer kernel in this file that runs now.
template <Format F>
inline bool HasIntKernel() {
  if constexpr (F == Format::Q8_0 || F == Format::Q4_0) {
    return true;
  } else if constexpr (F == Format::IQ4_NL) {
#if defined(QKIT_HAVE_I16_DOT)
    return true;
#else
    return false;
#endif
  } else if constexpr (F == Format::Q4_K || F == Format::Q6_K) {
#if defined(QKIT_HAVE_I16_DOT)
    return true;  // sdot where the CPU has it, else the int16 kernel
#else
    return UseNeonDot();
#endif
  } else if constexpr (F == Format::Q2_K || F == Format::Q3_K || F == Format::Q5_K || F == Format::IQ4_XS) {
#if defined(QKIT_HAVE_I16_DOT)
    return true;  // the int16 kernel (dot_i16_k-inl.h decoders)
#else
    return false;
#endif
  } else {
    return false;
  }
}

// Rows [r0, r1) x columns [c0, c1), weights as GGUF rows.
template <Format F>
inline void IntRows(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  if constexpr (F == Format::Q8_0 || F == Format::Q4_0) {
    RowsQ8<F == Format::Q4_0>(a, r0, r1, c0, c1);
  } else if constexpr (F == Format::Q4_K || F == Format::Q6_K || F == Format::IQ4_NL || F == Format::Q2_K ||
                       F == Format::Q3_K || F == Format::Q5_K || F == Format::IQ4_XS) {
#if defined(QKIT_HAVE_NEON_DOT)
    if constexpr (F == Format::Q4_K || F == Format::Q6_K) {
      if (UseNeonDot()) {
        neon::rows_q8_k_act<F == Format::Q6_K>(a, r0, r1, c0, c1);
        return;
      }
    }
#endif
#if defined(QKIT_HAVE_I16_DOT)
    i16::Rows<F>(a, r0, r1, c0, c1);
#else
    (void)a, (void)r0, (void)r1, (void)c0, (void)c1;
#endif
  } else {
    (void)a, (void)r0, (void)r1, (void)c0, (void)c1;
  }
}

// The integer kernel of F over a's rows (HasIntKernel<F>() must hold).
template <Format F>
inline void MatmulInt(const MatmulArgs& a) {
  if constexpr (F != Format::Q8_0 && F != Format::Q4_0 && F != Format::Q4_K && F != Format::Q6_K &&
                F != Format::IQ4_NL && F != Format::Q2_K && F != Format::Q3_K && F != Format::Q5_K &&
                F != Format::IQ4_XS) {
    (void)a;  // no integer kernel: never called
    return;
  }
  if (a.layout == WeightLayout::kRows) {
    for (int64_t c0 = 0; c0 < a.act->n; c0 += kIntColumnBlock) {
      const int64_t c1 = c0 + kIntColumnBlock < a.act->n ? c0 + kIntColumnBlock : a.act->n;
      IntRows<F>(a, a.row_begin, a.row_end, c0, c1);
    }
    return;
  }
  // Interleaved weights without their kernel here: unpack each 16-row
  // group to GGUF rows and run the row kernel on it.
  const size_t rb = static_cast<size_t>(row_bytes(F, static_cast<uint64_t>(a.cols)));
  thread_local AlignedBuffer<uint8_t> grp;
  grp.ensure(16 * rb);
  for (int64_t g = a.row_begin / 16; g * 16 < a.row_end; ++g) {
    const int64_t valid = a.rows - g * 16 < 16 ? a.rows - g * 16 : 16;
    for (int r = 0; r < valid; ++r)
      unpack_interleaved_row(F, a.w + static_cast<size_t>(g) * a.row_stride, r, a.cols / format_info(F).block_size,
                             grp.data() + static_cast<size_t>(r) * rb);
    MatmulArgs part = a;
    part.w = grp.data();
    part.layout = WeightLayout::kRows;
    part.row_stride = rb;
    part.y = a.y + g * 16;
    IntRows<F>(part, 0, valid, 0, a.act->n);
  }
}

// The variant name of F's kernel: the target plus the Arm fast paths used.
template <Format F>
inline const char* IntVariant() {
  constexpr bool kQ8 = F == Format::Q8_0 || F == Format::Q4_0;
  constexpr bool kK = F == Format::Q4_K || F == Format::Q6_K;
  // Q8_0 / Q4_0 rows on svdot (base SVE) use no fast-path bit.
  const bool dot = ((kQ8 && !UseSveDot()) || kK) && UseNeonDot();
  const bool mm = kQ8 && UseI8mm();
  static const std::string d = std::string(TargetVariant()) + "+dotprod";
  static const std::string m = std::string(TargetVariant()) + "+i8mm";
  static const std::string dm = std::string(TargetVariant()) + "+dotprod+i8mm";
  if (dot && mm) return dm.c_str();
  if (dot) return d.c_str();
  if (mm) return m.c_str();
  return TargetVariant();
}

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
