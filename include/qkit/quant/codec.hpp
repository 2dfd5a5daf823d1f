// qkit/quant/codec.hpp — the codec interface every format implements, and the
// small scalar helpers the reference quantizers share.
//
// Codec<F> is specialized once per format, in its family header (float.hpp,
// legacy.hpp, k_quants.hpp, ...). Each specialization provides:
//
//   using Block = <block struct>;          // float formats: float / f16 / bf16
//   static constexpr bool kHasQuantizer;   // optional (default true): false if
//                                          // qkit cannot produce the format
//   static void quantize_row(const float* x, void* dst, int64_t n, const float* imatrix);
//       // n: a multiple of the block size; imatrix: n per-column importance
//       // weights or nullptr; formats whose reference has no importance path
//       // ignore it. Bit-identical to the reference engine (ggml).
//   static void dequantize_row(const void* src, float* y, int64_t n);
//   static void validate_blocks(const void* src, size_t n_blocks);
//       // throws qkit::Error "<name> block <i>: <what>" for data the reference
//       // engine's row validation rejects (NaN/Inf scales, ...)
//
// Activation formats (Q8_0, Q8_1, Q8_K, and F32/F16/BF16, which pair with
// themselves) also provide
//   static void quantize_act_row(const float* x, void* dst, int64_t n);
//       // the quantizer the dot products' activation side uses; its scalar
//       // code is the reference every SIMD activation quantizer must equal
//       // bit for bit (see q8.hpp for the Q8_0/Q8_1 rounding rule).
//
// Non-finite input: weight quantizers reject NaN/Inf input with qkit::Error
// naming the element (a model file must not silently hold garbage);
// activation quantizers never throw: a block holding NaN/Inf gets the NaN
// scale (f16 0x7e00) and zero quants, so the dot product becomes NaN as the
// float computation would. Float formats (F32/F16/BF16) convert NaN/Inf as
// IEEE does. Each family header states its rule.
//
// Bit-exactness: the reference was built without FMA contraction in its
// quantizers, so scalar reference code is compiled with contraction off
// (QKIT_SCALAR_REF_BEGIN/END around a header for GCC, QKIT_NO_CONTRACT at
// the top of each function body for clang, and quant::product() for every
// product that meets an addition, which holds even under clang
// -ffp-contract=fast); otherwise -march=native or any
// aarch64 build would fuse a*b+c and change rounding (measured: without it,
// an aarch64 g++ build differs from the golden bytes in q4_0/q4_1/q5_1/iq4_xs
// imatrix rows and in q3_K/q4_K). For speed, the scale searches run eight
// independent groups at once, one per vector lane, each lane doing the
// scalar operations in the scalar order (quant/lanes.hpp, search_lanes.hpp;
// tests/test_quant_fast.cpp compares them with the scalar searches).
//
// Callers normally go through quant/registry.hpp (runtime Format) instead.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ios>

#include "qkit/base/config.hpp"
#include "qkit/base/error.hpp"
#include "qkit/base/fp16.hpp"
#include "qkit/quant/format.hpp"

#if defined(__clang__)
#define QKIT_NO_CONTRACT _Pragma("clang fp contract(off)")
#define QKIT_SCALAR_REF_BEGIN
#define QKIT_SCALAR_REF_END
#elif defined(__GNUC__)
#define QKIT_NO_CONTRACT
#define QKIT_SCALAR_REF_BEGIN _Pragma("GCC push_options") _Pragma("GCC optimize(\"fp-contract=off\")")
#define QKIT_SCALAR_REF_END _Pragma("GCC pop_options")
#else
#define QKIT_NO_CONTRACT
#define QKIT_SCALAR_REF_BEGIN
#define QKIT_SCALAR_REF_END
#endif

