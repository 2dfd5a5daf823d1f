// Dispatched dequantization (kernels/dequant.hpp): every format on every
// target this CPU supports (qemu CPUs for NEON/SVE) must reproduce the scalar
// codec (Codec<F>::dequantize_row) bit for bit, on random block bytes (every
// code pattern, NaN/Inf/huge/subnormal scales), on rows filled with extreme
// 16- and 32-bit patterns, on realistically quantized gaussian rows, and on
// the reference engine's golden dequantized rows.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "qkit/kernels/dequant.hpp"
#include "qkit/kernels/registry.hpp"
#include "qkit/quant/float.hpp"
#include "qkit/quant/iq4.hpp"
#include "qkit/quant/k_quants.hpp"
#include "qkit/quant/legacy.hpp"
#include "qkit/quant/mxfp4.hpp"
#include "qkit/quant/ternary.hpp"
#include "support/golden.hpp"
#include "support/targets.hpp"

namespace {

using qkit::Format;

using RefFn = void (*)(const void*, float*, int64_t);

// The scalar reference of each format, straight from its codec.
RefFn reference(Format f) {
  switch (f) {
#define QKIT_X(E, id, name, bs, bb, pair) \
  case Format::E:                         \
    return &qkit::Codec<Format::E>::dequantize_row;
    QKIT_FORMATS(QKIT_X)
#undef QKIT_X
  }
  return nullptr;
}

using QuantFn = void (*)(const float*, void*, int64_t, const float*);
QuantFn quantizer(Format f) {
  switch (f) {
#define QKIT_X(E, id, name, bs, bb, pair) \
  case Format::E:                         \
    return &qkit::Codec<Format::E>::quantize_row;
    QKIT_FORMATS(QKIT_X)
#undef QKIT_X
  }
  return nullptr;
}

uint32_t bits_of(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}

// Counts values that differ from the reference: bitwise, except that a NaN
// may carry another NaN payload (documented in dequant.hpp: hardware f16
// conversion quiets signalling NaNs, and when a scale and a min are both NaN
// the compiler picks which one an addition returns).
size_t count_mismatches(const std::vector<float>& ref, const std::vector<float>& got, std::string& first) {
  size_t bad = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const uint32_t a = bits_of(ref[i]), b = bits_of(got[i]);
    if (a == b) continue;
    if (std::isnan(ref[i]) && std::isnan(got[i])) continue;
    if (bad++ == 0) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "value %zu: reference %.9g (0x%08x), got %.9g (0x%08x)", i,
                    static_cast<double>(ref[i]), a, static_cast<double>(got[i]), b);
      first = buf;
    }
  }
  return bad;
}

// Dequantizes src (n values of f) on every target and compares with the scalar codec.
void check_all_targets(Format f, const std::vector<uint8_t>& src, int64_t n, const char* what) {
  std::vector<float> ref(static_cast<size_t>(n)), got(static_cast<size_t>(n));
  reference(f)(src.data(), ref.data(), n);
  qkit::test::for_each_target([&](int64_t) {
    INFO(qkit::format_name(f) << ", " << what << ", n = " << n);
    std::fill(got.begin(), got.end(), -12345.f);
    qkit::dequantize_row(f, src.data(), got.data(), n);
    std::string first;
    const size_t bad = count_mismatches(ref, got, first);
    INFO(first);
    CHECK(bad == 0);
  });
}

// Row lengths: 1, 2, 3, 7 blocks and a long row (float formats: the same
// counts of values plus lengths that leave vector tails).
std::vector<int64_t> row_lengths(Format f) {
  const int64_t bs = qkit::format_info(f).block_size;
  if (bs == 1) return {1, 2, 3, 7, 15, 17, 33, 4099};
  return {bs, 2 * bs, 3 * bs, 7 * bs, bs == 32 ? 4096 : 4096 + 256};
}

const std::vector<Format>& all_formats() {
  static const std::vector<Format> v = {
#define QKIT_X(E, id, name, bs, bb, pair) Format::E,
      QKIT_FORMATS(QKIT_X)
#undef QKIT_X
  };
  return v;
}

}  // namespace

TEST_CASE("dequantize_row equals the scalar codec on random block bytes", "[dequant]") {
  std::mt19937 rng(20261123);
  for (Format f : all_formats()) {
    for (int64_t n : row_lengths(f)) {
      std::vector<uint8_t> src(qkit::row_bytes(f, static_cast<uint64_t>(n)));
      for (auto& b : src) b = static_cast<uint8_t>(rng());
      check_all_targets(f, src, n, "random bytes");
    }
  }
}

