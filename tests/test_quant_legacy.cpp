// The scalar reference codecs of F32/F16/BF16, Q4_0..Q8_1, IQ4_NL, IQ4_XS and
// MXFP4 (quant/float.hpp, legacy.hpp, q8.hpp, iq4.hpp, mxfp4.hpp), called
// through Codec<F> directly:
//  - against the reference engine's golden files (bytes, dequantized values
//    bit for bit, dots within a relative 1e-5, act_q bit for bit), plain and
//    with an importance matrix;
//  - exhaustively where the code space is small: all 65536 f16 and bf16
//    patterns, all IQ4_NL codes, all MXFP4 codes x scales;
//  - the documented NaN/Inf behaviour and validate_blocks naming the block.
//
// Dot reference (quant/vec_dot_ref.hpp): dequantize both rows and sum in
// double, which equals the reference's integer block dot exactly for these
// formats; Q4_1/Q5_1 x Q8_1 use the stored s for the min term as the
// reference does.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "qkit/quant/registry.hpp"
#include "support/golden.hpp"

using namespace qkit;

namespace {

template <Format F>
void check_golden(const std::string& file) {
  const test::Qkgv g = test::load_qkgv(test::golden_path("quant/" + file),
                                       [](uint32_t t, uint64_t n) { return row_bytes(static_cast<Format>(t), n); });
  REQUIRE(g.type == static_cast<uint32_t>(F));
  REQUIRE(g.has_imatrix == (file.find("-imatrix") != std::string::npos));
  const int64_t n = g.n_per_row;
  const size_t rb = row_bytes(F, g.n_per_row);
  std::vector<uint8_t> q(rb);
  std::vector<float> y(static_cast<size_t>(n));
  for (uint32_t r = 0; r < g.n_rows; ++r) {
    INFO(file << " row " << r << " (input kind " << r % 11 << ")");
    const uint8_t* ref = g.quantized.data() + r * rb;
    Codec<F>::quantize_row(g.input.data() + static_cast<size_t>(r) * n, q.data(), n,
                           g.has_imatrix ? g.imatrix.data() : nullptr);
    CHECK(std::memcmp(q.data(), ref, rb) == 0);
    if (g.has_dequant) {
      Codec<F>::dequantize_row(ref, y.data(), n);
      CHECK(std::memcmp(y.data(), g.dequant.data() + static_cast<size_t>(r) * n, y.size() * 4) == 0);
    }
  }
  Codec<F>::validate_blocks(g.quantized.data(), g.quantized.size() / format_info(F).block_bytes);
  if (g.vec_dot_type < 0) return;
  constexpr Format P = kFormatInfo[format_index(F)].pair;
  REQUIRE(g.vec_dot_type == static_cast<int32_t>(P));
  if (format_is_activation(P)) {
    std::vector<uint8_t> aq(g.act_q.size());
    quantize_act_row_ref(P, g.act.data(), aq.data(), n);
    CHECK(aq == g.act_q);
  }
  if (!format_has_codec(P)) {
    WARN(file << ": no codec for " << format_name(P) << " yet, dots not checked");
    return;
  }
  for (uint32_t r = 0; r < g.n_rows; ++r) {
    const double dot = vec_dot_ref(F, g.quantized.data() + r * rb, g.act_q.data(), n);
    INFO(file << " row " << r << ": " << dot << " vs " << g.dots[r]);
    CHECK(std::fabs(dot - g.dots[r]) <= 1e-5 * std::fabs(g.dots[r]) + 1e-30);
  }
}

// Exact value of an f16 bit pattern, computed independently in double.
double f16_value(uint16_t h) {
  const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  const double mag = e == 0 ? std::ldexp(m, -24) : std::ldexp(1024 + m, e - 25);
  return (h & 0x8000) ? -mag : mag;
}

}  // namespace

