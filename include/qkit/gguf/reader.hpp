// qkit/gguf/reader.hpp — a hardened, zero-copy GGUF v2/v3 reader.
//
// File::open maps the file read-only (MAP_PRIVATE) and parses the header,
// metadata and tensor table; tensor data is never copied: tensor_data()
// points into the mapping, valid while the File (or a copy of it) lives.
// File::from_memory parses a caller-owned buffer the same way (tests,
// fuzzing); the buffer must outlive the File.
//
// The input is untrusted. Every count, length, dimension product, offset
// and extent is checked with overflow-safe arithmetic before use; counts are
// bounded by the bytes that remain, so a small file cannot request a large
// allocation; nested arrays are limited to kMaxArrayDepth. Problems raise
// qkit::Error naming the source, the problem, the key or tensor, and the
// byte offset. Tensors must lie inside the file, start at a multiple of the
// alignment, not overlap, have rows that are whole blocks of their format,
// and have unique names; keys must be unique.
//
// Typed getters: get<T>(key) for T = bool, any integer type, float, double,
// std::string, std::string_view. Integers convert between widths and
// signedness when the stored value fits in T (else an error with the value);
// float32 reads as float or double, float64 only as double. A wrong type
// raises an error naming the key, the wanted and the stored type.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "qkit/base/checked.hpp"
#include "qkit/base/error.hpp"
#include "qkit/gguf/cursor.hpp"
#include "qkit/gguf/mapping.hpp"
#include "qkit/gguf/types.hpp"
#include "qkit/quant/format.hpp"

namespace qkit::gguf {

namespace detail {

template <typename T>
constexpr const char* wanted_name() {
  if constexpr (std::is_same<T, bool>::value) return "bool";
  else if constexpr (std::is_same<T, std::string>::value || std::is_same<T, std::string_view>::value) return "string";
  else if constexpr (std::is_same<T, float>::value) return "float32";
  else if constexpr (std::is_same<T, double>::value) return "float64";
  else if constexpr (std::is_integral<T>::value && std::is_signed<T>::value) {
    return sizeof(T) == 1 ? "int8" : sizeof(T) == 2 ? "int16" : sizeof(T) == 4 ? "int32" : "int64";
  } else if constexpr (std::is_integral<T>::value) {
    return sizeof(T) == 1 ? "uint8" : sizeof(T) == 2 ? "uint16" : sizeof(T) == 4 ? "uint32" : "uint64";
  } else {
    return "unsupported";
  }
}

template <typename T>
inline T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Reads a stored integer as (negative?, magnitude-or-value) losslessly.
inline bool load_integer(ValueType t, const uint8_t* p, int64_t& s, uint64_t& u) {
  switch (t) {
    case ValueType::UINT8: u = load<uint8_t>(p); return false;
    case ValueType::UINT16: u = load<uint16_t>(p); return false;
    case ValueType::UINT32: u = load<uint32_t>(p); return false;
    case ValueType::UINT64: u = load<uint64_t>(p); return false;
    case ValueType::INT8: s = load<int8_t>(p); return true;
    case ValueType::INT16: s = load<int16_t>(p); return true;
    case ValueType::INT32: s = load<int32_t>(p); return true;
    case ValueType::INT64: s = load<int64_t>(p); return true;
    default: return false;
  }
}

}  // namespace detail

// A value's raw encoding in the file (for copying metadata to a Writer):
// bytes exclude the key and the u32 type; for an array they start at its
// element type.
struct RawValue {
  ValueType type;
  const uint8_t* data;
  size_t size;
};

class File {
 public:
  File() = default;

  static File open(const std::string& path) {
    auto map = std::make_shared<Mapping>(path);
    File f;
    f.source_ = "gguf '" + path + "'";
    f.data_ = map->data();
    f.size_ = map->size();
    f.mapping_ = std::move(map);
    f.parse();
    return f;
  }

  static File from_memory(const void* data, size_t size, std::string source = "gguf buffer") {
    require(data != nullptr || size == 0, source, ": null buffer");
    File f;
    f.source_ = std::move(source);
    f.data_ = static_cast<const uint8_t*>(data);
    f.size_ = size;
    f.parse();
    return f;
  }

