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
// The layouts are described in kernels/act_layout.hpp (interleave_block).
// Kernels for them exist where matmul_variant() says "+vnni" (AVX-512
// VNNI; repack_pays() tells); other targets unpack each group on the fly,
// so every target runs them correctly, but slower than GGUF rows.
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
inline bool can_repack(Format f) { return kernels::has_interleaved_layout(f); }

// Whether repacking f speeds up gemv/gemm on the target that runs now: the
// target has a kernel for the interleaved layout (AVX-512 VNNI today).
// Elsewhere interleaved weights are unpacked group by group on every call,
// which is slower than keeping GGUF rows (AVX2: generation ~7x slower on a
// Q4_0 model), so engines should repack only where this holds.
inline bool repack_pays(Format f) {
  return can_repack(f) &&
         kernels::matmul_interleaved_table[format_index(format_info(f).format)][cpu::dispatch_index()]();
}

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

// W (row layout) -> interleaved copy. Throws for formats without a layout.
inline RepackedWeights repack(const WeightView& W) {
  require(can_repack(W.format), "repack: no interleaved layout for ", format_name(W.format),
          " (available: q4_0, q8_0, iq4_nl, q4_K, q6_K)");
  require(W.layout == WeightLayout::kRows, "repack: weights are already interleaved");
  const FormatInfo& fi = format_info(W.format);
  require(W.rows >= 0 && W.cols > 0 && W.cols % fi.block_size == 0, "repack: weights [", W.rows, " x ", W.cols,
          "] (", fi.name, ") are not whole blocks");
  const size_t rb = static_cast<size_t>(row_bytes(W.format, static_cast<uint64_t>(W.cols)));
  const size_t stride = W.row_stride ? W.row_stride : rb;
  require(stride >= rb, "repack: row stride ", stride, " is shorter than a row (", rb, " bytes)");
  const int64_t groups = (W.rows + kRepackRows - 1) / kRepackRows;
  const int64_t nb = W.cols / fi.block_size;
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
      kernels::interleave_block(W.format, src, out + static_cast<size_t>(b) * fi.block_bytes * kRepackRows);
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
    kernels::unpack_interleaved_row(R.format, group, static_cast<int>(row % kRepackRows),
                                    R.cols / format_info(R.format).block_size,
                                    out + static_cast<size_t>(row) * stride);
  }
}

}  // namespace qkit
