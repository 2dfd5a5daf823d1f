// qkit/gguf/writer.hpp — writes GGUF v3 files: metadata of every value type
// and tensors in any qkit format, laid out as the reference engine writes
// them (each tensor starts at a multiple of the alignment and is padded to
// one), so its files load there.
//
//   gguf::Writer w;
//   w.set("general.architecture", "phi3");
//   w.set("phi3.block_count", uint32_t{32});
//   w.set("tokenizer.ggml.tokens", std::vector<std::string>{...});
//   w.add_tensor("token_embd.weight", Format::Q4_0, {3072, 32064}, ptr);  // ptr must outlive write()
//   w.add_tensor("x", Format::F32, {n}, [&](gguf::Sink& s) { s.write(buf, bytes); });  // produced at write time
//   w.write("out.gguf");
//
// Metadata keeps insertion order; setting a key again replaces its value in
// place. Tensor data is streamed to the file at write() (from the caller's
// pointer, an owned byte vector, or a producer callback), never gathered
// into one buffer. The file is written under a temporary name and renamed,
// so a failed write never leaves a truncated file at `path`.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unistd.h>
#include <vector>

#include "qkit/base/checked.hpp"
#include "qkit/base/error.hpp"
#include "qkit/gguf/reader.hpp"
#include "qkit/gguf/types.hpp"
#include "qkit/quant/format.hpp"

namespace qkit::gguf {

// Where tensor bytes go; a producer callback writes its tensor's bytes here.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void write(const void* data, size_t n) = 0;
};

namespace detail {

template <typename T>
constexpr ValueType value_type_of() {
  if constexpr (std::is_same<T, bool>::value) return ValueType::BOOL;
  else if constexpr (std::is_same<T, float>::value) return ValueType::FLOAT32;
  else if constexpr (std::is_same<T, double>::value) return ValueType::FLOAT64;
  else if constexpr (std::is_integral<T>::value && std::is_signed<T>::value) {
    return sizeof(T) == 1 ? ValueType::INT8 : sizeof(T) == 2 ? ValueType::INT16 : sizeof(T) == 4 ? ValueType::INT32 : ValueType::INT64;
  } else if constexpr (std::is_integral<T>::value) {
    return sizeof(T) == 1 ? ValueType::UINT8 : sizeof(T) == 2 ? ValueType::UINT16 : sizeof(T) == 4 ? ValueType::UINT32 : ValueType::UINT64;
  } else {
    return ValueType::STRING;
  }
}

template <typename T>
constexpr bool is_string_like() {
  return std::is_same<T, std::string>::value || std::is_same<T, std::string_view>::value ||
         std::is_same<T, const char*>::value || std::is_same<T, char*>::value;
}

class ByteWriter {
 public:
  std::vector<uint8_t> bytes;
  template <typename T>
  void put(T v) {
    const size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &v, sizeof(T));
  }
  void put_string(std::string_view s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  template <typename T>
  void put_scalar(const T& v) {
    if constexpr (std::is_same<T, bool>::value) put<uint8_t>(v ? 1 : 0);
    else if constexpr (is_string_like<T>()) put_string(std::string_view(v));
    else put<T>(v);
  }
};

}  // namespace detail

class Writer {
 public:
  using Producer = std::function<void(Sink&)>;

  // ---- metadata ---------------------------------------------------------
  // Scalars: bool, any integer type (by width and signedness), float,
  // double, strings (std::string, std::string_view, const char*).
  template <typename T>
  void set(const std::string& key, const T& value) {
    using U = std::decay_t<T>;
    static_assert(std::is_arithmetic<U>::value || detail::is_string_like<U>(),
                  "Writer::set: value must be bool, an integer, float, double or a string");
    detail::ByteWriter b;
    b.put_scalar<U>(value);
    put_kv(key, detail::value_type_of<U>(), std::move(b.bytes));
  }
  void set(const std::string& key, const char* value) { set<std::string_view>(key, std::string_view(value)); }

