// examples/phi/ref_matmul.hpp — Y = X W^T summed in the order of the
// reference engine's x86 (AVX2 / AVX-512) CPU kernels, for Numerics::Reference.
//
// qkit's kernels and the reference's compute the same integer block dot
// products (activations quantized alike) but combine them in f32 in a
// different order. On the tiny random-weight golden models that order
// difference flips the rounding of a few Q8 activations downstream and
// can swap near-tied argmaxes, so Reference mode reproduces the
// reference's order here, per weight format, as its CPU backend picks
// kernels for an F32 activation batch:
//
//  lane8 (Q8_0, Q5_0; Q4_0 and IQ4_NL when rows % 8 != 0): tinyBLAS
//    (llamafile sgemm, prompt batches) and vec_dot (one token) both keep
//    8 f32 lanes, lane l holding the integer dot of values 4l..4l+3 of each
//    32-value block: lane = fma(d_w * d_a, lane_dot, lane) block after
//    block, then the AVX horizontal sum ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
//  block (Q4_0, IQ4_NL when rows % 8 == 0): the "repack" 8x8 gemm / gemv:
//    one accumulator per output, acc = fma(block_dot, d_w * d_a, acc).
//  Q4_K (rows % 8 == 0): the repacked 8x8 gemm / gemv: per super-block
//    acc = fma(sum_j sc_j dot_j, d_w * d_a, acc) and, apart,
//    acc_min = fma(sum_j m_j sum_j(a), dmin_w * d_a, acc_min); acc - acc_min.
//  Q6_K (vec_dot; x86 does not repack it): 8 lanes as lane8, lane l
//    holding sum of sc * (q - 32) * a over values with (i % 32) / 4 == l of
//    each super-block, lane = fma(d_a * d_w, lane_dot, lane), same final sum.
//
//  F16: activations rounded to f16; tinyBLAS (batches, K % 16 == 0) keeps
//    16 lanes, ggml_vec_dot_f16 (one token) 4 x 16 (see dot_f16).
//
// Every other format (F32, Q4_K with rows % 8 != 0, ...) goes through
// qkit's matmul (phi::matmul). Scalar code, only meant for small models.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "phi/matmul.hpp"
#include "phi/weights.hpp"
#include "qkit/base/fp16.hpp"
#include "qkit/kernels/quantize_act.hpp"
#include "qkit/quant/iq4.hpp"
#include "qkit/quant/k_blocks.hpp"
#include "qkit/quant/k_search.hpp"
#include "qkit/quant/legacy.hpp"
#include "qkit/quant/q8.hpp"
#include "qkit/thread/pool.hpp"

