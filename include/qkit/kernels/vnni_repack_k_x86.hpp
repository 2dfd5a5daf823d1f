// qkit/kernels/vnni_repack_k_x86.hpp — AVX-512 VNNI kernels for Q4_K and
// Q6_K weights in the 16-row interleaved layout (act_layout.hpp /
// repack.hpp) against Q8_K activations: gemm_q4_K_q8_K_16x4_r16,
// gemv_q4_K_q8_K_r16, gemv_q6_K_q8_K_r16 and gemm_q6_K_q8_K_16x4_r16
// (Q6_K: see its section below; GEMM decodes each super-block once per
// block of columns, GEMV decodes as it streams).
//
// Q4_K: per 32-value sub-block, 8 vpdpbusd (unsigned nibbles x broadcast
// activation words) give the 16 rows' integer dots; they are multiplied by
// the rows' 6-bit scales (vpmulld) and summed over the super-block, exact.
// The mins enter through vpdpwssd of (m_2p, m_2p+1) int16 pairs with the
// activation's sums of 32 quants. The 16 rows' packed scale words are
// unpacked with the reference's 32-bit mask trick, one lane per row.
//   y = sum_s d dx isum_s - dmin dx imin_s
// Every column runs the same sequence whatever its tile, so results do not
// depend on N's split, the row range or the thread count.
#pragma once

#include "qkit/kernels/intrin_warnings.hpp"

#include "qkit/base/aligned.hpp"
#include "qkit/kernels/vnni_repack_x86.hpp"

#if defined(QKIT_HAVE_VNNI_X86)

QKIT_INTRIN_WARNINGS_BEGIN

