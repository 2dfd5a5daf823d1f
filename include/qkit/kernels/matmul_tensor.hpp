// qkit/kernels/matmul_tensor.hpp — gemv / gemm taking AnyTensor (or any
// QTensor / Tensor, which convert to it) weights: a GGUF tensor of shape
// [K, M] in ggml order, i.e. M rows of K values.
#pragma once

#include "qkit/kernels/matmul.hpp"
#include "qkit/tensor/any_tensor.hpp"

namespace qkit {

// The rows of a matrix tensor; throws for a non-contiguous tensor of more
// than two dimensions (its rows do not have one stride).
inline WeightView weight_view(const AnyTensor& t) {
  require(t.n_dims() <= 2 || t.is_contiguous(), "matmul: weights ", t.str(),
          " are not a matrix of equally spaced rows");
  const size_t stride = t.is_contiguous() || t.n_dims() < 2 ? t.row_bytes() : static_cast<size_t>(t.nb(1));
  return WeightView{t.format(), t.data(), t.rows(), t.cols(), stride};
}

inline void gemv(const AnyTensor& W, const float* x, float* y, ThreadPool* pool = nullptr) {
  gemv(weight_view(W), x, y, pool);
}
inline void gemm(const AnyTensor& W, const float* X, int64_t n, float* Y, ThreadPool* pool = nullptr) {
  gemm(weight_view(W), X, n, Y, pool);
}

}  // namespace qkit
