// qkit/kernels/kv_layout.hpp — how the KV cache stores rows (f32, f16 or
// Q8_0), scalar row codecs, and KvView, the read-only view attention()
// takes. No kernel dependencies, so the per-target attention code can
// include it.
//
// Layout of one layer's keys (values alike): [n_head_kv][capacity][row],
// one row = head_dim values in the cache type (Q8_0: head_dim/32 blocks of
// the reference engine's block_q8_0 {f16 d; int8 qs[32]}, 34 bytes). Head
// major, so decoding streams each head's rows contiguously.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qkit/base/error.hpp"
#include "qkit/base/fp16.hpp"
#include "qkit/quant/legacy.hpp"

namespace qkit {

enum class KvType : uint8_t { F32, F16, Q8_0 };

inline const char* kv_type_name(KvType t) {
  switch (t) {
    case KvType::F32: return "f32";
    case KvType::F16: return "f16";
    case KvType::Q8_0: return "q8_0";
  }
  return "?";
}

namespace kv {

inline constexpr size_t kQ8Block = 32;  // values per Q8_0 block (qkit::BlockQ8_0, 34 bytes)

// Q8_0 rows use the weight codec: the reference engine quantizes its Q8_0
// KV cache with quantize_row_q8_0_ref (d = amax/127, ties away from zero).
// Non-finite input is a qkit::Error.
inline void quantize_q8_0(const float* x, void* dst, size_t n) {
  Codec<Format::Q8_0>::quantize_row(x, dst, static_cast<int64_t>(n), nullptr);
}
inline void dequantize_q8_0(const void* src, float* y, size_t n) {
  Codec<Format::Q8_0>::dequantize_row(src, y, static_cast<int64_t>(n));
}

// Bytes of one cache row of head_dim values; Q8_0 needs head_dim % 32 == 0.
inline size_t row_bytes(KvType t, size_t head_dim) {
  switch (t) {
    case KvType::F32: return head_dim * 4;
    case KvType::F16: return head_dim * 2;
    case KvType::Q8_0:
      require(head_dim % kQ8Block == 0, "KV cache: q8_0 needs head_dim a multiple of 32, got ", head_dim);
      return head_dim / kQ8Block * sizeof(qkit::BlockQ8_0);
  }
  fail("KV cache: unknown cache type ", static_cast<int>(t));
}

// The exact values a cache row holds (scalar; for tests and references).
inline void decode_row(KvType t, const uint8_t* src, float* y, size_t head_dim) {
  switch (t) {
    case KvType::F32: std::memcpy(y, src, head_dim * 4); return;
    case KvType::F16:
      for (size_t i = 0; i < head_dim; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        y[i] = f16_to_f32(h);
      }
      return;
    case KvType::Q8_0: dequantize_q8_0(src, y, head_dim); return;
  }
}

}  // namespace kv

// Read-only view of one layer's keys or values: rows for positions
// [0, length) of n_head_kv heads. row(h, j) is row j of head h.
struct KvView {
  KvType type = KvType::F32;
  const uint8_t* data = nullptr;
  size_t n_head_kv = 0;
  size_t head_dim = 0;
  size_t length = 0;
  size_t row_bytes = 0;    // bytes per row
  size_t head_stride = 0;  // bytes between heads (capacity * row_bytes)

  const uint8_t* row(size_t h, size_t j) const { return data + h * head_stride + j * row_bytes; }
};

}  // namespace qkit