namespace qkit::kernels::vnni {

inline constexpr size_t kQ4KGroupBlock = 144 * 16;

template <int K>
QKIT_VNNI_TARGET inline __m512i byte_lane(__m512i v) {
  return _mm512_and_si512(_mm512_srli_epi32(v, 8 * K), _mm512_set1_epi32(0xff));
}

// (byte 2Q, byte 2Q + 1) of every lane as an int16 pair.
template <int Q>
QKIT_VNNI_TARGET inline __m512i byte_pair16(__m512i v) {
  return _mm512_or_si512(byte_lane<2 * Q>(v), _mm512_slli_epi32(byte_lane<2 * Q + 1>(v), 16));
}

template <int NC>
QKIT_VNNI_TARGET inline void q4k_group_tile(const MatmulArgs& a, int64_t g, int64_t c) {
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 256;
  const uint8_t* gw = a.w + static_cast<size_t>(g) * a.row_stride;
  const ActColumns<NC> cols(x, c);
  __m512 f[NC];
  for (int j = 0; j < NC; ++j) f[j] = _mm512_setzero_ps();
  const __m512i k1 = _mm512_set1_epi32(0x3f3f3f3f), k2 = _mm512_set1_epi32(0x0f0f0f0f),
                k3 = _mm512_set1_epi32(0x03030303), m4 = _mm512_set1_epi8(0x0f);
  for (int64_t s = 0; s < nb; ++s) {
    const uint8_t* gb = gw + static_cast<size_t>(s) * kQ4KGroupBlock;
    const __m512i u0 = _mm512_loadu_si512(gb + 64), u1 = _mm512_loadu_si512(gb + 128),
                  u2 = _mm512_loadu_si512(gb + 192);
    const __m512i sc_lo4 = _mm512_and_si512(u0, k1);  // scales 0..3
    const __m512i sc_hi4 = _mm512_or_si512(_mm512_and_si512(u2, k2),
                                           _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u0, 6), k3), 4));
    const __m512i mn_lo4 = _mm512_and_si512(u1, k1);  // mins 0..3
    const __m512i mn_hi4 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u2, 4), k2),
                                           _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u1, 6), k3), 4));
    const __m512i scv[8] = {byte_lane<0>(sc_lo4), byte_lane<1>(sc_lo4), byte_lane<2>(sc_lo4), byte_lane<3>(sc_lo4),
                            byte_lane<0>(sc_hi4), byte_lane<1>(sc_hi4), byte_lane<2>(sc_hi4), byte_lane<3>(sc_hi4)};
    __m512i isum[NC], imin[NC];
    for (int j = 0; j < NC; ++j) isum[j] = imin[j] = _mm512_setzero_si512();
    for (int i = 0; i < 4; ++i) {
      const __m512i sc0 = scv[2 * i], sc1 = scv[2 * i + 1];
      __m512i lo_acc[NC], hi_acc[NC];
      for (int j = 0; j < NC; ++j) lo_acc[j] = hi_acc[j] = _mm512_setzero_si512();
      for (int t = 0; t < 8; ++t) {
        const __m512i p = _mm512_loadu_si512(gb + 256 + 64 * (8 * i + t));
        const __m512i lo = _mm512_and_si512(p, m4);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(p, 4), m4);
        for (int j = 0; j < NC; ++j) {
          const int8_t* xo = cols.qs[j] + 256 * s + 64 * i + 4 * t;
          lo_acc[j] = _mm512_dpbusd_epi32(lo_acc[j], lo, bcast4(xo));
          hi_acc[j] = _mm512_dpbusd_epi32(hi_acc[j], hi, bcast4(xo + 32));
        }
      }
      for (int j = 0; j < NC; ++j)
        isum[j] = _mm512_add_epi32(isum[j], _mm512_add_epi32(_mm512_mullo_epi32(lo_acc[j], sc0),
                                                             _mm512_mullo_epi32(hi_acc[j], sc1)));
    }
    const __m512i mps[4] = {byte_pair16<0>(mn_lo4), byte_pair16<1>(mn_lo4), byte_pair16<0>(mn_hi4),
                            byte_pair16<1>(mn_hi4)};
    for (int q = 0; q < 4; ++q) {
      const __m512i mp = mps[q];
      for (int j = 0; j < NC; ++j)
        imin[j] = _mm512_dpwssd_epi32(imin[j], mp, bcast4(reinterpret_cast<const int8_t*>(cols.bsums32[j] + 8 * s + 2 * q)));
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb)));
    const __m512 dm = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + 32)));
    for (int j = 0; j < NC; ++j) {
      const __m512 dx = _mm512_set1_ps(cols.d[j][s]);
      f[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[j]), _mm512_mul_ps(d, dx), f[j]);
      f[j] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(imin[j]), _mm512_mul_ps(dm, dx), f[j]);
    }
  }
  const int64_t r0 = g * kGroupRows;
  const int64_t valid = a.rows - r0 < kGroupRows ? a.rows - r0 : kGroupRows;
  const __mmask16 m = static_cast<__mmask16>((1u << valid) - 1u);
  for (int j = 0; j < NC; ++j) _mm512_mask_storeu_ps(a.y + static_cast<size_t>(c + j) * a.ldy + r0, m, f[j]);
}

inline constexpr size_t kQ6KGroupBlock = 210 * 16;