  uint32_t version() const { return version_; }
  const std::string& source() const { return source_; }

  // ---- metadata -------------------------------------------------------
  bool has(std::string_view key) const { return index_.find(key) != index_.end(); }
  size_t n_keys() const { return kvs_.size(); }

  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    out.reserve(kvs_.size());
    for (const Kv& kv : kvs_) out.push_back(kv.key);
    return out;
  }

  ValueType type(std::string_view key) const { return kv(key).type; }
  // Element type and length of an array value (throws if not an array).
  ValueType array_type(std::string_view key) const { return array_kv(key).elem; }
  uint64_t array_size(std::string_view key) const { return array_kv(key).count; }

  template <typename T>
  T get(std::string_view key) const {
    const Kv& v = kv(key);
    if constexpr (std::is_same<T, std::string>::value || std::is_same<T, std::string_view>::value) {
      if (v.type != ValueType::STRING) mismatch<T>(v);
      return T(string_at(v.value));
    } else {
      if (v.type == ValueType::ARRAY || v.type == ValueType::STRING) mismatch<T>(v);
      return convert<T>(v, v.type, data_ + v.value, -1);
    }
  }

  template <typename T>
  T get_or(std::string_view key, T fallback) const {
    return has(key) ? get<T>(key) : fallback;
  }

  // Elements of an array value, converted as get<T> converts scalars.
  // T = std::string or std::string_view (views into the file) for string arrays.
  template <typename T>
  std::vector<T> get_array(std::string_view key) const {
    const Kv& v = kv(key);
    std::vector<T> out;
    constexpr bool kString = std::is_same<T, std::string>::value || std::is_same<T, std::string_view>::value;
    if (v.type != ValueType::ARRAY || (kString != (v.elem == ValueType::STRING)) ||
        v.elem == ValueType::ARRAY) {
      fail(source_, ": key '", v.key, "': wanted array of ", detail::wanted_name<T>(), ", stored as ",
           describe_type(v));
    }
    out.reserve(static_cast<size_t>(v.count));  // count was bounded by the file size when parsed
    if constexpr (kString) {
      size_t pos = v.value;
      for (uint64_t i = 0; i < v.count; ++i) {
        const std::string_view s = string_at(pos);
        out.emplace_back(s);
        pos += 8 + s.size();
      }
    } else {
      const size_t esz = value_type_size(v.elem);
      const uint8_t* p = data_ + v.value;
      for (uint64_t i = 0; i < v.count; ++i, p += esz) out.push_back(convert<T>(v, v.elem, p, static_cast<int64_t>(i)));
    }
    return out;
  }

  RawValue raw(std::string_view key) const {
    const Kv& v = kv(key);
    const size_t start = v.type == ValueType::ARRAY ? v.value - 12 : v.value;
    return RawValue{v.type, data_ + start, v.end - start};
  }

  // A one-line rendering of a value for tools: strings quoted, arrays
  // abbreviated to their first max_items elements plus the total count.
  std::string describe(std::string_view key, size_t max_items = 8) const {
    const Kv& v = kv(key);
    std::ostringstream os;
    size_t pos = v.type == ValueType::ARRAY ? v.value - 12 : v.value;
    render(os, v.type, pos, max_items);
    return os.str();
  }

  // ---- tensors ----------------------------------------------------------
  const std::vector<TensorInfo>& tensors() const { return tensors_; }