namespace phi::ref {

namespace detail {

inline float h2f(qkit::f16 h) { return qkit::f16_to_f32(h.bits); }

// The AVX horizontal sum of 8 lanes (hsum_float_8 / tinyBLAS hsum).
inline float hsum8(const float* a) {
  const float t0 = a[0] + a[4], t1 = a[1] + a[5], t2 = a[2] + a[6], t3 = a[3] + a[7];
  return (t0 + t2) + (t1 + t3);
}

// One 32-value weight block of the Q8_0-paired formats as int8 values and
// its scale.
inline float decode_block32(qkit::Format f, const uint8_t* blk, int8_t* q) {
  using qkit::Format;
  switch (f) {
    case Format::Q8_0: {
      const auto* b = reinterpret_cast<const qkit::BlockQ8_0*>(blk);
      for (int j = 0; j < 32; ++j) q[j] = b->qs[j];
      return h2f(b->d);
    }
    case Format::Q4_0: {
      const auto* b = reinterpret_cast<const qkit::BlockQ4_0*>(blk);
      for (int j = 0; j < 16; ++j) {
        q[j] = static_cast<int8_t>((b->qs[j] & 0x0f) - 8);
        q[j + 16] = static_cast<int8_t>((b->qs[j] >> 4) - 8);
      }
      return h2f(b->d);
    }
    case Format::Q5_0: {
      const auto* b = reinterpret_cast<const qkit::BlockQ5_0*>(blk);
      for (int j = 0; j < 16; ++j) {
        q[j] = static_cast<int8_t>(((b->qs[j] & 0x0f) | (qkit::quant::q5_high_bit(b->qh, j) << 4)) - 16);
        q[j + 16] = static_cast<int8_t>(((b->qs[j] >> 4) | (qkit::quant::q5_high_bit(b->qh, j + 16) << 4)) - 16);
      }
      return h2f(b->d);
    }
    case Format::IQ4_NL: {
      const auto* b = reinterpret_cast<const qkit::BlockIQ4_NL*>(blk);
      for (int j = 0; j < 16; ++j) {
        q[j] = qkit::kIQ4Values[b->qs[j] & 0x0f];
        q[j + 16] = qkit::kIQ4Values[b->qs[j] >> 4];
      }
      return h2f(b->d);
    }
    default:
      qkit::fail("ref::decode_block32: ", qkit::format_name(f), " is not a 32-value Q8_0-paired format");
  }
}

inline size_t block32_bytes(qkit::Format f) {
  return f == qkit::Format::Q8_0 ? sizeof(qkit::BlockQ8_0)
                                 : (f == qkit::Format::Q5_0 ? sizeof(qkit::BlockQ5_0) : sizeof(qkit::BlockQ4_0));
}

// Weight row (32-value blocks) . Q8_0 activation row.
inline float dot_block32(qkit::Format f, bool lanes, const uint8_t* w, const qkit::BlockQ8_0* a, int64_t nb) {
  const size_t wb = block32_bytes(f);
  int8_t q[32];
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const float d = decode_block32(f, w + static_cast<size_t>(b) * wb, q) * h2f(a[b].d);
    if (lanes) {
      for (int l = 0; l < 8; ++l) {
        int32_t s = 0;
        for (int e = 4 * l; e < 4 * l + 4; ++e) s += q[e] * a[b].qs[e];
        lane[l] = std::fma(d, static_cast<float>(s), lane[l]);
      }
    } else {
      int32_t s = 0;
      for (int e = 0; e < 32; ++e) s += q[e] * a[b].qs[e];
      acc = std::fma(static_cast<float>(s), d, acc);
    }
  }
  return lanes ? hsum8(lane) : acc;
}

// Q4_K weight row . Q8_K activation row (the repacked kernels' order).
inline float dot_q4_k(const uint8_t* w, const qkit::BlockQ8K* a, int64_t nb) {
  const auto* x = reinterpret_cast<const qkit::BlockQ4K*>(w);
  float acc = 0.0f, acc_min = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t isum = 0, imin = 0;
    for (int j = 0; j < 8; ++j) {  // sub-blocks of 32
      uint8_t sc, m;
      qkit::quant::get_scale_min_k4(j, x[b].scales, &sc, &m);
      const uint8_t* qs = x[b].qs + 32 * (j / 2);
      const int shift = 4 * (j % 2);
      int32_t dot = 0, asum = 0;
      for (int i = 0; i < 32; ++i) {
        const int8_t av = a[b].qs[32 * j + i];
        dot += ((qs[i] >> shift) & 0x0f) * av;
        asum += av;
      }
      isum += sc * dot;
      imin += m * asum;
    }
    acc = std::fma(static_cast<float>(isum), h2f(x[b].d) * a[b].d, acc);
    acc_min = std::fma(static_cast<float>(imin), h2f(x[b].dmin) * a[b].d, acc_min);
  }
  return acc - acc_min;
}