TEST_CASE("f16 matches the reference", "[quant][legacy]") { check_golden<Format::F16>("f16.qkgv"); }
TEST_CASE("bf16 matches the reference", "[quant][legacy]") { check_golden<Format::BF16>("bf16.qkgv"); }
TEST_CASE("q4_0 matches the reference", "[quant][legacy]") { check_golden<Format::Q4_0>("q4_0.qkgv"); }
TEST_CASE("q4_0 imatrix matches the reference", "[quant][legacy]") { check_golden<Format::Q4_0>("q4_0-imatrix.qkgv"); }
TEST_CASE("q4_1 matches the reference", "[quant][legacy]") { check_golden<Format::Q4_1>("q4_1.qkgv"); }
TEST_CASE("q4_1 imatrix matches the reference", "[quant][legacy]") { check_golden<Format::Q4_1>("q4_1-imatrix.qkgv"); }
TEST_CASE("q5_0 matches the reference", "[quant][legacy]") { check_golden<Format::Q5_0>("q5_0.qkgv"); }
TEST_CASE("q5_0 imatrix matches the reference", "[quant][legacy]") { check_golden<Format::Q5_0>("q5_0-imatrix.qkgv"); }
TEST_CASE("q5_1 matches the reference", "[quant][legacy]") { check_golden<Format::Q5_1>("q5_1.qkgv"); }
TEST_CASE("q5_1 imatrix matches the reference", "[quant][legacy]") { check_golden<Format::Q5_1>("q5_1-imatrix.qkgv"); }
TEST_CASE("q8_0 matches the reference", "[quant][legacy]") { check_golden<Format::Q8_0>("q8_0.qkgv"); }
TEST_CASE("q8_1 matches the reference activation quantizer", "[quant][legacy]") { check_golden<Format::Q8_1>("q8_1.qkgv"); }
TEST_CASE("iq4_nl matches the reference", "[quant][legacy]") { check_golden<Format::IQ4_NL>("iq4_nl.qkgv"); }
TEST_CASE("iq4_nl imatrix matches the reference", "[quant][legacy]") { check_golden<Format::IQ4_NL>("iq4_nl-imatrix.qkgv"); }
TEST_CASE("iq4_xs matches the reference", "[quant][legacy]") { check_golden<Format::IQ4_XS>("iq4_xs.qkgv"); }
TEST_CASE("iq4_xs imatrix matches the reference", "[quant][legacy]") { check_golden<Format::IQ4_XS>("iq4_xs-imatrix.qkgv"); }
TEST_CASE("mxfp4 matches the reference", "[quant][legacy]") { check_golden<Format::MXFP4>("mxfp4.qkgv"); }

TEST_CASE("all 65536 f16 patterns decode exactly and re-encode to themselves", "[quant][legacy][exhaustive]") {
  std::vector<uint16_t> h(65536);
  for (uint32_t i = 0; i < 65536; ++i) h[i] = static_cast<uint16_t>(i);
  std::vector<float> y(65536);
  Codec<Format::F16>::dequantize_row(h.data(), y.data(), 65536);
  std::vector<uint16_t> back(65536);
  Codec<Format::F16>::quantize_row(y.data(), back.data(), 65536, nullptr);
  for (uint32_t i = 0; i < 65536; ++i) {
    INFO("f16 bits 0x" << std::hex << i);
    const bool is_nan = (i & 0x7c00) == 0x7c00 && (i & 0x3ff);
    if (is_nan) {
      REQUIRE(std::isnan(y[i]));
      REQUIRE(std::signbit(y[i]) == ((i & 0x8000) != 0));
      REQUIRE(back[i] == (i | 0x200));  // quiet, same sign and payload
    } else if ((i & 0x7c00) == 0x7c00) {
      REQUIRE(std::isinf(y[i]));
      REQUIRE(back[i] == i);
    } else {
      REQUIRE(static_cast<double>(y[i]) == f16_value(static_cast<uint16_t>(i)));
      REQUIRE(back[i] == i);
    }
  }
}

