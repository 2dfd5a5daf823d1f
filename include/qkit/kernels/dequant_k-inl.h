// qkit/kernels/dequant_k-inl.h — per-target dequantization of the K-quant
// super-blocks (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K), bit-identical to
// quant/q*_k.hpp.
//
// A super-block's 256 codes are unpacked into int8 with 128-bit byte
// operations, in value order, then each sub-block (16 or 32 values) is
// scaled: its scale (and min) is computed in scalar code exactly as the
// scalar dequantizer does, and the per-value arithmetic keeps the scalar
// code's order and roundings (dl * q - ml, with no fused multiply-add).
#if defined(QKIT_KERNELS_DEQUANT_K_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_DEQUANT_K_INL_H_
#undef QKIT_KERNELS_DEQUANT_K_INL_H_
#else
#define QKIT_KERNELS_DEQUANT_K_INL_H_
#endif

#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "qkit/kernels/common-inl.h"
#include "qkit/kernels/dequant_scale-inl.h"
#include "qkit/quant/k_quants.hpp"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {

#if HWY_TARGET != HWY_SCALAR

// quant::get_scale_min_k4 and quant::get_scale_q3k, repeated here so they
// inline into the per-target loops (the scalar headers are compiled with
// other optimization options, which keeps GCC from inlining them).
// Q4_K/Q5_K: 6-bit scale and min of sub-block j from the 12 packed bytes.
HWY_INLINE void ScaleMinK4(int j, const uint8_t* HWY_RESTRICT q, int& sc, int& m) {
  if (j < 4) {
    sc = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    sc = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q3_K: signed 6-bit scale (-32..31) of sub-block j.
HWY_INLINE int ScaleQ3K(const uint8_t* HWY_RESTRICT q, int j) {
  const int lo = j < 8 ? q[j] & 0xf : q[j - 8] >> 4;
  return (lo | (((q[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
}

// The 2-bit layout of Q2_K, Q3_K (low bits) and TQ2_0: value 128h + 32k + l
// is bits 2k..2k+1 of qs[32h + l]. Writes the 256 codes 0..3 in value order.
HWY_INLINE void Unpack2Bit(const uint8_t* HWY_RESTRICT qs, int8_t* HWY_RESTRICT q) {
  const DqBytes d8;
  const auto three = hn::Set(d8, 3);
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; l += 16) {
      const auto v = hn::LoadU(d8, qs + 32 * h + l);
      int8_t* out = q + 128 * h + l;
      StoreCodes(hn::And(v, three), out);
      StoreCodes(hn::And(hn::ShiftRight<2>(v), three), out + 32);
      StoreCodes(hn::And(hn::ShiftRight<4>(v), three), out + 64);
      StoreCodes(hn::ShiftRight<6>(v), out + 96);
    }
  }
}

// The 4-bit layout of Q4_K and Q5_K: value 64c + l is the low nibble of
// qs[32c + l], value 64c + 32 + l the high one (l < 32).
HWY_INLINE void Unpack4BitK(const uint8_t* HWY_RESTRICT qs, int8_t* HWY_RESTRICT q) {
  const DqBytes d8;
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; l += 16) {
      const auto v = hn::LoadU(d8, qs + 32 * c + l);
      StoreCodes(LowNibbles(v), q + 64 * c + l);
      StoreCodes(HighNibbles(v), q + 64 * c + 32 + l);
    }
  }
}

inline void DequantQ2K(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const BlockQ2K*>(src);
  alignas(64) int8_t q[kQK];
  for (size_t i = 0; i < nb; ++i, y += kQK) {
    Unpack2Bit(b[i].qs, q);
    const float d = HalfScale(b[i].d);
    const float dmin = HalfScale(b[i].dmin);
    for (int s = 0; s < 16; ++s) {
      const uint8_t sc = b[i].scales[s];
      ScaleSubI8(q + 16 * s, d * static_cast<float>(sc & 0xf), dmin * static_cast<float>(sc >> 4), y + 16 * s, 16);
    }
  }
}

// Q3_K: code = low 2 bits - (high bit ? 0 : 4); the high bit of value
// 128h + 32k + l is bit 4h + k of hmask[l].
inline void DequantQ3K(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const BlockQ3K*>(src);
  const DqBytes d8;
  alignas(64) int8_t q[kQK];
  for (size_t i = 0; i < nb; ++i, y += kQK) {
    Unpack2Bit(b[i].qs, q);
    for (int l = 0; l < 32; l += 16) {
      const auto hm = hn::LoadU(d8, b[i].hmask + l);
      for (int g = 0; g < 8; ++g) {  // g = 4h + k: values 32g + l
        int8_t* p = q + 32 * g + l;
        const auto lo = hn::LoadU(d8, reinterpret_cast<const uint8_t*>(p));
        const auto sub = hn::IfThenZeroElse(hn::TestBit(hm, hn::Set(d8, static_cast<uint8_t>(1u << g))), hn::Set(d8, 4));
        StoreCodes(hn::Sub(lo, sub), p);
      }
    }
    const float d_all = HalfScale(b[i].d);
    for (int s = 0; s < 16; ++s) {
      ScaleI8(q + 16 * s, d_all * static_cast<float>(ScaleQ3K(b[i].scales, s)), y + 16 * s, 16);
    }
  }
}

// Q4_K and Q5_K: 8 sub-blocks of 32 with 6-bit scale and min.
template <typename Block>
HWY_INLINE void ScaleK4(const Block& b, const int8_t* HWY_RESTRICT q, float* HWY_RESTRICT y) {
  const float d = HalfScale(b.d);
  const float dmin = HalfScale(b.dmin);
  for (int s = 0; s < 8; ++s) {
    int sc, m;
    ScaleMinK4(s, b.scales, sc, m);
    ScaleSubI8(q + 32 * s, d * static_cast<float>(sc), dmin * static_cast<float>(m), y + 32 * s, 32);
  }
}

inline void DequantQ4K(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const BlockQ4K*>(src);
  alignas(64) int8_t q[kQK];
  for (size_t i = 0; i < nb; ++i, y += kQK) {
    Unpack4BitK(b[i].qs, q);
    ScaleK4(b[i], q, y);
  }
}

// Q5_K: the fifth bit of value 32s + l is bit s of qh[l].
inline void DequantQ5K(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const BlockQ5K*>(src);
  const DqBytes d8;
  alignas(64) int8_t q[kQK];
  for (size_t i = 0; i < nb; ++i, y += kQK) {
    Unpack4BitK(b[i].qs, q);
    for (int l = 0; l < 32; l += 16) {
      const auto hm = hn::LoadU(d8, b[i].qh + l);
      for (int s = 0; s < 8; ++s) {
        int8_t* p = q + 32 * s + l;
        const auto lo = hn::LoadU(d8, reinterpret_cast<const uint8_t*>(p));
        const auto hi = hn::IfThenElseZero(hn::TestBit(hm, hn::Set(d8, static_cast<uint8_t>(1u << s))), hn::Set(d8, 16));
        StoreCodes(hn::Or(lo, hi), p);
      }
    }
    ScaleK4(b[i], q, y);
  }
}

// Q6_K: value 128h + 32k + l has low nibble from ql[64h + 32(k & 1) + l]
// (low nibble for k < 2, high for k >= 2) and bits 2k..2k+1 of qh[32h + l]
// on top; code - 32. Sub-blocks of 16 with int8 scales.
inline void DequantQ6K(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const BlockQ6K*>(src);
  const DqBytes d8;
  const auto k32 = hn::Set(d8, 32);
  alignas(64) int8_t q[kQK];
  for (size_t i = 0; i < nb; ++i, y += kQK) {
    for (int h = 0; h < 2; ++h) {
      for (int l = 0; l < 32; l += 16) {
        const auto ql0 = hn::LoadU(d8, b[i].ql + 64 * h + l);
        const auto ql1 = hn::LoadU(d8, b[i].ql + 64 * h + 32 + l);
        const auto qh = hn::LoadU(d8, b[i].qh + 32 * h + l);
        int8_t* out = q + 128 * h + l;
        const auto hi0 = hn::ShiftLeft<4>(hn::And(qh, hn::Set(d8, 0x03)));
        const auto hi1 = hn::ShiftLeft<2>(hn::And(qh, hn::Set(d8, 0x0c)));
        const auto hi2 = hn::And(qh, hn::Set(d8, 0x30));
        const auto hi3 = hn::ShiftRight<2>(hn::And(qh, hn::Set(d8, 0xc0)));
        StoreCodes(hn::Sub(hn::Or(LowNibbles(ql0), hi0), k32), out);
        StoreCodes(hn::Sub(hn::Or(LowNibbles(ql1), hi1), k32), out + 32);
        StoreCodes(hn::Sub(hn::Or(HighNibbles(ql0), hi2), k32), out + 64);
        StoreCodes(hn::Sub(hn::Or(HighNibbles(ql1), hi3), k32), out + 96);
      }
    }
    const float d = HalfScale(b[i].d);
    for (int s = 0; s < 16; ++s) ScaleI8(q + 16 * s, d * static_cast<float>(b[i].scales[s]), y + 16 * s, 16);
  }
}

inline void DequantQ8K(const void* HWY_RESTRICT src, float* HWY_RESTRICT y, size_t nb) {
  const auto* b = static_cast<const BlockQ8K*>(src);
  for (size_t i = 0; i < nb; ++i, y += kQK) ScaleI8(b[i].qs, b[i].d, y, kQK);
}

#endif  // HWY_TARGET != HWY_SCALAR

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
