// qkit/tensor/shape.hpp — tensor shapes (up to 4 dims, GGUF order) and the
// byte strides between rows, shared by every tensor view.
//
// GGUF order: ne[0] is the row length (values within a row are contiguous,
// as block formats require), ne[1] the rows of a matrix, ne[2] and ne[3]
// batch dimensions. A shape with fewer dims has the others equal to 1.
// Strides nb[1..3] are in bytes (as ggml's nb); nb[0] is the bytes of one
// element or block.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "qkit/base/checked.hpp"
#include "qkit/base/error.hpp"
#include "qkit/quant/format.hpp"

namespace qkit {

inline constexpr int kMaxDims = 4;

class Shape {
 public:
  Shape() = default;  // empty: 1-D of zero elements
  Shape(std::initializer_list<int64_t> ne) { assign(ne.begin(), ne.size()); }
  explicit Shape(const std::vector<int64_t>& ne) { assign(ne.data(), ne.size()); }

  int n_dims() const { return n_dims_; }
  int64_t ne(int i) const { return i >= 0 && i < kMaxDims ? ne_[static_cast<size_t>(i)] : 1; }
  int64_t cols() const { return ne_[0]; }
  int64_t rows() const { return ne_[1] * ne_[2] * ne_[3]; }
  int64_t n_elements() const { return cols() * rows(); }  // checked in assign
  std::vector<int64_t> dims() const { return std::vector<int64_t>(ne_.begin(), ne_.begin() + n_dims_); }

  bool operator==(const Shape& o) const { return ne_ == o.ne_; }  // trailing 1s do not count
  bool operator!=(const Shape& o) const { return !(*this == o); }

  std::string str() const {
    std::string s = "[";
    for (int i = 0; i < n_dims_; ++i) s += (i ? ", " : "") + std::to_string(ne_[static_cast<size_t>(i)]);
    return s + "]";
  }

 private:
  void assign(const int64_t* ne, size_t n) {
    require(n >= 1 && n <= static_cast<size_t>(kMaxDims), "tensor shape needs 1 to ", kMaxDims, " dims, got ", n);
    uint64_t total = 1;
    for (size_t i = 0; i < n; ++i) {
      require(ne[i] >= 0, "tensor shape has a negative dimension: ne[", i, "] = ", ne[i]);
      total = checked_mul(total, static_cast<uint64_t>(ne[i]), "tensor element count");
      ne_[i] = ne[i];
    }
    require(total <= static_cast<uint64_t>(INT64_MAX), "tensor element count ", total, " is too large");
    n_dims_ = static_cast<int>(n);
  }

  std::array<int64_t, kMaxDims> ne_{0, 1, 1, 1};
  int n_dims_ = 1;
};

inline void require_same_shape(const Shape& a, const Shape& b, const char* what) {
  require(a == b, what, ": shape ", a.str(), " does not match ", b.str());
}

// Shape + byte strides of a view whose rows hold row_bytes bytes each.
struct Layout {
  Shape shape;
  std::array<uint64_t, kMaxDims> nb{0, 0, 0, 0};  // nb[0]: bytes per element / block

  // Densely packed rows; row_bytes is validated (and overflow-checked) by the caller.
  static Layout contiguous(const Shape& s, uint64_t unit_bytes, uint64_t row_bytes) {
    Layout l;
    l.shape = s;
    l.nb[0] = unit_bytes;
    l.nb[1] = row_bytes;
    l.nb[2] = checked_mul(row_bytes, static_cast<uint64_t>(s.ne(1)), "tensor matrix bytes");
    l.nb[3] = checked_mul(l.nb[2], static_cast<uint64_t>(s.ne(2)), "tensor batch bytes");
    checked_mul(l.nb[3], static_cast<uint64_t>(s.ne(3)), "tensor bytes");
    return l;
  }

  bool is_contiguous(uint64_t row_bytes) const {
    return nb[1] == row_bytes && nb[2] == nb[1] * static_cast<uint64_t>(shape.ne(1)) &&
           nb[3] == nb[2] * static_cast<uint64_t>(shape.ne(2));
  }

  // Byte offset of flat row i (0 <= i < rows()), rows enumerated with ne[1] fastest.
  uint64_t row_offset(int64_t i) const {
    const int64_t n1 = shape.ne(1), n2 = shape.ne(2);
    const auto i1 = static_cast<uint64_t>(i % n1);
    const auto i2 = static_cast<uint64_t>((i / n1) % n2);
    const auto i3 = static_cast<uint64_t>(i / (n1 * n2));
    return i1 * nb[1] + i2 * nb[2] + i3 * nb[3];
  }

  // Rows [begin, begin + count) of the flattened rows as a layout starting
  // at byte offset `*offset`. Within one matrix (ne[2] = ne[3] = 1) any
  // stride works; across matrices the rows must be uniformly strided.
  Layout slice_rows(int64_t begin, int64_t count, uint64_t* offset) const {
    const int64_t n = shape.rows();
    require(begin >= 0 && count >= 0 && begin <= n && count <= n - begin, "slice_rows: rows [", begin, ", ",
            begin + count, ") out of range for shape ", shape.str());
    const bool uniform = (shape.ne(2) * shape.ne(3) == 1) ||
                         (nb[2] == nb[1] * static_cast<uint64_t>(shape.ne(1)) &&
                          nb[3] == nb[2] * static_cast<uint64_t>(shape.ne(2)));
    require(uniform, "slice_rows: rows of shape ", shape.str(), " are not uniformly strided");
    Layout l;
    l.shape = Shape{shape.cols(), count};
    l.nb = {nb[0], nb[1], nb[1] * static_cast<uint64_t>(count), nb[1] * static_cast<uint64_t>(count)};
    *offset = static_cast<uint64_t>(begin) * nb[1];
    return l;
  }
};

// The shape accessors every tensor view shares (Tensor, QTensor, AnyTensor),
// written once: View provides layout() and row_bytes().
template <typename View>
class LayoutAccessors {
 public:
  const Shape& shape() const { return view().layout().shape; }
  int n_dims() const { return shape().n_dims(); }
  int64_t ne(int i) const { return shape().ne(i); }
  uint64_t nb(int i) const { return view().layout().nb[static_cast<size_t>(i)]; }
  int64_t cols() const { return shape().cols(); }
  int64_t rows() const { return shape().rows(); }
  int64_t n_elements() const { return shape().n_elements(); }
  bool is_contiguous() const { return view().layout().is_contiguous(view().row_bytes()); }

 private:
  const View& view() const { return static_cast<const View&>(*this); }
};

}  // namespace qkit
