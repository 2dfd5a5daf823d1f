// qkit/tensor/tensor.hpp — Tensor<T>: a non-owning view of dense values
// (float, f16, bf16, int8_t, int32_t, ...), up to 4 dims in GGUF order,
// with byte strides between rows. T may be const (Tensor<const float> is a
// read-only view; Tensor<float> converts to it).
//
// Values within a row are contiguous; rows are reached through the strides,
// so a view can be a slice of a larger tensor. Construction checks the
// shape; row(i) is unchecked in release builds (QKIT_DASSERT), as it sits
// in hot loops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qkit/base/config.hpp"
#include "qkit/base/error.hpp"
#include "qkit/base/fp16.hpp"
#include "qkit/quant/format.hpp"
#include "qkit/tensor/shape.hpp"

namespace qkit {

// The qkit Format of a dense element type, where it has one.
template <typename T>
struct DenseFormat {
  static constexpr bool kHas = false;
};
template <>
struct DenseFormat<float> {
  static constexpr bool kHas = true;
  static constexpr Format kFormat = Format::F32;
};
template <>
struct DenseFormat<f16> {
  static constexpr bool kHas = true;
  static constexpr Format kFormat = Format::F16;
};
template <>
struct DenseFormat<bf16> {
  static constexpr bool kHas = true;
  static constexpr Format kFormat = Format::BF16;
};

namespace detail {
template <typename V>
inline float value_to_f32(V v) {
  if constexpr (std::is_same<V, f16>::value) return f16_to_f32(v.bits);
  else if constexpr (std::is_same<V, bf16>::value) return bf16_to_f32(v.bits);
  else return static_cast<float>(v);
}
}  // namespace detail

template <typename T>
class Tensor : public LayoutAccessors<Tensor<T>> {
 public:
  // A dependent base: its names need bringing in.
  using B = LayoutAccessors<Tensor<T>>;
  using B::cols, B::is_contiguous, B::n_dims, B::n_elements, B::nb, B::ne, B::rows, B::shape;

  using value_type = std::remove_const_t<T>;
  static_assert(std::is_trivially_copyable<value_type>::value, "Tensor<T> holds plain values");

  Tensor() = default;
  // Densely packed rows.
  Tensor(T* data, const Shape& shape)
      : data_(data), layout_(Layout::contiguous(shape, sizeof(T), checked_mul(static_cast<uint64_t>(shape.cols()), sizeof(T), "row bytes"))) {
    require(data != nullptr || shape.n_elements() == 0, "Tensor ", shape.str(), ": null data");
  }
  // Explicit byte strides nb1..nb3 between rows, matrices and batches.
  Tensor(T* data, const Shape& shape, uint64_t nb1, uint64_t nb2, uint64_t nb3) : data_(data) {
    layout_.shape = shape;
    layout_.nb = {sizeof(T), nb1, nb2, nb3};
    require(data != nullptr || shape.n_elements() == 0, "Tensor ", shape.str(), ": null data");
    require(nb1 >= static_cast<uint64_t>(shape.cols()) * sizeof(T), "Tensor ", shape.str(), ": row stride ", nb1,
            " is shorter than a row");
  }
  Tensor(T* data, const Layout& layout) : data_(data), layout_(layout) {}

  // Tensor<float> -> Tensor<const float>.
  template <typename U, typename = std::enable_if_t<std::is_same<const U, T>::value && !std::is_same<U, T>::value>>
  Tensor(const Tensor<U>& o) : data_(o.data()), layout_(o.layout()) {}  // NOLINT: implicit on purpose

  T* data() const { return data_; }
  const Layout& layout() const { return layout_; }
  size_t row_bytes() const { return static_cast<size_t>(cols()) * sizeof(T); }
  bool empty() const { return n_elements() == 0; }

  // Flat row i, rows enumerated with ne[1] fastest.
  T* row(int64_t i) const {
    QKIT_DASSERT(i >= 0 && i < rows());
    return reinterpret_cast<T*>(bytes() + layout_.row_offset(i));
  }
  T& operator()(int64_t i0, int64_t i1 = 0, int64_t i2 = 0, int64_t i3 = 0) const {
    QKIT_DASSERT(i0 >= 0 && i0 < ne(0) && i1 >= 0 && i1 < ne(1) && i2 >= 0 && i2 < ne(2) && i3 >= 0 && i3 < ne(3));
    return *reinterpret_cast<T*>(bytes() + static_cast<uint64_t>(i1) * nb(1) + static_cast<uint64_t>(i2) * nb(2) +
                                 static_cast<uint64_t>(i3) * nb(3) + static_cast<uint64_t>(i0) * sizeof(T));
  }

  // Rows [begin, begin + count) of the flattened rows, as a 2-D view.
  Tensor slice_rows(int64_t begin, int64_t count) const {
    uint64_t off = 0;
    const Layout l = layout_.slice_rows(begin, count, &off);
    return Tensor(reinterpret_cast<T*>(bytes() + off), l);
  }

  // The same values with another shape of as many elements (contiguous only).
  Tensor reshape(const Shape& s) const {
    require(is_contiguous(), "reshape: tensor ", shape().str(), " is not contiguous");
    require(s.n_elements() == n_elements(), "reshape: shape ", shape().str(), " cannot become ", s.str());
    return Tensor(data_, s);
  }

  // Row i converted to f32 (cols() values).
  void dequantize_row(int64_t i, float* dst) const {
    require(i >= 0 && i < rows(), "dequantize_row: row ", i, " out of range for shape ", shape().str());
    const T* r = row(i);
    if constexpr (std::is_same<value_type, float>::value) {
      std::memcpy(dst, r, row_bytes());
    } else {
      for (int64_t j = 0; j < cols(); ++j) dst[j] = detail::value_to_f32(r[j]);
    }
  }
  // All rows as f32, packed (rows() * cols() values).
  void to_f32(float* dst) const {
    for (int64_t i = 0; i < rows(); ++i) dequantize_row(i, dst + i * cols());
  }

 private:
  using Byte = std::conditional_t<std::is_const<T>::value, const uint8_t, uint8_t>;
  Byte* bytes() const { return reinterpret_cast<Byte*>(data_); }

  T* data_ = nullptr;
  Layout layout_ = Layout::contiguous(Shape{}, sizeof(T), 0);
};

}  // namespace qkit
