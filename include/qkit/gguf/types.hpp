// qkit/gguf/types.hpp — GGUF's metadata value types and the tensor record
// the reader produces and the writer consumes.
//
// GGUF (the reference engine's model container), little-endian:
//   "GGUF" u32 version, u64 n_tensors, u64 n_kv,
//   n_kv x { string key, u32 type, value },
//   n_tensors x { string name, u32 n_dims, i64 ne[n_dims], u32 type, u64 offset },
//   padding to `general.alignment` (default 32), tensor data.
// A string is u64 length + bytes (no terminator); an array is u32 element
// type + u64 count + elements (arrays may nest).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "qkit/quant/format.hpp"

namespace qkit::gguf {

inline constexpr uint32_t kMagic = 0x46554747u;  // "GGUF" read as little-endian u32
inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr uint32_t kMaxDims = 4;  // the reference engine's GGML_MAX_DIMS
// The reference engine stores tensor names in a 64-byte field with a
// terminator, so longer names would not load there.
inline constexpr size_t kMaxTensorName = 63;
// Arrays inside arrays deeper than this are refused: the reference never
// writes them and unbounded nesting would exhaust the stack while parsing.
inline constexpr int kMaxArrayDepth = 8;

enum class ValueType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};
inline constexpr uint32_t kValueTypeCount = 13;

inline bool is_valid_value_type(uint32_t t) { return t < kValueTypeCount; }

inline const char* value_type_name(ValueType t) {
  static constexpr const char* kNames[kValueTypeCount] = {"uint8", "int8",  "uint16", "int16",  "uint32",
                                                          "int32", "float32", "bool", "string", "array",
                                                          "uint64", "int64", "float64"};
  const auto i = static_cast<uint32_t>(t);
  return i < kValueTypeCount ? kNames[i] : "invalid";
}

// Bytes of a fixed-size value; 0 for STRING and ARRAY.
inline size_t value_type_size(ValueType t) {
  switch (t) {
    case ValueType::UINT8: case ValueType::INT8: case ValueType::BOOL: return 1;
    case ValueType::UINT16: case ValueType::INT16: return 2;
    case ValueType::UINT32: case ValueType::INT32: case ValueType::FLOAT32: return 4;
    case ValueType::UINT64: case ValueType::INT64: case ValueType::FLOAT64: return 8;
    default: return 0;
  }
}

inline bool is_integer_type(ValueType t) {
  switch (t) {
    case ValueType::UINT8: case ValueType::INT8: case ValueType::UINT16: case ValueType::INT16:
    case ValueType::UINT32: case ValueType::INT32: case ValueType::UINT64: case ValueType::INT64:
      return true;
    default:
      return false;
  }
}
inline bool is_signed_type(ValueType t) {
  return t == ValueType::INT8 || t == ValueType::INT16 || t == ValueType::INT32 || t == ValueType::INT64;
}

// One tensor of a GGUF file. ne is in GGUF order: ne[0] is the row length
// (contiguous), ne[1] the number of rows, ne[2..3] batch dimensions.
struct TensorInfo {
  std::string name;
  std::vector<int64_t> ne;
  Format format = Format::F32;
  uint64_t offset = 0;  // relative to the data section
  uint64_t nbytes = 0;

  uint64_t n_elements() const {
    uint64_t n = 1;
    for (int64_t d : ne) n *= static_cast<uint64_t>(d);  // validated not to overflow when read
    return n;
  }
  int64_t cols() const { return ne.empty() ? 1 : ne[0]; }
  int64_t rows() const {
    int64_t r = 1;
    for (size_t i = 1; i < ne.size(); ++i) r *= ne[i];
    return r;
  }
};

// "[4096, 32064]" for messages and tools.
inline std::string shape_string(const std::vector<int64_t>& ne) {
  std::string s = "[";
  for (size_t i = 0; i < ne.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(ne[i]);
  }
  return s + "]";
}

}  // namespace qkit::gguf
