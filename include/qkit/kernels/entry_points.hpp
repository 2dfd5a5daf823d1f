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
// Dequantization (kernels/dequant.hpp).
using DequantRowFn = void (*)(const void* src, float* dst, int64_t n);
// Activation quantization (kernels/quantize_act.hpp) and matmul (kernels/matmul.hpp).
struct MatmulArgs;
using ActRowFn = void (*)(const float* x, void* dst, int64_t n);
using ActColumnFn = void (*)(Format pair, const float* x, int64_t k, int8_t* qs, float* d, int32_t* sums, float* s,
                             int16_t* bsums);
using MatmulFn = void (*)(const MatmulArgs& args);
using MatmulIntFn = bool (*)();

// Transformer ops (norm.hpp, activation.hpp, rope.hpp, attention.hpp).
using RmsNormFn = void (*)(const float* x, const float* w, float* out, size_t rows, size_t n, float eps);
using LayerNormFn = void (*)(const float* x, const float* w, const float* b, float* out, size_t rows, size_t n,
                             float eps);
using AddRowFn = void (*)(const float* a, const float* b, float* out, size_t n);
using UnaryRowFn = void (*)(const float* x, float* out, size_t n);
using SwigluFn = void (*)(const float* gate_up, float* out, size_t rows, size_t n);
using SoftmaxFn = void (*)(const float* x, float* out, size_t rows, size_t n, float inv_temp);
using RopeApplyFn = void (*)(float* x, size_t n_tokens, size_t n_head, size_t head_dim, size_t n_rot, bool neox,
                             const float* tables);
struct AttentionJob;
using AttentionTaskFn = void (*)(const AttentionJob& job, size_t task);

}  // namespace qkit::kernels

// X(entry_name, FnType, PerTargetImpl, PerTargetVariant)
#define QKIT_ENTRY_POINTS(X)                                       \
  X(dot_f32, DotF32Fn, DotF32, TargetVariant)                      \
  X(f16_to_f32_row, HalfToF32Fn, F16ToF32Row, TargetVariant)       \
  X(bf16_to_f32_row, HalfToF32Fn, BF16ToF32Row, TargetVariant)     \
  X(f32_to_f16_row, F32ToHalfFn, F32ToF16Row, TargetVariant)       \
  X(f32_to_bf16_row, F32ToHalfFn, F32ToBF16Row, TargetVariant)     \
  X(act_q8_0_row, ActRowFn, ActQ8_0Row, TargetVariant)             \
  X(act_q8_1_row, ActRowFn, ActQ8_1Row, TargetVariant)             \
  X(act_q8_k_row, ActRowFn, ActQ8KRow, TargetVariant)              \
  X(act_kernel_column, ActColumnFn, ActKernelColumn, TargetVariant)  \
  X(rms_norm, RmsNormFn, RmsNormRows, TargetVariant)             \
  X(layer_norm, LayerNormFn, LayerNormRows, TargetVariant)       \
  X(add_f32, AddRowFn, AddRow, TargetVariant)                    \
  X(exp_f32, UnaryRowFn, ExpRow, TargetVariant)                  \
  X(tanh_f32, UnaryRowFn, TanhRow, TargetVariant)                \
  X(erf_f32, UnaryRowFn, ErfRow, TargetVariant)                  \
  X(silu_f32, UnaryRowFn, SiluRow, TargetVariant)                \
  X(gelu_tanh_f32, UnaryRowFn, GeluTanhRow, TargetVariant)       \
  X(gelu_erf_f32, UnaryRowFn, GeluErfRow, TargetVariant)         \
  X(swiglu_f32, SwigluFn, SwigluRows, TargetVariant)             \
  X(softmax_f32, SoftmaxFn, SoftmaxRows, TargetVariant)          \
  X(rope_apply, RopeApplyFn, RopeApply, TargetVariant)           \
  X(attention_task, AttentionTaskFn, AttentionTask, TargetVariant)

// X(entry_name, FnType, PerTargetTemplate, PerTargetVariantTemplate)
#define QKIT_FORMAT_ENTRY_POINTS(X)                        \
  X(dequantize_row, DequantRowFn, DequantizeRow, DequantizeVariant) \
  X(matmul, MatmulFn, Matmul, MatmulVariant)               \
  X(matmul_int, MatmulIntFn, MatmulWantsQuant, NoVariant)         \
  X(matmul_interleaved, MatmulIntFn, MatmulHasInterleavedKernel, NoVariant)