  // Arrays of scalars or strings.
  template <typename T>
  void set(const std::string& key, const std::vector<T>& values) {
    static_assert(std::is_arithmetic<T>::value || detail::is_string_like<T>(),
                  "Writer::set: array elements must be bool, integers, floats or strings");
    detail::ByteWriter b;
    b.put<uint32_t>(static_cast<uint32_t>(detail::value_type_of<T>()));
    b.put<uint64_t>(values.size());
    for (const auto& v : values) b.put_scalar<T>(v);
    put_kv(key, ValueType::ARRAY, std::move(b.bytes));
  }

  // An already encoded value (as File::raw returns it): for nested arrays
  // and for copying metadata from a file. The encoding is validated.
  void set_raw(const std::string& key, ValueType type, const void* data, size_t size) {
    const std::string src = "value for key '" + key + "'";
    Cursor c(static_cast<const uint8_t*>(data), size, src);
    validate_raw(c, type, 0);
    if (c.remaining() != 0) fail(src, ": ", c.remaining(), " bytes after the value");
    const auto* p = static_cast<const uint8_t*>(data);
    put_kv(key, type, std::vector<uint8_t>(p, p + size));
  }

  // Copies one key, or every key, from a file (for tools that rewrite one).
  void copy_from(const File& f, std::string_view key) {
    const RawValue r = f.raw(key);
    set_raw(std::string(key), r.type, r.data, r.size);
  }
  void copy_all_from(const File& f) {
    for (const std::string& k : f.keys()) copy_from(f, k);
  }

