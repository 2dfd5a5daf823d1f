// qkit/kernels/act_layout.hpp — the plain structs matmul kernels exchange
// (quantized activations in the kernels' layout, weight layouts, one call's
// arguments). No dispatch here, so -inl.h files can include it.
//
// Activation quantization follows the rule of quant/q8.hpp
// (quant::quantize_act_block, the reference engine's CPU activation path:
// id = 127/amax, round half to even) and quant/q8_k.hpp
// (quant::quantize_block_q8k); every SIMD path is bit-identical to those.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qkit/quant/format.hpp"

namespace qkit::kernels {

inline constexpr int64_t kQ8Block = 32;
inline constexpr int64_t kQ8KBlock = 256;

// --- what the matmul kernels exchange ---------------------------------------

// Quantized activation columns in the kernels' layout (structure of arrays,
// so a column's quants are contiguous and its scales are f32 vectors).
// Column c, block b:
//   qs    + c * qs_stride      : int8 quants (K of them)
//   d     + c * blk_stride + b : the block scale as f32 (the f16-rounded value
//                                for Q8_0/Q8_1, exact f32 for Q8_K)
//   sums  + c * blk_stride + b : Q8_0/Q8_1: sum of the block's quants
//   s     + c * blk_stride + b : Q8_1: f16-rounded d * sum, as f32
//   bsums + c * bsum_stride    : Q8_K: sums of 16 quants (K / 16 of them)
//   bsums32 + c * bsum_stride / 2 : Q8_K: sums of 32 quants (K / 32 of them)
//   xf    + c * xf_stride      : dequantized values d * q (or, for float
//                                weights, x rounded through the pair format),
//                                only for kernels that work in f32
struct QuantAct {
  Format pair = Format::F32;
  int64_t n = 0;  // columns
  int64_t k = 0;  // values per column
  const int8_t* qs = nullptr;
  size_t qs_stride = 0;
  const float* d = nullptr;
  const int32_t* sums = nullptr;
  const float* s = nullptr;
  size_t blk_stride = 0;
  const int16_t* bsums = nullptr;
  size_t bsum_stride = 0;
  const int16_t* bsums32 = nullptr;  // Q8_K: sums of 32 quants (K / 32), stride bsum_stride / 2

