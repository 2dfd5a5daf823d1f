// qkit/kernels/matmul-inl.h — the per-target matmul kernel of each format:
// picks the integer fast path where this target has one, else the f32 path
// of dot_generic-inl.h. One function serves GEMV (n = 1) and GEMM.
//
// Kernel names (docs/dispatch.md grammar; the target is the namespace):
//   AVX3 / AVX3_DL with AVX-512 VNNI (variant "...+vnni"; the formats and
//   their functions are listed in vnni_registry_x86.hpp):
//     gemv_<w>_q8_0                          q8_0, q4_0, iq4_nl rows (vnni_gemv_rows_x86.hpp)
//     gemm_<w>_q8_0_1x4                      q8_0, q4_0, iq4_nl rows (vnni_x86.hpp)
//     gemv_<w>_<pair>, gemm_<w>_<pair>_16xN  q4_1, q5_0, q5_1, mxfp4, iq4_xs rows;
//                                            GEMM on 16-row panels decoded per call (vnni_legacy_x86.hpp)
//     gemv_<w>_q8_K, gemm_<w>_q8_K_1x8       q2_K..q6_K, tq1_0, tq2_0 rows (vnni_k_x86.hpp, vnni_k2_x86.hpp;
//                                            the q2_K / tq1_0 GEMV in vnni_gemv_q2k_x86.hpp /
//                                            vnni_gemv_tq1_x86.hpp); GEMM of q4_K, q6_K rows
//     gemm_<w>_q8_K_16xN                     q2_K, q3_K, q5_K, tq1_0, tq2_0 rows: GEMM on
//                                            16-row panels decoded per call (vnni_k_panel_x86.hpp)
//     gemv_<w>_q8_0_r16, gemm_<w>_q8_0_32x4_r16 / _16x4_r16
//                                            q8_0, q4_0, iq4_nl repacked (vnni_repack_x86.hpp)
//     gemv_<w>_q8_K_r16, gemm_<w>_q8_K_16x4_r16
//                                            q4_K, q6_K repacked (vnni_repack_k_x86.hpp)
//   every other target (routing in dot_q8_0-inl.h):
//     gemv_<w>_q8_0 / gemm_<w>_q8_0_1x4      q8_0, q4_0, iq4_nl rows, and
//     gemv_<w>_q8_K / gemm_<w>_q8_K_2x4      q2_K..q6_K, iq4_xs rows, without a dot
//       instruction (AVX2, SSE4, AVX3 without vnni, NEON without dotprod;
//       q2_K, q3_K, q5_K, iq4_xs also with dotprod):
//       Highway int16 widening multiply-add (dot_i16-inl.h, decoders in
//       dot_i16_k-inl.h); the GEMV on AVX2 / AVX3 is raw vpmaddubsw code
//       (dot_avx2-inl.h, dot_avx2_k-inl.h)
//     q8_0 / q4_0 with "+dotprod": Arm sdot (neon_dot.hpp); SVE svdot
//       (sve_dot_arm.hpp; SVE without sdot: gemv_q8_0_q8_0 /
//       gemm_q8_0_q8_0_1x1, Highway, plain per block); "+i8mm":
//       gemm_q8_0_q8_0_4x4 / gemm_q4_0_q8_0_4x4, Arm smmla, N >= 2
//   Arm "+dotprod": gemv_q4_K_q8_K / gemm_q4_K_q8_K_1x8 and the q6_K pair
//     (neon_k_arm.hpp, sdot), rows or interleaved groups unpacked
//   F32 / F16 / BF16: gemv_<w>_f32, gemm_<w>_f32_4x6 (float_matmul-inl.h;
//     "+bf16": gemv_bf16_bf16 / gemm_bf16_bf16_4x6, vdpbf16ps, bf16_x86.hpp)
//   every other (format, target): gemv_<w>_f32 / gemm_<w>_f32_16x1, the f32
//     path of dot_generic-inl.h (activations rounded through the pair format)
#if defined(QKIT_KERNELS_MATMUL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_MATMUL_INL_H_
#undef QKIT_KERNELS_MATMUL_INL_H_
#else
#define QKIT_KERNELS_MATMUL_INL_H_
#endif

