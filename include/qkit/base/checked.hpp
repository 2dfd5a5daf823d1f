// qkit/base/checked.hpp — overflow-safe size arithmetic for untrusted input.
//
// Sizes and offsets read from files are combined only through these helpers
// before any pointer is formed; on overflow they throw qkit::Error naming
// what was being computed.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qkit/base/error.hpp"

namespace qkit {

inline uint64_t checked_mul(uint64_t a, uint64_t b, const char* what) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) fail("size overflow computing ", what, ": ", a, " * ", b);
  return r;
}

inline uint64_t checked_add(uint64_t a, uint64_t b, const char* what) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) fail("size overflow computing ", what, ": ", a, " + ", b);
  return r;
}

// Rounds up to a multiple of `align` (a power of two or any positive value).
inline uint64_t checked_align_up(uint64_t v, uint64_t align, const char* what) {
  require(align != 0, "alignment of 0 computing ", what);
  const uint64_t rem = v % align;
  return rem == 0 ? v : checked_add(v, align - rem, what);
}

// Converts to size_t, failing where size_t is narrower (32-bit hosts).
inline size_t checked_size(uint64_t v, const char* what) {
  if (v > static_cast<uint64_t>(SIZE_MAX)) fail(what, " of ", v, " bytes does not fit in memory");
  return static_cast<size_t>(v);
}

}  // namespace qkit
