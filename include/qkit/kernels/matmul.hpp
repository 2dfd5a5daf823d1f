// qkit/kernels/matmul.hpp — quantized GEMV (decode) and GEMM (prompt):
// Y = W X for weights in any qkit format and f32 activations.
//
//   WeightView W{format, data, rows, cols, row_stride};   // rows of blocks, as GGUF stores them; cols = K
//   gemv(W, x, y, &pool);        // y[rows]       = W x
//   gemm(W, X, n, Y, &pool);     // Y[c][rows]    = W X[c], X: n rows of K floats (row-major)
//
// Activations are quantized once per call to the format's pair format
// (Q8_0, Q8_1 or Q8_K; F16 / BF16 weights round x through f16 / bf16; F32
// uses x as is), exactly as the reference engine does, so results agree
// with its dot products up to f32 summation order. With a ThreadPool, the
// output rows are split statically: results are bit-identical for any
// thread count. Scratch space is thread_local and only grows: no allocation
// per call in steady state. Shapes are checked once here (qkit::Error
// naming both shapes); kernels trust them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qkit/base/aligned.hpp"
#include "qkit/base/error.hpp"
#include "qkit/kernels/act_layout.hpp"
#include "qkit/kernels/convert.hpp"
#include "qkit/kernels/tables.hpp"
#include "qkit/quant/format.hpp"
#include "qkit/thread/pool.hpp"

namespace qkit {

using kernels::WeightLayout;

struct WeightView {
  Format format = Format::F32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;        // K, values per row
  size_t row_stride = 0;   // bytes between rows (0: row_bytes(format, cols))
  WeightLayout layout = WeightLayout::kRows;
};

namespace detail {

// The per-thread scratch of one call: activation columns in the kernels' layout.
struct MatmulWorkspace {
  AlignedBuffer<int8_t> qs;
  AlignedBuffer<float> d, s, xf;
  AlignedBuffer<int32_t> sums;
  AlignedBuffer<int16_t> bsums, bsums32;
  AlignedBuffer<uint16_t> half;
};

inline MatmulWorkspace& matmul_workspace() {
  thread_local MatmulWorkspace ws;
  return ws;
}

inline size_t pad64(size_t n) { return (n + 63) / 64 * 64; }

inline void check_matmul(const char* op, const WeightView& W, const float* x, int64_t n, const float* y) {
  const FormatInfo& fi = format_info(W.format);
  require(W.rows >= 0 && W.cols > 0, op, ": weights [", W.rows, " x ", W.cols, "] (", fi.name, ") have no columns");
  require(W.cols % fi.block_size == 0, op, ": weights [", W.rows, " x ", W.cols, "] (", fi.name,
          "): K = ", W.cols, " is not a multiple of the ", fi.name, " block size ", fi.block_size);
  const uint64_t rb = row_bytes(W.format, static_cast<uint64_t>(W.cols));
  if (W.layout == WeightLayout::kInterleaved16) {
    require(kernels::has_interleaved_layout(W.format), op, ": weights [", W.rows, " x ", W.cols, "] (",
            fi.name, "): no interleaved layout for this format");
    require(W.row_stride == rb * 16, op, ": weights [", W.rows, " x ", W.cols, "] (", fi.name,
            ", interleaved): group stride ", W.row_stride, " is not 16 rows (", rb * 16, " bytes)");
  } else {
    require(W.layout == WeightLayout::kRows, op, ": weights [", W.rows, " x ", W.cols, "]: unknown layout ",
            static_cast<uint32_t>(W.layout));
  }
  require(W.row_stride == 0 || W.row_stride >= rb, op, ": weights [", W.rows, " x ", W.cols, "] (", fi.name,
          "): row stride ", W.row_stride, " is shorter than a row (", rb, " bytes)");
  require(n >= 0, op, ": activations [", n, " x ", W.cols, "]: negative column count");
  require(W.rows == 0 || n == 0 || (W.data && x && y), op, ": weights [", W.rows, " x ", W.cols,
          "] and activations [", n, " x ", W.cols, "]: null data pointer");
}

// Fills the workspace for n activation columns of K values; returns the view.
inline kernels::QuantAct prepare_activations(Format wf, bool quantized, const float* X, int64_t n, int64_t K,
                                             ThreadPool* pool) {
  MatmulWorkspace& ws = matmul_workspace();
  const Format pair = format_info(wf).pair;
  kernels::QuantAct a;
  a.pair = pair;
  a.n = n;
  a.k = K;
  const size_t nk = static_cast<size_t>(K);
  auto for_columns = [&](auto&& fn) {
    if (pool && n > 1) {
      pool->parallel_for(0, n, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) fn(c);
      });
    } else {
      for (int64_t c = 0; c < n; ++c) fn(c);
    }
  };
  if (pair == Format::F32) {
    a.xf = X;
    a.xf_stride = nk;
    return a;
  }
  if (pair == Format::F16 || pair == Format::BF16) {
    // The reference converts x to the weights' half type first.
    ws.xf.ensure(static_cast<size_t>(n) * nk);
    ws.half.ensure(static_cast<size_t>(n) * nk);
    const bool is_f16 = pair == Format::F16;
    for_columns([&](int64_t c) {
      const float* xc = X + static_cast<size_t>(c) * nk;
      uint16_t* h = ws.half.data() + static_cast<size_t>(c) * nk;
      float* out = ws.xf.data() + static_cast<size_t>(c) * nk;
      if (is_f16) {
        f32_to_f16(xc, reinterpret_cast<f16*>(h), nk);
        f16_to_f32(reinterpret_cast<const f16*>(h), out, nk);
      } else {
        f32_to_bf16(xc, reinterpret_cast<bf16*>(h), nk);
        bf16_to_f32(reinterpret_cast<const bf16*>(h), out, nk);
      }
    });
    a.xf = ws.xf.data();
    a.xf_stride = nk;
    return a;
  }
  // Q8_0 / Q8_1 / Q8_K pairs.
  const bool k_pair = pair == Format::Q8_K;
  const size_t nblk = nk / (k_pair ? 256 : 32);
  a.qs_stride = pad64(nk);
  a.blk_stride = pad64(nblk);
  a.bsum_stride = pad64(nk / 16);
  ws.qs.ensure(static_cast<size_t>(n) * a.qs_stride);
  ws.d.ensure(static_cast<size_t>(n) * a.blk_stride);
  ws.sums.ensure(static_cast<size_t>(n) * a.blk_stride);
  if (pair == Format::Q8_1) ws.s.ensure(static_cast<size_t>(n) * a.blk_stride);
  if (k_pair) {
    ws.bsums.ensure(static_cast<size_t>(n) * a.bsum_stride);
    ws.bsums32.ensure(static_cast<size_t>(n) * a.bsum_stride / 2);
  }
  if (!quantized) ws.xf.ensure(static_cast<size_t>(n) * nk);
  const auto column = QKIT_DISPATCH(act_kernel_column);
  for_columns([&](int64_t c) {
    const size_t cc = static_cast<size_t>(c);
    int8_t* qs = ws.qs.data() + cc * a.qs_stride;
    float* d = ws.d.data() + cc * a.blk_stride;
    column(pair, X + cc * nk, K, qs, d, ws.sums.data() + cc * a.blk_stride,
           pair == Format::Q8_1 ? ws.s.data() + cc * a.blk_stride : nullptr,
           k_pair ? ws.bsums.data() + cc * a.bsum_stride : nullptr);
    if (k_pair) {
      // Sums of 32 quants (pairs of bsums), for the interleaved Q4_K kernel.
      const int16_t* b16 = ws.bsums.data() + cc * a.bsum_stride;
      int16_t* b32 = ws.bsums32.data() + cc * a.bsum_stride / 2;
      for (size_t i = 0; i < nk / 32; ++i) b32[i] = static_cast<int16_t>(b16[2 * i] + b16[2 * i + 1]);
    }
    if (!quantized) {
      // The f32 path works on the dequantized activations d * q.
      float* xf = ws.xf.data() + cc * nk;
      const size_t bs = k_pair ? 256 : 32;
      for (size_t i = 0; i < nk; ++i) xf[i] = d[i / bs] * static_cast<float>(qs[i]);
    }
  });
  a.qs = ws.qs.data();
  a.d = ws.d.data();
  a.sums = ws.sums.data();
  a.s = pair == Format::Q8_1 ? ws.s.data() : nullptr;
  a.bsums = k_pair ? ws.bsums.data() : nullptr;
  a.bsums32 = k_pair ? ws.bsums32.data() : nullptr;
  if (!quantized) {
    a.xf = ws.xf.data();
    a.xf_stride = nk;
  }
  return a;
}

