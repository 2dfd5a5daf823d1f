// qkit/kernels/dot_i16-inl.h — integer matmul kernels for the targets
// without an int8 dot-product instruction (AVX2, SSE4, AVX3 without VNNI,
// NEON without dotprod, SVE without sdot), written once with Highway:
//   gemv_<w>_q8_0 / gemm_<w>_q8_0_1x4   w = q8_0, q4_0, iq4_nl (x Q8_0)
//   gemv_<w>_q8_K / gemm_<w>_q8_K_2x4   w = q2_K, q3_K, q4_K, q5_K, q6_K,
//                                       iq4_xs (x Q8_K)
//
// Scheme: per call the activation quants are widened to int16 once; per
// weight row (and chunk of up to 64 columns) the row is decoded once into
// int16 values in activation order, into an L1-resident buffer:
//   Q8_0 as stored; Q4_0 nibble - 8; IQ4_NL the table level (TableLookupBytes);
//   the 256-value formats (dot_i16_k-inl.h: one decoder each) as signed
//   quant * sub-block scale (|.| <= 4096), so a super-block's sum of
//   scaled products is one run of widening multiply-adds (int16 pairs into
//   int32 lanes, ReorderWidenMulAccumulate; at most 256 * 4096 * 127 < 2^31,
//   exact). Q2_K / Q4_K / Q5_K's mins enter through the activation's
//   16-value bsums, times -dmin.
// Then register tiles of 1 (legacy formats) or 2 (K-quants) rows x 4
// columns: each weight vector is loaded once and multiplied into four
// columns; per block (32 values, or 256 for the
// K-quants) the int32 lanes are converted and scaled by d_w * d_x into f32
// lanes, summed once per output, as the reference's SIMD paths do.
// Every (row, column) runs the same operations in the same order whatever
// the tile or chunk, so neither the thread count nor N's split changes a bit.
#if defined(QKIT_KERNELS_DOT_I16_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_DOT_I16_INL_H_
#undef QKIT_KERNELS_DOT_I16_INL_H_
#else
#define QKIT_KERNELS_DOT_I16_INL_H_
#endif

#include <cstring>

#include "hwy/highway.h"
#include "qkit/base/aligned.hpp"
#include "qkit/base/fp16.hpp"
#include "qkit/kernels/act_layout.hpp"
#include "qkit/kernels/common-inl.h"
#include "qkit/kernels/dot_avx2-inl.h"
#include "qkit/kernels/dot_avx2_k-inl.h"
#include "qkit/kernels/dot_i16_k-inl.h"  // KDec16, QKIT_HAVE_I16_DOT
#include "qkit/quant/iq4.hpp"
#include "qkit/quant/k_blocks.hpp"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {
#if defined(QKIT_HAVE_I16_DOT)
namespace i16 {

// The 256-value formats (decoders in dot_i16_k-inl.h); the rest are the
// 32-value legacy ones.
template <Format F>
inline constexpr bool kKQuant = kHasKDec16<F>;

// Whether the format's mins enter through the activation's bsums.
template <Format F>
constexpr bool MinTerm() {
  if constexpr (kKQuant<F>) {
    return KDec16<F>::kMinFloat;
  } else {
    return false;
  }
}
template <Format F>
inline constexpr bool kMinTerm = MinTerm<F>();

template <Format F>
inline constexpr int64_t kBlock = kKQuant<F> ? 256 : 32;

// One weight row decoded: int16 values (K), per block the scale d, and for
// the formats with mins the factor of the bsum term (-dmin) and the 16
// mins in bsum order.
struct RowBuf {
  AlignedBuffer<int16_t> q, m;
  AlignedBuffer<uint16_t> dh;  // legacy formats: the f16 scales, converted in one pass
  AlignedBuffer<float> d, dm;
  AlignedBuffer<float> sc;  // per tile column j: d_w * d_x at [j * nb + b], then the mins' dm * d_x
};

// n f16 values to f32: the hardware conversion where the target has one
// (QKIT_NATIVE_F16), else qkit's exact scalar one.
inline void HalvesToFloat(const uint16_t* HWY_RESTRICT h, size_t n, float* HWY_RESTRICT out) {
  size_t i = 0;
#if QKIT_NATIVE_F16
  const hn::ScalableTag<float> df;
  const hn::Rebind<hwy::float16_t, decltype(df)> dh;
  const size_t nf = hn::Lanes(df);
  for (; i + nf <= n; i += nf)
    hn::StoreU(hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(h) + i)), df, out + i);
#endif
  for (; i < n; ++i) out[i] = f16_to_f32(h[i]);
}

