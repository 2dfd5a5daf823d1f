// qkit/kernels/k_scales.hpp — the packed sub-block scales of Q3_K and
// IQ4_XS unpacked for the integer kernels' decoders (Q3_K with the
// reference's word masks). Plain C++: every target uses the same code.
//   unpack_scales_q3k: 12 bytes -> 16 signed 6-bit scales (-32..31), in
//     sub-block order (quant::get_scale_q3k(q, j) == out[j]).
//   iq4_xs_scales:     scales_h (u16) + scales_l (4 bytes) -> 8 signed
//     scales ls - 32 (-32..31) (quant::iq4_xs_scale(b, ib) - 32 == out[ib]).
#pragma once

#include <cstdint>
#include <cstring>

namespace qkit::kernels {

// The reference's 32-bit mask form: byte j of the four words is the
// unsigned scale j (0..63; the signed scale is it minus 32): low 4 bits
// from byte j or the high nibble of byte j - 8, high 2 bits from byte
// 8 + j % 4 at bit 2 (j / 4). SIMD decoders load the words as one vector.
inline void q3k_scale_words(const uint8_t* packed, uint32_t a[4]) {
  std::memcpy(a, packed, 12);
  constexpr uint32_t k1 = 0x03030303, k2 = 0x0f0f0f0f;
  const uint32_t t = a[2];
  a[2] = ((a[0] >> 4) & k2) | (((t >> 4) & k1) << 4);
  a[3] = ((a[1] >> 4) & k2) | (((t >> 6) & k1) << 4);
  a[0] = (a[0] & k2) | ((t & k1) << 4);
  a[1] = (a[1] & k2) | (((t >> 2) & k1) << 4);
}

inline void unpack_scales_q3k(const uint8_t* packed, int8_t out[16]) {
  uint32_t a[4];
  q3k_scale_words(packed, a);
  uint8_t u[16];
  std::memcpy(u, a, 16);
  for (int j = 0; j < 16; ++j) out[j] = static_cast<int8_t>(u[j] - 32);
}

// blk: an IQ4_XS block (f16 d | u16 scales_h | scales_l[4] | qs[128]).
inline void iq4_xs_scales(const uint8_t* blk, int8_t out[8]) {
  uint16_t h;
  std::memcpy(&h, blk + 2, 2);
  const uint8_t* l = blk + 4;
  for (int ib = 0; ib < 8; ++ib)
    out[ib] = static_cast<int8_t>((((l[ib / 2] >> (4 * (ib % 2))) & 0xf) | (((h >> (2 * ib)) & 3) << 4)) - 32);
}

}  // namespace qkit::kernels
