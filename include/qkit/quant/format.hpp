// qkit/quant/format.hpp — the format registry: every tensor format qkit
// knows, with its GGUF type id, name, block geometry and the activation
// format its dot product pairs with.
//
// QKIT_FORMATS is the single list; everything else (the runtime table, the
// codec function table in quant/registry.hpp, generic tests and benchmarks,
// kernel dispatch tables) is generated from it. Adding a codec: write its
// header with a FormatTraits specialization, add one line here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "qkit/base/checked.hpp"
#include "qkit/base/error.hpp"

namespace qkit {

// X(Enum, gguf_id, "name", values_per_block, bytes_per_block, PairFormat)
// Pair: the format an activation row is quantized to for the dot product
// (as the reference engine's vec_dot_type); float formats pair with themselves.
#define QKIT_FORMATS(X)                  \
  X(F32, 0, "f32", 1, 4, F32)            \
  X(F16, 1, "f16", 1, 2, F16)            \
  X(Q4_0, 2, "q4_0", 32, 18, Q8_0)       \
  X(Q4_1, 3, "q4_1", 32, 20, Q8_1)       \
  X(Q5_0, 6, "q5_0", 32, 22, Q8_0)       \
  X(Q5_1, 7, "q5_1", 32, 24, Q8_1)       \
  X(Q8_0, 8, "q8_0", 32, 34, Q8_0)       \
  X(Q8_1, 9, "q8_1", 32, 36, Q8_1)       \
  X(Q2_K, 10, "q2_K", 256, 84, Q8_K)     \
  X(Q3_K, 11, "q3_K", 256, 110, Q8_K)    \
  X(Q4_K, 12, "q4_K", 256, 144, Q8_K)    \
  X(Q5_K, 13, "q5_K", 256, 176, Q8_K)    \
  X(Q6_K, 14, "q6_K", 256, 210, Q8_K)    \
  X(Q8_K, 15, "q8_K", 256, 292, Q8_K)    \
  X(IQ4_NL, 20, "iq4_nl", 32, 18, Q8_0)  \
  X(IQ4_XS, 23, "iq4_xs", 256, 136, Q8_K) \
  X(BF16, 30, "bf16", 1, 2, BF16)        \
  X(TQ1_0, 34, "tq1_0", 256, 54, Q8_K)   \
  X(TQ2_0, 35, "tq2_0", 256, 66, Q8_K)   \
  X(MXFP4, 39, "mxfp4", 32, 17, Q8_0)

// Values are the GGUF / ggml type ids, so a Format converts to the on-disk id.
enum class Format : uint32_t {
#define QKIT_X(E, id, name, bs, bb, pair) E = id,
  QKIT_FORMATS(QKIT_X)
#undef QKIT_X
};

// Dense index 0..kFormatCount-1 in QKIT_FORMATS order, for tables.
enum class FormatIndex : uint32_t {
#define QKIT_X(E, id, name, bs, bb, pair) E,
  QKIT_FORMATS(QKIT_X)
#undef QKIT_X
  Count
};
inline constexpr size_t kFormatCount = static_cast<size_t>(FormatIndex::Count);

struct FormatInfo {
  Format format;
  const char* name;
  uint32_t block_size;   // values per block
  uint32_t block_bytes;  // bytes per block
  Format pair;           // activation format of its dot product
  bool quantized() const { return block_size > 1; }
};

inline constexpr FormatInfo kFormatInfo[kFormatCount] = {
#define QKIT_X(E, id, name, bs, bb, pair) {Format::E, name, bs, bb, Format::pair},
    QKIT_FORMATS(QKIT_X)
#undef QKIT_X
};

// Dense index of a format; kFormatCount for a value that is not a Format.
constexpr size_t format_index(Format f) {
  for (size_t i = 0; i < kFormatCount; ++i)
    if (kFormatInfo[i].format == f) return i;
  return kFormatCount;
}

inline bool is_known_format(uint32_t gguf_type) { return format_index(static_cast<Format>(gguf_type)) < kFormatCount; }

inline const FormatInfo& format_info(Format f) {
  const size_t i = format_index(f);
  if (i == kFormatCount) fail("unknown tensor format id ", static_cast<uint32_t>(f));
  return kFormatInfo[i];
}

inline const char* format_name(Format f) { return format_info(f).name; }

// GGUF type id -> Format, with a clear error for ids qkit does not know
// (the reference engine's removed or exotic types among them).
inline Format format_from_gguf_type(uint32_t gguf_type) {
  if (!is_known_format(gguf_type)) {
    fail("unsupported GGUF tensor type id ", gguf_type,
         " (qkit reads f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, q8_1, q2_K..q6_K, q8_K, "
         "iq4_nl, iq4_xs, tq1_0, tq2_0, mxfp4)");
  }
  return static_cast<Format>(gguf_type);
}

// Case-insensitive name lookup ("Q4_K", "q4_k", "f16"); throws if unknown.
inline Format format_from_name(const std::string& name) {
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return s;
  };
  const std::string want = lower(name);
  for (const FormatInfo& fi : kFormatInfo)
    if (lower(fi.name) == want) return fi.format;
  fail("unknown format name '", name, "'");
}

// Bytes of one row of n values; n must be a multiple of the block size.
inline uint64_t row_bytes(Format f, uint64_t n) {
  const FormatInfo& fi = format_info(f);
  require(n % fi.block_size == 0, "row of ", n, " values is not a multiple of the ", fi.name, " block size ",
          fi.block_size);
  return checked_mul(n / fi.block_size, fi.block_bytes, "row bytes");
}

}  // namespace qkit
