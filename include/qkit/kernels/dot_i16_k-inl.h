// qkit/kernels/dot_i16_k-inl.h — the 256-value super-block formats (Q2_K,
// Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS) decoded for dot_i16-inl.h's int16
// kernels: one walk (DecodeK), a format being a decoder (KDec16<F>):
//   Scales(blk)        the int16 scale of each 16-value group, d, and for
//                      the formats with mins (kMinFloat) -dmin and the 16
//                      mins in bsum order (the activation's 16-value sums)
//   Quants(blk, sc, o) the signed quants (offset applied: Q3_K - 4, Q6_K
//                      - 32; IQ4_XS the table levels), in activation order,
//                      each vector of at most 16 lanes times its group's
//                      scale (Put)
// |quant * scale| <= 4096 (Q6_K 32 * 128, IQ4_XS 127 * 32), so a block's
// sum of 256 products with the int8 activations stays below 2^31: exact.
#if defined(QKIT_KERNELS_DOT_I16_K_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_DOT_I16_K_INL_H_
#undef QKIT_KERNELS_DOT_I16_K_INL_H_
#else
#define QKIT_KERNELS_DOT_I16_K_INL_H_
#endif

#include <cstring>

#include "hwy/highway.h"
#include "qkit/base/fp16.hpp"
#include "qkit/kernels/common-inl.h"
#include "qkit/kernels/k_scales.hpp"
#include "qkit/quant/format.hpp"
#include "qkit/quant/iq4.hpp"
#include "qkit/quant/k_blocks.hpp"

// Where the int16 kernels exist: every target with fixed-size vectors but
// the SCALAR one (they keep vectors in arrays, which SVE's sizeless types
// forbid; SVE targets have svdot for Q8_0 / Q4_0 instead).
#undef QKIT_HAVE_I16_DOT
#if HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_SVE && HWY_TARGET != HWY_SVE2 && HWY_TARGET != HWY_SVE_256 && \
    HWY_TARGET != HWY_SVE2_128
