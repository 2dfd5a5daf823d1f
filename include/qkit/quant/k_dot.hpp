// qkit/quant/k_dot.hpp — scalar reference dot products of a K-quant or
// ternary weight row with a Q8_K activation row, the oracle that SIMD
// kernels are tested against.
//
// Per super-block the integer work is exact: the weight quants (unpacked by
// the unpack_* helpers below to signed integers) times the Q8_K quants are
// summed per sub-block in int, multiplied by the integer sub-block scale and
// summed in int; sub-block minima use Q8_K's bsums. Only then is the block's
// float scale applied (d_w * d_a * isum - dmin_w * d_a * msum), and blocks
// are summed in order in float.
//
// Summation order versus the reference's scalar vec_dot
// (ggml_vec_dot_*_q8_K_generic): the same integers per block, but the
// reference spreads Q3_K..Q6_K's integer sums over 8 int32 lanes, scales each
// lane separately into 8 float accumulators across all blocks and adds the 8
// at the end, and subtracts Q4_K/Q5_K's minima from a separate running float.
// Its SIMD versions order the float work differently again. Results therefore
// agree to float rounding (a relative 1e-5 on 1024-value rows), not bitwise.
#pragma once

#include <cstdint>

#include "qkit/quant/k_quants.hpp"
#include "qkit/quant/ternary.hpp"

// GCC: no fused multiply-add anywhere below (see codec.hpp); clang contracts
// only within an expression, which fp_barrier() prevents.
QKIT_SCALAR_REF_BEGIN

