// qkit/kernels/vnni_k2_x86.hpp — the low-bit super-block formats for the
// shared AVX-512 VNNI loop of vnni_k_x86.hpp (rows_k): each is only a
// decoder into KDecoded.
//   Q3_K   2 low bits + hmask bit (u = 0..7, value u - 4), 6-bit scales - 32
//   Q2_K   2 bits, 4-bit scale and 4-bit min per 16 values
//   TQ2_0  2 bits (u = 0..2, value u - 1), one scale
//   TQ1_0  base-3: 5 trits per qs byte, 4 per qh byte, one scale
// The offsets (-4, -1) and Q2_K's mins go through the activation's bsums.
#pragma once

#include "qkit/kernels/intrin_warnings.hpp"

#include "qkit/kernels/vnni_gemv_q2k_x86.hpp"
#include "qkit/kernels/vnni_gemv_tq1_x86.hpp"
#include "qkit/kernels/vnni_k_x86.hpp"

#if defined(QKIT_HAVE_VNNI_X86)

QKIT_INTRIN_WARNINGS_BEGIN

namespace qkit::kernels::vnni {

// The 2-bit plane shared by Q2_K, Q3_K and TQ2_0: value 128h + 32j + l is
// bits 2j..2j+1 of qs[32h + l].
QKIT_VNNI_TARGET inline void decode_2bit(const uint8_t* qs, __m512i u[4]) {
  const __m512i m3 = _mm512_set1_epi8(3);
  for (int h = 0; h < 2; ++h) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * h));
    const __m512i qz = _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 2), 1);
    u[2 * h] = _mm512_and_si512(qz, m3);
    u[2 * h + 1] = _mm512_and_si512(_mm512_srli_epi16(qz, 4), m3);
  }
}

// Q3_K: hmask[32], qs[64], scales[12], d.
struct DecQ3K {
  static constexpr size_t kBytes = 110;
  static constexpr bool kScaled = true, kMinFloat = false;
  QKIT_VNNI_TARGET static KDecoded decode(const uint8_t* blk) {
    KDecoded r;
    r.d = f16_scalar(blk + 108);
    r.dm = 0;
    // 16 6-bit scales: low nibbles in bytes 0..7 (scales 0..7 low, 8..15
    // high nibble), top 2 bits in bytes 8..11 (scale j: byte j % 4, bits
    // 2 (j / 4)); built eight bytes at a time.
    uint64_t lo;
    uint32_t hi;
    std::memcpy(&lo, blk + 96, 8);
    std::memcpy(&hi, blk + 104, 4);
    constexpr uint64_t m4 = 0x0f0f0f0f0f0f0f0full;
    constexpr uint32_t m2 = 0x03030303u;
    const uint64_t h0 = (hi & m2) | (static_cast<uint64_t>((hi >> 2) & m2) << 32);
    const uint64_t h1 = ((hi >> 4) & m2) | (static_cast<uint64_t>((hi >> 6) & m2) << 32);
    const __m128i s = _mm_set_epi64x(static_cast<long long>(((lo >> 4) & m4) | (h1 << 4)),
                                     static_cast<long long>((lo & m4) | (h0 << 4)));
    const __m256i sc16 = _mm256_sub_epi16(_mm256_cvtepu8_epi16(s), _mm256_set1_epi16(32));
    spread_scales<16>(sc16, r.sc);
    r.m16 = _mm256_slli_epi16(_mm256_sub_epi16(_mm256_setzero_si256(), sc16), 2);  // -4 sc
    decode_2bit(blk + 32, r.u);
    const __m512i hm = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
    const __m512i b4 = _mm512_set1_epi8(4);
    for (int i = 0; i < 4; ++i) r.u[i] = _mm512_mask_add_epi8(r.u[i], _mm512_test_epi8_mask(hm, plane_bits(i)), r.u[i], b4);
    return r;
  }
};

// Q2_K: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin.
struct DecQ2K {
  static constexpr size_t kBytes = 84;
  static constexpr bool kScaled = true, kMinFloat = true;
  // One column: gemv_q2_K_q8_K (vnni_gemv_q2k_x86.hpp), which rearranges
  // the activation instead of decoding into KDecoded; false otherwise (a
  // property of the call, so a column never changes path with the thread
  // count).
  QKIT_VNNI_TARGET static bool gemv(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    if (a.act->n != 1) return false;
    q2k_gemv(a, r0, r1, c0, c1);
    return true;
  }
  QKIT_VNNI_TARGET static KDecoded decode(const uint8_t* blk) {
    KDecoded r;
    r.d = f16_scalar(blk + 80);
    r.dm = -f16_scalar(blk + 82);
    const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk));
    const __m128i m4 = _mm_set1_epi8(0x0f);
    spread_scales<16>(_mm256_cvtepu8_epi16(_mm_and_si128(s, m4)), r.sc);
    r.m16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s, 4), m4));
    decode_2bit(blk + 16, r.u);
    return r;
  }
};

