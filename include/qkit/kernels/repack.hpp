// qkit/kernels/repack.hpp — optional row-interleaved weight layout for the
// matmul kernels (WeightLayout::kInterleaved16), reversible, same size as
// the GGUF rows (plus padding of the last group to 16 rows).
//
// Why: with rows as GGUF stores them, a SIMD register holds one block of
// ONE row, so every activation value is re-read per row and each block's
// scale costs scalar work. Interleaving 16 rows puts 4 consecutive values
// of 16 rows in one zmm: one vpdpbusd with a broadcast activation word
// advances 16 rows at once, and the 16 scales of a block are one f16 load.
//
// Layout of one 16-row group, block b (32 values) after block b - 1:
//   f16 d[16]                          the rows' scales
//   Q8_0: 8 chunks of 64 bytes, chunk j = for row r: (w[r][4j..4j+3] ^ 0x80)
//         (unsigned, so the weights are vpdpbusd's unsigned operand)
//   Q4_0: 4 chunks of 64 bytes, chunk j = for row r: qs[r][4j..4j+3]
//         (low nibbles: values 4j.., high nibbles: values 16+4j..)
// Group stride = blocks per row * 16 * block bytes. Padding rows are zero
// (d = 0). Kernels for this layout exist where matmul_variant() says so
// (AVX-512 VNNI); elsewhere gemv/gemm unpack nothing and reject it.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "qkit/base/aligned.hpp"
#include "qkit/base/checked.hpp"
#include "qkit/base/error.hpp"
#include "qkit/kernels/matmul.hpp"

namespace qkit {

inline constexpr int64_t kRepackRows = 16;

// Formats with an interleaved layout.
inline bool can_repack(Format f) { return f == Format::Q8_0 || f == Format::Q4_0; }

// Interleaved weights owning their storage; view() feeds gemv/gemm.
struct RepackedWeights {
  Format format = Format::F32;
  int64_t rows = 0, cols = 0;
  size_t group_stride = 0;
  AlignedBuffer<uint8_t> data;
  WeightView view() const {
    return WeightView{format, data.data(), rows, cols, group_stride, WeightLayout::kInterleaved16};
  }
};

namespace detail {
inline void repack_block_group(Format f, const uint8_t* const src[kRepackRows], uint8_t* dst) {
  for (int r = 0; r < kRepackRows; ++r) std::memcpy(dst + 2 * r, src[r], 2);
  uint8_t* q = dst + 32;
  const int chunks = f == Format::Q8_0 ? 8 : 4;
  for (int j = 0; j < chunks; ++j)
    for (int r = 0; r < kRepackRows; ++r)
      for (int i = 0; i < 4; ++i) {
        const uint8_t v = src[r][2 + 4 * j + i];
        q[64 * j + 4 * r + i] = f == Format::Q8_0 ? static_cast<uint8_t>(v ^ 0x80) : v;
      }
}
}  // namespace detail

// W (row layout) -> interleaved copy. Throws for formats without a layout.
inline RepackedWeights repack(const WeightView& W) {
  require(can_repack(W.format), "repack: no interleaved layout for ", format_name(W.format),
          " (available: q4_0, q8_0)");
  require(W.layout == WeightLayout::kRows, "repack: weights are already interleaved");
  const FormatInfo& fi = format_info(W.format);
  require(W.rows >= 0 && W.cols > 0 && W.cols % fi.block_size == 0, "repack: weights [", W.rows, " x ", W.cols,
          "] (", fi.name, ") are not whole blocks");
  const size_t rb = static_cast<size_t>(row_bytes(W.format, static_cast<uint64_t>(W.cols)));
  const size_t stride = W.row_stride ? W.row_stride : rb;
  require(stride >= rb, "repack: row stride ", stride, " is shorter than a row (", rb, " bytes)");
  const int64_t groups = (W.rows + kRepackRows - 1) / kRepackRows;
  const int64_t nb = W.cols / 32;
  RepackedWeights R;
  R.format = W.format;
  R.rows = W.rows;
  R.cols = W.cols;
  R.group_stride = rb * kRepackRows;
  R.data.reset(checked_size(checked_mul(R.group_stride, static_cast<uint64_t>(groups), "repacked size"), "repack"));
  R.data.zero();
  std::vector<uint8_t> zero(fi.block_bytes, 0);
  const auto* w = static_cast<const uint8_t*>(W.data);
  for (int64_t g = 0; g < groups; ++g) {
    uint8_t* out = R.data.data() + static_cast<size_t>(g) * R.group_stride;
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* src[kRepackRows];
      for (int r = 0; r < kRepackRows; ++r) {
        const int64_t row = g * kRepackRows + r;
        src[r] = row < W.rows ? w + static_cast<size_t>(row) * stride + static_cast<size_t>(b) * fi.block_bytes
                              : zero.data();
      }
      detail::repack_block_group(W.format, src, out + static_cast<size_t>(b) * fi.block_bytes * kRepackRows);
    }
  }
  return R;
}

// The inverse: writes R's rows in GGUF layout to dst (row_stride 0: packed).
inline void unpack(const RepackedWeights& R, void* dst, size_t row_stride = 0) {
  const size_t rb = static_cast<size_t>(row_bytes(R.format, static_cast<uint64_t>(R.cols)));
  const size_t stride = row_stride ? row_stride : rb;
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t row = 0; row < R.rows; ++row) {
    const uint8_t* group = R.data.data() + static_cast<size_t>(row / kRepackRows) * R.group_stride;
    kernels::unpack_interleaved_row(R.format, group, static_cast<int>(row % kRepackRows), R.cols / 32,
                                    out + static_cast<size_t>(row) * stride);
  }
}

}  // namespace qkit
