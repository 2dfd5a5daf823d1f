// qkit/kernels/norm.hpp — dispatched RMSNorm, LayerNorm and residual add.
//
// Rows are contiguous: x and out are [rows][n] f32; out may alias x.
// Sums are f32 with vector accumulators (the reference engine sums in
// double): relative error <= 1e-5 against a double reference, tested on
// every target.
#pragma once

#include <cstddef>

#include "qkit/base/error.hpp"
#include "qkit/kernels/tables.hpp"

namespace qkit {

// out = x / sqrt(mean(x^2) + eps) * w (w: n weights, or null for none).
inline void rms_norm(const float* x, const float* w, float* out, size_t rows, size_t n, float eps) {
  require(n > 0 || rows == 0, "rms_norm: empty rows (n = 0) for ", rows, " rows");
  QKIT_DISPATCH(rms_norm)(x, w, out, rows, n, eps);
}

// out = (x - mean) / sqrt(var + eps) * w + b, population variance (as
// ggml_norm); w or b may be null (1 or 0).
inline void layer_norm(const float* x, const float* w, const float* b, float* out, size_t rows, size_t n,
                       float eps) {
  require(n > 0 || rows == 0, "layer_norm: empty rows (n = 0) for ", rows, " rows");
  QKIT_DISPATCH(layer_norm)(x, w, b, out, rows, n, eps);
}

// out = a + b over n floats (the residual connection); out may alias a or b.
inline void add(const float* a, const float* b, float* out, size_t n) { QKIT_DISPATCH(add_f32)(a, b, out, n); }

}  // namespace qkit
