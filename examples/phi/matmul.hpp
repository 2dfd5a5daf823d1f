// examples/phi/matmul.hpp — Y = X W^T for a Matrix of any format: the one
// place the model multiplies by weights. A single token goes through
// qkit::gemv (decode, bound by memory bandwidth), a batch through qkit::gemm
// (prompt, bound by int8 throughput). Both quantize the activations to the
// weights' pair format exactly as the reference engine does.
#pragma once

#include <cstdint>

#include "phi/weights.hpp"
#include "qkit/kernels/matmul.hpp"
#include "qkit/thread/pool.hpp"

namespace phi {

inline qkit::WeightView weight_view(const Matrix& W) {
  qkit::WeightView v;
  v.format = W.format;
  v.data = W.data;
  v.rows = W.rows;
  v.cols = W.cols;
  v.row_stride = W.row_stride;
  v.layout = W.layout;
  return v;
}

// Y[n][W.rows] = X[n][W.cols] * W^T.
inline void matmul(const Matrix& W, const float* X, int64_t n, float* Y, qkit::ThreadPool* pool) {
  if (n == 1) {
    qkit::gemv(weight_view(W), X, Y, pool);
  } else {
    qkit::gemm(weight_view(W), X, n, Y, pool);
  }
}

}  // namespace phi
