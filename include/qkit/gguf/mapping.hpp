// qkit/gguf/mapping.hpp — a read-only, private memory map of a whole file.
//
// MAP_PRIVATE + PROT_READ: the file's pages are shared with the page cache
// (zero-copy) and nothing qkit does can write back to the model file.
// Move-only; unmaps on destruction.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qkit/base/checked.hpp"
#include "qkit/base/error.hpp"

namespace qkit::gguf {

class Mapping {
 public:
  Mapping() = default;
  explicit Mapping(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot open ", path, ": ", std::strerror(errno));
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int e = errno;
      ::close(fd);
      fail("cannot stat ", path, ": ", std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      fail(path, " is not a regular file");
    }
    size_ = checked_size(static_cast<uint64_t>(st.st_size), path.c_str());
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int e = errno;
        ::close(fd);
        fail("cannot map ", path, " (", size_, " bytes): ", std::strerror(e));
      }
      data_ = static_cast<const uint8_t*>(p);
    }
    ::close(fd);  // the mapping keeps the file alive
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  Mapping(Mapping&& o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  Mapping& operator=(Mapping&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    return *this;
  }
  ~Mapping() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  }

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

  // Asks the kernel to start reading [p, p + n) (clipped to the mapping) in
  // the background, so a consumer that will touch it next does not wait
  // for page faults one by one. Only a hint: errors are ignored.
  void will_need(const void* p, size_t n) const {
    if (!data_ || n == 0) return;
    const auto* b = static_cast<const uint8_t*>(p);
    if (b < data_ || b >= data_ + size_) return;
    if (n > static_cast<size_t>(data_ + size_ - b)) n = static_cast<size_t>(data_ + size_ - b);
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t lo = reinterpret_cast<uintptr_t>(b) & ~(page - 1);
    const uintptr_t hi = reinterpret_cast<uintptr_t>(b) + n;
    ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_WILLNEED);
  }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace qkit::gguf