#define QKIT_HAVE_I16_DOT 1
#endif

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {
#if defined(QKIT_HAVE_I16_DOT)
namespace i16 {

// At most 16 int16 lanes: a 16-value group (one scale, one bsum) is a
// whole number of vectors, and AVX3 without VNNI runs the 256-bit code.
using D16 = hn::CappedTag<int16_t, 16>;

struct KScales16 {
  int16_t sc[16];  // scale of values 16t .. 16t + 15
  int16_t m[16];   // kMinFloat: the min of group t (paired with bsum t)
  float d;         // super-block scale
  float dm;        // kMinFloat: -dmin
};

inline float HalfAt(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

// Quants v of values i .. i + lanes - 1 (one group) times the group's scale.
template <class V>
HWY_INLINE void Put(V v, size_t i, const int16_t* HWY_RESTRICT sc, int16_t* HWY_RESTRICT out) {
  const D16 d16;
  hn::Store(hn::Mul(v, hn::Set(d16, sc[i / 16])), d16, out + i);
}

// Q4_K / Q5_K: d | dmin | 12 bytes of 6-bit scales and mins, one per 32 values.
inline void ScalesMinsK4(const uint8_t* blk, KScales16& s) {
  uint32_t u[4];  // bytes 0..7: scales, 8..15: mins
  quant::unpack_scales_mins_k4(blk + 4, u);
  uint8_t sm[16];
  std::memcpy(sm, u, 16);
  for (int t = 0; t < 16; ++t) {
    s.sc[t] = sm[t / 2];
    s.m[t] = sm[8 + t / 2];
  }
  s.d = HalfAt(blk);
  s.dm = -HalfAt(blk + 2);
}

// Q4_K / Q5_K nibbles at qs (per 64 values 32 bytes: low nibbles values
// 0..31, high 32..63), plus Q5_K's fifth bits: value 32i + l has bit i of
// qh[l].
template <bool kQ5>
inline void QuantsK45(const uint8_t* HWY_RESTRICT qs, const uint8_t* HWY_RESTRICT qh,
                      const int16_t* HWY_RESTRICT sc, int16_t* HWY_RESTRICT out) {
  const D16 d16;
  const hn::RebindToUnsigned<D16> du16;
  const hn::Rebind<uint8_t, D16> du8;
  const size_t n16 = hn::Lanes(d16);
  const auto m4 = hn::Set(du16, 0x0f), one = hn::Set(du16, 1), two = hn::Set(du16, 2);
  for (size_t j = 0; j < 32; j += n16) {
    [[maybe_unused]] auto hb = kQ5 ? hn::PromoteTo(du16, hn::LoadU(du8, qh + j)) : hn::Zero(du16);
    for (size_t i = 0; i < 4; ++i) {
      const auto v = hn::PromoteTo(du16, hn::LoadU(du8, qs + 32 * i + j));
      auto lo = hn::And(v, m4), hi = hn::ShiftRight<4>(v);
      if constexpr (kQ5) {
        lo = hn::Or(lo, hn::ShiftLeft<4>(hn::And(hb, one)));
        hi = hn::Or(hi, hn::ShiftLeft<3>(hn::And(hb, two)));
        hb = hn::ShiftRight<2>(hb);
      }
      Put(hn::BitCast(d16, lo), 64 * i + j, sc, out);
      Put(hn::BitCast(d16, hi), 64 * i + 32 + j, sc, out);
    }
  }
}

template <Format F>
struct KDec16;

template <>
struct KDec16<Format::Q4_K> {
  static constexpr bool kMinFloat = true;
  static void Scales(const uint8_t* blk, KScales16& s) { ScalesMinsK4(blk, s); }
  static void Quants(const uint8_t* blk, const int16_t* sc, int16_t* out) {
    QuantsK45<false>(blk + 16, nullptr, sc, out);
  }
};

// Q5_K: Q4_K's fields, then qh[32] | qs[128].
template <>
struct KDec16<Format::Q5_K> {
  static constexpr bool kMinFloat = true;
  static void Scales(const uint8_t* blk, KScales16& s) { ScalesMinsK4(blk, s); }
  static void Quants(const uint8_t* blk, const int16_t* sc, int16_t* out) {
    QuantsK45<true>(blk + 48, blk + 16, sc, out);
  }
};

// Q6_K: ql[128] | qh[64] | int8 scales[16] | d. Per half h, value 32t + l
// (l < 32) = ql[64h + l + 32 (t & 1)] nibble (t < 2: low) | qh[32h + l]
// bits 2t, 2t + 1 << 4, minus 32.
template <>
struct KDec16<Format::Q6_K> {
  static constexpr bool kMinFloat = false;
  static void Scales(const uint8_t* blk, KScales16& s) {
    for (int t = 0; t < 16; ++t) s.sc[t] = static_cast<int8_t>(blk[192 + t]);
    s.d = HalfAt(blk + 208);
  }
  static void Quants(const uint8_t* blk, const int16_t* sc, int16_t* out) {
    const D16 d16;
    const hn::RebindToUnsigned<D16> du16;
    const hn::Rebind<uint8_t, D16> du8;
    const size_t n16 = hn::Lanes(d16);
    const uint8_t* ql = blk;
    const uint8_t* qh = blk + 128;
    const auto m4 = hn::Set(du16, 0x0f), m3 = hn::Set(du16, 3);
    const auto k32 = hn::Set(d16, 32);
    for (size_t h = 0; h < 2; ++h) {
      for (size_t l = 0; l < 32; l += n16) {
        const auto l0 = hn::PromoteTo(du16, hn::LoadU(du8, ql + 64 * h + l));
        const auto l1 = hn::PromoteTo(du16, hn::LoadU(du8, ql + 64 * h + 32 + l));
        const auto hb = hn::PromoteTo(du16, hn::LoadU(du8, qh + 32 * h + l));
        const decltype(l0) q[4] = {
            hn::Or(hn::And(l0, m4), hn::ShiftLeft<4>(hn::And(hb, m3))),
            hn::Or(hn::And(l1, m4), hn::ShiftLeft<4>(hn::And(hn::ShiftRight<2>(hb), m3))),
            hn::Or(hn::ShiftRight<4>(l0), hn::ShiftLeft<4>(hn::And(hn::ShiftRight<4>(hb), m3))),
            hn::Or(hn::ShiftRight<4>(l1), hn::ShiftLeft<4>(hn::ShiftRight<6>(hb))),
        };
        for (size_t t = 0; t < 4; ++t) Put(hn::Sub(hn::BitCast(d16, q[t]), k32), 128 * h + 32 * t + l, sc, out);
      }
    }
  }
};

// The quants of Q2_K and Q3_K: value 128h + 32t + l is bits 2t, 2t + 1 of
// qs[32h + l]; Q3_K (hmask not null) adds bit 4h + t of hmask[l] as bit 2
// and subtracts 4.
inline void TwoBitPlanes(const uint8_t* qs, const uint8_t* hmask, const int16_t* sc, int16_t* out) {
  const D16 d16;
  const hn::RebindToUnsigned<D16> du16;
  const hn::Rebind<uint8_t, D16> du8;
  const size_t n16 = hn::Lanes(d16);
  const auto m3 = hn::Set(du16, 3), one = hn::Set(du16, 1);
  const auto k4 = hn::Set(d16, 4);
  for (size_t h = 0; h < 2; ++h) {
    for (size_t l = 0; l < 32; l += n16) {
      auto v = hn::PromoteTo(du16, hn::LoadU(du8, qs + 32 * h + l));
      if (!hmask) {
        for (size_t t = 0; t < 4; ++t, v = hn::ShiftRight<2>(v))
          Put(hn::BitCast(d16, hn::And(v, m3)), 128 * h + 32 * t + l, sc, out);
        continue;
      }
      auto hm = hn::ShiftRightSame(hn::PromoteTo(du16, hn::LoadU(du8, hmask + l)), static_cast<int>(4 * h));
      for (size_t t = 0; t < 4; ++t, v = hn::ShiftRight<2>(v), hm = hn::ShiftRight<1>(hm)) {
        const auto q = hn::Or(hn::And(v, m3), hn::ShiftLeft<2>(hn::And(hm, one)));
        Put(hn::Sub(hn::BitCast(d16, q), k4), 128 * h + 32 * t + l, sc, out);
      }
    }
  }
}

// Q2_K: scales[16] (low nibble scale, high nibble min) | qs[64] | d | dmin;
// value 128h + 32t + l = bits 2t, 2t + 1 of qs[32h + l].
template <>
struct KDec16<Format::Q2_K> {
  static constexpr bool kMinFloat = true;
  static void Scales(const uint8_t* blk, KScales16& s) {
    for (int t = 0; t < 16; ++t) {
      s.sc[t] = blk[t] & 0x0f;
      s.m[t] = blk[t] >> 4;
    }
    s.d = HalfAt(blk + 80);
    s.dm = -HalfAt(blk + 82);
  }
  static void Quants(const uint8_t* blk, const int16_t* sc, int16_t* out) {
    TwoBitPlanes(blk + 16, nullptr, sc, out);
  }
};

// Q3_K: hmask[32] | qs[64] | 12 bytes of 6-bit scales | d; value
// 128h + 32t + l = bits 2t, 2t + 1 of qs[32h + l] | bit 4h + t of
// hmask[l] << 2, minus 4.
template <>
struct KDec16<Format::Q3_K> {
  static constexpr bool kMinFloat = false;
  static void Scales(const uint8_t* blk, KScales16& s) {
    int8_t sc[16];
    unpack_scales_q3k(blk + 96, sc);
    for (int t = 0; t < 16; ++t) s.sc[t] = sc[t];
    s.d = HalfAt(blk + 108);
  }
  static void Quants(const uint8_t* blk, const int16_t* sc, int16_t* out) {
    TwoBitPlanes(blk + 32, blk, sc, out);
  }
};

// IQ4_XS: d | u16 scales_h | scales_l[4] | qs[128]; sub-block ib (32
// values) as an IQ4_NL block (value j in the low nibble of qs[16 ib + j],
// j + 16 in the high one), looked up in the 16 levels.
template <>
struct KDec16<Format::IQ4_XS> {
  static constexpr bool kMinFloat = false;
  static void Scales(const uint8_t* blk, KScales16& s) {
    int8_t ls[8];
    iq4_xs_scales(blk, ls);
    for (int t = 0; t < 16; ++t) s.sc[t] = ls[t / 2];
    s.d = HalfAt(blk);
  }
  static void Quants(const uint8_t* blk, const int16_t* sc, int16_t* out) {
    const D16 d16;
    const hn::Rebind<int8_t, D16> d8;
    const size_t n16 = hn::Lanes(d16);
    const hn::CappedTag<int8_t, 16> t8;
    const hn::CappedTag<uint8_t, 16> tu8;
    const size_t nt = hn::Lanes(t8);
    const auto tbl = hn::LoadU(t8, kIQ4Values);
    const auto m4 = hn::Set(tu8, 0x0f);
    alignas(64) int8_t lv[32];
    for (size_t ib = 0; ib < 8; ++ib) {
      const uint8_t* q = blk + 8 + 16 * ib;
      for (size_t j = 0; j < 16; j += nt) {
        const auto b = hn::LoadU(tu8, q + j);
        hn::Store(hn::TableLookupBytes(tbl, hn::BitCast(t8, hn::And(b, m4))), t8, lv + j);
        hn::Store(hn::TableLookupBytes(tbl, hn::BitCast(t8, hn::ShiftRight<4>(b))), t8, lv + 16 + j);
      }
      for (size_t j = 0; j < 32; j += n16) Put(hn::PromoteTo(d16, hn::Load(d8, lv + j)), 32 * ib + j, sc, out);
    }
  }
};

template <Format F>
inline constexpr bool kHasKDec16 = F == Format::Q2_K || F == Format::Q3_K || F == Format::Q4_K ||
                                   F == Format::Q5_K || F == Format::Q6_K || F == Format::IQ4_XS;

// Super-block blk -> 256 int16 values (quant * group scale) at out, its d,
// and for the formats with mins -dmin at dm and the 16 mins at mins.
template <Format F>
inline void DecodeK(const uint8_t* HWY_RESTRICT blk, int16_t* HWY_RESTRICT out, float* d, float* dm,
                    int16_t* HWY_RESTRICT mins) {
  KScales16 s;
  KDec16<F>::Scales(blk, s);
  *d = s.d;
  if constexpr (KDec16<F>::kMinFloat) {
    *dm = s.dm;
    std::memcpy(mins, s.m, sizeof s.m);
  }
  KDec16<F>::Quants(blk, s.sc, out);
}

}  // namespace i16
#endif  // QKIT_HAVE_I16_DOT
}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
