// The codec registry against every golden file of the reference engine
// (../shared/golden/quant/<name>[-imatrix].qkgv), one test case per format
// of QKIT_FORMATS, so a codec is picked up as soon as it is registered.
//
// Per file, through the runtime API only: qkit::quantize (2 threads) gives
// the reference's bytes; dequantize_row_ref gives its values bit for bit;
// vec_dot_ref of each stored row with the stored act_q is within 1e-5 of the
// reference's dot relative to max(|dot|, sum of |block dots|) (see below); and, where the pair format has an activation
// quantizer, quantizing `act` gives act_q exactly.
// A format without a codec in this build, or without golden files, is
// SKIPPED (exit 77 with the reason), never passed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "qkit/quant/registry.hpp"
#include "support/golden.hpp"
#include "support/skip.hpp"

using namespace qkit;

namespace {

test::Qkgv load(const std::string& path) {
  return test::load_qkgv(path, [](uint32_t type, uint64_t n) { return row_bytes(static_cast<Format>(type), n); });
}

// Index of the first differing byte, or -1.
int64_t first_diff(const uint8_t* a, const uint8_t* b, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return static_cast<int64_t>(i);
  return -1;
}

void check_file(Format f, const test::Qkgv& g) {
  const FormatInfo& fi = format_info(f);
  REQUIRE(g.type == static_cast<uint32_t>(f));
  const int64_t n = g.n_per_row;
  const size_t rb = row_bytes(f, g.n_per_row);

  // Quantize the whole matrix through the threaded API.
  if (format_has_quantizer(f)) {
    std::vector<uint8_t> q(g.quantized.size());
    const size_t written = quantize(f, g.input.data(), q.data(), g.n_rows, n,
                                    g.has_imatrix ? g.imatrix.data() : nullptr, 2);
    REQUIRE(written == g.quantized.size());
    for (uint32_t r = 0; r < g.n_rows; ++r) {
      const int64_t d = first_diff(q.data() + r * rb, g.quantized.data() + r * rb, rb);
      INFO(fi.name << " row " << r << " (input kind " << r % 11 << "): first differing byte " << d << " (block "
                   << (d < 0 ? -1 : d / fi.block_bytes) << ")");
      CHECK(d < 0);
    }
  } else {
    WARN(fi.name << ": no quantizer in qkit, bytes not checked");
  }

  // Dequantize the reference's bytes.
  std::vector<float> y(static_cast<size_t>(n));
  for (uint32_t r = 0; r < g.n_rows && g.has_dequant; ++r) {
    dequantize_row_ref(f, g.quantized.data() + r * rb, y.data(), n);
    INFO(fi.name << " row " << r);
    CHECK(std::memcmp(y.data(), g.dequant.data() + static_cast<size_t>(r) * n, y.size() * 4) == 0);
  }
  validate_row(f, g.quantized.data(), g.quantized.size());

  if (g.vec_dot_type < 0) return;
  const Format pair = static_cast<Format>(g.vec_dot_type);
  REQUIRE(pair == fi.pair);
  if (!format_has_codec(pair)) {
    WARN(fi.name << ": no codec for the pair format " << format_name(pair) << ", dots not checked");
    return;
  }
  if (format_is_activation(pair)) {
    std::vector<uint8_t> aq(g.act_q.size());
    quantize_act_row_ref(pair, g.act.data(), aq.data(), n);
    INFO(fi.name << ": act quantized to " << format_name(pair) << ", first differing byte "
                 << first_diff(aq.data(), g.act_q.data(), aq.size()));
    CHECK(aq == g.act_q);
  }
  const size_t pair_block_bytes = format_info(pair).block_bytes * (fi.block_size / format_info(pair).block_size);
  for (uint32_t r = 0; r < g.n_rows; ++r) {
    const uint8_t* row = g.quantized.data() + r * rb;
    const double dot = vec_dot_ref(f, row, g.act_q.data(), n);
    const double ref = g.dots[r];
    // Relative to max(|ref|, sum of |block contributions|): rows with
    // outliers sum block terms of opposite sign to a small result, and the
    // reference's float SIMD order then differs from the exact sum by more
    // than 1e-5 of that result (q3_K, tq1_0/tq2_0 with imatrix show 2e-5).
    double sum_abs = 0;
    for (int64_t b = 0; b < n / fi.block_size; ++b)
      sum_abs += std::fabs(vec_dot_ref(f, row + b * fi.block_bytes, g.act_q.data() + b * pair_block_bytes,
                                       fi.block_size));
    const double magnitude = std::max(std::fabs(ref), sum_abs);
    INFO(fi.name << " row " << r << ": dot " << dot << " reference " << ref << " sum|block dots| " << sum_abs);
    CHECK(std::fabs(dot - ref) <= 1e-5 * magnitude + 1e-30);
  }
}

void check_format(Format f) {
  const std::string name = format_name(f);
  if (!format_has_codec(f)) QKIT_SKIP("no codec for " << name << " in this build");
  int checked = 0;
  for (const char* suffix : {"", "-imatrix"}) {
    const std::string path = test::golden_dir() + "/quant/" + name + suffix + ".qkgv";
    if (!test::file_exists(path)) continue;
    INFO("golden file " << path);
    const test::Qkgv g = load(path);
    try {
      check_file(f, g);
    } catch (const Error& e) {
      // A codec registered as a stub reports itself; that is "not yet", not a pass.
      if (std::string(e.what()).find("not implemented") != std::string::npos)
        QKIT_SKIP(name << ": " << e.what());
      throw;
    }
    ++checked;
  }
  if (checked == 0 && f == Format::F32) {
    // The reference has no f32 vectors (f32 is its own quantization); check
    // the identity through the registry instead of skipping, so that whole-
    // program runs (cross builds under qemu) are not ended by this case.
    std::vector<float> x(256);
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::ldexp(static_cast<float>(i) - 100.5f, static_cast<int>(i % 7) - 3);
    std::vector<float> q(x.size()), y(x.size());
    REQUIRE(quantize(f, x.data(), q.data(), 4, 64, nullptr, 2) == x.size() * 4);
    dequantize_row_ref(f, q.data(), y.data(), 256);
    CHECK(y == x);
    double want = 0;
    for (float v : x) want += static_cast<double>(v) * v;
    CHECK(vec_dot_ref(f, q.data(), x.data(), 256) == want);
    return;
  }
  if (checked == 0) QKIT_SKIP("no golden file for " << name << " in " << test::golden_dir() << "/quant");
}

}  // namespace

