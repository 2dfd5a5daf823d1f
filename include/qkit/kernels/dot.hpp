// qkit/kernels/dot.hpp — dispatched f32 dot product.
#pragma once

#include <cstddef>

#include "qkit/kernels/tables.hpp"

namespace qkit {

// sum_i a[i] * b[i] over any n (no alignment needed). The summation order
// depends on the target's vector width, so results differ between targets
// in the last bits; within one target they are deterministic.
inline float dot_f32(const float* a, const float* b, size_t n) { return QKIT_DISPATCH(dot_f32)(a, b, n); }

}  // namespace qkit