TEST_CASE("f32 -> f16 rounds to nearest even at every midpoint", "[quant][legacy][exhaustive]") {
  // For each pair of adjacent finite non-negative halves: the midpoint goes to
  // the even one, one float ulp either side to the nearer one.
  std::vector<float> x;
  std::vector<uint16_t> want;
  for (uint32_t h = 0; h < 0x7bff; ++h) {
    const double lo = f16_value(static_cast<uint16_t>(h)), hi = f16_value(static_cast<uint16_t>(h + 1));
    const float mid = static_cast<float>((lo + hi) / 2);  // exact: halves have 11 significant bits
    REQUIRE(static_cast<double>(mid) == (lo + hi) / 2);
    for (int s = 0; s < 2; ++s) {
      const float sign = s ? -1.f : 1.f;
      const uint16_t sb = s ? 0x8000 : 0;
      x.push_back(sign * mid);
      want.push_back(static_cast<uint16_t>(sb | ((h & 1) ? h + 1 : h)));
      x.push_back(sign * std::nextafter(mid, 0.f));
      want.push_back(static_cast<uint16_t>(sb | h));
      x.push_back(sign * std::nextafter(mid, 1e9f));
      want.push_back(static_cast<uint16_t>(sb | (h + 1)));
    }
  }
  // Past the largest half: 65520 (the midpoint to the next binade) is Inf.
  x.push_back(65519.99f);
  want.push_back(0x7bff);
  x.push_back(65520.f);
  want.push_back(0x7c00);
  x.push_back(-1e30f);
  want.push_back(0xfc00);
  std::vector<uint16_t> got(x.size());
  Codec<Format::F16>::quantize_row(x.data(), got.data(), static_cast<int64_t>(x.size()), nullptr);
  for (size_t i = 0; i < x.size(); ++i) {
    INFO("x = " << x[i]);
    REQUIRE(got[i] == want[i]);
  }
}

TEST_CASE("all 65536 bf16 patterns decode exactly and re-encode to themselves; rounding is to nearest even",
          "[quant][legacy][exhaustive]") {
  std::vector<uint16_t> h(65536);
  for (uint32_t i = 0; i < 65536; ++i) h[i] = static_cast<uint16_t>(i);
  std::vector<float> y(65536);
  Codec<Format::BF16>::dequantize_row(h.data(), y.data(), 65536);
  std::vector<uint16_t> back(65536);
  Codec<Format::BF16>::quantize_row(y.data(), back.data(), 65536, nullptr);
  for (uint32_t i = 0; i < 65536; ++i) {
    INFO("bf16 bits 0x" << std::hex << i);
    uint32_t u;
    std::memcpy(&u, &y[i], 4);
    REQUIRE(u == (i << 16));
    const bool is_nan = (i & 0x7f80) == 0x7f80 && (i & 0x7f);
    REQUIRE(back[i] == (is_nan ? (i | 0x40) : i));
    // Midpoint to the next pattern (same sign, finite): ties go to even.
    if ((i & 0x7f80) != 0x7f80 && (i & 0x7fff) != 0x7f7f) {
      const float mid = f32_from_bits((i << 16) | 0x8000u);
      const float above = f32_from_bits((i << 16) | 0x8001u);
      const float below = f32_from_bits((i << 16) | 0x7fffu);
      uint16_t r[3];
      const float in[3] = {mid, above, below};
      Codec<Format::BF16>::quantize_row(in, r, 3, nullptr);
      REQUIRE(r[0] == ((i & 1) ? i + 1 : i));
      REQUIRE(r[1] == i + 1);
      REQUIRE(r[2] == i);
    }
  }
}