// Q6_K weight row . Q8_K activation row (vec_dot_q6_K_q8_K, AVX2 lanes).
inline float dot_q6_k(const uint8_t* w, const qkit::BlockQ8K* a, int64_t nb) {
  const auto* x = reinterpret_cast<const qkit::BlockQ6K*>(w);
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int8_t q[256];
  for (int64_t b = 0; b < nb; ++b) {
    for (int h = 0; h < 2; ++h) {  // halves of 128 values
      const uint8_t* ql = x[b].ql + 64 * h;
      const uint8_t* qh = x[b].qh + 32 * h;
      int8_t* o = q + 128 * h;
      for (int l = 0; l < 32; ++l) {
        o[l] = static_cast<int8_t>(((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32);
        o[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32);
        o[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        o[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      }
    }
    int32_t s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 256; ++i) s[(i % 32) / 4] += x[b].scales[i / 16] * q[i] * a[b].qs[i];
    const float d = a[b].d * h2f(x[b].d);
    for (int l = 0; l < 8; ++l) lane[l] = std::fma(d, static_cast<float>(s[l]), lane[l]);
  }
  return hsum8(lane);
}

// _mm512_reduce_add_ps as GCC expands it: halves, quarters, then pairs.
inline float reduce16(const float* a) {
  float t3[8], t6[4];
  for (int i = 0; i < 8; ++i) t3[i] = a[8 + i] + a[i];
  for (int i = 0; i < 4; ++i) t6[i] = t3[4 + i] + t3[i];
  return (t6[0] + t6[2]) + (t6[1] + t6[3]);
}

// F16 weight row . activations rounded to f16 (the reference converts the
// activation batch to F16 first). A batch goes through tinyBLAS (16 lanes,
// lane e % 16, fma over the row, reduce16); one token through
// ggml_vec_dot_f16 (4 x 16 lanes over steps of 64, summed 0+2, 1+3, then
// those two, reduce16; a tail below 64 added in double).
inline float dot_f16(const uint16_t* w, const uint16_t* a, int64_t k, bool tinyblas) {
  float lane[4][16] = {};
  const int64_t np = tinyblas ? k : k / 64 * 64;
  for (int64_t e = 0; e < np; ++e) {
    float& l = lane[tinyblas ? 0 : (e % 64) / 16][e % 16];
    l = std::fma(qkit::f16_to_f32(w[e]), qkit::f16_to_f32(a[e]), l);
  }
  if (tinyblas) return reduce16(lane[0]);
  for (int i = 0; i < 16; ++i) {
    lane[0][i] += lane[2][i];
    lane[1][i] += lane[3][i];
  }
  for (int i = 0; i < 16; ++i) lane[0][i] += lane[1][i];
  double sum = reduce16(lane[0]);
  for (int64_t e = np; e < k; ++e) sum += static_cast<double>(qkit::f16_to_f32(w[e]) * qkit::f16_to_f32(a[e]));
  return static_cast<float>(sum);
}

enum class Route { Qkit, Lane8, Block, Q4K, Q6K, F16 };

inline Route route(const Matrix& W) {
  using qkit::Format;
  if (W.layout != qkit::WeightLayout::kRows) return Route::Qkit;
  const bool repacked = W.rows % 8 == 0;  // the reference repacks these on AVX2
  switch (W.format) {
    case Format::Q8_0:
    case Format::Q5_0:
      return Route::Lane8;
    case Format::Q4_0:
    case Format::IQ4_NL:
      return repacked ? Route::Block : Route::Lane8;
    case Format::Q4_K:
      return repacked ? Route::Q4K : Route::Qkit;
    case Format::Q6_K:
      return Route::Q6K;
    case Format::F16:
      return Route::F16;
    default:
      return Route::Qkit;
  }
}

}  // namespace detail

// Y[n][W.rows] = X[n][W.cols] * W^T in the reference's order where the
// format has a route above, else through qkit.
inline void matmul(const Matrix& W, const float* X, int64_t n, float* Y, qkit::ThreadPool* pool) {
  const detail::Route r = detail::route(W);
  if (r == detail::Route::Qkit) return phi::matmul(W, X, n, Y, pool);
  const bool k_quant = r == detail::Route::Q4K || r == detail::Route::Q6K;
  const bool f16 = r == detail::Route::F16;
  const int64_t K = W.cols, blk = k_quant ? 256 : (f16 ? 1 : 32);
  const int64_t nb = K / blk;
  const size_t act_bytes =
      static_cast<size_t>(nb) * (k_quant ? sizeof(qkit::BlockQ8K) : (f16 ? sizeof(uint16_t) : sizeof(qkit::BlockQ8_0)));
  std::vector<uint8_t> act(static_cast<size_t>(n) * act_bytes);
  for (int64_t t = 0; t < n; ++t) {
    const float* x = X + t * K;
    uint8_t* a = act.data() + static_cast<size_t>(t) * act_bytes;
    if (k_quant) {
      qkit::quantize_act_q8_K(x, a, K);
    } else if (f16) {
      auto* h = reinterpret_cast<uint16_t*>(a);
      for (int64_t i = 0; i < K; ++i) h[i] = qkit::f32_to_f16(x[i]);
    } else {
      qkit::quantize_act_q8_0(x, a, K);
    }
  }
  const bool tinyblas = n >= 2 && K % 16 == 0;  // llamafile sgemm takes batches only
  auto work = [&](int64_t lo, int64_t hi) {
    for (int64_t row = lo; row < hi; ++row) {
      const uint8_t* w = W.row(row);
      for (int64_t t = 0; t < n; ++t) {
        const uint8_t* a = act.data() + static_cast<size_t>(t) * act_bytes;
        float y = 0.0f;
        switch (r) {
          case detail::Route::Lane8:
          case detail::Route::Block:
            y = detail::dot_block32(W.format, r == detail::Route::Lane8, w,
                                    reinterpret_cast<const qkit::BlockQ8_0*>(a), nb);
            break;
          case detail::Route::Q4K:
            y = detail::dot_q4_k(w, reinterpret_cast<const qkit::BlockQ8K*>(a), nb);
            break;
          case detail::Route::Q6K:
            y = detail::dot_q6_k(w, reinterpret_cast<const qkit::BlockQ8K*>(a), nb);
            break;
          case detail::Route::F16:
            y = detail::dot_f16(reinterpret_cast<const uint16_t*>(w), reinterpret_cast<const uint16_t*>(a), K,
                                tinyblas);
            break;
          case detail::Route::Qkit:
            break;
        }
        Y[t * W.rows + row] = y;
      }
    }
  };
  if (pool) {
    pool->parallel_for(0, W.rows, 16, work);
  } else {
    work(0, W.rows);
  }
}

}  // namespace phi::ref
