// qkit/kernels/vnni_k_x86.hpp — raw AVX-512 (BW + VNNI) matmul kernels for
// the 256-value super-block formats against Q8_K activations, weights as
// GGUF stores them. One loop (rows_k) serves every format; a format
// is one decoder (here: Q4_K, Q5_K, Q6_K; vnni_k2_x86.hpp: Q3_K, Q2_K,
// TQ2_0, TQ1_0) that turns a block into the shared KDecoded form:
//   u[4]   unsigned quants, 64 values each, in activation order
//   sc[2]  int16 sub-block scales, laid out for the packs below
//   m16    int16 multiplier of each of the block's 16 bsums (the min or
//          the quants' offset times the scale)
// Per column and super-block:
//   vpdpbusd   u * x, 4 products per int32 lane (|lane| <= 4 * 63 * 127,
//              so it fits int16: Q8_K quants lie in [-127, 127])
//   vpackssdw  two such vectors to int16 (exact, no saturation)
//   vpdpwssd   int16 lane pairs * sub-block scale, summed into int32 lanes
// which is the reference's integer sum_j sc_j * dot_j, exact (one op per
// 256 values fewer than vpmaddubsw + vpdpwssd: ~8% faster GEMM measured).
// Formats without sub-block scales (ternary) sum the vpdpbusd lanes. The
// offset uses the activation's bsums:
//   kMinFloat (Q2_K, Q4_K, Q5_K): y = d dx sum_j sc_j q.x - dmin dx sum_s m_s bsum_s
//   otherwise (Q3_K, Q6_K, TQ*):  y = d dx (sum_j sc_j q.x + sum_s m16_s bsum_s)
//                                 (m16 = -4 sc, -32 sc, -1: one integer sum)
// Every column runs the same sequence whatever the chunk of columns, so the
// thread count and N's split never change a bit of the result.
#pragma once

#include "qkit/kernels/intrin_warnings.hpp"

#include <type_traits>

#include "qkit/base/aligned.hpp"
#include "qkit/kernels/vnni_x86.hpp"
#include "qkit/quant/k_blocks.hpp"

#if defined(QKIT_HAVE_VNNI_X86)

QKIT_INTRIN_WARNINGS_BEGIN

namespace qkit::kernels::vnni {

struct KDecoded {
  __m512i u[4];   // unsigned quants of values 64i .. 64i + 63
  __m512i sc[2];  // int16 scale of each lane of packs(dot(u[2h]), dot(u[2h + 1]))
  __m256i m16;    // int16, paired with the 16 bsums
  float d;        // super-block scale
  float dm;       // kMinFloat: factor of the bsums term (-dmin)
};

// vpermw indices spreading sub-block scales (int16 lanes 0..15 of a vector)
// over the int16 lanes of packs(p0, p1), p0/p1 the int32 dots of u[2h] and
// u[2h + 1]: lane 8k + m holds p0's int32 lane 4k + m (m < 4) or p1's
// 4k + m - 4, i.e. the 4 values from 128h + 64 (m >= 4) + 16k + 4 (m % 4).
struct ScaleIdx {
  int16_t v[2][32];
};
constexpr ScaleIdx make_scale_idx(int sub) {
  ScaleIdx r{};
  for (int h = 0; h < 2; ++h)
    for (int p = 0; p < 32; ++p) {
      const int k = p / 8, m = p % 8;
      r.v[h][p] = static_cast<int16_t>((128 * h + (m >= 4 ? 64 : 0) + 16 * k + 4 * (m % 4)) / sub);
    }
  return r;
}
inline constexpr ScaleIdx kScaleIdx16 = make_scale_idx(16), kScaleIdx32 = make_scale_idx(32);

// sc16: one int16 scale per sub-block of kSub values (16 or 32), in order.
template <int kSub>
QKIT_VNNI_TARGET inline void spread_scales(__m256i sc16, __m512i sc[]) {
  const ScaleIdx& t = kSub == 16 ? kScaleIdx16 : kScaleIdx32;
  const __m512i v = _mm512_castsi256_si512(sc16);
  for (int i = 0; i < 2; ++i) sc[i] = _mm512_permutexvar_epi16(_mm512_loadu_si512(t.v[i]), v);
}

// Test masks for a bit plane stored as in Q5_K's qh / Q3_K's hmask: the
// bit of value 64i + l is bit 2i of byte l % 32 (l < 32), 2i + 1 (l >= 32).
QKIT_VNNI_TARGET inline __m512i plane_bits(int i) {
  return _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(1 << (2 * i))),
                            _mm256_set1_epi8(static_cast<char>(1 << (2 * i + 1))), 1);
}