TEST_CASE("iq4_nl: every code decodes to its level and every level quantizes back to its code",
          "[quant][legacy][exhaustive]") {
  // All 256 bytes of a nibble pair, at scale 1 and -0.5.
  for (const float d : {1.0f, -0.5f}) {
    std::vector<BlockIQ4_NL> blocks(16);
    for (int b = 0; b < 16; ++b) {
      blocks[b].d = make_f16(d);
      for (int j = 0; j < 16; ++j) blocks[b].qs[j] = static_cast<uint8_t>(16 * b + j);
    }
    std::vector<float> y(16 * 32);
    Codec<Format::IQ4_NL>::dequantize_row(blocks.data(), y.data(), 16 * 32);
    for (int b = 0; b < 16; ++b)
      for (int j = 0; j < 16; ++j) {
        REQUIRE(y[32 * b + j] == d * kIQ4Values[j]);       // low nibble: value j
        REQUIRE(y[32 * b + 16 + j] == d * kIQ4Values[b]);  // high nibble: value j + 16
      }
  }
  // A block holding every level twice round-trips exactly. (Scales much
  // above ~1000 overflow the search's float sums of w*x*q with w = x^2, in
  // the reference as here, so they are not a round-trip case.)
  for (const float s : {1.0f / 128, 0.25f, 3.0f, 96.0f}) {
    float x[32];
    for (int j = 0; j < 32; ++j) x[j] = s * kIQ4Values[(j * 7) % 16];
    BlockIQ4_NL blk;
    Codec<Format::IQ4_NL>::quantize_row(x, &blk, 32, nullptr);
    for (int j = 0; j < 16; ++j) {
      INFO("scale " << s << " value " << j);
      REQUIRE((blk.qs[j] & 0xf) == (j * 7) % 16);
      REQUIRE((blk.qs[j] >> 4) == ((j + 16) * 7) % 16);
    }
    float y[32];
    Codec<Format::IQ4_NL>::dequantize_row(&blk, y, 32);
    for (int j = 0; j < 32; ++j) REQUIRE(std::fabs(y[j] - x[j]) <= std::fabs(x[j]) * 1e-3f);
  }
}

TEST_CASE("mxfp4: all codes at all valid scales decode exactly and quantize back", "[quant][legacy][exhaustive]") {
  for (int e = 0; e < 255; ++e) {
    BlockMXFP4 blk;
    blk.e = static_cast<uint8_t>(e);
    for (int j = 0; j < 16; ++j) blk.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
    float y[32];
    Codec<Format::MXFP4>::dequantize_row(&blk, y, 32);
    static const double e2m1[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};  // OCP FP4 E2M1 magnitudes
    for (int j = 0; j < 32; ++j) {
      const int code = j < 16 ? j : 15 - (j - 16);
      // In float, as the reference computes it: 8 and 12 at e >= 253 overflow to Inf.
      const float want = static_cast<float>((code & 8 ? -1 : 1) * e2m1[code & 7] * std::ldexp(1.0, e - 127));
      INFO("e " << e << " code " << code);
      REQUIRE(y[j] == want);
    }
    // Round trip: a block spanning every code picks the same exponent and
    // codes (while 6 * 2^(e-127) is finite).
    if (e >= 2 && e <= 252) {
      float x[32];
      for (int j = 0; j < 32; ++j) x[j] = y[j];
      BlockMXFP4 back;
      Codec<Format::MXFP4>::quantize_row(x, &back, 32, nullptr);
      REQUIRE(back.e == e);
      float z[32];
      Codec<Format::MXFP4>::dequantize_row(&back, z, 32);
      for (int j = 0; j < 32; ++j) REQUIRE(z[j] == x[j]);
    }
  }
}

TEST_CASE("q8_0: weights round ties away from zero, activations to even", "[quant][legacy]") {
  // amax 127 makes id = 1, so x*id = x and 2.5 / -3.5 are exact ties.
  float x[32] = {127.f, 2.5f, -3.5f, 0.5f, -0.5f, 1.5f};
  BlockQ8_0 w, a;
  Codec<Format::Q8_0>::quantize_row(x, &w, 32, nullptr);
  Codec<Format::Q8_0>::quantize_act_row(x, &a, 32);
  const int want_w[6] = {127, 3, -4, 1, -1, 2};
  const int want_a[6] = {127, 2, -4, 0, 0, 2};
  for (int j = 0; j < 6; ++j) {
    CHECK(w.qs[j] == want_w[j]);
    CHECK(a.qs[j] == want_a[j]);
  }
  CHECK(w.d.bits == a.d.bits);
  CHECK(to_f32(w.d) == 1.0f);
}

