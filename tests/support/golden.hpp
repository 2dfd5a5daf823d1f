// tests/support/golden.hpp — finding and reading the reference engine's
// golden data (../shared/golden, see its README), never copied into qkit.
//
// The folder comes from $QKIT_GOLDEN_DIR, else the path configured at build
// time; a missing file SKIPs the test with the path in the reason.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "qkit/base/error.hpp"
#include "support/skip.hpp"

namespace qkit::test {

inline std::string golden_dir() {
  if (const char* env = std::getenv("QKIT_GOLDEN_DIR"); env && *env) return env;
#ifdef QKIT_TEST_GOLDEN_DIR
  return QKIT_TEST_GOLDEN_DIR;
#else
  return "../shared/golden";
#endif
}

inline bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Full path of a golden file; SKIPs the test when it is absent.
inline std::string golden_path(const std::string& relative) {
  const std::string p = golden_dir() + "/" + relative;
  if (!file_exists(p)) QKIT_SKIP("golden file " << p << " not found (set QKIT_GOLDEN_DIR)");
  return p;
}

inline std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot open ", path);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// quant/<type>[-imatrix].qkgv: one codec's reference vectors.
struct Qkgv {
  uint32_t type = 0, n_rows = 0, n_per_row = 0;
  bool has_imatrix = false, has_dequant = false;
  int32_t vec_dot_type = -1;
  std::vector<float> input;      // n_rows * n_per_row
  std::vector<float> imatrix;    // n_per_row, if has_imatrix
  std::vector<uint8_t> quantized;  // n_rows * row_bytes(type)
  std::vector<float> dequant;    // n_rows * n_per_row, if has_dequant
  std::vector<float> act;        // n_per_row, if vec_dot_type >= 0
  std::vector<uint8_t> act_q;    // row bytes of vec_dot_type
  std::vector<float> dots;       // n_rows
};

// Parses a .qkgv file. row_bytes(type, n) gives a row's byte size for a GGUF
// type id (callers pass qkit's registry), so this reader has no table of its own.
template <typename RowBytesFn>
Qkgv load_qkgv(const std::string& path, RowBytesFn row_bytes) {
  const std::vector<uint8_t> buf = read_file(path);
  size_t pos = 0;
  auto take = [&](void* dst, size_t n) {
    if (n > buf.size() - pos) fail(path, ": truncated at byte ", pos);
    std::memcpy(dst, buf.data() + pos, n);
    pos += n;
  };
  auto u32 = [&] {
    uint32_t v;
    take(&v, 4);
    return v;
  };
  Qkgv g;
  if (u32() != 0x56474b51u) fail(path, ": bad magic");
  if (u32() != 1) fail(path, ": unsupported version");
  g.type = u32();
  g.n_rows = u32();
  g.n_per_row = u32();
  g.has_imatrix = u32() != 0;
  g.has_dequant = u32() != 0;
  g.vec_dot_type = static_cast<int32_t>(u32());
  const size_t n = static_cast<size_t>(g.n_rows) * g.n_per_row;
  auto floats = [&](std::vector<float>& v, size_t count) {
    v.resize(count);
    take(v.data(), count * 4);
  };
  floats(g.input, n);
  if (g.has_imatrix) floats(g.imatrix, g.n_per_row);
  g.quantized.resize(static_cast<size_t>(g.n_rows) * row_bytes(g.type, g.n_per_row));
  take(g.quantized.data(), g.quantized.size());
  if (g.has_dequant) floats(g.dequant, n);
  if (g.vec_dot_type >= 0) {
    floats(g.act, g.n_per_row);
    g.act_q.resize(row_bytes(static_cast<uint32_t>(g.vec_dot_type), g.n_per_row));
    take(g.act_q.data(), g.act_q.size());
    floats(g.dots, g.n_rows);
  }
  if (pos != buf.size()) fail(path, ": ", buf.size() - pos, " trailing bytes");
  return g;
}

}  // namespace qkit::test
