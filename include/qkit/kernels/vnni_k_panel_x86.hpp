// qkit/kernels/vnni_k_panel_x86.hpp — AVX-512 VNNI GEMM of the 256-value
// super-block formats Q2_K, Q3_K, Q5_K, TQ1_0 and TQ2_0 (weights as GGUF
// stores them) against Q8_K activations on 16-row panels:
// gemm_<w>_q8_K_16xN. GEMV (N < kPanelMinCols) stays on rows_k
// (vnni_k_x86.hpp), which decodes each block per column tile.
//
// Per call, 16 rows are decoded once (the KDecoded decoders of
// vnni_k_x86.hpp / vnni_k2_x86.hpp give the unsigned quants in value order)
// and transposed into a panel (vnni_panel_x86.hpp): per super-block
//   f32 d[16] | f32 -dmin[16] | mins as int16 pairs (Q2_K, Q5_K: 8 x 64
//   bytes) | int32 sub-block scales (Q5_K: 8 x 64 bytes) | 64 chunks of 64 bytes
// chunk k holding values 4k..4k+3 of the 16 rows. One vpdpbusd with a
// broadcast activation word then advances 16 rows of one column; the
// int32 lanes are the rows. Where a scale times a quant fits a byte it is
// folded into the panel's quant, so the micro-kernel is nothing but
// vpdpbusd:
//   Q3_K   (u - 4) sc + 127 (u = 0..7, sc = -32..31: 3..255), offset 127
//   Q2_K   u sc (u = 0..3, sc = 0..15: 0..45); mins m_s against bsums
//   TQ*    u (0..2), offset 1
//   Q5_K   u (0..31); the 32-value sums times sc by vpmulld; mins m_s
//          against bsums32
// An offset o is exact as the accumulator's seed -o * sum(x) (the sum of
// the column's 16 bsums of the super-block). Per super-block and column:
//   y += float(isum) * (d dx) [+ float(imin) * (-dmin dx)]
// the reference's integer sums, exactly. Every column runs the same
// sequence whatever its tile, so results do not depend on N's split, the
// row range or the thread count.
#pragma once

#include "qkit/kernels/intrin_warnings.hpp"

#include "qkit/kernels/vnni_k2_x86.hpp"
#include "qkit/kernels/vnni_k_x86.hpp"
#include "qkit/kernels/vnni_panel_x86.hpp"
#include "qkit/kernels/vnni_repack_x86.hpp"  // bcast4

#if defined(QKIT_HAVE_VNNI_X86)

QKIT_INTRIN_WARNINGS_BEGIN

namespace qkit::kernels::vnni {

// What a format's panel holds besides the quants, and where its per-row
// scales come from (vectors: no scalar work per sub-block).
struct KPanelDefaults {
  static constexpr int kOffset = 0;         // panel quant = value + kOffset
  static constexpr int kMinPairs = 0;       // int16 min pairs (vpdpwssd with bsums)
  static constexpr bool kBsums32 = false;   // mins per 32 values (bsums32) instead of 16
  static constexpr int kFold = 0;           // 2: u sc folded (Q2_K); 3: (u - 4) sc + 127 (Q3_K)
  static constexpr bool kSubScale = false;  // per-32 int32 scales applied by vpmulld (Q5_K)
};

template <class Dec>
struct KPanelKind;

template <>
struct KPanelKind<DecQ3K> : KPanelDefaults {
  static constexpr int kOffset = 127, kFold = 3;
  // The 16 scales as bytes: KDecoded's m16 multiplies the bsums by the
  // quants' offset -4 times the scale.
  QKIT_VNNI_TARGET static __m128i scales8(const uint8_t*, const KDecoded& w) {
    return _mm256_cvtepi16_epi8(_mm256_sub_epi16(_mm256_setzero_si256(), _mm256_srai_epi16(w.m16, 2)));
  }
};
template <>
struct KPanelKind<DecQ2K> : KPanelDefaults {
  static constexpr int kMinPairs = 8, kFold = 2;  // mins: KDecoded's m16
  QKIT_VNNI_TARGET static __m128i scales8(const uint8_t* blk, const KDecoded&) {
    return _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk)), _mm_set1_epi8(0x0f));
  }
};
template <>
struct KPanelKind<DecQ5K> : KPanelDefaults {
  static constexpr int kMinPairs = 4;
  static constexpr bool kBsums32 = true, kSubScale = true;
};
template <>
struct KPanelKind<DecTQ2> : KPanelDefaults {
  static constexpr int kOffset = 1;
};
template <>
struct KPanelKind<DecTQ1> : KPanelDefaults {
  static constexpr int kOffset = 1;
};

