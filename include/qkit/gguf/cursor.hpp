// qkit/gguf/cursor.hpp — bounds-checked little-endian reads over an
// untrusted byte buffer.
//
// Every read checks the remaining length first and, on failure, throws
// qkit::Error naming the source, what was being read and the byte offset.
// Lengths read from the buffer are compared against what remains before
// they are used, so no pointer is ever formed past the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "qkit/base/checked.hpp"
#include "qkit/base/error.hpp"

namespace qkit::gguf {

class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size, const std::string& source, size_t pos = 0)
      : data_(data), size_(size), pos_(pos), source_(source) {}

  size_t pos() const { return pos_; }
  size_t size() const { return size_; }
  size_t remaining() const { return size_ - pos_; }
  const uint8_t* here() const { return data_ + pos_; }
  const std::string& source() const { return source_; }

  // Prefix for messages while inside a record, e.g. "key 'general.name': ".
  std::string context;

  template <typename... Parts>
  [[noreturn]] void error_at(size_t offset, Parts&&... parts) const {
    fail(source_, ": ", context, std::forward<Parts>(parts)..., " (at byte offset ", offset, ")");
  }

  void need(uint64_t n, const char* what) const {
    if (n > remaining()) {
      error_at(pos_, "truncated: ", what, " needs ", n, " bytes but only ", remaining(), " remain");
    }
  }

  template <typename T>
  T read(const char* what) {
    static_assert(std::is_trivially_copyable<T>::value, "plain values only");
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));  // GGUF is little-endian, as are qkit's hosts
    pos_ += sizeof(T);
    return v;
  }

  void skip(uint64_t n, const char* what) {
    need(n, what);
    pos_ += static_cast<size_t>(n);
  }

  // u64 length + bytes. The view points into the buffer.
  std::string_view read_string(const char* what) {
    const size_t at = pos_;
    const uint64_t len = read<uint64_t>(what);
    if (len > remaining()) {
      error_at(at, what, " has length ", len, " but only ", remaining(), " bytes remain in the file");
    }
    std::string_view s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return s;
  }

  // Checks that `count` items of at least `min_item_bytes` each can fit in
  // what remains, so a tiny file cannot make the parser allocate or loop
  // for a count it could never hold.
  void check_count(uint64_t count, uint64_t min_item_bytes, size_t at, const char* what) const {
    if (min_item_bytes != 0 && count > remaining() / min_item_bytes) {
      error_at(at, what, " of ", count, " needs at least ", count, " x ", min_item_bytes, " bytes but only ",
               remaining(), " remain");
    }
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_;
  const std::string& source_;
};

}  // namespace qkit::gguf
