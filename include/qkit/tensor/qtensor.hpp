// qkit/tensor/qtensor.hpp — QTensor<F>: a non-owning, read-only view of
// rows of a block format (or of any Format: QTensor<Format::F32> works with
// blocks of one value), up to 4 dims in GGUF order.
//
// Each row is cols() / block_size blocks of block_bytes bytes; the row
// length must be a whole number of blocks (checked at construction).
// dequantize_row / to_f32 use the scalar reference codecs
// (quant/registry.hpp), so they work on every target and serve as oracles.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qkit/base/config.hpp"
#include "qkit/base/error.hpp"
#include "qkit/quant/format.hpp"
#include "qkit/quant/registry.hpp"
#include "qkit/tensor/shape.hpp"

namespace qkit {

template <Format F>
class QTensor : public LayoutAccessors<QTensor<F>> {
 public:
  // A dependent base: its names need bringing in.
  using B = LayoutAccessors<QTensor<F>>;
  using B::cols, B::is_contiguous, B::n_dims, B::n_elements, B::nb, B::ne, B::rows, B::shape;

  static constexpr Format kFormat = F;
  static constexpr uint32_t kBlockSize = kFormatInfo[format_index(F)].block_size;
  static constexpr uint32_t kBlockBytes = kFormatInfo[format_index(F)].block_bytes;

  QTensor() = default;
  // Densely packed rows.
  QTensor(const void* data, const Shape& shape)
      : data_(static_cast<const uint8_t*>(data)),
        layout_(Layout::contiguous(shape, kBlockBytes, checked_row_bytes(shape))) {
    require(data != nullptr || shape.n_elements() == 0, format_name(F), " tensor ", shape.str(), ": null data");
  }
  QTensor(const void* data, const Shape& shape, uint64_t nb1, uint64_t nb2, uint64_t nb3)
      : data_(static_cast<const uint8_t*>(data)) {
    layout_.shape = shape;
    layout_.nb = {kBlockBytes, nb1, nb2, nb3};
    require(data != nullptr || shape.n_elements() == 0, format_name(F), " tensor ", shape.str(), ": null data");
    require(nb1 >= checked_row_bytes(shape), format_name(F), " tensor ", shape.str(), ": row stride ", nb1,
            " is shorter than a row");
  }
  QTensor(const void* data, const Layout& layout) : data_(static_cast<const uint8_t*>(data)), layout_(layout) {
    checked_row_bytes(layout.shape);
  }

  static constexpr Format format() { return F; }
  const uint8_t* data() const { return data_; }
  const Layout& layout() const { return layout_; }
  int64_t blocks_per_row() const { return cols() / kBlockSize; }
  size_t row_bytes() const { return static_cast<size_t>(blocks_per_row()) * kBlockBytes; }
  // Bytes spanned by the whole (contiguous) tensor.
  size_t nbytes() const { return row_bytes() * static_cast<size_t>(rows()); }

  const uint8_t* row(int64_t i) const {
    QKIT_DASSERT(i >= 0 && i < rows());
    return data_ + layout_.row_offset(i);
  }

  QTensor slice_rows(int64_t begin, int64_t count) const {
    uint64_t off = 0;
    const Layout l = layout_.slice_rows(begin, count, &off);
    return QTensor(data_ + off, l);
  }

  void dequantize_row(int64_t i, float* dst) const {
    require(i >= 0 && i < rows(), "dequantize_row: row ", i, " out of range for ", format_name(F), " tensor ",
            shape().str());
    dequantize_row_ref(F, row(i), dst, cols());
  }
  void to_f32(float* dst) const {
    for (int64_t i = 0; i < rows(); ++i) dequantize_row(i, dst + i * cols());
  }

 private:
  static uint64_t checked_row_bytes(const Shape& s) {
    if (s.cols() % kBlockSize != 0) {
      fail(format_name(F), " tensor ", s.str(), ": row length ", s.cols(), " is not a multiple of the block size ",
           kBlockSize);
    }
    return checked_mul(static_cast<uint64_t>(s.cols()) / kBlockSize, kBlockBytes, "row bytes");
  }

  const uint8_t* data_ = nullptr;
  Layout layout_ = Layout::contiguous(Shape{}, kBlockBytes, 0);
};

}  // namespace qkit