namespace qkit::quant {

// --- Unpacking to signed integer quants, value order.

inline void unpack_q2k(const BlockQ2K& b, int8_t* q) {
  for (int i = 0; i < kQK; ++i) {
    const int r = i % 128;
    q[i] = static_cast<int8_t>((b.qs[32 * (i / 128) + r % 32] >> (2 * (r / 32))) & 3);
  }
}

inline void unpack_q3k(const BlockQ3K& b, int8_t* q) {
  for (int i = 0; i < kQK; ++i) {
    const int r = i % 128, l = r % 32;
    const int lo = (b.qs[32 * (i / 128) + l] >> (2 * (r / 32))) & 3;
    q[i] = static_cast<int8_t>(lo - (((b.hmask[l] >> (i / 32)) & 1) ? 0 : 4));
  }
}

inline void unpack_q4k(const BlockQ4K& b, int8_t* q) {
  for (int i = 0; i < kQK; ++i) {
    const uint8_t byte = b.qs[32 * (i / 64) + i % 32];
    q[i] = static_cast<int8_t>((i / 32) % 2 ? byte >> 4 : byte & 0xF);
  }
}

inline void unpack_q5k(const BlockQ5K& b, int8_t* q) {
  for (int i = 0; i < kQK; ++i) {
    const uint8_t byte = b.qs[32 * (i / 64) + i % 32];
    const int lo = (i / 32) % 2 ? byte >> 4 : byte & 0xF;
    q[i] = static_cast<int8_t>(lo + (((b.qh[i % 32] >> (i / 32)) & 1) ? 16 : 0));
  }
}

inline void unpack_q6k(const BlockQ6K& b, int8_t* q) {
  for (int i = 0; i < kQK; ++i) {
    const int h = i / 128, k = (i % 128) / 32, l = i % 32;
    const uint8_t lo_byte = b.ql[64 * h + l + 32 * (k & 1)];
    const int lo = k >= 2 ? lo_byte >> 4 : lo_byte & 0xF;
    const int hi = (b.qh[32 * h + l] >> (2 * k)) & 3;
    q[i] = static_cast<int8_t>((lo | (hi << 4)) - 32);
  }
}

inline void unpack_tq1_0(const BlockTQ1_0& b, int8_t* q) {
  for (int n = 0; n < 5; ++n)
    for (int m = 0; m < 32; ++m) q[32 * n + m] = static_cast<int8_t>(unpack_trit(b.qs[m], n));
  for (int n = 0; n < 5; ++n)
    for (int m = 0; m < 16; ++m) q[160 + 16 * n + m] = static_cast<int8_t>(unpack_trit(b.qs[32 + m], n));
  for (int n = 0; n < 4; ++n)
    for (int j = 0; j < 4; ++j) q[240 + 4 * n + j] = static_cast<int8_t>(unpack_trit(b.qh[j], n));
}

inline void unpack_tq2_0(const BlockTQ2_0& b, int8_t* q) {
  for (int i = 0; i < kQK; ++i) {
    q[i] = static_cast<int8_t>(((b.qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3) - 1);
  }
}

// Sum over [begin, end) of w[i] * a[i].
inline int int_dot(const int8_t* w, const int8_t* a, int begin, int end) {
  int s = 0;
  for (int i = begin; i < end; ++i) s += w[i] * a[i];
  return s;
}

// --- One super-block's contribution.

inline float block_dot(const BlockQ2K& b, const BlockQ8K& a) {
  int8_t q[kQK];
  unpack_q2k(b, q);
  int isum = 0, msum = 0;
  for (int j = 0; j < 16; ++j) {
    isum += (b.scales[j] & 0xF) * int_dot(q, a.qs, 16 * j, 16 * j + 16);
    msum += (b.scales[j] >> 4) * a.bsums[j];
  }
  const float dall = a.d * half_to_float(b.d);
  const float dmin = a.d * half_to_float(b.dmin);
  return fp_barrier(dall * isum) - fp_barrier(dmin * msum);
}

inline float block_dot(const BlockQ3K& b, const BlockQ8K& a) {
  int8_t q[kQK];
  unpack_q3k(b, q);
  int isum = 0;
  for (int j = 0; j < 16; ++j) isum += get_scale_q3k(b.scales, j) * int_dot(q, a.qs, 16 * j, 16 * j + 16);
  return half_to_float(b.d) * a.d * isum;
}

template <typename Block>
inline float block_dot_k4(const Block& b, const int8_t* q, const BlockQ8K& a) {
  int isum = 0, msum = 0;
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    get_scale_min_k4(j, b.scales, &sc, &m);
    isum += sc * int_dot(q, a.qs, 32 * j, 32 * j + 32);
    msum += m * (a.bsums[2 * j] + a.bsums[2 * j + 1]);
  }
  const float d = half_to_float(b.d) * a.d;
  const float dmin = half_to_float(b.dmin) * a.d;
  return fp_barrier(d * isum) - fp_barrier(dmin * msum);
}

inline float block_dot(const BlockQ4K& b, const BlockQ8K& a) {
  int8_t q[kQK];
  unpack_q4k(b, q);
  return block_dot_k4(b, q, a);
}

inline float block_dot(const BlockQ5K& b, const BlockQ8K& a) {
  int8_t q[kQK];
  unpack_q5k(b, q);
  return block_dot_k4(b, q, a);
}

inline float block_dot(const BlockQ6K& b, const BlockQ8K& a) {
  int8_t q[kQK];
  unpack_q6k(b, q);
  int isum = 0;
  for (int j = 0; j < 16; ++j) isum += b.scales[j] * int_dot(q, a.qs, 16 * j, 16 * j + 16);
  return half_to_float(b.d) * a.d * isum;
}

inline float block_dot(const BlockTQ1_0& b, const BlockQ8K& a) {
  int8_t q[kQK];
  unpack_tq1_0(b, q);
  return static_cast<float>(int_dot(q, a.qs, 0, kQK)) * (half_to_float(b.d) * a.d);
}

inline float block_dot(const BlockTQ2_0& b, const BlockQ8K& a) {
  int8_t q[kQK];
  unpack_tq2_0(b, q);
  return static_cast<float>(int_dot(q, a.qs, 0, kQK)) * (half_to_float(b.d) * a.d);
}

// Dot product of a weight row of n values (format F, one of Q2_K..Q6_K,
// TQ1_0, TQ2_0) with a Q8_K activation row of the same length.
template <Format F>
inline float dot_q8k_row(const void* w, const void* a, int64_t n) {
  using Block = typename Codec<F>::Block;
  const auto* wb = static_cast<const Block*>(w);
  const auto* ab = static_cast<const BlockQ8K*>(a);
  const int64_t nb = k_blocks_in_row(format_name(F), n);
  float sum = 0;
  for (int64_t i = 0; i < nb; ++i) sum += fp_barrier(block_dot(wb[i], ab[i]));
  return sum;
}

}  // namespace qkit::quant

QKIT_SCALAR_REF_END