  const float* xf = nullptr;
  size_t xf_stride = 0;
};

// Weight layouts: as GGUF stores rows, or rows interleaved by repack.hpp.
enum class WeightLayout : uint32_t {
  kRows = 0,
  kInterleaved16 = 1,  // groups of 16 rows, see repack.hpp
};

// The 16-row interleaved layouts of repack.hpp. Per group and block
// (Q8_0/Q4_0/IQ4_NL: 32 values; Q4_K/Q6_K: 256), in bytes:
//   Q8_0 / Q4_0 / IQ4_NL: f16 d[16] | chunks of 64 bytes, chunk j = row r's
//                quant bytes 4j..4j+3 at 4r (Q8_0 stored ^ 0x80: unsigned;
//                Q4_0 and IQ4_NL nibbles as they are)
//   Q4_K:        f16 d[16] | f16 dmin[16] | packed scale bytes 0-3, 4-7,
//                8-11 of the 16 rows (3 x 64) | 32 chunks of 64 bytes,
//                chunk 8i + t = row r's qs bytes 32i + 4t .. + 3 at 4r
//   Q6_K:        f16 d[16] | int8 scales: 16 x 16 (sub-block s: the 16
//                rows' scale s) | 16 triples of 64-byte chunks, triple
//                8h + t = ql chunk 16h + t, ql chunk 16h + 8 + t, qh chunk
//                8h + t (ql / qh chunk c = row r's ql / qh bytes 4c .. 4c + 3
//                at 4r): the bytes that make the 6-bit quants of values
//                128h + 32q + 4t (q = 0..3), adjacent so the kernel reads
//                the group block front to back (a streaming pattern the
//                hardware prefetcher follows)
// Same size as the 16 GGUF blocks. interleave_block writes one group block
// from 16 GGUF blocks; deinterleave_block restores block r.
inline bool has_interleaved_layout(Format f) {
  return f == Format::Q8_0 || f == Format::Q4_0 || f == Format::IQ4_NL || f == Format::Q4_K || f == Format::Q6_K;
}

inline void interleave_block(Format f, const uint8_t* const src[16], uint8_t* dst) {
  if (f == Format::Q6_K) {  // GGUF block: ql[128] qh[64] scales[16] d
    for (int r = 0; r < 16; ++r) {
      std::memcpy(dst + 2 * r, src[r] + 208, 2);
      for (int sb = 0; sb < 16; ++sb) dst[32 + 16 * sb + r] = src[r][192 + sb];
      for (int i = 0; i < 16; ++i) {
        const int h = i / 8, t = i % 8;
        uint8_t* tri = dst + 288 + 192 * i + 4 * r;
        std::memcpy(tri, src[r] + 4 * (16 * h + t), 4);
        std::memcpy(tri + 64, src[r] + 4 * (16 * h + 8 + t), 4);
        std::memcpy(tri + 128, src[r] + 128 + 4 * i, 4);
      }
    }
    return;
  }
  if (f == Format::Q4_K) {
    for (int r = 0; r < 16; ++r) {
      std::memcpy(dst + 2 * r, src[r], 2);
      std::memcpy(dst + 32 + 2 * r, src[r] + 2, 2);
      for (int u = 0; u < 3; ++u) std::memcpy(dst + 64 + 64 * u + 4 * r, src[r] + 4 + 4 * u, 4);
      for (int c = 0; c < 32; ++c) std::memcpy(dst + 256 + 64 * c + 4 * r, src[r] + 16 + 4 * c, 4);
    }
    return;
  }
  // Q8_0, Q4_0, IQ4_NL (f16 d + 32 bytes or 16 bytes of nibbles).
  const bool q8 = f == Format::Q8_0;
  const int chunks = q8 ? 8 : 4;
  for (int r = 0; r < 16; ++r) {
    std::memcpy(dst + 2 * r, src[r], 2);
    for (int j = 0; j < chunks; ++j)
      for (int i = 0; i < 4; ++i) {
        const uint8_t v = src[r][2 + 4 * j + i];
        dst[32 + 64 * j + 4 * r + i] = q8 ? static_cast<uint8_t>(v ^ 0x80) : v;
      }
  }
}

inline void deinterleave_block(Format f, const uint8_t* gb, int r, uint8_t* blk) {
  if (f == Format::Q6_K) {
    std::memcpy(blk + 208, gb + 2 * r, 2);
    for (int sb = 0; sb < 16; ++sb) blk[192 + sb] = gb[32 + 16 * sb + r];
    for (int i = 0; i < 16; ++i) {
      const int h = i / 8, t = i % 8;
      const uint8_t* tri = gb + 288 + 192 * i + 4 * r;
      std::memcpy(blk + 4 * (16 * h + t), tri, 4);
      std::memcpy(blk + 4 * (16 * h + 8 + t), tri + 64, 4);
      std::memcpy(blk + 128 + 4 * i, tri + 128, 4);
    }
    return;
  }
  if (f == Format::Q4_K) {
    std::memcpy(blk, gb + 2 * r, 2);
    std::memcpy(blk + 2, gb + 32 + 2 * r, 2);
    for (int u = 0; u < 3; ++u) std::memcpy(blk + 4 + 4 * u, gb + 64 + 64 * u + 4 * r, 4);
    for (int c = 0; c < 32; ++c) std::memcpy(blk + 16 + 4 * c, gb + 256 + 64 * c + 4 * r, 4);
    return;
  }
  const bool q8 = f == Format::Q8_0;
  const int chunks = q8 ? 8 : 4;
  std::memcpy(blk, gb + 2 * r, 2);
  for (int j = 0; j < chunks; ++j)
    for (int i = 0; i < 4; ++i) {
      const uint8_t v = gb[32 + 64 * j + 4 * r + i];
      blk[2 + 4 * j + i] = q8 ? static_cast<uint8_t>(v ^ 0x80) : v;
    }
}

// Row r (0..15) of an interleaved group back in GGUF layout (nb blocks).
// Not inlined: inlined into the SVE targets' Matmul, g++ 12 -O3 vectorizes the
// byte loop with SVE and dies with an internal compiler error
// (vectorizable_live_operation). It is a fallback path; a call costs nothing.
__attribute__((noinline)) inline void unpack_interleaved_row(Format f, const uint8_t* group, int r, int64_t nb,
                                                             uint8_t* out) {
  const FormatInfo& fi = kFormatInfo[format_index(f)];
  for (int64_t b = 0; b < nb; ++b)
    deinterleave_block(f, group + static_cast<size_t>(b) * fi.block_bytes * 16, r, out + static_cast<size_t>(b) * fi.block_bytes);
}

// The 16-row interleaved group of GGUF rows [0, valid) (valid <= 16, row
// r at rows + r * row_stride, nb blocks each) into group; rows past valid
// are zero blocks. Inverse of unpack_interleaved_row.
inline void interleave_rows(Format f, const uint8_t* rows, size_t row_stride, int valid, int64_t nb, uint8_t* group) {
  const size_t block_bytes = kFormatInfo[format_index(f)].block_bytes;
  static constexpr uint8_t kZeroBlock[256] = {};  // >= any interleaved format's block (Q6_K: 210 bytes)
  const uint8_t* src[16];
  for (int64_t b = 0; b < nb; ++b) {
    for (int r = 0; r < 16; ++r)
      src[r] = r < valid ? rows + static_cast<size_t>(r) * row_stride + static_cast<size_t>(b) * block_bytes : kZeroBlock;
    interleave_block(f, src, group + static_cast<size_t>(b) * block_bytes * 16);
  }
}

// One call of a per-target matmul kernel: rows [row_begin, row_end) of
// Y[c * ldy + r] = sum_k W[r, k] * X[c, k] for every activation column c.
struct MatmulArgs {
  Format format = Format::F32;
  const uint8_t* w = nullptr;
  WeightLayout layout = WeightLayout::kRows;
  int64_t rows = 0, cols = 0;
  size_t row_stride = 0;  // bytes between rows (kRows) or between 16-row groups (kInterleaved16)
  const QuantAct* act = nullptr;
  float* y = nullptr;
  int64_t ldy = 0;
  int64_t row_begin = 0, row_end = 0;
};

// Where columns [c, c + NC) of quantized activations start in each of
// x's arrays: what every register-tiled kernel looks up before its block
// loop (one column's quants, block scales and sums per tile column).
// Arrays the pair format does not have stay null.
template <int NC>
struct ActColumns {
  const int8_t* qs[NC];
  const float* d[NC];
  const int32_t* sums[NC];    // Q8_0 / Q8_1
  const float* s[NC];         // Q8_1
  const int16_t* bsums[NC];   // Q8_K, sums of 16
  const int16_t* bsums32[NC]; // Q8_K, sums of 32

  ActColumns(const QuantAct& x, int64_t c) {
    for (int j = 0; j < NC; ++j) {
      const size_t cc = static_cast<size_t>(c + j);
      qs[j] = x.qs + cc * x.qs_stride;
      d[j] = at(x.d, cc * x.blk_stride);
      sums[j] = at(x.sums, cc * x.blk_stride);
      s[j] = at(x.s, cc * x.blk_stride);
      bsums[j] = at(x.bsums, cc * x.bsum_stride);
      bsums32[j] = at(x.bsums32, cc * (x.bsum_stride / 2));
    }
  }

 private:
  // No offset from a null array: that would be undefined behaviour.
  template <class T>
  static const T* at(const T* p, size_t off) {
    return p ? p + off : nullptr;
  }
};

}  // namespace qkit::kernels