inline void run_matmul(const char* op, const WeightView& W, const float* X, int64_t n, float* Y, ThreadPool* pool) {
  check_matmul(op, W, X, n, Y);
  if (W.rows == 0 || n == 0) return;
  const size_t fi = format_index(W.format);
  const size_t t = cpu::dispatch_index();
  const bool quantized = kernels::matmul_int_table[fi][t]();
  const kernels::QuantAct act = prepare_activations(W.format, quantized, X, n, W.cols, pool);
  kernels::MatmulArgs a;
  a.format = W.format;
  a.w = static_cast<const uint8_t*>(W.data);
  a.layout = W.layout;
  a.rows = W.rows;
  a.cols = W.cols;
  a.row_stride = W.row_stride ? W.row_stride : static_cast<size_t>(row_bytes(W.format, static_cast<uint64_t>(W.cols)));
  // (interleaved: bytes per 16-row group, checked above)
  a.act = &act;
  a.y = Y;
  a.ldy = W.rows;
  const auto kernel = kernels::matmul_table[fi][t];
  // Grain 16: chunk edges on whole row groups, so every row sees the same
  // code path whatever the thread count.
  auto body = [&](int64_t r0, int64_t r1) {
    kernels::MatmulArgs part = a;
    part.row_begin = r0;
    part.row_end = r1;
    kernel(part);
  };
  if (pool) {
    pool->parallel_for(0, W.rows, 16, body);
  } else {
    body(0, W.rows);
  }
}

}  // namespace detail

// y[r] = sum_k W[r, k] x[k] for r < W.rows; x holds W.cols floats.
inline void gemv(const WeightView& W, const float* x, float* y, ThreadPool* pool = nullptr) {
  detail::run_matmul("gemv", W, x, 1, y, pool);
}

// Y[c * W.rows + r] = sum_k W[r, k] X[c * W.cols + k] for c < n.
inline void gemm(const WeightView& W, const float* X, int64_t n, float* Y, ThreadPool* pool = nullptr) {
  detail::run_matmul("gemm", W, X, n, Y, pool);
}

// The variant gemv/gemm run for a format on the current target ("AVX3_DL+vnni").
inline const char* matmul_variant(Format f) {
  return kernels::matmul_variant[format_index(format_info(f).format)][cpu::dispatch_index()]();
}

}  // namespace qkit