// The panel kernel of panel_rows (vnni_panel_x86.hpp) for decoder Dec.
template <class Dec>
struct KPanel {
  using K = KPanelKind<Dec>;
  static constexpr size_t kMinOff = 128;
  // The transpose writes 8 min chunks (Q5_K uses 4).
  static constexpr size_t kScOff = kMinOff + (K::kMinPairs != 0 ? 512 : 0);
  static constexpr size_t kQOff = kScOff + (K::kSubScale ? 512 : 0);
  static constexpr size_t kBlock = kQOff + 4096;  // one super-block of 16 rows
  static constexpr int kCols = 8;                  // columns per tile

  const MatmulArgs& a;
  int64_t nb;
  int64_t c0;
  const int32_t* seeds;  // [column - c0][super-block]: -kOffset * sum(x)

  QKIT_VNNI_TARGET KPanel(const MatmulArgs& args, int64_t cb, int64_t ce) : a(args), nb(args.cols / 256), c0(cb) {
    seeds = nullptr;
    if constexpr (K::kOffset != 0) {
      const QuantAct& x = *a.act;
      thread_local AlignedBuffer<int32_t> buf;
      buf.ensure(static_cast<size_t>((ce - cb) * nb));
      for (int64_t c = cb; c < ce; ++c) {
        const int16_t* bs = x.bsums + static_cast<size_t>(c) * x.bsum_stride;
        for (int64_t b = 0; b < nb; ++b) {
          const __m512i v = _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(bs + 16 * b)));
          buf.data()[(c - cb) * nb + b] = -K::kOffset * _mm512_reduce_add_epi32(v);
        }
      }
      seeds = buf.data();
    }
  }

  size_t panel_bytes() const { return static_cast<size_t>(nb) * kBlock; }

  // Scale folding of Q2_K / Q3_K, byte by byte: u the unsigned quants, s
  // the scale of each byte's sub-block.
  QKIT_VNNI_TARGET static __m512i fold(__m512i u, __m512i s) {
    const __m512i s2 = _mm512_add_epi8(s, s);
    if constexpr (K::kFold == 2) {
      __m512i r = _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(u, _mm512_set1_epi8(1)), s);
      return _mm512_mask_add_epi8(r, _mm512_test_epi8_mask(u, _mm512_set1_epi8(2)), r, s2);
    } else {
      // 127 - 4 sc + bit0 sc + bit1 2 sc + bit2 4 sc, mod 256 (the result
      // lies in 3..255, so wrapping on the way is harmless).
      const __m512i s4 = _mm512_add_epi8(s2, s2);
      __m512i r = _mm512_sub_epi8(_mm512_set1_epi8(127), s4);
      r = _mm512_mask_add_epi8(r, _mm512_test_epi8_mask(u, _mm512_set1_epi8(1)), r, s);
      r = _mm512_mask_add_epi8(r, _mm512_test_epi8_mask(u, _mm512_set1_epi8(2)), r, s2);
      return _mm512_mask_add_epi8(r, _mm512_test_epi8_mask(u, _mm512_set1_epi8(4)), r, s4);
    }
  }

  // Rows [p, p + 16): each row's blocks decoded (and Q2_K / Q3_K scales
  // folded) in value order, then transposed 16 x 8 dwords at a time: the
  // quants, the rows' min pairs (m16, or Q5_K's mins per 32) and Q5_K's
  // scales.
  QKIT_VNNI_TARGET void build(int64_t p, int valid, uint8_t* panel) const {
    const uint8_t* rows[16];
    for (int r = 0; r < 16; ++r) rows[r] = a.w + static_cast<size_t>(p + (r < valid ? r : valid - 1)) * a.row_stride;
    const PanelTranspose tr;
    // Byte i of a 64-value vector lies in sub-block i / 16 of its 4.
    const __m512i lane_sb = _mm512_setr_epi32(0, 0, 0, 0, 0x01010101, 0x01010101, 0x01010101, 0x01010101, 0x02020202,
                                              0x02020202, 0x02020202, 0x02020202, 0x03030303, 0x03030303, 0x03030303,
                                              0x03030303);
    alignas(64) uint8_t q[16][256];
    alignas(64) float d[16], dm[16];
    __m256i mrow[16], srow[16];
    (void)mrow;
    (void)srow;
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* pb = panel + static_cast<size_t>(b) * kBlock;
      for (int r = 0; r < 16; ++r) {
        const uint8_t* blk = rows[r] + static_cast<size_t>(b) * Dec::kBytes;
        // 16 rows are 16 streams, more than the hardware prefetcher
        // follows: fetch the block after next (past a row's end is harmless).
        for (size_t o = 0; o < Dec::kBytes + 63; o += 64) _mm_prefetch(reinterpret_cast<const char*>(blk + 2 * Dec::kBytes + o), _MM_HINT_T0);
        const KDecoded w = Dec::decode(blk);
        d[r] = w.d;
        dm[r] = w.dm;
        if constexpr (K::kFold != 0) {
          const __m512i sc = _mm512_broadcast_i32x4(K::scales8(blk, w));
          for (int i = 0; i < 4; ++i)
            _mm512_store_si512(q[r] + 64 * i, fold(w.u[i], _mm512_shuffle_epi8(sc, _mm512_add_epi8(lane_sb, _mm512_set1_epi8(static_cast<char>(4 * i))))));
        } else {
          for (int i = 0; i < 4; ++i) _mm512_store_si512(q[r] + 64 * i, w.u[i]);
        }
        if constexpr (K::kSubScale) {
          // Q5_K: bytes 0..7 the 8 scales, 8..15 the 8 mins.
          uint32_t u[4];
          quant::unpack_scales_mins_k4(blk + 4, u);
          const __m128i sm = _mm_set_epi32(static_cast<int>(u[3]), static_cast<int>(u[2]), static_cast<int>(u[1]),
                                           static_cast<int>(u[0]));
          srow[r] = _mm256_cvtepu8_epi32(sm);
          mrow[r] = _mm256_zextsi128_si256(_mm_cvtepu8_epi16(_mm_unpackhi_epi64(sm, sm)));
        } else if constexpr (K::kMinPairs != 0) {
          mrow[r] = w.m16;
        }
      }
      _mm512_store_ps(reinterpret_cast<float*>(pb), _mm512_load_ps(d));
      _mm512_store_ps(reinterpret_cast<float*>(pb + 64), _mm512_load_ps(dm));
      __m512i T[8];
      auto pairs = [&T](const __m256i* v) QKIT_VNNI_TARGET {
        for (int i = 0; i < 8; ++i) T[i] = _mm512_inserti64x4(_mm512_castsi256_si512(v[2 * i]), v[2 * i + 1], 1);
      };
      if constexpr (K::kMinPairs != 0) {
        pairs(mrow);
        tr.run(T, pb + kMinOff);
      }
      if constexpr (K::kSubScale) {
        pairs(srow);
        tr.run(T, pb + kScOff);
      }
      for (int g = 0; g < 8; ++g) {
        for (int i = 0; i < 8; ++i)
          T[i] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_load_si256(reinterpret_cast<const __m256i*>(q[2 * i] + 32 * g))),
                                    _mm256_load_si256(reinterpret_cast<const __m256i*>(q[2 * i + 1] + 32 * g)), 1);
        tr.run(T, pb + kQOff + 512 * g);
      }
    }
  }

  template <int NC>
  QKIT_VNNI_TARGET void tile(const uint8_t* panel, int64_t p, int valid, int64_t c) const {
    const QuantAct& x = *a.act;
    const ActColumns<NC> cols(x, c);
    const auto& xb = K::kBsums32 ? cols.bsums32 : cols.bsums;
    __m512 f[NC];
    for (int j = 0; j < NC; ++j) f[j] = _mm512_setzero_ps();
    constexpr int kMinStep = K::kBsums32 ? 8 : 16;  // bsums per super-block
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* pb = panel + static_cast<size_t>(b) * kBlock;
      const uint8_t* pq = pb + kQOff;
      __m512i isum[NC];
      for (int j = 0; j < NC; ++j)
        isum[j] = K::kOffset != 0 ? _mm512_set1_epi32(seeds[(c + j - c0) * nb + b]) : _mm512_setzero_si512();
      if constexpr (K::kSubScale) {
        QKIT_UNROLL(8)
        for (int s = 0; s < 8; ++s) {
          __m512i acc[NC];
          for (int j = 0; j < NC; ++j) acc[j] = _mm512_setzero_si512();
          QKIT_UNROLL(8)
          for (int k = 0; k < 8; ++k) {
            const __m512i W = _mm512_load_si512(pq + 64 * (8 * s + k));
            for (int j = 0; j < NC; ++j) acc[j] = _mm512_dpbusd_epi32(acc[j], W, bcast4(cols.qs[j] + 256 * b + 32 * s + 4 * k));
          }
          const __m512i scv = _mm512_load_si512(pb + kScOff + 64 * s);
          for (int j = 0; j < NC; ++j) isum[j] = _mm512_add_epi32(isum[j], _mm512_mullo_epi32(acc[j], scv));
        }
      } else {
        // Two chains per column: vpdpbusd's latency would bound one.
        __m512i odd[NC];
        for (int j = 0; j < NC; ++j) odd[j] = _mm512_setzero_si512();
        // Unrolled: GCC otherwise copies every accumulator each iteration.
        QKIT_UNROLL(32)
        for (int k = 0; k < 64; k += 2) {
          const __m512i W0 = _mm512_load_si512(pq + 64 * k), W1 = _mm512_load_si512(pq + 64 * (k + 1));
          for (int j = 0; j < NC; ++j) {
            const int8_t* xo = cols.qs[j] + 256 * b + 4 * k;
            isum[j] = _mm512_dpbusd_epi32(isum[j], W0, bcast4(xo));
            odd[j] = _mm512_dpbusd_epi32(odd[j], W1, bcast4(xo + 4));
          }
        }
        for (int j = 0; j < NC; ++j) isum[j] = _mm512_add_epi32(isum[j], odd[j]);
      }
      const __m512 d = _mm512_load_ps(reinterpret_cast<const float*>(pb));
      for (int j = 0; j < NC; ++j) f[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[j]), _mm512_mul_ps(d, _mm512_set1_ps(cols.d[j][b])), f[j]);
      if constexpr (K::kMinPairs != 0) {
        const __m512 dm = _mm512_load_ps(reinterpret_cast<const float*>(pb + 64));
        __m512i imin[NC];
        for (int j = 0; j < NC; ++j) imin[j] = _mm512_setzero_si512();
        for (int pr = 0; pr < K::kMinPairs; ++pr) {
          const __m512i mp = _mm512_load_si512(pb + kMinOff + 64 * pr);
          for (int j = 0; j < NC; ++j)
            imin[j] = _mm512_dpwssd_epi32(imin[j], mp, bcast4(reinterpret_cast<const int8_t*>(xb[j] + kMinStep * b + 2 * pr)));
        }
        for (int j = 0; j < NC; ++j)
          f[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(imin[j]), _mm512_mul_ps(dm, _mm512_set1_ps(cols.d[j][b])), f[j]);
      }
    }
    const __mmask16 m = static_cast<__mmask16>((1u << valid) - 1u);
    for (int j = 0; j < NC; ++j) _mm512_mask_storeu_ps(a.y + static_cast<size_t>(c + j) * a.ldy + p, m, f[j]);
  }
};

// The kernel of vnni_registry_x86.hpp: panels from kPanelMinCols columns
// (a property of the call, so every thread takes the same path), rows_k
// below.
template <class Dec>
QKIT_VNNI_TARGET inline void rows_k_panel(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  if (a.act->n >= kPanelMinCols) {
    panel_rows(KPanel<Dec>(a, c0, c1), r0, r1, c0, c1);
  } else {
    rows_k<Dec>(a, r0, r1, c0, c1);
  }
}

}  // namespace qkit::kernels::vnni

QKIT_INTRIN_WARNINGS_END

#endif  // QKIT_HAVE_VNNI_X86