TEST_CASE("weight quantizers reject NaN and Inf input, naming the element", "[quant][legacy][nan]") {
  std::vector<float> x(256, 0.25f);
  std::vector<uint8_t> q(256 * 4);
  for (const Format f : {Format::Q4_0, Format::Q4_1, Format::Q5_0, Format::Q5_1, Format::Q8_0, Format::IQ4_NL,
                         Format::IQ4_XS, Format::MXFP4}) {
    for (const float bad : {std::nanf(""), INFINITY, -INFINITY}) {
      x[137] = bad;
      INFO(format_name(f) << " with " << bad);
      try {
        quantize_row(f, x.data(), q.data(), 256);
        FAIL("no error");
      } catch (const Error& e) {
        const std::string msg = e.what();
        CHECK(msg.find("element 137") != std::string::npos);
        CHECK(msg.find(std::isnan(bad) ? "NaN" : "Inf") != std::string::npos);
        CHECK(msg.find(format_name(f)) != std::string::npos);
      }
      x[137] = 0.25f;
      // The imatrix path checks too.
      std::vector<float> imat(256, 1.0f);
      x[3] = bad;
      CHECK_THROWS_AS(quantize_row(f, x.data(), q.data(), 256, imat.data()), Error);
      x[3] = 0.25f;
    }
  }
  // quantize() names the row.
  std::vector<float> m(4 * 64, 1.0f);
  m[2 * 64 + 5] = std::nanf("");
  std::vector<uint8_t> out(4 * row_bytes(Format::Q4_0, 64));
  try {
    quantize(Format::Q4_0, m.data(), out.data(), 4, 64, nullptr, 2);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("row 2") != std::string::npos);
  }
}

TEST_CASE("activation quantizers turn a non-finite block into a NaN scale and zero quants", "[quant][legacy][nan]") {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  std::vector<float> x(96);
  for (float& v : x) v = nd(rng);
  for (const float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    std::vector<float> xb = x;
    xb[32 + 9] = bad;  // poisons block 1 only
    BlockQ8_0 a[3], ref[3];
    Codec<Format::Q8_0>::quantize_act_row(xb.data(), a, 96);
    Codec<Format::Q8_0>::quantize_act_row(x.data(), ref, 96);
    CHECK(a[1].d.bits == 0x7e00);
    for (int j = 0; j < 32; ++j) CHECK(a[1].qs[j] == 0);
    CHECK(std::memcmp(&a[0], &ref[0], sizeof(BlockQ8_0)) == 0);
    CHECK(std::memcmp(&a[2], &ref[2], sizeof(BlockQ8_0)) == 0);
    BlockQ8_1 b[3];
    Codec<Format::Q8_1>::quantize_act_row(xb.data(), b, 96);
    CHECK(b[1].d.bits == 0x7e00);
    CHECK(b[1].s.bits == 0x7e00);
    float y[96];
    Codec<Format::Q8_1>::dequantize_row(b, y, 96);
    CHECK(std::isnan(y[40]));
    CHECK(std::isfinite(y[0]));
  }
  // Float formats convert as IEEE does.
  const float in[3] = {std::nanf(""), INFINITY, -INFINITY};
  uint16_t h[3], bh[3];
  Codec<Format::F16>::quantize_row(in, h, 3, nullptr);
  Codec<Format::BF16>::quantize_row(in, bh, 3, nullptr);
  CHECK(h[0] == 0x7e00);
  CHECK(h[1] == 0x7c00);
  CHECK(h[2] == 0xfc00);
  CHECK(bh[0] == 0x7fc0);
  CHECK(bh[1] == 0x7f80);
  CHECK(bh[2] == 0xff80);
}

