// qkit/quant/float.hpp — the float "codecs" F32, F16 and BF16: one value per
// block, conversions bit-identical to the reference engine (see base/fp16.hpp:
// round to nearest even, NaN stays a quiet NaN with its sign, f16 overflow
// becomes Inf).
//
// NaN/Inf input converts as IEEE does (no error): these are storage formats,
// not quantizers. validate_blocks rejects NaN/Inf values, naming the element
// (the "block" of a float format is one value), as the reference's row
// validation does.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "qkit/base/fp16.hpp"
#include "qkit/quant/codec.hpp"

namespace qkit {

template <>
struct Codec<Format::F32> {
  using Block = float;
  static void quantize_row(const float* x, void* dst, int64_t n, const float* /*imatrix*/) {
    std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
  }
  static void quantize_act_row(const float* x, void* dst, int64_t n) { quantize_row(x, dst, n, nullptr); }
  static void dequantize_row(const void* src, float* y, int64_t n) {
    std::memcpy(y, src, static_cast<size_t>(n) * sizeof(float));
  }
  static void validate_blocks(const void* src, size_t n_blocks) {
    const auto* p = static_cast<const unsigned char*>(src);
    for (size_t i = 0; i < n_blocks; ++i) {
      uint32_t u;
      std::memcpy(&u, p + 4 * i, 4);
      if ((u & 0x7f800000u) == 0x7f800000u)
        fail("f32 block ", i, ": value is ", (u & 0x7fffffu) ? "NaN" : "Inf");
    }
  }
};

namespace quant {

// F16 and BF16 rows: one 16-bit value per element. The two formats differ
// only in their conversions and in where the exponent lies (all ones = Inf
// or NaN).
template <uint16_t (*Encode)(float), float (*Decode)(uint16_t), uint16_t kExpMask>
struct HalfCodec {
  static void quantize_row(const float* x, void* dst, int64_t n, const float* /*imatrix*/) {
    auto* y = static_cast<unsigned char*>(dst);
    for (int64_t i = 0; i < n; ++i) {
      const uint16_t h = Encode(x[i]);
      std::memcpy(y + 2 * i, &h, 2);
    }
  }
  static void quantize_act_row(const float* x, void* dst, int64_t n) { quantize_row(x, dst, n, nullptr); }
  static void dequantize_row(const void* src, float* y, int64_t n) {
    const auto* p = static_cast<const unsigned char*>(src);
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      y[i] = Decode(h);
    }
  }
  static void check_blocks(const char* name, const void* src, size_t n_blocks) {
    constexpr uint16_t kMantissa = static_cast<uint16_t>(0x7fffu & ~kExpMask);
    const auto* p = static_cast<const unsigned char*>(src);
    for (size_t i = 0; i < n_blocks; ++i) {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      if ((h & kExpMask) == kExpMask) fail(name, " block ", i, ": value is ", (h & kMantissa) ? "NaN" : "Inf");
    }
  }
};

}  // namespace quant

template <>
struct Codec<Format::F16> : quant::HalfCodec<f32_to_f16, f16_to_f32, 0x7c00u> {
  using Block = f16;
  static void validate_blocks(const void* src, size_t n_blocks) { check_blocks("f16", src, n_blocks); }
};

template <>
struct Codec<Format::BF16> : quant::HalfCodec<f32_to_bf16, bf16_to_f32, 0x7f80u> {
  using Block = bf16;
  static void validate_blocks(const void* src, size_t n_blocks) { check_blocks("bf16", src, n_blocks); }
};

}  // namespace qkit
