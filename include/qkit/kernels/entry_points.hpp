// qkit/kernels/entry_points.hpp — the one registry of dispatched kernels.
//
// Each line names an entry point, its function-pointer type, the per-target
// implementation (in qkit::kernels::HWY_NAMESPACE) and a per-target function
// that says which variant runs (target plus any raw fast path). From this list
// come the dispatch tables (instantiate.hpp), the extern declarations
// (tables.hpp), qkit-info's report and the generic tests.
//
// Format-indexed entry points (QKIT_FORMAT_ENTRY_POINTS) get one table row
// per format of QKIT_FORMATS; their implementations are templates over
// Format and reject formats they do not handle with qkit::Error.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qkit/quant/format.hpp"

namespace qkit::kernels {

using VariantFn = const char* (*)();

using DotF32Fn = float (*)(const float* a, const float* b, size_t n);
using HalfToF32Fn = void (*)(const uint16_t* src, float* dst, size_t n);
using F32ToHalfFn = void (*)(const float* src, uint16_t* dst, size_t n);

}  // namespace qkit::kernels

// X(entry_name, FnType, PerTargetImpl, PerTargetVariant)
#define QKIT_ENTRY_POINTS(X)                                       \
  X(dot_f32, DotF32Fn, DotF32, TargetVariant)                      \
  X(f16_to_f32_row, HalfToF32Fn, F16ToF32Row, TargetVariant)       \
  X(bf16_to_f32_row, HalfToF32Fn, BF16ToF32Row, TargetVariant)     \
  X(f32_to_f16_row, F32ToHalfFn, F32ToF16Row, TargetVariant)       \
  X(f32_to_bf16_row, F32ToHalfFn, F32ToBF16Row, TargetVariant)

// X(entry_name, FnType, PerTargetTemplate, PerTargetVariantTemplate)
#define QKIT_FORMAT_ENTRY_POINTS(X)
