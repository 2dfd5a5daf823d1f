// qkit/kernels/vnni_gemv_rows_x86.hpp — AVX-512 VNNI GEMV of Q4_0, IQ4_NL and
// Q8_0 weights as GGUF stores them (rows of blocks, no repacking) against one
// Q8_0 activation column: gemv_<w>_q8_0. rows_gemv_q8_0_act (the registry's
// rows kernel of these formats) runs it for single-column calls and
// rows_q8_0_act (vnni_x86.hpp) for GEMM.
//
// Why this shape: a GEMV uses every weight byte once, so decoding is the
// whole cost; one block per ymm (rows_q8_0_act) ran ~8 cycles per block,
// under half the read bandwidth for Q4_0. Here the weight row is read as
// raw 64-byte vectors, scale words and all, and the activation, shared by
// every row, is laid out once per call to match:
//  * A block is a 2-byte f16 scale then its quants; blocks start on even
//    offsets (18 b or 34 b), so each 4-byte lane of a raw vector holds
//    quant bytes of ONE block (plus perhaps a scale word). The activation
//    copy has the matching x values at every quant byte and 0 at scale
//    bytes, so vpdpbusd on the raw bytes gives, per lane, an exact int32
//    partial sum of one block.
//  * Signed weights become unsigned for vpdpbusd: Q8_0 by ^ 0x80 (w + 128),
//    IQ4_NL by a codebook shifted by +128, Q4_0 nibbles are 0..15 already;
//    the offset (-128 or -8 times the lane's sum of x) is the accumulator
//    seed, precomputed per lane, so lanes stay exact.
//  * Per lane, the block's f16 weight scale is picked out of the raw bytes
//    by one two-source vpermt2w (the scale may sit in the previous vector)
//    and converted; times the lane's activation scale d_x (a per-lane array)
//    it scales the lane's converted partial sum into the f32 accumulator:
//    block sums exact in int32, scaled by d_w * d_x in f32 as the reference.
//  * Per 64 weight bytes and row: ~10 vector ops (Q4_0) instead of ~25.
// The last vector of a row is a masked load (never past the row's end);
// lanes past the end have x = 0, seed 0, d_x = 0 and a valid scale index.
// Several rows per pass share the activation loads; every row runs the same
// sequence whatever its partners, so results do not depend on the row range
// or the thread count.
#pragma once

#include "qkit/kernels/intrin_warnings.hpp"

#include "qkit/base/aligned.hpp"
#include "qkit/kernels/vnni_repack_x86.hpp"  // QKIT_UNROLL
#include "qkit/kernels/vnni_x86.hpp"

#if defined(QKIT_HAVE_VNNI_X86)

QKIT_INTRIN_WARNINGS_BEGIN