TEST_CASE("validate_row names the block with a NaN or Inf scale", "[quant][legacy][validate]") {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  std::vector<float> x(32 * 40);
  for (float& v : x) v = nd(rng);
  struct Case {
    Format f;
    size_t scale_offset;  // byte offset of the poisoned field in a block
    const char* field;
  };
  const Case cases[] = {{Format::Q4_0, 0, "d"},   {Format::Q4_1, 0, "d"},   {Format::Q4_1, 2, "m"},
                        {Format::Q5_0, 0, "d"},   {Format::Q5_1, 2, "m"},   {Format::Q8_0, 0, "d"},
                        {Format::Q8_1, 0, "d"},   {Format::IQ4_NL, 0, "d"}, {Format::IQ4_XS, 0, "d"},
                        {Format::F16, 0, "value"}};
  for (const Case& c : cases) {
    const FormatInfo& fi = format_info(c.f);
    const int64_t n = static_cast<int64_t>(x.size()) / 256 * 256;
    std::vector<uint8_t> q(row_bytes(c.f, n));
    quantize_row(c.f, x.data(), q.data(), n);
    validate_row(c.f, q.data(), q.size());  // valid data passes
    const size_t block = q.size() / fi.block_bytes - 2;
    for (const uint16_t bad : {uint16_t{0x7e00}, uint16_t{0xfc00}}) {
      std::vector<uint8_t> p = q;
      std::memcpy(p.data() + block * fi.block_bytes + c.scale_offset, &bad, 2);
      INFO(fi.name << " field " << c.field << " bits " << bad);
      try {
        validate_row(c.f, p.data(), p.size());
        FAIL("no error");
      } catch (const Error& e) {
        const std::string msg = e.what();
        CHECK(msg.find(std::string(fi.name) + " block " + std::to_string(block)) != std::string::npos);
        CHECK(msg.find(bad == 0x7e00 ? "NaN" : "Inf") != std::string::npos);
      }
    }
  }
  // MXFP4: e = 0xff is the invalid scale; BF16 and F32 values.
  std::vector<uint8_t> m(row_bytes(Format::MXFP4, 256));
  quantize_row(Format::MXFP4, x.data(), m.data(), 256);
  validate_row(Format::MXFP4, m.data(), m.size());
  m[5 * 17] = 0xff;
  CHECK_THROWS_WITH(validate_row(Format::MXFP4, m.data(), m.size()), Catch::Contains("mxfp4 block 5"));
  const uint16_t bf[3] = {0x3f80, 0x7fc1, 0};
  CHECK_THROWS_WITH(validate_row(Format::BF16, bf, 6), Catch::Contains("bf16 block 1") && Catch::Contains("NaN"));
  const float f[4] = {1, 2, INFINITY, 3};
  CHECK_THROWS_WITH(validate_row(Format::F32, f, 16), Catch::Contains("f32 block 2") && Catch::Contains("Inf"));
  // Q8_1's s may overflow to Inf legitimately (the reference writes that); a NaN s is corrupt.
  std::vector<uint8_t> q81(row_bytes(Format::Q8_1, 64));
  quantize_row(Format::Q8_1, x.data(), q81.data(), 64);
  const uint16_t inf = 0x7c00, nan = 0x7e01;
  std::memcpy(q81.data() + 36 + 2, &inf, 2);
  validate_row(Format::Q8_1, q81.data(), q81.size());
  std::memcpy(q81.data() + 36 + 2, &nan, 2);
  CHECK_THROWS_WITH(validate_row(Format::Q8_1, q81.data(), q81.size()), Catch::Contains("q8_1 block 1"));
}

TEST_CASE("quantize() splits rows over threads without changing the bytes", "[quant][legacy]") {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd;
  const int64_t rows = 13, cols = 512;
  std::vector<float> x(static_cast<size_t>(rows * cols)), imat(static_cast<size_t>(cols));
  for (float& v : x) v = nd(rng);
  for (float& v : imat) v = std::fabs(nd(rng)) + 0.1f;
  for (const Format f : {Format::F16, Format::Q4_0, Format::Q4_1, Format::Q5_0, Format::Q5_1, Format::Q8_0,
                         Format::Q8_1, Format::IQ4_NL, Format::IQ4_XS, Format::MXFP4, Format::BF16, Format::F32}) {
    const size_t rb = row_bytes(f, cols);
    std::vector<uint8_t> one(rows * rb);
    for (int64_t r = 0; r < rows; ++r) quantize_row(f, x.data() + r * cols, one.data() + r * rb, cols, imat.data());
    for (const int t : {1, 2, 5, 64}) {
      std::vector<uint8_t> many(rows * rb, 0xcd);
      REQUIRE(quantize(f, x.data(), many.data(), rows, cols, imat.data(), t) == rows * rb);
      INFO(format_name(f) << " threads " << t);
      CHECK(many == one);
    }
  }
}