// 32 bytes of nibbles -> 64 values: the low nibbles, then the high ones
// (Q4_K / Q5_K order). Both halves from one broadcast load and one shift.
QKIT_VNNI_TARGET inline __m512i nibbles(const uint8_t* q) {
  const __m512i b = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q)));
  const __m512i shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
  return _mm512_and_si512(_mm512_srlv_epi16(b, shift), _mm512_set1_epi8(0x0f));
}

// Q4_K / Q5_K: 12 bytes of packed 6-bit scales and mins -> 8 scales spread
// for 32-value sub-blocks, mins paired with the 16 bsums (m0 m0 m1 m1 ...).
QKIT_VNNI_TARGET inline void k4_scales(const uint8_t* p, KDecoded& r) {
  uint32_t u[4];  // bytes 0..7: scales, 8..15: mins
  quant::unpack_scales_mins_k4(p, u);
  // Built in registers: a 16-byte load of the four 4-byte stores would
  // miss store forwarding.
  const __m128i sm = _mm_set_epi32(static_cast<int>(u[3]), static_cast<int>(u[2]), static_cast<int>(u[1]),
                                   static_cast<int>(u[0]));
  spread_scales<32>(_mm256_cvtepu8_epi16(sm), r.sc);
  r.m16 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sm, sm));
}

// Q4_K: d, dmin, scales[12], qs[128] (value 64i + l: nibble l / 32 of qs[32i + l % 32]).
struct DecQ4K {
  static constexpr size_t kBytes = 144;
  static constexpr bool kScaled = true, kMinFloat = true;
  QKIT_VNNI_TARGET static KDecoded decode(const uint8_t* blk) {
    KDecoded r;
    r.d = f16_scalar(blk);
    r.dm = -f16_scalar(blk + 2);
    k4_scales(blk + 4, r);
    for (int i = 0; i < 4; ++i) r.u[i] = nibbles(blk + 16 + 32 * i);
    return r;
  }
};

// Q5_K: Q4_K's layout plus qh[32], the fifth bit (plane_bits order).
struct DecQ5K {
  static constexpr size_t kBytes = 176;
  static constexpr bool kScaled = true, kMinFloat = true;
  QKIT_VNNI_TARGET static KDecoded decode(const uint8_t* blk) {
    KDecoded r;
    r.d = f16_scalar(blk);
    r.dm = -f16_scalar(blk + 2);
    k4_scales(blk + 4, r);
    const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16)));
    const __m512i b16 = _mm512_set1_epi8(16);
    for (int i = 0; i < 4; ++i) {
      const __m512i lo = nibbles(blk + 48 + 32 * i);
      r.u[i] = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(qh, plane_bits(i)), lo, b16);
    }
    return r;
  }
};

// Q6_K: ql[128], qh[64], int8 scales[16], d; quants 0..63 with offset -32.
struct DecQ6K {
  static constexpr size_t kBytes = 210;
  static constexpr bool kScaled = true, kMinFloat = false;
  QKIT_VNNI_TARGET static KDecoded decode(const uint8_t* blk) {
    KDecoded r;
    const uint8_t* ql = blk;
    const uint8_t* qh = blk + 128;
    r.d = f16_scalar(blk + 208);
    r.dm = 0;
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192)));
    spread_scales<16>(sc16, r.sc);
    r.m16 = _mm256_slli_epi16(_mm256_sub_epi16(_mm256_setzero_si256(), sc16), 5);  // -32 sc
    const __m512i m4 = _mm512_set1_epi8(0x0f), m2 = _mm512_set1_epi8(0x03);
    for (int h = 0; h < 2; ++h) {
      const __m512i l = _mm512_loadu_si512(ql + 64 * h);
      const __m256i hy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh + 32 * h));
      // Values 128h + 0..31 / 32..63 / 64..95 / 96..127 take qh bits 0-1 / 2-3 / 4-5 / 6-7.
      const __m512i hz = _mm512_inserti64x4(_mm512_castsi256_si512(hy), _mm256_srli_epi16(hy, 2), 1);
      r.u[2 * h] = _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_slli_epi16(_mm512_and_si512(hz, m2), 4));
      r.u[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                                       _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(hz, 4), m2), 4));
    }
    return r;
  }
};

