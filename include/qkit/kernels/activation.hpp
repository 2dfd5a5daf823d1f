// qkit/kernels/activation.hpp — dispatched activations, softmax and the
// vector exp/tanh/erf they are built from (error bounds: math-inl.h).
//
// All take f32 rows; out may alias the input except for swiglu (whose
// output row is half the input row: out may alias the input only when
// rows == 1).
#pragma once

#include <cstddef>

#include "qkit/base/error.hpp"
#include "qkit/kernels/tables.hpp"

namespace qkit {

// x / (1 + e^-x)
inline void silu(const float* x, float* out, size_t n) { QKIT_DISPATCH(silu_f32)(x, out, n); }

// GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
// — Phi-2's activation and ggml_gelu's formula (ggml by default looks it up
// in an f16 table, so ggml itself differs from the formula by up to ~1e-3).
inline void gelu_tanh(const float* x, float* out, size_t n) { QKIT_DISPATCH(gelu_tanh_f32)(x, out, n); }

// Exact GELU: 0.5 x (1 + erf(x / sqrt 2)).
inline void gelu_erf(const float* x, float* out, size_t n) { QKIT_DISPATCH(gelu_erf_f32)(x, out, n); }

// gate_up: [rows][2n], each row = gate (n) | up (n); out: [rows][n] =
// silu(gate) * up.
inline void swiglu(const float* gate_up, float* out, size_t rows, size_t n) {
  QKIT_DISPATCH(swiglu_f32)(gate_up, out, rows, n);
}

// softmax(x / temperature) per row of n; -inf entries (masks) get exactly
// 0, a row of only -inf becomes all 0. temperature > 0.
inline void softmax(const float* x, float* out, size_t rows, size_t n, float temperature = 1.0f) {
  require(temperature > 0.0f, "softmax: temperature must be > 0, got ", temperature);
  QKIT_DISPATCH(softmax_f32)(x, out, rows, n, 1.0f / temperature);
}

// Elementwise e^x, tanh, erf (the building blocks, exposed for tests and
// other kernels' users).
inline void exp_row(const float* x, float* out, size_t n) { QKIT_DISPATCH(exp_f32)(x, out, n); }
inline void tanh_row(const float* x, float* out, size_t n) { QKIT_DISPATCH(tanh_f32)(x, out, n); }
inline void erf_row(const float* x, float* out, size_t n) { QKIT_DISPATCH(erf_f32)(x, out, n); }

}  // namespace qkit
