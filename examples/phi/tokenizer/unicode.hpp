// examples/phi/tokenizer/unicode.hpp — the UTF-8 and Unicode-class helpers
// the tokenizers need, with the reference engine's exact edge-case rules.
//
// - utf8_len(): the length a lead byte announces, from its high nibble only
//   (continuation bytes count as 1). SentencePiece and BPE split text into
//   "characters" with it, without validating.
// - decode(): text -> code points. A malformed sequence becomes U+FFFD and
//   decoding resumes at the next byte, as the reference does; overlong forms
//   are accepted as they are. (The reference would throw later on a 4-byte
//   sequence above U+10FFFF; qkit turns that into U+FFFD as well.)
// - classify(): letter / number / whitespace / other, for the GPT-2
//   pre-tokenizer's \p{L}, \p{N} and \s.
// - the GPT-2 byte <-> code point mapping ("bytes_to_unicode"): printable
//   Latin-1 bytes map to themselves, the other 68 to U+0100.. in order, so
//   every byte string becomes printable text that BPE merges can act on.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "phi/tokenizer/unicode_tables.hpp"

namespace phi::unicode {

inline constexpr uint32_t kReplacement = 0xFFFD;

inline size_t utf8_len(char lead) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[static_cast<uint8_t>(lead) >> 4];
}

// Decodes one code point at s[pos] and advances pos past it.
inline uint32_t decode_one(std::string_view s, size_t& pos) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const auto cont = [&](size_t i) { return i < s.size() && (byte(i) & 0xC0) == 0x80; };
  const uint8_t b0 = byte(pos);
  if (b0 < 0x80) {
    pos += 1;
    return b0;
  }
  if ((b0 & 0xE0) == 0xC0 && cont(pos + 1)) {
    const uint32_t c = (uint32_t(b0 & 0x1F) << 6) | (byte(pos + 1) & 0x3F);
    pos += 2;
    return c;
  }
  if ((b0 & 0xF0) == 0xE0 && cont(pos + 1) && cont(pos + 2)) {
    const uint32_t c = (uint32_t(b0 & 0x0F) << 12) | (uint32_t(byte(pos + 1) & 0x3F) << 6) | (byte(pos + 2) & 0x3F);
    pos += 3;
    return c;
  }
  if ((b0 & 0xF8) == 0xF0 && cont(pos + 1) && cont(pos + 2) && cont(pos + 3)) {
    const uint32_t c = (uint32_t(b0 & 0x07) << 18) | (uint32_t(byte(pos + 1) & 0x3F) << 12) |
                       (uint32_t(byte(pos + 2) & 0x3F) << 6) | (byte(pos + 3) & 0x3F);
    pos += 4;
    return c <= 0x10FFFF ? c : kReplacement;
  }
  pos += 1;  // a stray continuation byte, a bad lead or a truncated sequence
  return kReplacement;
}

inline std::vector<uint32_t> decode(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) out.push_back(decode_one(s, pos));
  return out;
}

// Appends the UTF-8 form of a code point (<= U+10FFFF; decode() never makes larger ones).
inline void append_utf8(std::string& out, uint32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

inline std::string to_utf8(uint32_t c) {
  std::string s;
  append_utf8(s, c);
  return s;
}

template <size_t N>
bool in_ranges(const CodepointRange (&ranges)[N], uint32_t c) {
  // First range whose last >= c; c is inside it if first <= c.
  const CodepointRange* it =
      std::lower_bound(ranges, ranges + N, c, [](const CodepointRange& r, uint32_t v) { return r.last < v; });
  return it != ranges + N && it->first <= c;
}

inline bool is_letter(uint32_t c) { return in_ranges(kLetterRanges, c); }
inline bool is_number(uint32_t c) { return in_ranges(kNumberRanges, c); }

// Unicode White_Space (PropList.txt), the set the reference's \s uses.
inline bool is_whitespace(uint32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D);
  if (c < 0x85) return false;
  if (c >= 0x2000 && c <= 0x200A) return true;
  switch (c) {
    case 0x0085: case 0x00A0: case 0x1680: case 0x2028:
    case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return false;
  }
}

enum class Class : uint8_t { Letter, Number, Whitespace, Other };

inline Class classify(uint32_t c) {
  if (c < 0x80) {  // fast path for ASCII
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return Class::Letter;
    if (c >= '0' && c <= '9') return Class::Number;
    return is_whitespace(c) ? Class::Whitespace : Class::Other;
  }
  if (is_whitespace(c)) return Class::Whitespace;
  if (is_letter(c)) return Class::Letter;
  if (is_number(c)) return Class::Number;
  return Class::Other;
}

// GPT-2's bytes_to_unicode(): byte -> code point, and its inverse.
struct ByteMap {
  std::array<uint16_t, 256> to_cpt{};
  std::array<int16_t, 324> to_byte{};  // code points 0..323; -1 where no byte maps

  ByteMap() {
    to_byte.fill(-1);
    const auto self = [](int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE); };
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const int c = self(b) ? b : next++;
      to_cpt[static_cast<size_t>(b)] = static_cast<uint16_t>(c);
      to_byte[static_cast<size_t>(c)] = static_cast<int16_t>(b);
    }
  }
};

inline const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

// Appends the byte-level form of raw bytes (each byte -> its mapped code point).
inline void append_byte_encoded(std::string& out, std::string_view bytes) {
  const ByteMap& m = byte_map();
  for (char ch : bytes) append_utf8(out, m.to_cpt[static_cast<uint8_t>(ch)]);
}

}  // namespace phi::unicode