namespace qkit::kernels::vnni {

// The activation for one 64-byte weight vector: x at the low nibbles (or
// the bytes, Q8_0), x at the high nibbles (nibble formats), the lane seeds,
// the lane activation scales and the vpermt2w word indices of the lanes'
// weight scales in {previous vector, this vector}.
template <int kKind>
struct RowsGemvAct {
  static constexpr bool kNib = kKind != kKindQ8_0;
  static constexpr size_t kBlockBytes = kNib ? 18 : 34;
  static constexpr int32_t kOffset = kKind == kKindQ4_0 ? 8 : 128;
  static constexpr size_t kXa = 0, kXb = 64, kSeed = kNib ? 128 : 64, kDx = kSeed + 64, kIdx = kDx + 64;
  static constexpr size_t kBytes = kIdx + 64;  // per weight vector
};

// Lays out column c for rows_gemv_tile: nv vectors of kBytes at out. lin
// is scratch of 2 * 64 * nv bytes (the quants in weight-byte order).
template <int kKind>
QKIT_VNNI_TARGET inline void rows_gemv_act(const QuantAct& x, int64_t c, int64_t nb, int64_t nv, int8_t* lin,
                                           uint8_t* out) {
  using L = RowsGemvAct<kKind>;
  constexpr int64_t kBB = static_cast<int64_t>(L::kBlockBytes);
  const int8_t* q = x.qs + static_cast<size_t>(c) * x.qs_stride;
  const float* d = x.d + static_cast<size_t>(c) * x.blk_stride;
  const int64_t row_bytes = nb * kBB;
  int8_t* la = lin;
  int8_t* lb = lin + 64 * nv;
  std::memset(lin, 0, static_cast<size_t>((L::kNib ? 2 : 1) * 64 * nv));  // scale bytes and the tail stay 0
  for (int64_t b = 0; b < nb; ++b) {
    if constexpr (L::kNib) {
      std::memcpy(la + kBB * b + 2, q + 32 * b, 16);  // low nibbles: values 0..15
      std::memcpy(lb + kBB * b + 2, q + 32 * b + 16, 16);
    } else {
      std::memcpy(la + kBB * b + 2, q + 32 * b, 32);
    }
  }
  const __m512i ones = _mm512_set1_epi8(1);
  const __m512i neg_off = _mm512_set1_epi32(-L::kOffset);
  for (int64_t v = 0; v < nv; ++v) {
    uint8_t* o = out + static_cast<size_t>(v) * L::kBytes;
    const __m512i xa = _mm512_loadu_si512(la + 64 * v);
    _mm512_store_si512(o + L::kXa, xa);
    __m512i sum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, xa);
    if constexpr (L::kNib) {
      const __m512i xb = _mm512_loadu_si512(lb + 64 * v);
      _mm512_store_si512(o + L::kXb, xb);
      sum = _mm512_dpbusd_epi32(sum, ones, xb);
    }
    _mm512_store_si512(o + L::kSeed, _mm512_mullo_epi32(sum, neg_off));
    float* dx = reinterpret_cast<float*>(o + L::kDx);
    int16_t* idx = reinterpret_cast<int16_t*>(o + L::kIdx);
    for (int lane = 0; lane < 16; ++lane) {
      // Blocks start on even offsets, so a lane's first byte is a quant
      // or the first scale byte of the lane's block.
      const int64_t p = 64 * v + 4 * lane;
      const bool live = p < row_bytes;
      const int64_t blk = live ? p / kBB : nb - 1;  // past the end: a real scale word, d_x = 0
      dx[lane] = live ? d[blk] : 0.0f;
      // The block's scale word, counted from the previous vector's start.
      idx[lane] = static_cast<int16_t>((blk * kBB - 64 * (v - 1)) / 2);
      idx[lane + 16] = 0;
    }
  }
}

// Constants of the weight decode.
struct RowsGemvConst {
  __m512i m4, flip, tbl;
};

// One 64-byte weight vector v of kR rows: acc[j] += its lanes' scaled sums.
template <int kKind, int kR>
QKIT_VNNI_TARGET __attribute__((always_inline)) inline void rows_gemv_step(const RowsGemvConst& k, const uint8_t* act,
                                                                         const uint8_t* const* wr, int64_t v,
                                                                         __mmask64 m, __m512i* prev, __m512* acc) {
  using L = RowsGemvAct<kKind>;
  const uint8_t* p = act + static_cast<size_t>(v) * L::kBytes;
  const __m512i xa = _mm512_load_si512(p + L::kXa);
  const __m512i seed = _mm512_load_si512(p + L::kSeed);
  const __m512 dx = _mm512_load_ps(reinterpret_cast<const float*>(p + L::kDx));
  const __m512i idx = _mm512_load_si512(p + L::kIdx);
  QKIT_UNROLL(4)
  for (int j = 0; j < kR; ++j) {
    const __m512i raw = _mm512_maskz_loadu_epi8(m, wr[j] + 64 * v);
    // 2 KiB ahead into L2: with four streams per thread the hardware
    // prefetchers alone left K = 8192 rows ~20% slower (prefetches never
    // fault, so past the row's end is harmless).
    _mm_prefetch(reinterpret_cast<const char*>(wr[j] + 64 * v + 2048), _MM_HINT_T1);
    __m512i dp;
    if constexpr (kKind == kKindQ8_0) {
      dp = _mm512_dpbusd_epi32(seed, _mm512_xor_si512(raw, k.flip), xa);
    } else {
      __m512i lo = _mm512_and_si512(raw, k.m4);
      __m512i hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), k.m4);
      if constexpr (kKind == kKindIQ4NL) {
        lo = _mm512_shuffle_epi8(k.tbl, lo);
        hi = _mm512_shuffle_epi8(k.tbl, hi);
      }
      dp = _mm512_dpbusd_epi32(seed, lo, xa);
      dp = _mm512_dpbusd_epi32(dp, hi, _mm512_load_si512(p + L::kXb));
    }
    const __m512 dw = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutex2var_epi16(prev[j], idx, raw)));
    acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dp), _mm512_mul_ps(dw, dx), acc[j]);
    prev[j] = raw;
  }
}