// The integer part of one super-block against one column's quants, plus seed.
template <class Dec>
QKIT_VNNI_TARGET inline __m512i k_block_int(const KDecoded& w, const int8_t* xq, __m512i seed) {
  if constexpr (Dec::kScaled) {
    const __m512i z = _mm512_setzero_si512();
    __m512i p[4];
    for (int i = 0; i < 4; ++i) p[i] = _mm512_dpbusd_epi32(z, w.u[i], _mm512_loadu_si512(xq + 64 * i));
    const __m512i s = _mm512_dpwssd_epi32(seed, _mm512_packs_epi32(p[0], p[1]), w.sc[0]);
    return _mm512_dpwssd_epi32(s, _mm512_packs_epi32(p[2], p[3]), w.sc[1]);
  } else {
    // Two chains: vpdpbusd's latency, not its throughput, would bound one.
    const __m512i z = _mm512_setzero_si512();
    __m512i s0 = _mm512_dpbusd_epi32(seed, w.u[0], _mm512_loadu_si512(xq));
    __m512i s1 = _mm512_dpbusd_epi32(z, w.u[1], _mm512_loadu_si512(xq + 64));
    s0 = _mm512_dpbusd_epi32(s0, w.u[2], _mm512_loadu_si512(xq + 128));
    s1 = _mm512_dpbusd_epi32(s1, w.u[3], _mm512_loadu_si512(xq + 192));
    return _mm512_add_epi32(s0, s1);
  }
}

// One super-block against one column. dd / ddm: d dx and dm dx in memory,
// so the FMAs take them as broadcast operands.
template <class Dec>
QKIT_VNNI_TARGET inline void k_block_fma(const KDecoded& w, const int8_t* xq, const int16_t* bsums, const float* dd,
                                          const float* ddm, __m512& acc, __m256& macc) {
  const __m256i mt = _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(bsums)), w.m16);
  if constexpr (Dec::kMinFloat) {
    const __m512i iacc = k_block_int<Dec>(w, xq, _mm512_setzero_si512());
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc), _mm512_set1_ps(*dd), acc);
    macc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mt), _mm256_set1_ps(*ddm), macc);
  } else {
    const __m512i iacc = k_block_int<Dec>(w, xq, _mm512_zextsi256_si512(mt));
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc), _mm512_set1_ps(*dd), acc);
  }
}

QKIT_VNNI_TARGET inline float k_finish(__m512 acc, __m256 macc) {
  const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(acc), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1)));
  return hsum8(a) + hsum8(macc);
}

// Row r x columns c .. c + kN - 1: each super-block is decoded once for
// the kN columns. dxt: the tile's activation scales as [block][kTile].
inline constexpr int kTile = 8;
template <class Dec, int kN>
QKIT_VNNI_TARGET inline void k_tile(const MatmulArgs& a, const uint8_t* wr, int64_t r, int64_t c, const float* dxt) {
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 256;
  __m512 acc[kN];
  __m256 macc[kN];
  for (int j = 0; j < kN; ++j) {
    acc[j] = _mm512_setzero_ps();
    macc[j] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    const KDecoded w = Dec::decode(wr + static_cast<size_t>(b) * Dec::kBytes);
    alignas(32) float dd[kTile], ddm[kTile];
    const __m256 xd = _mm256_loadu_ps(dxt + b * kTile);  // partial tiles: dxt + j, unaligned
    _mm256_store_ps(dd, _mm256_mul_ps(_mm256_set1_ps(w.d), xd));
    if constexpr (Dec::kMinFloat) _mm256_store_ps(ddm, _mm256_mul_ps(_mm256_set1_ps(w.dm), xd));
    for (int j = 0; j < kN; ++j) {
      const size_t cc = static_cast<size_t>(c + j);
      k_block_fma<Dec>(w, x.qs + cc * x.qs_stride + b * 256, x.bsums + cc * x.bsum_stride + b * 16, dd + j, ddm + j,
                       acc[j], macc[j]);
    }
  }
  for (int j = 0; j < kN; ++j) a.y[static_cast<size_t>(c + j) * a.ldy + r] = k_finish(acc[j], macc[j]);
}

// GEMV: rows rows[0 .. kR - 1] against column c, without the tiles' d * dx
// table; every row runs k_tile<Dec, 1>'s sequence (d * dx rounded once,
// then k_block_fma), so the results are the tiles' bit for bit.
template <class Dec, int kR>
QKIT_VNNI_TARGET inline void k_rows1(const MatmulArgs& a, const int64_t* rows, int64_t c) {
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 256;
  const int8_t* xq = x.qs + static_cast<size_t>(c) * x.qs_stride;
  const int16_t* bs = x.bsums + static_cast<size_t>(c) * x.bsum_stride;
  const float* dx = x.d + static_cast<size_t>(c) * x.blk_stride;
  const uint8_t* wr[kR];
  __m512 acc[kR];
  __m256 macc[kR];
  for (int j = 0; j < kR; ++j) {
    wr[j] = a.w + static_cast<size_t>(rows[j]) * a.row_stride;
    acc[j] = _mm512_setzero_ps();
    macc[j] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    for (int j = 0; j < kR; ++j) {
      const KDecoded w = Dec::decode(wr[j] + static_cast<size_t>(b) * Dec::kBytes);
      const float dd = w.d * dx[b], ddm = w.dm * dx[b];
      k_block_fma<Dec>(w, xq + b * 256, bs + b * 16, &dd, &ddm, acc[j], macc[j]);
    }
  }
  for (int j = 0; j < kR; ++j) a.y[static_cast<size_t>(c) * a.ldy + rows[j]] = k_finish(acc[j], macc[j]);
}

