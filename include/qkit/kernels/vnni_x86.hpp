// qkit/kernels/vnni_x86.hpp — raw AVX-512 VNNI (vpdpbusd) matmul kernels for
// Q8_0, Q4_0 and IQ4_NL weights against Q8_0 activations, weights as GGUF stores
// them (row-major blocks). Compiled once per translation unit with their own
// target attribute (not per Highway target); the AVX3 / AVX3_DL kernels call
// them when cpu::has_fast_path(kFastVnni) holds.
//
// Why these shapes:
//  * vpdpbusd multiplies unsigned by signed bytes. Q8_0 weights are signed,
//    so the weight's sign moves onto the activation (|w| * sign(x, w));
//    Q4_0 quants are unsigned 0..15 and the "- 8" becomes -8 * sum(x) of the
//    block, seeded into the int32 accumulator so block sums stay exact.
//  * One block (32 values) per ymm: per-lane partial sums are converted to
//    f32 and scaled by d_w * d_x, as the reference's AVX2 path does.
//  * Columns in chunks of 4 share each decoded weight vector; every column
//    runs the same instruction sequence whatever the chunk, so results do not
//    depend on N's split, the row range, or the thread count.
// Single-column calls (GEMV) take vnni_gemv_rows_x86.hpp instead, which
// reads whole 64-byte weight vectors against a per-call activation layout;
// these kernels serve GEMM on rows.
#pragma once

#include "qkit/kernels/intrin_warnings.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define QKIT_HAVE_VNNI_X86 1
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "qkit/kernels/act_layout.hpp"
#include "qkit/quant/iq4.hpp"

#define QKIT_VNNI_TARGET \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c,bmi2")))

QKIT_INTRIN_WARNINGS_BEGIN

namespace qkit::kernels::vnni {

QKIT_VNNI_TARGET inline float hsum8(__m256 v) {
  __m128 r = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

QKIT_VNNI_TARGET inline float f16_scalar(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// The weight formats of these kernels (all 32-value blocks, Q8_0 activations).
inline constexpr int kKindQ8_0 = 0, kKindQ4_0 = 1, kKindIQ4NL = 2;

// Decoded weights of one block: the unsigned operand of vpdpbusd and what the
// activation needs (sign for Q8_0, an accumulator seed from sum(x) for Q4_0).
template <int kKind>
struct Decoded {
  __m256i u;     // unsigned bytes
  __m256i sign;  // Q8_0: the weights, whose signs go onto x
  float d;
};

template <int kKind>
QKIT_VNNI_TARGET inline Decoded<kKind> decode_block(const uint8_t* blk) {
  Decoded<kKind> r;
  r.d = f16_scalar(blk);
  if constexpr (kKind == kKindIQ4NL) {
    // Non-linear codebook: nibble -> int8 by a byte shuffle, then as Q8_0.
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2));
    const __m128i m = _mm_set1_epi8(0x0f);
    const __m128i tbl = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIQ4Values));
    const __m256i w = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_shuffle_epi8(tbl, _mm_and_si128(q, m))),
                                              _mm_shuffle_epi8(tbl, _mm_and_si128(_mm_srli_epi16(q, 4), m)), 1);
    r.u = _mm256_abs_epi8(w);
    r.sign = w;
  } else if constexpr (kKind == kKindQ4_0) {
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2));
    const __m128i m = _mm_set1_epi8(0x0f);
    r.u = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(q, m)),
                                  _mm_and_si128(_mm_srli_epi16(q, 4), m), 1);
    r.sign = _mm256_setzero_si256();
  } else {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
    r.u = _mm256_abs_epi8(w);
    r.sign = w;
  }
  return r;
}

// acc += d_w * d_x * (int dot of one block with activation quants xq).
template <int kKind>
QKIT_VNNI_TARGET inline __m256 block_fma(const Decoded<kKind>& w, const int8_t* xq, float dx, int32_t sx, __m256 acc) {
  const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq));
  __m256i dp;
  if constexpr (kKind == kKindQ4_0) {
    dp = _mm256_dpbusd_epi32(_mm256_castsi128_si256(_mm_cvtsi32_si128(-8 * sx)), w.u, x);
  } else {
    dp = _mm256_dpbusd_epi32(_mm256_setzero_si256(), w.u, _mm256_sign_epi8(x, w.sign));
  }
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dp), _mm256_set1_ps(w.d * dx), acc);
}

// Rows [r0, r1) x columns [c0, c1) of Y for Q8_0, Q4_0 or IQ4_NL weights.
template <int kKind>
QKIT_VNNI_TARGET inline void rows_q8_0_act(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  constexpr size_t kBlockBytes = kKind == kKindQ8_0 ? 34 : 18;
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 32;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* wr = a.w + static_cast<size_t>(r) * a.row_stride;
    int64_t c = c0;
    for (; c + 4 <= c1; c += 4) {
      // Two accumulators per column (even / odd blocks) hide FMA latency.
      __m256 acc[4][2];
      for (int j = 0; j < 4; ++j) acc[j][0] = acc[j][1] = _mm256_setzero_ps();
      const int8_t* xq[4];
      const float* xd[4];
      const int32_t* xs[4];
      for (int j = 0; j < 4; ++j) {
        xq[j] = x.qs + static_cast<size_t>(c + j) * x.qs_stride;
        xd[j] = x.d + static_cast<size_t>(c + j) * x.blk_stride;
        xs[j] = x.sums + static_cast<size_t>(c + j) * x.blk_stride;
      }
      for (int64_t b = 0; b < nb; ++b) {
        const Decoded<kKind> w = decode_block<kKind>(wr + static_cast<size_t>(b) * kBlockBytes);
        const int p = static_cast<int>(b & 1);
        for (int j = 0; j < 4; ++j) acc[j][p] = block_fma<kKind>(w, xq[j] + b * 32, xd[j][b], xs[j][b], acc[j][p]);
      }
      for (int j = 0; j < 4; ++j)
        a.y[static_cast<size_t>(c + j) * a.ldy + r] = hsum8(_mm256_add_ps(acc[j][0], acc[j][1]));
    }
    for (; c < c1; ++c) {
      __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
      const int8_t* xq = x.qs + static_cast<size_t>(c) * x.qs_stride;
      const float* xd = x.d + static_cast<size_t>(c) * x.blk_stride;
      const int32_t* xs = x.sums + static_cast<size_t>(c) * x.blk_stride;
      for (int64_t b = 0; b < nb; ++b) {
        const Decoded<kKind> w = decode_block<kKind>(wr + static_cast<size_t>(b) * kBlockBytes);
        const int p = static_cast<int>(b & 1);
        acc[p] = block_fma<kKind>(w, xq + b * 32, xd[b], xs[b], acc[p]);
      }
      a.y[static_cast<size_t>(c) * a.ldy + r] = hsum8(_mm256_add_ps(acc[0], acc[1]));
    }
  }
}

}  // namespace qkit::kernels::vnni

QKIT_INTRIN_WARNINGS_END

#endif  // x86-64
