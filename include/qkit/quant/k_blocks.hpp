// qkit/quant/k_blocks.hpp — the K-quant super-block structs (Q2_K..Q6_K,
// Q8_K), laid out byte for byte as ggml / GGUF store them, and the row
// codec every K-quant and ternary format shares (SuperBlockCodec).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qkit/base/error.hpp"
#include "qkit/base/fp16.hpp"
#include "qkit/quant/codec.hpp"

namespace qkit {

inline constexpr int kQK = 256;          // values per K-quant super-block
inline constexpr int kKScaleSize = 12;   // packed 6-bit scales + mins (q4_K, q5_K)

// 16 sub-blocks of 16: 2-bit quants, 4-bit scale and 4-bit min per sub-block.
struct BlockQ2K {
  uint8_t scales[kQK / 16];  // low nibble scale, high nibble min
  uint8_t qs[kQK / 4];       // 2-bit quants
  f16 d;                     // super-block scale for the scales
  f16 dmin;                  // super-block scale for the mins
};
static_assert(sizeof(BlockQ2K) == 84, "q2_K block");

// 16 sub-blocks of 16: 3-bit quants (2 low bits + 1 high bit), 6-bit scales.
struct BlockQ3K {
  uint8_t hmask[kQK / 8];  // high bit of each quant
  uint8_t qs[kQK / 4];     // low 2 bits
  uint8_t scales[12];      // 16 packed 6-bit scales
  f16 d;
};
static_assert(sizeof(BlockQ3K) == 110, "q3_K block");

// 8 sub-blocks of 32: 4-bit quants, 6-bit scales and mins.
struct BlockQ4K {
  f16 d;
  f16 dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ4K) == 144, "q4_K block");

// 8 sub-blocks of 32: 5-bit quants (4 low + 1 high), 6-bit scales and mins.
struct BlockQ5K {
  f16 d;
  f16 dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qh[kQK / 8];
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ5K) == 176, "q5_K block");

// 16 sub-blocks of 16: 6-bit quants (4 low + 2 high), 8-bit signed scales.
struct BlockQ6K {
  uint8_t ql[kQK / 2];
  uint8_t qh[kQK / 4];
  int8_t scales[kQK / 16];
  f16 d;
};
static_assert(sizeof(BlockQ6K) == 210, "q6_K block");

// The activation format of the K-quants' dot products: f32 scale, 8-bit
// quants and the sums of each group of 16 quants.
struct BlockQ8K {
  float d;
  int8_t qs[kQK];
  int16_t bsums[kQK / 16];
};
static_assert(sizeof(BlockQ8K) == 292, "q8_K block");

namespace quant {

// Super-blocks in a row of n values; throws unless n is a non-negative multiple of 256.
inline int64_t k_blocks_in_row(const char* fmt, int64_t n) {
  require(n >= 0 && n % kQK == 0, fmt, ": row of ", n, " values is not a multiple of the block size ", kQK);
  return n / kQK;
}

// Q4_K / Q5_K's 12 bytes of packed 6-bit scales and mins (the layout of
// get_scale_min_k4) as four words whose bytes 0..7 are the 8 scales and
// 8..15 the 8 mins: the reference's 32-bit mask form, which the SIMD
// kernels load as one vector.
inline void unpack_scales_mins_k4(const uint8_t* packed, uint32_t u[4]) {
  std::memcpy(u, packed, 12);
  constexpr uint32_t k1 = 0x3f3f3f3f, k2 = 0x0f0f0f0f, k3 = 0x03030303;
  u[3] = ((u[2] >> 4) & k2) | (((u[1] >> 6) & k3) << 4);
  const uint32_t mins_lo = u[1] & k1;
  u[1] = (u[2] & k2) | (((u[0] >> 6) & k3) << 4);
  u[2] = mins_lo;
  u[0] &= k1;
}

// Whether a super-block has a min scale (Q2_K, Q4_K, Q5_K) besides d.
template <typename Block, typename = void>
inline constexpr bool kHasDmin = false;
template <typename Block>
inline constexpr bool kHasDmin<Block, std::void_t<decltype(Block::dmin)>> = true;

}  // namespace quant
// The row codec every 256-value super-block format shares: checks the row
// geometry and the input, then runs the format's block functions, given by
// Blocks (the format's Codec, CRTP):
//   static void quantize_block(const float* x, const float* imatrix_or_null, Block& y);
//   static void dequantize_block(const Block& b, float* y);
// Validation checks the block's f16 scale d, and dmin where the block has one.
template <Format F, typename B, typename Blocks>
struct SuperBlockCodec {
  using Block = B;
  static constexpr bool kHasQuantizer = true;
  static void quantize_row(const float* x, void* dst, int64_t n, const float* imatrix) {
    auto* y = static_cast<Block*>(dst);
    const int64_t nb = quant::k_blocks_in_row(name(), n);
    quant::require_finite(name(), x, n);
    for (int64_t i = 0; i < nb; ++i) Blocks::quantize_block(x + i * kQK, imatrix ? imatrix + i * kQK : nullptr, y[i]);
  }
  static void dequantize_row(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const Block*>(src);
    const int64_t nb = quant::k_blocks_in_row(name(), n);
    for (int64_t i = 0; i < nb; ++i) Blocks::dequantize_block(b[i], y + i * kQK);
  }
  static void validate_blocks(const void* src, size_t n_blocks) {
    const auto* b = static_cast<const Block*>(src);
    for (size_t i = 0; i < n_blocks; ++i) {
      quant::check_scale(name(), i, "d", b[i].d);
      if constexpr (quant::kHasDmin<Block>) quant::check_scale(name(), i, "dmin", b[i].dmin);
    }
  }

 private:
  static const char* name() { return format_info(F).name; }
};

}  // namespace qkit
