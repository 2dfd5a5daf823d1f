// qkit/tensor/owned.hpp — tensors that own their storage (64-byte aligned,
// qkit::AlignedBuffer), handing out the views of tensor.hpp /
// any_tensor.hpp, and the conversions between dense f32 and any format.
//
//   OwnedTensor<float> x(Shape{3072, 8});       // uninitialised; x.zero()
//   OwnedAnyTensor w = quantize_tensor(x.cview(), Format::Q4_0);
//   OwnedTensor<float> back = to_f32(w.view());
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "qkit/base/aligned.hpp"
#include "qkit/base/checked.hpp"
#include "qkit/quant/registry.hpp"
#include "qkit/tensor/any_tensor.hpp"
#include "qkit/tensor/qtensor.hpp"
#include "qkit/tensor/tensor.hpp"

namespace qkit {

template <typename T>
class OwnedTensor {
 public:
  OwnedTensor() = default;
  explicit OwnedTensor(const Shape& shape)
      : shape_(shape), buf_(checked_size(static_cast<uint64_t>(shape.n_elements()), "tensor")) {}

  Tensor<T> view() { return Tensor<T>(buf_.data(), shape_); }
  Tensor<const T> view() const { return Tensor<const T>(buf_.data(), shape_); }
  Tensor<const T> cview() const { return view(); }
  operator Tensor<T>() { return view(); }              // NOLINT: implicit
  operator Tensor<const T>() const { return view(); }  // NOLINT: implicit

  T* data() { return buf_.data(); }
  const T* data() const { return buf_.data(); }
  const Shape& shape() const { return shape_; }
  int64_t ne(int i) const { return shape_.ne(i); }
  int64_t rows() const { return shape_.rows(); }
  int64_t cols() const { return shape_.cols(); }
  size_t size() const { return buf_.size(); }
  T* row(int64_t i) { return buf_.data() + i * cols(); }
  const T* row(int64_t i) const { return buf_.data() + i * cols(); }
  void zero() { buf_.zero(); }

 private:
  Shape shape_;
  AlignedBuffer<T> buf_;
};

// Any format, contiguous rows.
class OwnedAnyTensor {
 public:
  OwnedAnyTensor() = default;
  OwnedAnyTensor(Format format, const Shape& shape) : format_(format), shape_(shape) {
    const uint64_t rb = row_bytes(format, static_cast<uint64_t>(shape.cols()));
    buf_.reset(checked_size(checked_mul(rb, static_cast<uint64_t>(shape.rows()), "tensor bytes"), "tensor"));
  }

  AnyTensor view() { return AnyTensor(format_, static_cast<void*>(buf_.data()), shape_); }
  AnyTensor view() const { return AnyTensor(format_, static_cast<const void*>(buf_.data()), shape_); }
  AnyTensor cview() const { return view(); }

  Format format() const { return format_; }
  const Shape& shape() const { return shape_; }
  uint8_t* data() { return buf_.data(); }
  const uint8_t* data() const { return buf_.data(); }
  size_t nbytes() const { return buf_.size(); }
  void zero() { buf_.zero(); }

 private:
  Format format_ = Format::F32;
  Shape shape_;
  AlignedBuffer<uint8_t> buf_;
};

// Quantizes every row of src to `format` with the reference quantizer
// (bit-identical to the reference engine); imatrix: cols() importance
// weights or nullptr. Rows are split over n_threads; the result does not
// depend on it.
inline OwnedAnyTensor quantize_tensor(const Tensor<const float>& src, Format format, const float* imatrix = nullptr,
                                      int n_threads = 1) {
  OwnedAnyTensor out(format, src.shape());
  if (src.is_contiguous()) {
    quantize(format, src.data(), out.data(), src.rows(), src.cols(), imatrix, n_threads);
  } else {
    const size_t rb = out.view().row_bytes();
    for (int64_t i = 0; i < src.rows(); ++i) {
      quantize(format, src.row(i), out.data() + static_cast<size_t>(i) * rb, 1, src.cols(), imatrix, 1);
    }
  }
  return out;
}

// Any view as packed f32 (scalar reference dequantization).
inline OwnedTensor<float> to_f32(const AnyTensor& t) {
  OwnedTensor<float> out(t.shape());
  t.to_f32(out.data());
  return out;
}

}  // namespace qkit
