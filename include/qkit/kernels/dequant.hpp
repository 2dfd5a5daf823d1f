// qkit/kernels/dequant.hpp — dispatched dequantization of any qkit format to
// f32, bit-identical on every target to the scalar codecs
// (quant/registry.hpp's dequantize_row_ref).
//
//   dequantize_row(f, src, dst, n)            n values: a whole number of blocks
//   dequantize_rows(f, src, dst, rows, n)     rows of n values, packed back to back
//                                             (or src_stride bytes apart)
//
// Arguments are checked once here (qkit::Error naming the format and what is
// wrong); the per-target kernels (dequant-inl.h) assume they hold. Blocks
// are not validated: NaN/Inf scales dequantize to NaN/Inf values as the
// scalar code computes them (run validate_row on untrusted data first).
// NaN payloads are the one exception to bit-identity: F16's signalling NaNs
// come out quieted on targets with hardware f16 conversion (F16C, Arm fcvt),
// and where a block's scale and min are both NaN (Q4_1, Q5_1) either NaN
// may come out, as the compiler orders the addition. A NaN stays a NaN.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qkit/base/checked.hpp"
#include "qkit/base/error.hpp"
#include "qkit/kernels/tables.hpp"
#include "qkit/quant/format.hpp"

namespace qkit {

// Dequantizes one row of n values of format f from src to dst.
inline void dequantize_row(Format f, const void* src, float* dst, int64_t n) {
  const FormatInfo& fi = format_info(f);
  require(n >= 0, "dequantize_row(", fi.name, "): negative length ", n);
  require(n % fi.block_size == 0, "dequantize_row(", fi.name, "): row of ", n,
          " values is not a multiple of the block size ", fi.block_size);
  if (n == 0) return;
  require(src != nullptr && dst != nullptr, "dequantize_row(", fi.name, "): null pointer");
  QKIT_DISPATCH_FORMAT(dequantize_row, f)(src, dst, n);
}

// Dequantizes rows x n values: row r is read from src + r * src_stride bytes
// (src_stride 0: rows packed back to back, row_bytes(f, n) apart) and
// written to dst + r * n.
inline void dequantize_rows(Format f, const void* src, float* dst, int64_t rows, int64_t n, size_t src_stride = 0) {
  const FormatInfo& fi = format_info(f);
  require(rows >= 0, "dequantize_rows(", fi.name, "): negative row count ", rows);
  require(n >= 0 && n % fi.block_size == 0, "dequantize_rows(", fi.name, "): row of ", n,
          " values is not a multiple of the block size ", fi.block_size);
  const uint64_t rb = row_bytes(f, static_cast<uint64_t>(n));
  if (src_stride == 0) src_stride = static_cast<size_t>(rb);
  require(src_stride >= rb, "dequantize_rows(", fi.name, "): source stride ", src_stride,
          " is shorter than a row (", rb, " bytes)");
  if (rows == 0 || n == 0) return;
  require(src != nullptr && dst != nullptr, "dequantize_rows(", fi.name, "): null pointer");
  checked_mul(static_cast<uint64_t>(rows), static_cast<uint64_t>(n), "dequantize_rows output size");
  checked_mul(static_cast<uint64_t>(rows), static_cast<uint64_t>(src_stride), "dequantize_rows input size");
  const auto fn = QKIT_DISPATCH_FORMAT(dequantize_row, f);
  const auto* s = static_cast<const unsigned char*>(src);
  for (int64_t r = 0; r < rows; ++r) fn(s + static_cast<size_t>(r) * src_stride, dst + r * n, n);
}

}  // namespace qkit