// Q6_K, interleaved. Group block (act_layout.hpp): d[16] | scales 16 x 16 |
// 16 triples (A, B, H) of 64-byte chunks. Triple 8h + t holds the 6-bit
// quants of values 128h + 32qq + 4t .. + 3 (qq = 0..3) of the 16 rows:
//   qq 0: A & 15 | (H & 3) << 4       qq 1: B & 15 | (H >> 2 & 3) << 4
//   qq 2: A >> 4 | (H >> 4 & 3) << 4  qq 3: B >> 4 | (H >> 6 & 3) << 4
// (3 or 4 ops each: shift, and, one vpternlogd for "x | (y & 0x30)").
// Value 128h + 32qq + 4t lies in sub-block 8h + 2qq + t / 4.
//
// Per sub-block s and column: acc = -32 bsum_s + sum(u * x) over 4
// vpdpbusd (u unsigned 0..63), i.e. the exact dot of (q - 32) with x; then
// isum += acc * sc_s (vpmulld, the rows' int8 scales), exact in int32
// (|isum| < 16 * 16 * 32 * 127 * 128). Per super-block
//   y += float(isum) * (d * dx)
// in super-block order: both paths below (one column, tiles of columns)
// run that same sequence per column, so results do not
// depend on N's split, the row range or the thread count.
struct Q6KDecoder {
  __m512i m4, m30;
  QKIT_VNNI_TARGET Q6KDecoder() : m4(_mm512_set1_epi8(0x0f)), m30(_mm512_set1_epi8(0x30)) {}
  // lo | (hi & 0x30) in one vpternlogd (A | (B & C): 0xF8).
  QKIT_VNNI_TARGET __m512i merge(__m512i lo, __m512i hi) const { return _mm512_ternarylogic_epi32(lo, hi, m30, 0xF8); }
  // The four vectors (qq = 0..3) of chunk t in half h.
  QKIT_VNNI_TARGET void decode4(const uint8_t* gb, int h, int t, __m512i u[4]) const {
    const uint8_t* tri = gb + 288 + 192 * (8 * h + t);
    const __m512i qa = _mm512_loadu_si512(tri);
    const __m512i qb = _mm512_loadu_si512(tri + 64);
    const __m512i hc = _mm512_loadu_si512(tri + 128);
    u[0] = merge(_mm512_and_si512(qa, m4), _mm512_slli_epi16(hc, 4));
    u[1] = merge(_mm512_and_si512(qb, m4), _mm512_slli_epi16(hc, 2));
    u[2] = merge(_mm512_and_si512(_mm512_srli_epi16(qa, 4), m4), hc);
    u[3] = merge(_mm512_and_si512(_mm512_srli_epi16(qb, 4), m4), _mm512_srli_epi16(hc, 2));
  }
};

// The 16 rows' scale of sub-block sb as int32 lanes.
QKIT_VNNI_TARGET inline __m512i q6k_scale(const uint8_t* gb, int sb) {
  return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb + 32 + 16 * sb)));
}

// -32 * bsum (int32) of every 16-value sub-block of columns [c0, c1), K / 16
// per column: the accumulator seeds, loaded as broadcasts.
QKIT_VNNI_TARGET inline const int32_t* q6k_seeds(const QuantAct& x, int64_t c0, int64_t c1) {
  const size_t ns = static_cast<size_t>(x.k / 16);
  thread_local AlignedBuffer<int32_t> buf;
  buf.ensure(ns * static_cast<size_t>(c1 - c0));
  for (int64_t c = c0; c < c1; ++c) {
    const int16_t* bs = x.bsums + static_cast<size_t>(c) * x.bsum_stride;
    int32_t* o = buf.data() + static_cast<size_t>(c - c0) * ns;
    for (size_t i = 0; i < ns; i += 16) {
      const __m512i b = _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(bs + i)));
      _mm512_storeu_si512(o + i, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(b, 5)));
    }
  }
  return buf.data();
}

QKIT_VNNI_TARGET inline void q6k_store(const MatmulArgs& a, int64_t g, int64_t c, __m512 v) {
  const int64_t r0 = g * kGroupRows;
  const int64_t valid = a.rows - r0 < kGroupRows ? a.rows - r0 : kGroupRows;
  _mm512_mask_storeu_ps(a.y + static_cast<size_t>(c) * a.ldy + r0, static_cast<__mmask16>((1u << valid) - 1u), v);
}