// A decoder may bring its own path for few columns: static bool gemv(a,
// r0, r1, c0, c1), true when it took the call.
template <class D, class = void>
struct HasGemv : std::false_type {};
template <class D>
struct HasGemv<D, std::void_t<decltype(&D::gemv)>> : std::true_type {};

// Rows [r0, r1) x columns [c0, c1) for weights decoded by Dec, in tiles of
// one row x 8 columns (a partial tile as 4 + 2 + 1: fixed counts keep the
// accumulators in registers; every column runs the same sequence).
template <class Dec>
QKIT_VNNI_TARGET inline void rows_k(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  if constexpr (HasGemv<Dec>::value) {
    if (Dec::gemv(a, r0, r1, c0, c1)) return;
  }
  if (a.act->n == 1) {
    // TQ2_0 (no sub-block scales): two rows per pass, from the two halves
    // of the range: each pass shares the activation loads, and the
    // weights stay two long sequential streams (rows a row apart measured
    // 10-20% faster in cache but 2-3x slower streaming from memory: the
    // hardware prefetchers lose them). The scaled K-quants measured
    // 5-25% slower streaming with the halves paired: one row per pass.
    const int64_t h = Dec::kScaled ? 0 : (r1 - r0) / 2;
    for (int64_t r = r0; r < r0 + h; ++r) {
      const int64_t rows[2] = {r, r + h};
      k_rows1<Dec, 2>(a, rows, c0);
    }
    for (int64_t r = r0 + 2 * h; r < r1; ++r) k_rows1<Dec, 1>(a, &r, c0);
    return;
  }
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 256;
  const int64_t ntiles = (c1 - c0 + kTile - 1) / kTile;
  // The activation scales of each tile as [block][column] (zero past c1),
  // so one multiply gives d * dx for the tile's columns.
  thread_local AlignedBuffer<float> dxt_buf;
  dxt_buf.ensure(static_cast<size_t>(ntiles * nb * kTile + kTile));  // + kTile: partial tiles read past
  float* dxt = dxt_buf.data();
  for (int64_t t = 0; t < ntiles; ++t)
    for (int64_t b = 0; b < nb; ++b)
      for (int j = 0; j < kTile; ++j) {
        const int64_t c = c0 + t * kTile + j;
        dxt[(t * nb + b) * kTile + j] = c < c1 ? x.d[static_cast<size_t>(c) * x.blk_stride + static_cast<size_t>(b)] : 0.0f;
      }
  // Rows in blocks of kRowBlock, column tiles outside the rows: a tile's
  // activations (kTile x K bytes) stay in L1 while the block's rows pass
  // (from L2 they capped GEMM near a third of the vpdpbusd peak).
  constexpr int64_t kRowBlock = 16;
  for (int64_t rb = r0; rb < r1; rb += kRowBlock) {
    const int64_t re = r1 - rb < kRowBlock ? r1 : rb + kRowBlock;
    for (int64_t t = 0; t < ntiles; ++t) {
      const int64_t c = c0 + t * kTile;
      const float* dt = dxt + t * nb * kTile;
      const int64_t nc = c1 - c < kTile ? c1 - c : kTile;
      for (int64_t r = rb; r < re; ++r) {
        const uint8_t* wr = a.w + static_cast<size_t>(r) * a.row_stride;
        if (nc == kTile) {
          k_tile<Dec, kTile>(a, wr, r, c, dt);
          continue;
        }
        int j = 0;
        if (nc - j >= 4) k_tile<Dec, 4>(a, wr, r, c + j, dt + j), j += 4;
        if (nc - j >= 2) k_tile<Dec, 2>(a, wr, r, c + j, dt + j), j += 2;
        if (nc - j >= 1) k_tile<Dec, 1>(a, wr, r, c + j, dt + j);
      }
    }
  }
}

}  // namespace qkit::kernels::vnni

QKIT_INTRIN_WARNINGS_END

#endif  // QKIT_HAVE_VNNI_X86
