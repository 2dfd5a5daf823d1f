// qkit/kernels/quantize_act.hpp — dispatched activation quantization: f32
// rows to Q8_0 / Q8_1 / Q8_K blocks (GGUF layouts), bit-identical on every
// target to the scalar rule documented in act_layout.hpp (the reference
// engine's CPU activation path). n must be a multiple of the block size
// (32, or 256 for Q8_K); input must be finite.
#pragma once

#include <cstdint>

#include "qkit/base/error.hpp"
#include "qkit/kernels/act_layout.hpp"
#include "qkit/kernels/tables.hpp"

namespace qkit {

namespace detail {
inline void check_act_len(const char* what, int64_t n, int64_t block) {
  require(n >= 0 && n % block == 0, what, ": row of ", n, " values is not a multiple of ", block);
}
}  // namespace detail

inline void quantize_act_q8_0(const float* x, void* dst, int64_t n) {
  detail::check_act_len("quantize_act_q8_0", n, 32);
  QKIT_DISPATCH(act_q8_0_row)(x, dst, n);
}
inline void quantize_act_q8_1(const float* x, void* dst, int64_t n) {
  detail::check_act_len("quantize_act_q8_1", n, 32);
  QKIT_DISPATCH(act_q8_1_row)(x, dst, n);
}
inline void quantize_act_q8_K(const float* x, void* dst, int64_t n) {
  detail::check_act_len("quantize_act_q8_K", n, 256);
  QKIT_DISPATCH(act_q8_k_row)(x, dst, n);
}

// By pair format (Q8_0, Q8_1 or Q8_K).
inline void quantize_act(Format pair, const float* x, void* dst, int64_t n) {
  switch (pair) {
    case Format::Q8_0: return quantize_act_q8_0(x, dst, n);
    case Format::Q8_1: return quantize_act_q8_1(x, dst, n);
    case Format::Q8_K: return quantize_act_q8_K(x, dst, n);
    default: fail("quantize_act: ", format_name(pair), " is not an activation format (q8_0, q8_1, q8_K)");
  }
}

}  // namespace qkit
