// qkit/base/aligned.hpp — owning, 64-byte aligned, uninitialised-by-default
// buffers for weights, activations and scratch.
//
// 64 bytes: one cache line and one AVX-512 register, so vector loads never
// split lines. Move-only; size() is in elements.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#include "qkit/base/checked.hpp"

namespace qkit {

inline constexpr size_t kAlignment = 64;

template <typename T>
class AlignedBuffer {
  static_assert(std::is_trivially_copyable<T>::value, "AlignedBuffer holds plain data");

 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n) { reset(n); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& o) noexcept : ptr_(o.ptr_), size_(o.size_) {
    o.ptr_ = nullptr;
    o.size_ = 0;
  }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(size_, o.size_);
    return *this;
  }
  ~AlignedBuffer() { std::free(ptr_); }

  // Reallocates to n elements (contents are not kept).
  void reset(size_t n) {
    std::free(ptr_);
    ptr_ = nullptr;
    size_ = 0;
    if (n == 0) return;
    const uint64_t bytes = checked_align_up(checked_mul(n, sizeof(T), "buffer size"), kAlignment, "buffer size");
    void* p = std::aligned_alloc(kAlignment, checked_size(bytes, "buffer"));
    if (!p) throw std::bad_alloc();
    ptr_ = static_cast<T*>(p);
    size_ = n;
  }
  // Grows (never shrinks) to at least n elements; contents are not kept.
  void ensure(size_t n) {
    if (n > size_) reset(n);
  }
  void zero() {
    if (ptr_) std::memset(static_cast<void*>(ptr_), 0, size_ * sizeof(T));
  }

  T* data() { return ptr_; }
  const T* data() const { return ptr_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) { return ptr_[i]; }
  const T& operator[](size_t i) const { return ptr_[i]; }
  T* begin() { return ptr_; }
  T* end() { return ptr_ + size_; }
  const T* begin() const { return ptr_; }
  const T* end() const { return ptr_ + size_; }

 private:
  T* ptr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace qkit