// TQ2_0: qs[64], d. No sub-block scales: the quants' -1 is -sum(bsums).
struct DecTQ2 {
  static constexpr size_t kBytes = 66;
  static constexpr bool kScaled = false, kMinFloat = false;
  QKIT_VNNI_TARGET static KDecoded decode(const uint8_t* blk) {
    KDecoded r;
    r.d = f16_scalar(blk + 64);
    r.dm = 0;
    r.m16 = _mm256_set1_epi16(-1);
    decode_2bit(blk, r.u);
    return r;
  }
};

// TQ1_0: qs[48], qh[4], d. Byte b holds trits t0..t4 (t0 most significant)
// as a fixed-point fraction: trit n is floor(3 * (b * 3^n mod 256) / 256).
// Value order: trit n of qs[m] at 32n + m (m < 32), of qs[32 + m] at
// 160 + 16n + m (m < 16), of qh[j] at 240 + 4n + j.
// u[i] = trits of S_i (qs/qh bytes gathered by 16-bit words) times P_i.
struct TritTables {
  int16_t src[4][32];  // vpermw indices into the block's words
  int16_t pow[4][32];  // 3^n per word
};
constexpr TritTables make_trit_tables() {
  TritTables t{};
  for (int i = 0; i < 4; ++i)
    for (int w = 0; w < 32; ++w) {
      const int v = 64 * i + 2 * w;  // first of the word's two values
      int word = 0, n = 0;
      if (v < 160) {
        n = v / 32;
        word = (v % 32) / 2;
      } else if (v < 240) {
        n = (v - 160) / 16;
        word = 16 + ((v - 160) % 16) / 2;
      } else {
        n = (v - 240) / 4;
        word = 24 + ((v - 240) % 4) / 2;
      }
      int p = 1;
      for (int e = 0; e < n; ++e) p *= 3;
      t.src[i][w] = static_cast<int16_t>(word);
      t.pow[i][w] = static_cast<int16_t>(p);
    }
  return t;
}
inline constexpr TritTables kTritTables = make_trit_tables();

struct DecTQ1 {
  static constexpr size_t kBytes = 54;
  static constexpr bool kScaled = false, kMinFloat = false;
  // One or two columns in total: gemv_tq1_0_q8_K without the trit decode
  // (vnni_gemv_tq1_x86.hpp); false otherwise (a property of the call, so a
  // column never changes path with the thread count).
  QKIT_VNNI_TARGET static bool gemv(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    if (a.act->n > 2) return false;
    tq1_gemv(a, r0, r1, c0, c1);
    return true;
  }
  QKIT_VNNI_TARGET static KDecoded decode(const uint8_t* blk) {
    KDecoded r;
    r.d = f16_scalar(blk + 52);
    r.dm = 0;
    r.m16 = _mm256_set1_epi16(-1);
    // 54 bytes: a masked load never touches the bytes past the block.
    const __m512i b = _mm512_maskz_loadu_epi8((1ull << 54) - 1, blk);
    const __m512i hi = _mm512_set1_epi16(static_cast<short>(0xff00));
    const __m512i three = _mm512_set1_epi16(3), three_hi = _mm512_set1_epi16(0x300);
    for (int i = 0; i < 4; ++i) {
      const __m512i s = _mm512_permutexvar_epi16(_mm512_loadu_si512(kTritTables.src[i]), b);
      const __m512i p = _mm512_loadu_si512(kTritTables.pow[i]);
      // Each byte moved to the top of its word: the 16-bit product's high
      // byte is then exactly (b * 3^n) mod 256, and its high half times 3
      // is the trit (even bytes: in the low byte; odd: in the high byte).
      const __m512i te = _mm512_mulhi_epu16(_mm512_mullo_epi16(_mm512_slli_epi16(s, 8), p), three);
      const __m512i to = _mm512_mulhi_epu16(_mm512_mullo_epi16(_mm512_and_si512(s, hi), p), three_hi);
      r.u[i] = _mm512_ternarylogic_epi32(te, to, hi, 0xf8);  // te | (to & 0xff00)
    }
    return r;
  }
};

}  // namespace qkit::kernels::vnni

QKIT_INTRIN_WARNINGS_END

#endif  // QKIT_HAVE_VNNI_X86