// Activation columns [c0, c1) widened to int16, column c at (c - c0) * K.
inline const int16_t* WidenAct(const QuantAct& x, int64_t c0, int64_t c1, AlignedBuffer<int16_t>& buf) {
  const D16 d16;
  const hn::Rebind<int8_t, D16> d8;
  const size_t n16 = hn::Lanes(d16);
  const size_t k = static_cast<size_t>(x.k);
  buf.ensure(static_cast<size_t>(c1 - c0) * k);
  for (int64_t c = c0; c < c1; ++c) {
    const int8_t* src = x.qs + static_cast<size_t>(c) * x.qs_stride;
    int16_t* dst = buf.data() + static_cast<size_t>(c - c0) * k;
    for (size_t i = 0; i < k; i += n16) hn::Store(hn::PromoteTo(d16, hn::LoadU(d8, src + i)), d16, dst + i);
  }
  return buf.data();
}

// Q8_0 / Q4_0 / IQ4_NL block (f16 d first) -> 32 int16 values at out.
template <Format F>
inline void DecodeLegacy(const uint8_t* HWY_RESTRICT blk, int16_t* HWY_RESTRICT out) {
  const D16 d16;
  const hn::RebindToUnsigned<D16> du16;
  const hn::Rebind<uint8_t, D16> du8;
  const hn::Rebind<int8_t, D16> d8;
  const size_t n16 = hn::Lanes(d16);
  const uint8_t* q = blk + 2;
  if constexpr (F == Format::Q8_0) {
    for (size_t j = 0; j < 32; j += n16)
      hn::Store(hn::PromoteTo(d16, hn::LoadU(d8, reinterpret_cast<const int8_t*>(q) + j)), d16, out + j);
  } else if constexpr (F == Format::Q4_0) {
    // Value j in the low nibble of byte j, j + 16 in the high one.
    const auto m4 = hn::Set(du16, 0x0f);
    const auto eight = hn::Set(d16, 8);
    for (size_t j = 0; j < 16; j += n16) {
      const auto v = hn::PromoteTo(du16, hn::LoadU(du8, q + j));
      hn::Store(hn::Sub(hn::BitCast(d16, hn::And(v, m4)), eight), d16, out + j);
      hn::Store(hn::Sub(hn::BitCast(d16, hn::ShiftRight<4>(v)), eight), d16, out + 16 + j);
    }
  } else {
    // IQ4_NL: the 16 levels are one table register; look the nibbles up as
    // bytes (16 at a time), then widen.
    const hn::CappedTag<int8_t, 16> t8;
    const hn::CappedTag<uint8_t, 16> tu8;
    const auto tbl = hn::LoadU(t8, kIQ4Values);
    alignas(64) int8_t lv[32];
    const size_t nt = hn::Lanes(t8);
    for (size_t j = 0; j < 16; j += nt) {
      const auto b = hn::LoadU(tu8, q + j);
      hn::Store(hn::TableLookupBytes(tbl, hn::BitCast(t8, hn::And(b, hn::Set(tu8, 0x0f)))), t8, lv + j);
      hn::Store(hn::TableLookupBytes(tbl, hn::BitCast(t8, hn::ShiftRight<4>(b))), t8, lv + 16 + j);
    }
    for (size_t j = 0; j < 32; j += n16) hn::Store(hn::PromoteTo(d16, hn::Load(d8, lv + j)), d16, out + j);
  }
}

// Row wr (nb blocks) into rb.
template <Format F>
inline void DecodeRow(const uint8_t* HWY_RESTRICT wr, int64_t nb, RowBuf& rb) {
  constexpr size_t kBytes = kFormatInfo[format_index(F)].block_bytes;
  constexpr int64_t kB = kBlock<F>;
  rb.q.ensure(static_cast<size_t>(nb * kB));
  rb.d.ensure(static_cast<size_t>(nb));
  if constexpr (!kKQuant<F>) rb.dh.ensure(static_cast<size_t>(nb));
  if constexpr (kMinTerm<F>) {
    rb.dm.ensure(static_cast<size_t>(nb));
    rb.m.ensure(static_cast<size_t>(nb * 16));
  }
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = wr + static_cast<size_t>(b) * kBytes;
    int16_t* out = rb.q.data() + b * kB;
    if constexpr (kKQuant<F>) {
      DecodeK<F>(blk, out, rb.d.data() + b, kMinTerm<F> ? rb.dm.data() + b : nullptr,
                 kMinTerm<F> ? rb.m.data() + b * 16 : nullptr);
    } else {
      std::memcpy(rb.dh.data() + b, blk, 2);
      DecodeLegacy<F>(blk, out);
    }
  }
  if constexpr (!kKQuant<F>) HalvesToFloat(rb.dh.data(), static_cast<size_t>(nb), rb.d.data());
}