  const TensorInfo* find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
  }
  const TensorInfo& tensor(std::string_view name) const {
    const TensorInfo* t = find_tensor(name);
    if (!t) fail(source_, ": no tensor named '", name, "'");
    return *t;
  }
  // Start of a tensor's bytes in the mapping (t must come from this File).
  const uint8_t* tensor_data(const TensorInfo& t) const { return data_ + data_offset_ + t.offset; }
  // Hint that t's bytes are needed soon: a mapped file starts reading them
  // in the background (Mapping::will_need); a file in memory does nothing.
  void prefetch(const TensorInfo& t) const {
    if (mapping_) mapping_->will_need(tensor_data(t), static_cast<size_t>(t.nbytes));
  }

  size_t alignment() const { return alignment_; }
  size_t data_offset() const { return data_offset_; }
  size_t file_size() const { return size_; }
  const uint8_t* data() const { return data_; }

 private:
  struct Kv {
    std::string key;
    size_t key_offset = 0;  // where the key's record starts, for messages
    ValueType type = ValueType::UINT8;
    ValueType elem = ValueType::UINT8;  // arrays only
    uint64_t count = 0;                 // arrays only
    size_t value = 0;  // scalars/strings: start of the value; arrays: first element
    size_t end = 0;    // one past the value's last byte
  };

  const Kv& kv(std::string_view key) const {
    auto it = index_.find(key);
    if (it == index_.end()) fail(source_, ": key '", key, "' not found");
    return kvs_[it->second];
  }
  const Kv& array_kv(std::string_view key) const {
    const Kv& v = kv(key);
    if (v.type != ValueType::ARRAY) fail(source_, ": key '", key, "' is ", value_type_name(v.type), ", not an array");
    return v;
  }

  static std::string describe_type(const Kv& v) {
    if (v.type != ValueType::ARRAY) return value_type_name(v.type);
    return std::string("array of ") + value_type_name(v.elem);
  }

  template <typename T>
  [[noreturn]] void mismatch(const Kv& v) const {
    fail(source_, ": key '", v.key, "': wanted ", detail::wanted_name<T>(), ", stored as ", describe_type(v));
  }

  // String at a validated position (u64 length + bytes).
  std::string_view string_at(size_t pos) const {
    const uint64_t len = detail::load<uint64_t>(data_ + pos);
    return std::string_view(reinterpret_cast<const char*>(data_ + pos + 8), static_cast<size_t>(len));
  }

  template <typename T>
  T convert(const Kv& v, ValueType stored, const uint8_t* p, int64_t index) const {
    static_assert(std::is_arithmetic<T>::value, "get<T>: T must be bool, an integer, float, double or a string");
    auto where = [&]() { return index < 0 ? std::string() : " element " + std::to_string(index); };
    if constexpr (std::is_same<T, bool>::value) {
      if (stored != ValueType::BOOL) mismatch<T>(v);
      return p[0] != 0;
    } else if constexpr (std::is_integral<T>::value) {
      if (!is_integer_type(stored)) mismatch<T>(v);
      int64_t s = 0;
      uint64_t u = 0;
      if (detail::load_integer(stored, p, s, u)) {
        const bool fits = std::is_signed<T>::value
                              ? (s >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                                 s <= static_cast<int64_t>(std::numeric_limits<T>::max()))
                              : (s >= 0 && static_cast<uint64_t>(s) <= static_cast<uint64_t>(std::numeric_limits<T>::max()));
        if (!fits) {
          fail(source_, ": key '", v.key, "'", where(), ": value ", s, " (", value_type_name(stored),
               ") does not fit in ", detail::wanted_name<T>());
        }
        return static_cast<T>(s);
      }
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
        fail(source_, ": key '", v.key, "'", where(), ": value ", u, " (", value_type_name(stored),
             ") does not fit in ", detail::wanted_name<T>());
      }
      return static_cast<T>(u);
    } else {
      if (stored == ValueType::FLOAT32) return static_cast<T>(detail::load<float>(p));
      if (stored == ValueType::FLOAT64 && std::is_same<T, double>::value) return static_cast<T>(detail::load<double>(p));
      mismatch<T>(v);
    }
  }

  // ---- parsing ----------------------------------------------------------

  // Validates one value of type t at the cursor and moves past it.
  static void skip_value(Cursor& c, ValueType t, int depth) {
    const size_t at = c.pos();
    switch (t) {
      case ValueType::STRING:
        c.read_string("string value");
        return;
      case ValueType::ARRAY: {
        if (depth >= kMaxArrayDepth) c.error_at(at, "arrays nested deeper than ", kMaxArrayDepth, " levels");
        const uint32_t et = c.read<uint32_t>("array element type");
        if (!is_valid_value_type(et)) c.error_at(at, "array has invalid element type ", et);
        const uint64_t count = c.read<uint64_t>("array length");
        const ValueType e = static_cast<ValueType>(et);
        const size_t esz = value_type_size(e);
        if (esz != 0) {
          c.check_count(count, esz, at, "array length");
          c.skip(count * esz, "array elements");  // cannot overflow: count <= remaining / esz
        } else {
          // A string is at least its 8-byte length, an array its 12-byte header.
          c.check_count(count, e == ValueType::STRING ? 8 : 12, at, "array length");
          for (uint64_t i = 0; i < count; ++i) skip_value(c, e, depth + 1);
        }
        return;
      }
      default:
        c.skip(value_type_size(t), value_type_name(t));
        return;
    }
  }

  void render(std::ostream& os, ValueType t, size_t& pos, size_t max_items) const {
    const uint8_t* p = data_ + pos;
    switch (t) {
      case ValueType::STRING: {
        const std::string_view s = string_at(pos);
        pos += 8 + s.size();
        os << '"';
        const size_t shown = std::min<size_t>(s.size(), 160);
        for (size_t i = 0; i < shown; ++i) {
          const unsigned char ch = static_cast<unsigned char>(s[i]);
          if (ch == '\n') os << "\\n";
          else if (ch < 0x20 || ch == 0x7f) os << "\\x" << "0123456789abcdef"[ch >> 4] << "0123456789abcdef"[ch & 15];
          else os << s[i];
        }
        if (shown < s.size()) os << "...(" << s.size() << " bytes)";
        os << '"';
        return;
      }
      case ValueType::ARRAY: {
        const auto e = static_cast<ValueType>(detail::load<uint32_t>(p));
        const uint64_t count = detail::load<uint64_t>(p + 4);
        pos += 12;
        os << '[';
        for (uint64_t i = 0; i < count; ++i) {
          if (i == max_items) {
            os << ", ... (" << count << " total)";
            // Skip the rest without rendering.
            if (value_type_size(e) != 0) {
              pos += static_cast<size_t>((count - i) * value_type_size(e));
            } else {
              std::ostringstream sink;
              for (; i < count; ++i) render(sink, e, pos, 0);
            }
            break;
          }
          if (i) os << ", ";
          render(os, e, pos, max_items);
        }
        os << ']';
        return;
      }
      case ValueType::BOOL: os << (p[0] ? "true" : "false"); break;
      case ValueType::FLOAT32: os << detail::load<float>(p); break;
      case ValueType::FLOAT64: os << detail::load<double>(p); break;
      default: {
        int64_t s = 0;
        uint64_t u = 0;
        if (detail::load_integer(t, p, s, u)) os << s;
        else os << u;
      }
    }
    pos += value_type_size(t);
  }

  void parse() {
    Cursor c(data_, size_, source_);
    const uint32_t magic = c.read<uint32_t>("magic");
    if (magic != kMagic) c.error_at(0, "not a GGUF file: magic is 0x", std::hex, magic, std::dec, ", expected \"GGUF\"");
    version_ = c.read<uint32_t>("version");
    if (version_ == 1) c.error_at(4, "GGUF version 1 is not supported (only v2 and v3); re-convert the model");
    if (version_ != 2 && version_ != 3) {
      if ((version_ & 0xffffu) == 0 && ((version_ >> 24) == 2 || (version_ >> 24) == 3)) {
        c.error_at(4, "big-endian GGUF files are not supported");
      }
      c.error_at(4, "unsupported GGUF version ", version_, " (qkit reads v2 and v3)");
    }
    const size_t n_tensors_at = c.pos();
    const uint64_t n_tensors = c.read<uint64_t>("tensor count");
    const size_t n_kv_at = c.pos();
    const uint64_t n_kv = c.read<uint64_t>("metadata count");
    // Minimum record sizes: key length + type + 1-byte value; name length +
    // n_dims + type + offset.
    c.check_count(n_kv, 8 + 4 + 1, n_kv_at, "metadata count");
    c.check_count(n_tensors, 8 + 4 + 4 + 8, n_tensors_at, "tensor count");

    kvs_.reserve(static_cast<size_t>(n_kv));
    for (uint64_t i = 0; i < n_kv; ++i) {
      Kv kv;
      kv.key_offset = c.pos();
      const std::string_view key = c.read_string("key");
      if (key.empty()) c.error_at(kv.key_offset, "metadata key ", i, " is empty");
      kv.key = std::string(key);
      const size_t type_at = c.pos();
      const uint32_t t = c.read<uint32_t>("value type");
      if (!is_valid_value_type(t)) c.error_at(type_at, "key '", kv.key, "' has invalid value type ", t);
      kv.type = static_cast<ValueType>(t);
      if (kv.type == ValueType::ARRAY) {
        // Peek at the header (skip_value validates it again).
        Cursor peek(data_, size_, source_, c.pos());
        peek.context = "key '" + kv.key + "': ";
        kv.elem = static_cast<ValueType>(peek.read<uint32_t>("array element type"));
        kv.count = peek.read<uint64_t>("array length");
        kv.value = peek.pos();
      } else {
        kv.value = c.pos();
      }
      c.context = "key '" + kv.key + "': ";
      skip_value(c, kv.type, 0);
      c.context.clear();
      kv.end = c.pos();
      auto [it, inserted] = index_.emplace(kv.key, kvs_.size());
      if (!inserted) {
        c.error_at(kv.key_offset, "duplicate key '", kv.key, "' (first at byte offset ", kvs_[it->second].key_offset, ")");
      }
      kvs_.push_back(std::move(kv));
    }

    alignment_ = kDefaultAlignment;
    if (auto it = index_.find(std::string_view("general.alignment")); it != index_.end()) {
      const Kv& a = kvs_[it->second];
      if (a.type != ValueType::UINT32) {
        c.error_at(a.key_offset, "general.alignment must be uint32, is ", describe_type(a));
      }
      const uint32_t al = detail::load<uint32_t>(data_ + a.value);
      if (al == 0 || (al & (al - 1)) != 0) c.error_at(a.value, "general.alignment ", al, " is not a power of two");
      alignment_ = al;
    }

    c.check_count(n_tensors, 8 + 4 + 4 + 8, n_tensors_at, "tensor count");
    tensors_.reserve(static_cast<size_t>(n_tensors));
    for (uint64_t i = 0; i < n_tensors; ++i) read_tensor_info(c, i);

    data_offset_ = checked_size(checked_align_up(c.pos(), alignment_, "tensor data offset"), "tensor data offset");
    if (!tensors_.empty() && data_offset_ > size_) {
      c.error_at(c.pos(), "tensor data would start at byte ", data_offset_, " (alignment ", alignment_,
                 "), past the end of the file (", size_, " bytes)");
    }
    check_extents();
  }

  void read_tensor_info(Cursor& c, uint64_t i) {
    const size_t at = c.pos();
    c.context = "tensor info " + std::to_string(i) + ": ";
    TensorInfo t;
    const std::string_view name = c.read_string("tensor name");
    if (name.empty()) c.error_at(at, "tensor ", i, " has an empty name");
    if (name.size() > kMaxTensorName) {
      c.error_at(at, "tensor ", i, " name of ", name.size(), " bytes is longer than ", kMaxTensorName);
    }
    t.name = std::string(name);
    const size_t dims_at = c.pos();
    const uint32_t n_dims = c.read<uint32_t>("tensor dimension count");
    if (n_dims > kMaxDims) c.error_at(dims_at, "tensor '", t.name, "' has ", n_dims, " dimensions (at most ", kMaxDims, ")");
    t.ne.resize(n_dims);
    uint64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const size_t ne_at = c.pos();
      t.ne[d] = c.read<int64_t>("tensor dimension");
      if (t.ne[d] < 0) c.error_at(ne_at, "tensor '", t.name, "' has negative dimension ne[", d, "] = ", t.ne[d]);
      if (__builtin_mul_overflow(n_elements, static_cast<uint64_t>(t.ne[d]), &n_elements) ||
          n_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        c.error_at(ne_at, "tensor '", t.name, "' shape ", shape_string(t.ne), " has too many elements");
      }
    }
    const size_t type_at = c.pos();
    const uint32_t type = c.read<uint32_t>("tensor type");
    try {
      t.format = format_from_gguf_type(type);
    } catch (const Error& e) {
      c.error_at(type_at, "tensor '", t.name, "': ", e.what());
    }
    const FormatInfo& fi = format_info(t.format);
    const int64_t cols = n_dims ? t.ne[0] : 1;
    if (cols % fi.block_size != 0) {
      c.error_at(dims_at, "tensor '", t.name, "' row length ", cols, " is not a multiple of the ", fi.name,
                 " block size ", fi.block_size);
    }
    const size_t off_at = c.pos();
    t.offset = c.read<uint64_t>("tensor offset");
    if (t.offset % alignment_ != 0) {
      c.error_at(off_at, "tensor '", t.name, "' offset ", t.offset, " is not a multiple of the alignment ", alignment_);
    }
    // Whole blocks: elements / block_size blocks (rows are whole blocks).
    if (__builtin_mul_overflow(n_elements / fi.block_size, static_cast<uint64_t>(fi.block_bytes), &t.nbytes)) {
      c.error_at(dims_at, "tensor '", t.name, "' ", fi.name, " ", shape_string(t.ne), " has more than 2^64 bytes");
    }
    auto [it, inserted] = tensor_index_.emplace(t.name, tensors_.size());
    if (!inserted) c.error_at(at, "duplicate tensor name '", t.name, "'");
    offsets_.push_back(at);
    tensors_.push_back(std::move(t));
    c.context.clear();
  }

  void check_extents() const {
    const uint64_t avail = size_ >= data_offset_ ? size_ - data_offset_ : 0;
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const TensorInfo& t = tensors_[i];
      uint64_t end = 0;
      if (__builtin_add_overflow(t.offset, t.nbytes, &end) || end > avail) {
        fail(source_, ": tensor '", t.name, "' (", format_name(t.format), " ", shape_string(t.ne), ", ", t.nbytes,
             " bytes at data offset ", t.offset, ") extends past the end of the file: data section has ", avail,
             " bytes (tensor info at byte offset ", offsets_[i], ")");
      }
    }
    // Sort by start; each must begin at or after the end of every earlier
    // one (zero-byte tensors occupy nothing and may sit anywhere).
    std::vector<size_t> order(tensors_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return tensors_[a].offset != tensors_[b].offset ? tensors_[a].offset < tensors_[b].offset : a < b;
    });
    const TensorInfo* last = nullptr;  // the nonempty tensor reaching furthest so far
    for (size_t k = 0; k < order.size(); ++k) {
      const TensorInfo& cur = tensors_[order[k]];
      if (cur.nbytes == 0) continue;
      if (last && cur.offset < last->offset + last->nbytes) {  // sums checked above
        fail(source_, ": tensor '", cur.name, "' at data offset ", cur.offset, " overlaps tensor '", last->name,
             "' (data offsets ", last->offset, "..", last->offset + last->nbytes, "; tensor info at byte offset ",
             offsets_[order[k]], ")");
      }
      if (!last || cur.offset + cur.nbytes > last->offset + last->nbytes) last = &cur;
    }
  }

  std::string source_;
  std::shared_ptr<const Mapping> mapping_;  // null for from_memory
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  uint32_t version_ = 0;
  size_t alignment_ = kDefaultAlignment;
  size_t data_offset_ = 0;
  std::vector<Kv> kvs_;
  std::map<std::string, size_t, std::less<>> index_;
  std::vector<TensorInfo> tensors_;
  std::vector<size_t> offsets_;  // byte offset of each tensor's info record
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

}  // namespace qkit::gguf
