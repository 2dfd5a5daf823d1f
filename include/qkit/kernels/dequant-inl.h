// qkit/kernels/dequant-inl.h — the per-target entry point of dequantization:
// DequantizeRow<F>(src, dst, n) turns n values (a whole number of blocks,
// checked by the caller, kernels/dequant.hpp) of format F into f32,
// bit-identical to Codec<F>::dequantize_row on every target.
//
// The per-family unpacking lives beside this file: dequant_legacy-inl.h
// (Q4_0..Q8_1), dequant_k-inl.h (K-quants), dequant_iq-inl.h (IQ4_NL,
// IQ4_XS, MXFP4), dequant_ternary-inl.h (TQ1_0, TQ2_0); F16/BF16 reuse
// convert-inl.h. HWY_SCALAR (g++'s x86 fallback, one lane) runs the scalar
// reference itself.
#if defined(QKIT_KERNELS_DEQUANT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_DEQUANT_INL_H_
#undef QKIT_KERNELS_DEQUANT_INL_H_
#else
#define QKIT_KERNELS_DEQUANT_INL_H_
#endif

#include <cstdint>
#include <cstring>

#include "hwy/highway.h"
#include "qkit/base/error.hpp"
#include "qkit/kernels/common-inl.h"
#include "qkit/kernels/convert-inl.h"
#include "qkit/kernels/dequant_iq-inl.h"
#include "qkit/kernels/dequant_k-inl.h"
#include "qkit/kernels/dequant_legacy-inl.h"
#include "qkit/kernels/dequant_scale-inl.h"
#include "qkit/kernels/dequant_ternary-inl.h"
#include "qkit/quant/float.hpp"
#include "qkit/quant/iq4.hpp"
#include "qkit/quant/k_quants.hpp"
#include "qkit/quant/legacy.hpp"
#include "qkit/quant/mxfp4.hpp"
#include "qkit/quant/ternary.hpp"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {

// True for the formats DequantizeRow handles (every format qkit knows).
template <Format F>
inline constexpr bool kCanDequantize =
    F == Format::F32 || F == Format::F16 || F == Format::BF16 || F == Format::Q4_0 || F == Format::Q4_1 ||
    F == Format::Q5_0 || F == Format::Q5_1 || F == Format::Q8_0 || F == Format::Q8_1 || F == Format::Q2_K ||
    F == Format::Q3_K || F == Format::Q4_K || F == Format::Q5_K || F == Format::Q6_K || F == Format::Q8_K ||
    F == Format::IQ4_NL || F == Format::IQ4_XS || F == Format::TQ1_0 || F == Format::TQ2_0 || F == Format::MXFP4;

// n: a multiple of F's block size, n >= 0 (the public entry point checks).
template <Format F>
inline void DequantizeRow(const void* HWY_RESTRICT src, float* HWY_RESTRICT dst, int64_t n) {
  if constexpr (!kCanDequantize<F>) {
    (void)src;
    (void)dst;
    (void)n;
    fail("dequantize_row: no kernel for format ", static_cast<uint32_t>(F));
  } else if constexpr (F == Format::F32) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
  } else if constexpr (F == Format::F16) {
    F16ToF32Row(static_cast<const uint16_t*>(src), dst, static_cast<size_t>(n));
  } else if constexpr (F == Format::BF16) {
    BF16ToF32Row(static_cast<const uint16_t*>(src), dst, static_cast<size_t>(n));
  } else {
#if HWY_TARGET == HWY_SCALAR
    Codec<F>::dequantize_row(src, dst, n);
#else
    const size_t nb = static_cast<size_t>(n) / quant::kBlockSize<F>;
    if constexpr (F == Format::Q4_0) DequantQ4_0(src, dst, nb);
    if constexpr (F == Format::Q4_1) DequantQ4_1(src, dst, nb);
    if constexpr (F == Format::Q5_0) DequantQ5_0(src, dst, nb);
    if constexpr (F == Format::Q5_1) DequantQ5_1(src, dst, nb);
    if constexpr (F == Format::Q8_0) DequantQ8<BlockQ8_0>(src, dst, nb);
    if constexpr (F == Format::Q8_1) DequantQ8<BlockQ8_1>(src, dst, nb);
    if constexpr (F == Format::Q2_K) DequantQ2K(src, dst, nb);
    if constexpr (F == Format::Q3_K) DequantQ3K(src, dst, nb);
    if constexpr (F == Format::Q4_K) DequantQ4K(src, dst, nb);
    if constexpr (F == Format::Q5_K) DequantQ5K(src, dst, nb);
    if constexpr (F == Format::Q6_K) DequantQ6K(src, dst, nb);
    if constexpr (F == Format::Q8_K) DequantQ8K(src, dst, nb);
    if constexpr (F == Format::IQ4_NL) DequantIQ4_NL(src, dst, nb);
    if constexpr (F == Format::IQ4_XS) DequantIQ4_XS(src, dst, nb);
    if constexpr (F == Format::MXFP4) DequantMXFP4(src, dst, nb);
    if constexpr (F == Format::TQ1_0) DequantTQ1_0(src, dst, nb);
    if constexpr (F == Format::TQ2_0) DequantTQ2_0(src, dst, nb);
#endif
  }
}

// Which code DequantizeRow<F> runs here; nullptr for formats it rejects.
template <Format F>
inline const char* DequantizeVariant() {
  if constexpr (!kCanDequantize<F>) return nullptr;
  if (HWY_TARGET == HWY_SCALAR && F != Format::F16 && F != Format::BF16) return "SCALAR+ref";
  return TargetVariant();
}

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