#define QKIT_X(E, id, name, bs, bb, pair) \
  TEST_CASE("registry codec matches the reference engine: " name, "[quant][registry]") { check_format(Format::E); }
QKIT_FORMATS(QKIT_X)
#undef QKIT_X

TEST_CASE("registry functions check their arguments", "[quant][registry]") {
  std::vector<float> x(64, 1.0f);
  std::vector<uint8_t> q(64 * 4);
  CHECK_THROWS_AS(quantize_row(Format::Q4_0, x.data(), q.data(), 33), Error);
  CHECK_THROWS_AS(quantize_row(Format::Q4_0, nullptr, q.data(), 32), Error);
  CHECK_THROWS_AS(dequantize_row_ref(Format::Q8_0, q.data(), x.data(), 31), Error);
  CHECK_THROWS_AS(validate_row(Format::Q4_0, q.data(), 19), Error);
  CHECK_THROWS_AS(quantize_act_row_ref(Format::Q4_0, x.data(), q.data(), 32), Error);
  CHECK_THROWS_AS(quantize(Format::Q4_0, x.data(), q.data(), 2, 31), Error);
  CHECK_THROWS_AS(quantize(Format::Q4_0, x.data(), q.data(), -1, 32), Error);
  CHECK_THROWS_AS(quantize(Format::Q4_0, x.data(), q.data(), 2, 32, nullptr, 0), Error);
  CHECK_THROWS_AS(quantize_row(static_cast<Format>(77), x.data(), q.data(), 32), Error);
  CHECK(quantize(Format::Q4_0, x.data(), q.data(), 0, 32) == 0);
}