#include <string>

#include "hwy/highway.h"
#include "qkit/cpu/targets.hpp"
#include "qkit/kernels/act_layout.hpp"
#include "qkit/kernels/common-inl.h"
#include "qkit/kernels/dot_generic-inl.h"
#include "qkit/kernels/dot_q8_0-inl.h"
#include "qkit/kernels/float_matmul-inl.h"
#include "qkit/kernels/vnni_registry_x86.hpp"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {

// Activation columns handled together by the integer kernels: their quants
// (64 x K bytes) stay in L2 while the thread's weight rows stream past.
inline constexpr int64_t kColumnBlock = 64;

#undef QKIT_MATMUL_VNNI
#if defined(QKIT_HAVE_VNNI_X86) && (HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL)
#define QKIT_MATMUL_VNNI 1
#else
#define QKIT_MATMUL_VNNI 0
#endif

// Whether format F has a VNNI kernel (vnni_registry_x86.hpp is the list).
template <Format F>
inline constexpr bool kHasVnniKernel =
#if QKIT_MATMUL_VNNI
    vnni::Kernel<F>::kExists;
#else
    false;
#endif

// Whether the integer kernel runs now for format F (needs activations
// quantized to the pair format instead of f32 ones).
template <Format F>
inline bool UsesIntKernel() {
  if constexpr (kHasVnniKernel<F>) {
    if (cpu::has_fast_path(cpu::kFastVnni)) return true;
  }
  return HasIntKernel<F>();  // dot_q8_0-inl.h: Q8_0/Q4_0 everywhere; IQ4_NL, Q2_K..Q6_K, IQ4_XS but on SCALAR/SVE-without-sdot
}

template <Format F>
inline void Matmul(const MatmulArgs& a) {
#if QKIT_MATMUL_VNNI
  if constexpr (kHasVnniKernel<F>) {
    if (cpu::has_fast_path(cpu::kFastVnni)) {
      for (int64_t c0 = 0; c0 < a.act->n; c0 += kColumnBlock) {
        const int64_t c1 = c0 + kColumnBlock < a.act->n ? c0 + kColumnBlock : a.act->n;
        vnni::Kernel<F>::run(a, a.row_begin, a.row_end, c0, c1);
      }
      return;
    }
  }
#endif
  if (HasIntKernel<F>()) {  // dot_q8_0-inl.h (rows, or interleaved groups unpacked)
    MatmulInt<F>(a);
    return;
  }
  if constexpr (F == Format::F32 || F == Format::F16 || F == Format::BF16) {
    FloatMatmul<F>(a);
    return;
  }
  MatmulGeneric<F>(a, a.row_begin, a.row_end);
}

template <Format F>
inline const char* MatmulVariant() {
  if constexpr (kHasVnniKernel<F>) {
    if (cpu::has_fast_path(cpu::kFastVnni)) return HWY_TARGET == HWY_AVX3_DL ? "AVX3_DL+vnni" : "AVX3+vnni";
  }
  if constexpr (F == Format::BF16) {
    if (FloatMatmulUsesBf16Dot<F>()) return "AVX3_DL+bf16";
  }
  return IntVariant<F>();  // TargetVariant() plus "+dotprod" / "+i8mm" where used
}

// Whether the call needs quantized (true) or f32 (false) activations.
template <Format F>
inline bool MatmulWantsQuant() {
  return UsesIntKernel<F>();
}
// Whether this target has a kernel of its own for F's 16-row interleaved
// layout (elsewhere interleaved weights are unpacked group by group, which
// is slower than GGUF rows: repack_pays() in repack.hpp asks this).
template <Format F>
inline bool MatmulHasInterleavedKernel() {
#if QKIT_MATMUL_VNNI
  if constexpr (kHasVnniKernel<F>) return vnni::Kernel<F>::has_interleaved() && cpu::has_fast_path(cpu::kFastVnni);
#endif
  return false;
}

// Helper entry points have no variant of their own (qkit-info skips nullptr).
template <Format F>
inline const char* NoVariant() {
  return nullptr;
}

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
