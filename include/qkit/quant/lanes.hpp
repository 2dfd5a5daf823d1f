// qkit/quant/lanes.hpp — 4-lane float/int vectors (GCC/clang vector
// extensions) for running the reference quantizers' scale searches on four
// independent groups at once: lane k holds group k's value, and every lane
// performs exactly the scalar reference's operations in the scalar
// reference's order (IEEE single precision per lane, as SSE2/NEON compute
// it), so the results are bit-identical to four scalar calls.
//
// Why: the scalar searches are chains of dependent float additions (each sum
// in the reference's left-to-right order), so one group at a time is bound by
// add latency. Four groups side by side keep that order per group and fill
// the vector unit instead.
//
// Contraction: every product that meets an addition goes through
// lanes::barrier(), an empty asm that makes the rounded product opaque (the
// same guarantee as quant::product(), and it holds under clang
// -ffp-contract=fast too). Only additions, products, divisions, compares and
// bit operations are used: all exact per lane.
//
// QKIT_QUANT_LANES is 1 where these vectors exist (GCC/clang on x86 with
// SSE2, or aarch64); elsewhere callers fall back to the scalar searches.
#pragma once

#include <cstdint>

#if defined(__GNUC__) && ((defined(__x86_64__) || defined(__i386__)) && defined(__SSE2__) || defined(__aarch64__))
#define QKIT_QUANT_LANES 1
#else
#define QKIT_QUANT_LANES 0
#endif

#if QKIT_QUANT_LANES
namespace qkit::quant::lanes {

typedef float F4 __attribute__((vector_size(16)));
typedef int32_t I4 __attribute__((vector_size(16)));

// v unchanged, but opaque to the optimizer: a product passed through here is
// rounded to float before any later addition.
inline F4 barrier(F4 v) {
#if defined(__aarch64__)
  __asm__("" : "+w"(v));
#else
  __asm__("" : "+x"(v));
#endif
  return v;
}

inline F4 splat(float v) { return F4{v, v, v, v}; }
inline I4 splat_i(int32_t v) { return I4{v, v, v, v}; }
// Same-size vector casts reinterpret the bits (GCC/clang vector extensions).
inline I4 as_int(F4 v) { return (I4)v; }
inline F4 as_float(I4 v) { return (F4)v; }
inline F4 to_float(I4 v) { return __builtin_convertvector(v, F4); }

// Lanes of a where mask (all ones / all zeros per lane, as compares give), else b.
inline I4 select(I4 mask, I4 a, I4 b) { return (a & mask) | (b & ~mask); }
inline F4 select(I4 mask, F4 a, F4 b) { return as_float(select(mask, as_int(a), as_int(b))); }

inline F4 abs(F4 v) { return as_float(as_int(v) & splat_i(0x7fffffff)); }

// quant::nearest_int per lane (the 1.5 * 2^23 trick, ties to even); the
// argument must already be a rounded product (pass it through barrier()).
inline I4 nearest_int(F4 v) {
  const F4 t = v + splat(12582912.f);
  return (as_int(t) & splat_i(0x007fffff)) - splat_i(0x00400000);
}

inline I4 clamp(I4 l, int32_t lo, int32_t hi) {
  l = select(l < splat_i(lo), splat_i(lo), l);
  return select(l > splat_i(hi), splat_i(hi), l);
}

}  // namespace qkit::quant::lanes
#endif