// kR rows against the prepared column; writes y[row] for each. Even and
// odd vectors go to two accumulators (FMA latency).
template <int kKind, int kR>
QKIT_VNNI_TARGET inline void rows_gemv_tile(const MatmulArgs& a, const int64_t* rows, int64_t c, const uint8_t* act,
                                            int64_t nv, __mmask64 tail) {
  RowsGemvConst k;
  k.m4 = _mm512_set1_epi8(0x0f);
  k.flip = _mm512_set1_epi8(static_cast<char>(0x80));
  k.tbl = _mm512_setzero_si512();
  if constexpr (kKind == kKindIQ4NL) {
    alignas(16) int8_t t[16];
    for (int i = 0; i < 16; ++i) t[i] = static_cast<int8_t>(kIQ4Values[i] + 128);  // the u8 value k + 128
    k.tbl = _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(t)));
  }
  const __mmask64 full = ~__mmask64(0);
  const uint8_t* wr[kR];
  __m512i prev[kR];
  __m512 acc0[kR], acc1[kR];
  QKIT_UNROLL(4)
  for (int j = 0; j < kR; ++j) {
    wr[j] = a.w + static_cast<size_t>(rows[j]) * a.row_stride;
    prev[j] = _mm512_setzero_si512();
    acc0[j] = acc1[j] = _mm512_setzero_ps();
  }
  int64_t v = 0;
  for (; v + 2 < nv; v += 2) {
    rows_gemv_step<kKind, kR>(k, act, wr, v, full, prev, acc0);
    rows_gemv_step<kKind, kR>(k, act, wr, v + 1, full, prev, acc1);
  }
  if (nv - v == 2) {
    rows_gemv_step<kKind, kR>(k, act, wr, v, full, prev, acc0);
    rows_gemv_step<kKind, kR>(k, act, wr, v + 1, tail, prev, acc1);
  } else {
    rows_gemv_step<kKind, kR>(k, act, wr, v, tail, prev, acc0);
  }
  QKIT_UNROLL(4)
  for (int j = 0; j < kR; ++j)
    a.y[static_cast<size_t>(c) * a.ldy + rows[j]] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[j], acc1[j]));
}

// Rows [r0, r1) x columns [c0, c1), one column at a time.
template <int kKind>
QKIT_VNNI_TARGET inline void rows_gemv(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  using L = RowsGemvAct<kKind>;
  const int64_t nb = a.cols / 32;
  const int64_t row_bytes = nb * static_cast<int64_t>(L::kBlockBytes);
  const int64_t nv = (row_bytes + 63) / 64;
  const int64_t rem = row_bytes - 64 * (nv - 1);  // 1..64 bytes in the last vector
  const __mmask64 tail = rem == 64 ? ~__mmask64(0) : (__mmask64(1) << rem) - 1;
  thread_local AlignedBuffer<uint8_t> act_buf;
  thread_local AlignedBuffer<int8_t> lin_buf;
  act_buf.ensure(static_cast<size_t>(nv) * L::kBytes);
  lin_buf.ensure(static_cast<size_t>(2 * 64 * nv));
  for (int64_t c = c0; c < c1; ++c) {
    rows_gemv_act<kKind>(*a.act, c, nb, nv, lin_buf.data(), act_buf.data());
    // Four rows per pass, from the four quarters of the range: each pass
    // shares the activation loads, and the weights stay four long
    // sequential streams (adjacent rows interleaved ran at a third of
    // the speed streaming from memory: the prefetchers lose them).
    const int64_t h = (r1 - r0) / 4;
    for (int64_t r = r0; r < r0 + h; ++r) {
      const int64_t rows[4] = {r, r + h, r + 2 * h, r + 3 * h};
      rows_gemv_tile<kKind, 4>(a, rows, c, act_buf.data(), nv, tail);
    }
    for (int64_t r = r0 + 4 * h; r < r1; ++r) rows_gemv_tile<kKind, 1>(a, &r, c, act_buf.data(), nv, tail);
  }
}

// The registry's rows kernel: the GEMV above for single-column calls, the
// column-chunked kernel for GEMM (its 4-column chunks share each decoded
// block, which the GEMV layout would not).
template <int kKind>
QKIT_VNNI_TARGET inline void rows_gemv_q8_0_act(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  if (a.act->n == 1) {
    rows_gemv<kKind>(a, r0, r1, c0, c1);
  } else {
    rows_q8_0_act<kKind>(a, r0, r1, c0, c1);
  }
}

}  // namespace qkit::kernels::vnni

QKIT_INTRIN_WARNINGS_END

#endif  // QKIT_HAVE_VNNI_X86