TEST_CASE("dequantize_row equals the scalar codec on extreme scale patterns", "[dequant]") {
  // Every field (scales included) filled with one pattern: +-Inf, NaN
  // (quiet and signalling), the largest and smallest f16, f32 Inf/NaN/max.
  const uint16_t words16[] = {0x7c00, 0xfc00, 0x7e00, 0x7c01, 0x7bff, 0x0001, 0x8001, 0x0000, 0xffff, 0x3c00};
  const uint32_t words32[] = {0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f7fffffu, 0x00000001u, 0x7f800001u};
  for (Format f : all_formats()) {
    const int64_t n = 3 * static_cast<int64_t>(qkit::format_info(f).block_size) * (f == Format::F32 ? 5 : 1);
    std::vector<uint8_t> src(qkit::row_bytes(f, static_cast<uint64_t>(n)));
    for (uint16_t w : words16) {
      for (size_t i = 0; i + 1 < src.size(); i += 2) std::memcpy(&src[i], &w, 2);
      check_all_targets(f, src, n, "16-bit pattern");
    }
    for (uint32_t w : words32) {
      for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(w >> (8 * (i % 4)));
      check_all_targets(f, src, n, "32-bit pattern");
    }
  }
}

TEST_CASE("dequantize_row equals the scalar codec on quantized gaussian rows", "[dequant]") {
  std::mt19937 rng(7);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  for (Format f : all_formats()) {
    const int64_t n = qkit::format_info(f).block_size == 32 ? 1024 : 1024 + 256;
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = gauss(rng);
    std::vector<uint8_t> src(qkit::row_bytes(f, static_cast<uint64_t>(n)));
    quantizer(f)(x.data(), src.data(), n, nullptr);
    check_all_targets(f, src, n, "quantized gaussian");
  }
}

TEST_CASE("dequantize_row reproduces the reference engine's golden dequantization", "[dequant][golden]") {
  const std::string dir = qkit::test::golden_dir() + "/quant/";
  size_t files = 0;
  for (Format f : all_formats()) {
    for (const char* suffix : {"", "-imatrix"}) {
      const std::string path = dir + qkit::format_name(f) + suffix + ".qkgv";
      if (!qkit::test::file_exists(path)) continue;
      const auto g = qkit::test::load_qkgv(path, [](uint32_t type, uint64_t n) {
        return qkit::row_bytes(qkit::format_from_gguf_type(type), n);
      });
      REQUIRE(static_cast<Format>(g.type) == f);
      if (!g.has_dequant) continue;
      ++files;
      std::vector<float> got(g.dequant.size());
      qkit::test::for_each_target([&](int64_t) {
        INFO(path);
        std::fill(got.begin(), got.end(), -12345.f);
        qkit::dequantize_rows(f, g.quantized.data(), got.data(), g.n_rows, g.n_per_row);
        std::string first;
        const size_t bad = count_mismatches(g.dequant, got, first);
        INFO(first);
        CHECK(bad == 0);
      });
    }
  }
  if (files == 0) QKIT_SKIP("no golden quant/*.qkgv with dequantized rows under " << dir << " (set QKIT_GOLDEN_DIR)");
}

TEST_CASE("dequantize_rows honours the source stride", "[dequant]") {
  const Format f = Format::Q4_K;
  const int64_t n = 512, rows = 3;
  const size_t rb = qkit::row_bytes(f, n), stride = rb + 40;
  std::mt19937 rng(3);
  std::vector<uint8_t> src(stride * rows);
  for (auto& b : src) b = static_cast<uint8_t>(rng() & 0x3f);  // small f16 scales
  std::vector<float> got(static_cast<size_t>(rows * n)), ref(static_cast<size_t>(n));
  qkit::dequantize_rows(f, src.data(), got.data(), rows, n, stride);
  for (int64_t r = 0; r < rows; ++r) {
    reference(f)(src.data() + r * stride, ref.data(), n);
    CHECK(std::memcmp(ref.data(), got.data() + r * n, ref.size() * sizeof(float)) == 0);
  }
}

TEST_CASE("dequantize_row rejects bad arguments with qkit::Error", "[dequant]") {
  std::vector<uint8_t> src(4096);
  std::vector<float> dst(4096);
  CHECK_THROWS_WITH(qkit::dequantize_row(Format::Q4_0, src.data(), dst.data(), 33),
                    Catch::Contains("q4_0") && Catch::Contains("multiple of the block size 32"));
  CHECK_THROWS_WITH(qkit::dequantize_row(Format::Q4_K, src.data(), dst.data(), 128),
                    Catch::Contains("q4_K") && Catch::Contains("256"));
  CHECK_THROWS_WITH(qkit::dequantize_row(Format::Q8_0, src.data(), dst.data(), -32), Catch::Contains("negative"));
  CHECK_THROWS_WITH(qkit::dequantize_row(Format::Q8_0, nullptr, dst.data(), 32), Catch::Contains("null"));
  CHECK_THROWS_WITH(qkit::dequantize_row(static_cast<Format>(4), src.data(), dst.data(), 32),
                    Catch::Contains("unknown tensor format"));
  CHECK_NOTHROW(qkit::dequantize_row(Format::Q8_0, nullptr, nullptr, 0));
  CHECK_THROWS_WITH(qkit::dequantize_rows(Format::Q8_0, src.data(), dst.data(), 2, 64, 34),
                    Catch::Contains("stride"));
}

TEST_CASE("every format has a dequantize_row entry point", "[dequant]") {
  size_t found = 0;
  for (const auto& e : qkit::kernels::entry_points())
    if (e.name.rfind("dequantize_row[", 0) == 0) ++found;
  CHECK(found == qkit::kFormatCount);
}
