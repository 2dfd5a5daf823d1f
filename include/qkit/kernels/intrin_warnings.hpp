// qkit/kernels/intrin_warnings.hpp — brackets for headers of raw-intrinsic
// kernels (vnni_*_x86.hpp, bf16_x86.hpp).
//
// GCC 12 reports a false -Wuninitialized / -Wmaybe-uninitialized inside
// avx512fintrin.h (its _mm512_undefined_* idiom) when those intrinsics are
// inlined, and qkit builds with -Werror; the warnings are silenced for the
// bracketed code only.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#define QKIT_INTRIN_WARNINGS_BEGIN                                 \
  _Pragma("GCC diagnostic push")                                   \
  _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")            \
  _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define QKIT_INTRIN_WARNINGS_END _Pragma("GCC diagnostic pop")
#else
#define QKIT_INTRIN_WARNINGS_BEGIN
#define QKIT_INTRIN_WARNINGS_END
#endif
