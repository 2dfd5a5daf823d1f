// qkit/quant/ternary.hpp — the ternary formats TQ1_0 (1.6875 bits per
// weight, base-3 packing) and TQ2_0 (2 bits per weight): block structs laid
// out as ggml / GGUF store them, and their Codec specializations.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qkit/base/error.hpp"
#include "qkit/base/fp16.hpp"
#include "qkit/quant/format.hpp"
#include "qkit/quant/k_quants.hpp"

namespace qkit {

// 256 ternary values: 240 packed five per byte in qs, 16 packed four per byte in qh.
struct BlockTQ1_0 {
  uint8_t qs[(kQK - 4 * kQK / 64) / 5];
  uint8_t qh[kQK / 64];
  f16 d;
};
static_assert(sizeof(BlockTQ1_0) == 54, "tq1_0 block");

// 256 ternary values at 2 bits each.
struct BlockTQ2_0 {
  uint8_t qs[kQK / 4];
  f16 d;
};
static_assert(sizeof(BlockTQ2_0) == 66, "tq2_0 block");

#define QKIT_TERNARY_STUB(F, B)                                                                   \
  template <>                                                                                     \
  struct Codec<Format::F> {                                                                       \
    using Block = B;                                                                              \
    static void quantize_row(const float*, void*, int64_t, const float*) { kquant_detail::not_yet(#F); } \
    static void dequantize_row(const void*, float*, int64_t) { kquant_detail::not_yet(#F); }     \
    static void validate_blocks(const void*, size_t) { kquant_detail::not_yet(#F); }             \
  };
QKIT_TERNARY_STUB(TQ1_0, BlockTQ1_0)
QKIT_TERNARY_STUB(TQ2_0, BlockTQ2_0)
#undef QKIT_TERNARY_STUB

}  // namespace qkit