// gemv_q6_K_q8_K_r16: one group x one column, decoding as it streams (N = 1
// reads each weight byte once; four independent sub-block chains).
QKIT_VNNI_TARGET inline void q6k_group_column(const MatmulArgs& a, int64_t g, int64_t c, const int32_t* seeds) {
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 256;
  const uint8_t* gw = a.w + static_cast<size_t>(g) * a.row_stride;
  const int8_t* xq = x.qs + static_cast<size_t>(c) * x.qs_stride;
  const float* xd = x.d + static_cast<size_t>(c) * x.blk_stride;
  const Q6KDecoder dec;
  __m512 f = _mm512_setzero_ps();
  for (int64_t s = 0; s < nb; ++s) {
    const uint8_t* gb = gw + static_cast<size_t>(s) * kQ6KGroupBlock;
    const int8_t* xs = xq + 256 * s;
    const int32_t* sd = seeds + 16 * s;
    __m512i isum = _mm512_setzero_si512();
    QKIT_UNROLL(2)
    for (int h = 0; h < 2; ++h) {
      QKIT_UNROLL(2)
      for (int tb = 0; tb < 2; ++tb) {
        __m512i acc[4];
        for (int qq = 0; qq < 4; ++qq) acc[qq] = _mm512_set1_epi32(sd[8 * h + 2 * qq + tb]);
        QKIT_UNROLL(4)
        for (int t = 4 * tb; t < 4 * tb + 4; ++t) {
          __m512i u[4];
          dec.decode4(gb, h, t, u);
          for (int qq = 0; qq < 4; ++qq)
            acc[qq] = _mm512_dpbusd_epi32(acc[qq], u[qq], bcast4(xs + 128 * h + 32 * qq + 4 * t));
        }
        for (int qq = 0; qq < 4; ++qq)
          isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(acc[qq], q6k_scale(gb, 8 * h + 2 * qq + tb)));
      }
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb)));
    f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(d, _mm512_set1_ps(xd[s])), f);
  }
  q6k_store(a, g, c, f);
}

// A group's super-block decoded once for a block of columns: unsigned
// quants u[j] = values 4j .. 4j + 3 of the 16 rows, scales as int32.
struct Q6KDecodedBlock {
  alignas(64) uint8_t u[64][64];
  alignas(64) int32_t sc[16][16];
  __m512 d;
};

QKIT_VNNI_TARGET inline void q6k_decode_block(const uint8_t* gb, const Q6KDecoder& dec, Q6KDecodedBlock& out) {
  for (int h = 0; h < 2; ++h)
    for (int t = 0; t < 8; ++t) {
      __m512i u[4];
      dec.decode4(gb, h, t, u);
      for (int qq = 0; qq < 4; ++qq) _mm512_store_si512(out.u[32 * h + 8 * qq + t], u[qq]);
    }
  for (int sb = 0; sb < 16; ++sb) _mm512_store_si512(out.sc[sb], q6k_scale(gb, sb));
  out.d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb)));
}

// NC columns [c, c + NC) of one decoded super-block s: f[j] += float(isum) * d dx.
template <int NC>
QKIT_VNNI_TARGET inline void q6k_block_tile(const Q6KDecodedBlock& w, const QuantAct& x, int64_t c, int64_t s,
                                            const int32_t* seeds, size_t seed_stride, __m512* f) {
  const int8_t* xq[NC];
  const int32_t* sd[NC];
  for (int j = 0; j < NC; ++j) {
    xq[j] = x.qs + static_cast<size_t>(c + j) * x.qs_stride + 256 * s;
    sd[j] = seeds + static_cast<size_t>(j) * seed_stride + 16 * s;
  }
  __m512i isum[NC];
  for (int j = 0; j < NC; ++j) isum[j] = _mm512_setzero_si512();
  for (int sb = 0; sb < 16; ++sb) {
    __m512i acc[NC];
    for (int j = 0; j < NC; ++j) acc[j] = _mm512_set1_epi32(sd[j][sb]);
    for (int q = 0; q < 4; ++q) {
      const __m512i W = _mm512_load_si512(w.u[4 * sb + q]);
      for (int j = 0; j < NC; ++j) acc[j] = _mm512_dpbusd_epi32(acc[j], W, bcast4(xq[j] + 16 * sb + 4 * q));
    }
    const __m512i sc = _mm512_load_si512(w.sc[sb]);
    for (int j = 0; j < NC; ++j) isum[j] = _mm512_add_epi32(isum[j], _mm512_mullo_epi32(acc[j], sc));
  }
  for (int j = 0; j < NC; ++j) {
    const __m512 dx = _mm512_set1_ps(x.d[static_cast<size_t>(c + j) * x.blk_stride + static_cast<size_t>(s)]);
    f[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[j]), _mm512_mul_ps(w.d, dx), f[j]);
  }
}

