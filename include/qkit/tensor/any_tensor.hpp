// qkit/tensor/any_tensor.hpp — AnyTensor: a type-erased view holding the
// runtime Format, so data read at run time (a GGUF tensor) reaches kernels
// written once as templates.
//
//   any.visit([&](auto t) { ... });         // t: Tensor<const float|f16|bf16> for the
//                                           // float formats, QTensor<F> otherwise
//   any.visit_format([&](auto q) { ... });  // q: QTensor<F> for every format
//   any.as<Format::Q4_0>()                  // throws naming both formats if it is not
//
// The view is read-only unless built from a mutable pointer
// (mutable_data() throws otherwise: views over a mapped file must not be
// written).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "qkit/base/error.hpp"
#include "qkit/base/fp16.hpp"
#include "qkit/quant/format.hpp"
#include "qkit/quant/registry.hpp"
#include "qkit/tensor/qtensor.hpp"
#include "qkit/tensor/shape.hpp"
#include "qkit/tensor/tensor.hpp"

namespace qkit {

// The dense element type of a float format (void for block formats).
template <Format F>
using dense_type_t = std::conditional_t<
    F == Format::F32, float, std::conditional_t<F == Format::F16, f16, std::conditional_t<F == Format::BF16, bf16, void>>>;

class AnyTensor : public LayoutAccessors<AnyTensor> {
 public:
  AnyTensor() = default;
  AnyTensor(Format format, const void* data, const Shape& shape) : AnyTensor(format, data, shape, false) {}
  AnyTensor(Format format, void* data, const Shape& shape) : AnyTensor(format, data, shape, true) {}
  AnyTensor(Format format, const void* data, const Layout& layout)
      : format_(format), data_(static_cast<const uint8_t*>(data)), layout_(layout) {
    checked_row_bytes(format, layout.shape);
  }
  template <Format F>
  AnyTensor(const QTensor<F>& q) : format_(F), data_(q.data()), layout_(q.layout()) {}  // NOLINT: implicit
  template <typename T, typename = std::enable_if_t<DenseFormat<std::remove_const_t<T>>::kHas>>
  AnyTensor(const Tensor<T>& t)  // NOLINT: implicit
      : format_(DenseFormat<std::remove_const_t<T>>::kFormat),
        data_(reinterpret_cast<const uint8_t*>(t.data())),
        layout_(t.layout()),
        writable_(!std::is_const<T>::value) {}

  Format format() const { return format_; }
  const FormatInfo& format_info() const { return qkit::format_info(format_); }
  const uint8_t* data() const { return data_; }
  void* mutable_data() const {
    require(writable_, "AnyTensor ", qkit::format_name(format_), " ", shape().str(), " is a read-only view");
    return const_cast<uint8_t*>(data_);
  }
  bool writable() const { return writable_; }
  const Layout& layout() const { return layout_; }
  size_t row_bytes() const { return static_cast<size_t>(qkit::row_bytes(format_, static_cast<uint64_t>(cols()))); }
  size_t nbytes() const { return row_bytes() * static_cast<size_t>(rows()); }
  std::string str() const { return std::string(qkit::format_name(format_)) + " " + shape().str(); }

  const uint8_t* row(int64_t i) const {
    QKIT_DASSERT(i >= 0 && i < rows());
    return data_ + layout_.row_offset(i);
  }

  AnyTensor slice_rows(int64_t begin, int64_t count) const {
    uint64_t off = 0;
    AnyTensor t = *this;
    t.layout_ = layout_.slice_rows(begin, count, &off);
    t.data_ = data_ + off;
    return t;
  }

  void dequantize_row(int64_t i, float* dst) const {
    require(i >= 0 && i < rows(), "dequantize_row: row ", i, " out of range for ", str());
    dequantize_row_ref(format_, row(i), dst, cols());
  }
  void to_f32(float* dst) const {
    for (int64_t i = 0; i < rows(); ++i) dequantize_row(i, dst + i * cols());
  }

  // The concrete view; throws naming both formats and the shape on mismatch.
  template <Format F>
  QTensor<F> as() const {
    check_format(F);
    return QTensor<F>(data_, layout_);
  }
  template <typename T>
  Tensor<const T> as_dense() const {
    static_assert(DenseFormat<T>::kHas, "as_dense<T>: T must be float, f16 or bf16");
    check_format(DenseFormat<T>::kFormat);
    return Tensor<const T>(reinterpret_cast<const T*>(data_), layout_);
  }

  void check_format(Format want) const {
    if (want != format_) fail("tensor ", str(), ": expected format ", qkit::format_name(want), ", got ", qkit::format_name(format_));
  }
  void check_shape(const Shape& want, const char* what) const {
    if (want != shape()) fail(what, ": tensor ", str(), " has shape ", shape().str(), ", expected ", want.str());
  }

  // fn(Tensor<const float|f16|bf16>) for float formats, fn(QTensor<F>) otherwise.
  template <typename Fn>
  decltype(auto) visit(Fn&& fn) const {
    switch (format_) {
#define QKIT_X(E, id, name, bs, bb, pair) \
  case Format::E:                         \
    return visit_one<Format::E>(std::forward<Fn>(fn));
      QKIT_FORMATS(QKIT_X)
#undef QKIT_X
    }
    fail("AnyTensor::visit: unknown format id ", static_cast<uint32_t>(format_));
  }

  // fn(QTensor<F>) for every format, float formats included.
  template <typename Fn>
  decltype(auto) visit_format(Fn&& fn) const {
    switch (format_) {
#define QKIT_X(E, id, name, bs, bb, pair) \
  case Format::E:                         \
    return std::forward<Fn>(fn)(QTensor<Format::E>(data_, layout_));
      QKIT_FORMATS(QKIT_X)
#undef QKIT_X
    }
    fail("AnyTensor::visit_format: unknown format id ", static_cast<uint32_t>(format_));
  }

 private:
  AnyTensor(Format format, const void* data, const Shape& shape, bool writable)
      : format_(format), data_(static_cast<const uint8_t*>(data)),
        layout_(Layout::contiguous(shape, qkit::format_info(format).block_bytes, checked_row_bytes(format, shape))),
        writable_(writable) {
    require(data != nullptr || shape.n_elements() == 0, "tensor ", str(), ": null data");
  }

  static uint64_t checked_row_bytes(Format f, const Shape& s) {
    const FormatInfo& fi = qkit::format_info(f);
    if (s.cols() % fi.block_size != 0) {
      fail(fi.name, " tensor ", s.str(), ": row length ", s.cols(), " is not a multiple of the block size ",
           fi.block_size);
    }
    return checked_mul(static_cast<uint64_t>(s.cols()) / fi.block_size, fi.block_bytes, "row bytes");
  }

  template <Format F, typename Fn>
  decltype(auto) visit_one(Fn&& fn) const {
    using T = dense_type_t<F>;
    if constexpr (std::is_void<T>::value) {
      return std::forward<Fn>(fn)(QTensor<F>(data_, layout_));
    } else {
      return std::forward<Fn>(fn)(Tensor<const T>(reinterpret_cast<const T*>(data_), layout_));
    }
  }

  Format format_ = Format::F32;
  const uint8_t* data_ = nullptr;
  Layout layout_ = Layout::contiguous(Shape{}, 4, 0);
  bool writable_ = false;
};

}  // namespace qkit