// Per block the factors of column j's int32 sums: d_w * d_x at sc[j * nb + b]
// (and the mins' -dmin * d_x at sc[(kC + j) * nb + b]), one vector multiply per
// lanes' worth of blocks instead of a scalar one per block in the tile loop.
template <Format F, int kC>
inline float* TileScales(RowBuf& rb, int64_t nb, const float* xd, size_t xd_stride) {
  const hn::ScalableTag<float> df;
  const size_t nf = hn::Lanes(df);
  const size_t n = static_cast<size_t>(nb);
  rb.sc.ensure(2 * kC * n);
  float* sc = rb.sc.data();
  for (int t = 0; t < (kMinTerm<F> ? 2 : 1); ++t) {
    const float* w = t == 0 ? rb.d.data() : rb.dm.data();
    for (int j = 0; j < kC; ++j) {
      const float* x = xd + static_cast<size_t>(j) * xd_stride;
      float* o = sc + (static_cast<size_t>(t * kC + j)) * n;
      size_t b = 0;
      for (; b + nf <= n; b += nf) hn::StoreU(hn::Mul(hn::LoadU(df, w + b), hn::LoadU(df, x + b)), df, o + b);
      for (; b < n; ++b) o[b] = w[b] * x[b];
    }
  }
  return sc;
}

// Outputs of kR decoded rows against kC columns (x16: widened quants of
// the first column, stride k; xd / bsums: the first column's, strides).
// Each weight vector feeds kC columns and, at kR = 2, each activation
// vector two rows, halving the activation reads from L2 (a gain for the
// K-quants, whose int32 sums span 256 values; the legacy formats' per-block
// f32 updates then run out of registers, so they stay at one row). Every
// output runs the same operations in the same order whatever kR and kC.
template <Format F, int kR, int kC>
inline void DotTile(RowBuf* const rbs[], int64_t nb, const int16_t* HWY_RESTRICT x16, size_t k, const float* xd,
                    size_t xd_stride, const int16_t* bsums, size_t bs_stride, float out[][4]) {
  const float* sc[kR];
  for (int r = 0; r < kR; ++r) sc[r] = TileScales<F, kC>(*rbs[r], nb, xd, xd_stride);
  const D16 d16;
  const hn::Repartition<int32_t, D16> d32;
  const hn::Rebind<float, decltype(d32)> df;
  const size_t n16 = hn::Lanes(d16);
  constexpr int64_t kB = kBlock<F>;
  using VF = hn::Vec<decltype(df)>;
  using VI = hn::Vec<decltype(d32)>;
  VF acc[kR][kC];
  const int16_t* HWY_RESTRICT wq[kR];
  for (int r = 0; r < kR; ++r) {
    wq[r] = rbs[r]->q.data();
    for (int j = 0; j < kC; ++j) acc[r][j] = hn::Zero(df);
  }
  for (int64_t b = 0; b < nb; ++b) {
    VI s0[kR][kC], s1[kR][kC];
    for (int r = 0; r < kR; ++r)
      for (int j = 0; j < kC; ++j) s0[r][j] = s1[r][j] = hn::Zero(d32);
    const size_t o = static_cast<size_t>(b * kB);
    for (size_t i = 0; i < static_cast<size_t>(kB); i += n16) {
      hn::Vec<D16> w[kR];
      for (int r = 0; r < kR; ++r) w[r] = hn::Load(d16, wq[r] + o + i);
      for (int j = 0; j < kC; ++j) {
        const auto xv = hn::Load(d16, x16 + j * k + o + i);
        for (int r = 0; r < kR; ++r) s0[r][j] = hn::ReorderWidenMulAccumulate(d32, w[r], xv, s0[r][j], s1[r][j]);
      }
    }
    for (int r = 0; r < kR; ++r)
      for (int j = 0; j < kC; ++j)
        acc[r][j] =
            hn::MulAdd(hn::ConvertTo(df, hn::Add(s0[r][j], s1[r][j])), hn::Set(df, sc[r][j * nb + b]), acc[r][j]);
    if constexpr (kMinTerm<F>) {
      // -dmin * dx * sum_t m_t * bsum_t
      for (int r = 0; r < kR; ++r) {
        const int16_t* m = rbs[r]->m.data() + b * 16;
        for (int j = 0; j < kC; ++j) {
          VI t0 = hn::Zero(d32), t1 = hn::Zero(d32);
          const int16_t* bs = bsums + j * bs_stride + static_cast<size_t>(b) * 16;
          for (size_t i = 0; i < 16; i += n16)
            t0 = hn::ReorderWidenMulAccumulate(d32, hn::Load(d16, m + i), hn::LoadU(d16, bs + i), t0, t1);
          acc[r][j] =
              hn::MulAdd(hn::ConvertTo(df, hn::Add(t0, t1)), hn::Set(df, sc[r][(kC + j) * nb + b]), acc[r][j]);
        }
      }
    }
  }
  for (int r = 0; r < kR; ++r)
    for (int j = 0; j < kC; ++j) out[r][j] = hn::GetLane(hn::SumOfLanes(df, acc[r][j]));
}