namespace qkit {

// Primary template: deliberately undefined, so a format without a codec is a
// compile error where it is used, and registry.hpp can detect it.
template <Format F>
struct Codec;

namespace quant {

// Round to nearest, ties to even, by the reference's float trick: adding
// 1.5 * 2^23 leaves the integer in the low mantissa bits. Valid for
// |x| <= 4194303; for larger values or NaN the result is meaningless but
// deterministic (never UB), exactly as in the reference.
inline int nearest_int(float x) {
  const float v = x + 12582912.f;
  int32_t i;
  std::memcpy(&i, &v, sizeof i);
  return (i & 0x007fffff) - 0x00400000;
}

// roundf(v) (round half away from zero) as an int, for |v| < 2^22, without
// a libm call (baseline x86-64 has no rounding instruction, so std::round is
// a call per value). Truncate, then step away from zero when the dropped
// fraction is at least one half: fi +- 0.5 is exact below 2^22 and v is only
// compared, never combined with a product, so no contraction can change it.
// -0.0 and every tie match roundf (exhaustively tested over [-256, 256]).
inline int round_half_away(float v) {
  const int i = static_cast<int>(v);
  const float fi = static_cast<float>(i);
  return i + (v >= fi + 0.5f) - (v <= fi - 0.5f);
}

// Rejects non-finite weight-quantizer input, naming the format and element.
inline void require_finite(const char* fmt, const float* x, int64_t n) {
  // Fast pass without branches (vectorizes): any element with an all-ones
  // exponent is NaN or Inf. Only then look for the first one to name it.
  uint32_t any = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, x + i, sizeof u);
    any |= (u & 0x7f800000u) == 0x7f800000u;
  }
  if (QKIT_LIKELY(!any)) return;
  for (int64_t i = 0; i < n; ++i) {
    if (QKIT_UNLIKELY(!std::isfinite(x[i]))) {
      fail(fmt, " quantize: input element ", i, " is ", std::isnan(x[i]) ? "NaN" : "Inf",
           " (weight quantizers need finite input)");
    }
  }
}

// fp_barrier(v): v unchanged but opaque to the optimizer, so a value passed
// through it is rounded to float before any later addition.
// product(a, b): a * b rounded to float and opaque to the optimizer, so it is never fused
// with a following addition into an FMA. The pragmas above cover GCC and
// clang's default; this also holds under clang -ffp-contract=fast (which
// ignores the pragma), so every product that meets an addition in the
// scalar references goes through here.
inline float fp_barrier(float v) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && defined(__SSE__)
  __asm__("" : "+x"(v));
#elif defined(__GNUC__) && defined(__aarch64__)
  __asm__("" : "+w"(v));
#else
  volatile float keep = v;
  v = keep;
#endif
  return v;
}
inline float product(float a, float b) { return fp_barrier(a * b); }

// nearest_int(a * b) with the product rounded first (nearest_int adds a
// constant, which would otherwise make a*b a fusable multiply-add).
inline int nearest_int_product(float a, float b) { return nearest_int(product(a, b)); }

// Values per block / bytes per block of a format, from the format registry.
template <Format F>
inline constexpr uint32_t kBlockSize = kFormatInfo[format_index(F)].block_size;
template <Format F>
inline constexpr uint32_t kBlockBytes = kFormatInfo[format_index(F)].block_bytes;

// The reference's f16 scale conversions (all scales are stored as IEEE half).
inline float half_to_float(f16 h) { return f16_to_f32(h.bits); }
inline f16 float_to_half(float f) { return f16{f32_to_f16(f)}; }

// Checks one f16 scale for the row validator; `what` names the field ("d").
inline void check_scale(const char* fmt, size_t block, const char* what, f16 h) {
  const uint16_t e = h.bits & 0x7c00u;
  if (e == 0x7c00u) {
    fail(fmt, " block ", block, ": scale ", what, " is ", (h.bits & 0x3ffu) ? "NaN" : "Inf", " (bits 0x",
         std::hex, h.bits, ")");
  }
}

}  // namespace quant
}  // namespace qkit