// gemm_q6_K_q8_K_16x4_r16: group g x columns [c0, c1) (at most kQ6KColumns).
// Each super-block is decoded once into L1 for all the columns (decoding
// costs ~4 ops per 64 weights, as much as the 4 vpdpbusd it feeds in a
// 4-column tile); partial sums wait in f between super-blocks. (Two groups
// per broadcast, 8-column tiles: no faster here; vpdpbusd + vpmulld bound.)
inline constexpr int64_t kQ6KColumns = 64;

QKIT_VNNI_TARGET inline void q6k_group_columns(const MatmulArgs& a, int64_t g, int64_t c0, int64_t c1,
                                               const int32_t* seeds) {
  const QuantAct& x = *a.act;
  const int64_t nb = a.cols / 256;
  const size_t seed_stride = static_cast<size_t>(a.cols / 16);
  const Q6KDecoder dec;
  Q6KDecodedBlock w;
  __m512 f[kQ6KColumns];
  for (int64_t j = 0; j < c1 - c0; ++j) f[j] = _mm512_setzero_ps();
  const uint8_t* gw = a.w + static_cast<size_t>(g) * a.row_stride;
  for (int64_t s = 0; s < nb; ++s) {
    q6k_decode_block(gw + static_cast<size_t>(s) * kQ6KGroupBlock, dec, w);
    int64_t c = c0;
    for (; c + 4 <= c1; c += 4)
      q6k_block_tile<4>(w, x, c, s, seeds + static_cast<size_t>(c - c0) * seed_stride, seed_stride, f + (c - c0));
    const int32_t* sd = seeds + static_cast<size_t>(c - c0) * seed_stride;
    switch (c1 - c) {  // the last 1..3 columns as one tile
      case 3: q6k_block_tile<3>(w, x, c, s, sd, seed_stride, f + (c - c0)); break;
      case 2: q6k_block_tile<2>(w, x, c, s, sd, seed_stride, f + (c - c0)); break;
      case 1: q6k_block_tile<1>(w, x, c, s, sd, seed_stride, f + (c - c0)); break;
      default: break;
    }
  }
  for (int64_t c = c0; c < c1; ++c) q6k_store(a, g, c, f[c - c0]);
}

// Rows [r0, r1) (r0 a multiple of 16) x columns [c0, c1). One column
// (decode, N = 1): the streaming column kernel, which reads each weight
// byte once; more: blocks of up to 64 columns over decoded super-blocks
// (N = 2, 3 too: the column kernel would stream the weights N times).
QKIT_VNNI_TARGET inline void interleaved_q6_k(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const int64_t g0 = r0 / kGroupRows, g1 = (r1 + kGroupRows - 1) / kGroupRows;
  for (int64_t cb = c0; cb < c1; cb += kQ6KColumns) {
    const int64_t ce = cb + kQ6KColumns < c1 ? cb + kQ6KColumns : c1;
    const int32_t* seeds = q6k_seeds(*a.act, cb, ce);
    for (int64_t g = g0; g < g1; ++g) {
      if (ce - cb == 1) {
        q6k_group_column(a, g, cb, seeds);
      } else {
        q6k_group_columns(a, g, cb, ce, seeds);
      }
    }
  }
}

// Rows [r0, r1) (r0 a multiple of 16) x columns [c0, c1).
QKIT_VNNI_TARGET inline void interleaved_q4_k(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  for (int64_t g = r0 / kGroupRows; g * kGroupRows < r1; ++g) {
    int64_t c = c0;
    for (; c + 4 <= c1; c += 4) q4k_group_tile<4>(a, g, c);
    for (; c < c1; ++c) q4k_group_tile<1>(a, g, c);
  }
}

}  // namespace qkit::kernels::vnni

QKIT_INTRIN_WARNINGS_END

#endif  // QKIT_HAVE_VNNI_X86
