// qkit/kernels/convert.hpp — dispatched f16/bf16 <-> f32 row conversion,
// bit-identical to the scalar conversions in qkit/base/fp16.hpp on every
// target.
#pragma once

#include <cstddef>

#include "qkit/base/fp16.hpp"
#include "qkit/kernels/tables.hpp"

namespace qkit {

inline void f16_to_f32(const f16* src, float* dst, size_t n) {
  QKIT_DISPATCH(f16_to_f32_row)(reinterpret_cast<const uint16_t*>(src), dst, n);
}
inline void bf16_to_f32(const bf16* src, float* dst, size_t n) {
  QKIT_DISPATCH(bf16_to_f32_row)(reinterpret_cast<const uint16_t*>(src), dst, n);
}
inline void f32_to_f16(const float* src, f16* dst, size_t n) {
  QKIT_DISPATCH(f32_to_f16_row)(src, reinterpret_cast<uint16_t*>(dst), n);
}
inline void f32_to_bf16(const float* src, bf16* dst, size_t n) {
  QKIT_DISPATCH(f32_to_bf16_row)(src, reinterpret_cast<uint16_t*>(dst), n);
}

}  // namespace qkit