  bool has(std::string_view key) const { return find_kv(key) != kvs_.size(); }
  void remove(std::string_view key) {
    const size_t i = find_kv(key);
    if (i != kvs_.size()) kvs_.erase(kvs_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  // Writes general.alignment (a power of two); the default is 32.
  void set_alignment(uint32_t alignment) {
    require(alignment != 0 && (alignment & (alignment - 1)) == 0, "gguf writer: alignment ", alignment,
            " is not a power of two");
    set("general.alignment", alignment);
  }

  // ---- tensors ----------------------------------------------------------
  // `data` holds the tensor's bytes (row_bytes(format, ne[0]) per row) and
  // must stay valid until write() returns.
  void add_tensor(const std::string& name, Format format, const std::vector<int64_t>& ne, const void* data) {
    require(data != nullptr || tensor_bytes(name, format, ne) == 0, "gguf writer: tensor '", name, "': null data");
    add(name, format, ne, Entry::kPointer).ptr = static_cast<const uint8_t*>(data);
  }
  void add_tensor(const std::string& name, Format format, const std::vector<int64_t>& ne, std::vector<uint8_t> bytes) {
    Entry& e = add(name, format, ne, Entry::kOwned);
    if (bytes.size() != e.info.nbytes) {
      const std::string nm = e.info.name;
      const uint64_t want = e.info.nbytes;
      entries_.pop_back();
      fail("gguf writer: tensor '", nm, "' ", format_name(format), " ", shape_string(ne), " needs ", want,
           " bytes, got ", bytes.size());
    }
    e.owned = std::move(bytes);
  }
  // The producer writes exactly the tensor's bytes to the sink during write().
  void add_tensor(const std::string& name, Format format, const std::vector<int64_t>& ne, Producer producer) {
    add(name, format, ne, Entry::kProducer).producer = std::move(producer);
  }

  size_t n_tensors() const { return entries_.size(); }

  // ---- output -----------------------------------------------------------
  void write(const std::string& path) const {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) fail("gguf writer: cannot create ", tmp, ": ", std::strerror(errno));
    std::vector<char> buf(1 << 20);
    std::setvbuf(f, buf.data(), _IOFBF, buf.size());
    struct FileSink : Sink {
      FILE* f;
      const std::string* path;
      void write(const void* d, size_t n) override {
        if (n && std::fwrite(d, 1, n, f) != n) fail("gguf writer: write to ", *path, " failed: ", std::strerror(errno));
      }
    } sink;
    sink.f = f;
    sink.path = &tmp;
    try {
      emit(sink);
      if (std::fflush(f) != 0) fail("gguf writer: write to ", tmp, " failed: ", std::strerror(errno));
    } catch (...) {
      std::fclose(f);
      std::remove(tmp.c_str());
      throw;
    }
    if (std::fclose(f) != 0) {
      std::remove(tmp.c_str());
      fail("gguf writer: closing ", tmp, " failed: ", std::strerror(errno));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      const int e = errno;
      std::remove(tmp.c_str());
      fail("gguf writer: cannot rename ", tmp, " to ", path, ": ", std::strerror(e));
    }
  }

  // The whole file in memory (tests, fuzz seeds, small files).
  std::vector<uint8_t> write_to_memory() const {
    struct VecSink : Sink {
      std::vector<uint8_t> out;
      void write(const void* d, size_t n) override {
        const auto* p = static_cast<const uint8_t*>(d);
        out.insert(out.end(), p, p + n);
      }
    } sink;
    emit(sink);
    return std::move(sink.out);
  }

 private:
  struct Kv {
    std::string key;
    ValueType type;
    std::vector<uint8_t> value;  // encoded value
  };
  struct Entry {
    enum Kind { kPointer, kOwned, kProducer } kind;
    TensorInfo info;
    const uint8_t* ptr = nullptr;
    std::vector<uint8_t> owned;
    Producer producer;
  };

  size_t find_kv(std::string_view key) const {
    for (size_t i = 0; i < kvs_.size(); ++i)
      if (kvs_[i].key == key) return i;
    return kvs_.size();
  }

  void put_kv(const std::string& key, ValueType type, std::vector<uint8_t> value) {
    require(!key.empty(), "gguf writer: empty metadata key");
    if (key == "general.alignment") {
      uint32_t a = 0;
      if (type == ValueType::UINT32) std::memcpy(&a, value.data(), 4);
      require(type == ValueType::UINT32 && a != 0 && (a & (a - 1)) == 0,
              "gguf writer: general.alignment must be a uint32 power of two");
    }
    const size_t i = find_kv(key);
    if (i != kvs_.size()) {
      kvs_[i].type = type;
      kvs_[i].value = std::move(value);
    } else {
      kvs_.push_back(Kv{key, type, std::move(value)});
    }
  }

  static void validate_raw(Cursor& c, ValueType t, int depth) {
    if (t == ValueType::STRING) {
      c.read_string("string");
    } else if (t == ValueType::ARRAY) {
      if (depth >= kMaxArrayDepth) c.error_at(c.pos(), "arrays nested too deeply");
      const uint32_t et = c.read<uint32_t>("array element type");
      if (!is_valid_value_type(et)) c.error_at(c.pos() - 4, "invalid array element type ", et);
      const uint64_t n = c.read<uint64_t>("array length");
      const auto e = static_cast<ValueType>(et);
      c.check_count(n, value_type_size(e) ? value_type_size(e) : (e == ValueType::STRING ? 8 : 12), c.pos(), "array");
      for (uint64_t i = 0; i < n; ++i) validate_raw(c, e, depth + 1);
    } else {
      if (!is_valid_value_type(static_cast<uint32_t>(t))) fail("invalid value type ", static_cast<uint32_t>(t));
      c.skip(value_type_size(t), value_type_name(t));
    }
  }

  static uint64_t tensor_bytes(const std::string& name, Format format, const std::vector<int64_t>& ne) {
    require(!ne.empty() && ne.size() <= kMaxDims, "gguf writer: tensor '", name, "' has ", ne.size(),
            " dimensions (1 to ", kMaxDims, ")");
    uint64_t n = 1;
    for (int64_t d : ne) {
      require(d >= 0, "gguf writer: tensor '", name, "' has a negative dimension in ", shape_string(ne));
      n = checked_mul(n, static_cast<uint64_t>(d), "tensor elements");
    }
    const FormatInfo& fi = format_info(format);
    require(ne[0] % fi.block_size == 0, "gguf writer: tensor '", name, "' row length ", ne[0],
            " is not a multiple of the ", fi.name, " block size ", fi.block_size);
    return checked_mul(n / fi.block_size, fi.block_bytes, "tensor bytes");
  }

  Entry& add(const std::string& name, Format format, const std::vector<int64_t>& ne, Entry::Kind kind) {
    require(!name.empty() && name.size() <= kMaxTensorName, "gguf writer: tensor name '", name,
            "' must have 1 to ", kMaxTensorName, " bytes");
    for (const Entry& e : entries_) require(e.info.name != name, "gguf writer: duplicate tensor name '", name, "'");
    Entry e;
    e.kind = kind;
    e.info.name = name;
    e.info.ne = ne;
    e.info.format = format;
    e.info.nbytes = tensor_bytes(name, format, ne);
    entries_.push_back(std::move(e));
    return entries_.back();
  }

  uint64_t alignment() const {
    const size_t i = find_kv("general.alignment");
    if (i == kvs_.size()) return kDefaultAlignment;
    uint32_t a;
    std::memcpy(&a, kvs_[i].value.data(), 4);
    return a;
  }

  void emit(Sink& out) const {
    const uint64_t align = alignment();
    detail::ByteWriter h;
    h.put<uint32_t>(kMagic);
    h.put<uint32_t>(3);
    h.put<uint64_t>(entries_.size());
    h.put<uint64_t>(kvs_.size());
    for (const Kv& kv : kvs_) {
      h.put_string(kv.key);
      h.put<uint32_t>(static_cast<uint32_t>(kv.type));
      h.bytes.insert(h.bytes.end(), kv.value.begin(), kv.value.end());
    }
    uint64_t offset = 0;
    for (const Entry& e : entries_) {
      h.put_string(e.info.name);
      h.put<uint32_t>(static_cast<uint32_t>(e.info.ne.size()));
      for (int64_t d : e.info.ne) h.put<int64_t>(d);
      h.put<uint32_t>(static_cast<uint32_t>(e.info.format));
      h.put<uint64_t>(offset);
      offset = checked_align_up(checked_add(offset, e.info.nbytes, "data size"), align, "data size");
    }
    // The data section starts aligned; a file without tensors has none
    // (as the reference's Python writer leaves vocab-only files).
    if (!entries_.empty()) h.bytes.resize(checked_size(checked_align_up(h.bytes.size(), align, "header size"), "header"), 0);
    out.write(h.bytes.data(), h.bytes.size());

    static const uint8_t kZeros[64] = {};
    auto pad = [&](uint64_t n) {
      while (n) {
        const size_t k = static_cast<size_t>(n < sizeof(kZeros) ? n : sizeof(kZeros));
        out.write(kZeros, k);
        n -= k;
      }
    };
    for (const Entry& e : entries_) {
      const uint64_t nb = e.info.nbytes;
      if (e.kind == Entry::kPointer) {
        out.write(e.ptr, checked_size(nb, "tensor"));
      } else if (e.kind == Entry::kOwned) {
        out.write(e.owned.data(), e.owned.size());
      } else {
        struct Counting : Sink {
          Sink* out;
          uint64_t n = 0, limit;
          const std::string* name;
          void write(const void* d, size_t k) override {
            if (k > limit - n) fail("gguf writer: producer of tensor '", *name, "' wrote more than its ", limit, " bytes");
            n += k;
            out->write(d, k);
          }
        } c;
        c.out = &out;
        c.limit = nb;
        c.name = &e.info.name;
        e.producer(c);
        require(c.n == nb, "gguf writer: producer of tensor '", e.info.name, "' wrote ", c.n, " of its ", nb, " bytes");
      }
      pad(checked_align_up(nb, align, "tensor size") - nb);
    }
  }

  std::vector<Kv> kvs_;
  std::vector<Entry> entries_;
};

}  // namespace qkit::gguf