template <Format F, int kR>
inline void DotTileN(int nc, RowBuf* const rbs[], int64_t nb, const int16_t* x16, size_t k, const float* xd,
                     size_t xd_stride, const int16_t* bsums, size_t bs_stride, float out[][4]) {
  switch (nc) {
    case 4: DotTile<F, kR, 4>(rbs, nb, x16, k, xd, xd_stride, bsums, bs_stride, out); break;
    case 3: DotTile<F, kR, 3>(rbs, nb, x16, k, xd, xd_stride, bsums, bs_stride, out); break;
    case 2: DotTile<F, kR, 2>(rbs, nb, x16, k, xd, xd_stride, bsums, bs_stride, out); break;
    default: DotTile<F, kR, 1>(rbs, nb, x16, k, xd, xd_stride, bsums, bs_stride, out); break;
  }
}

// Rows [r0, r1) x columns [c0, c1) of format F, weights as GGUF rows.
template <Format F>
inline void Rows(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  constexpr int64_t kChunk = 64;  // columns whose int16 quants stay in L2
  constexpr int kC = 4;
  constexpr int kR = kKQuant<F> ? 2 : 1;
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / kBlock<F>;
  const size_t k = static_cast<size_t>(a.cols);
#if defined(QKIT_HAVE_AVX2_GEMV)
  // GEMV (decided by N, so every split of a call takes the same path).
  if (x.n == 1) {
    const int8_t* xq = x.qs;
    if constexpr (kKQuant<F>) {
      if constexpr (avx2::KDec<F>::kPairedX) {  // the activation in the decoder's order, once per call
        thread_local AlignedBuffer<int8_t> xp;
        xp.ensure(k);
        avx2::PairX(x.qs, a.cols, xp.data());
        xq = xp.data();
      }
    }
    for (int64_t r = r0; r < r1; ++r) {
      const uint8_t* wr = a.w + static_cast<size_t>(r) * a.row_stride;
      if constexpr (kKQuant<F>) {
        a.y[r] = avx2::GemvK<F>(wr, nb, xq, x.d, x.bsums);
      } else {
        a.y[r] = avx2::GemvLegacy<F>(wr, nb, x.qs, x.d, x.sums);
      }
    }
    return;
  }
#endif
  thread_local AlignedBuffer<int16_t> xbuf;
  thread_local RowBuf rb[2];
  RowBuf* const pair[2] = {&rb[0], &rb[1]};
  float out[2][4];
  for (int64_t cc0 = c0; cc0 < c1; cc0 += kChunk) {
    const int64_t cc1 = cc0 + kChunk < c1 ? cc0 + kChunk : c1;
    const int16_t* x16 = WidenAct(x, cc0, cc1, xbuf);
    for (int64_t r = r0; r < r1; r += kR) {
      const int nr = r + 1 < r1 ? kR : 1;
      for (int i = 0; i < nr; ++i) DecodeRow<F>(a.w + static_cast<size_t>(r + i) * a.row_stride, nb, rb[i]);
      for (int64_t c = cc0; c < cc1; c += kC) {
        const int nc = static_cast<int>(cc1 - c < kC ? cc1 - c : kC);
        const int16_t* xc = x16 + static_cast<size_t>(c - cc0) * k;
        const float* xd = x.d + static_cast<size_t>(c) * x.blk_stride;
        const int16_t* bs = kKQuant<F> ? x.bsums + static_cast<size_t>(c) * x.bsum_stride : nullptr;
        if (kR == 2 && nr == 2) {
          DotTileN<F, kR>(nc, pair, nb, xc, k, xd, x.blk_stride, bs, x.bsum_stride, out);
        } else {
          DotTileN<F, 1>(nc, pair, nb, xc, k, xd, x.blk_stride, bs, x.bsum_stride, out);
        }
        for (int i = 0; i < nr; ++i)
          for (int j = 0; j < nc; ++j) a.y[static_cast<size_t>(c + j) * a.ldy + r + i] = out[i][j];
      }
    }
  }
}

}  // namespace i16
#endif  // QKIT_HAVE_I16_DOT
}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
