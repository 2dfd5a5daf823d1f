// Tests of the K-quant (Q2_K..Q6_K, Q8_K) and ternary (TQ1_0, TQ2_0) codecs
// against the reference engine's golden vectors (../shared/golden/quant):
// quantized bytes identical, dequantized values bitwise identical, dot
// products with the stored Q8_K activation within a relative 1e-5; plus the
// documented behaviour on non-finite input and the block validator.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "qkit/quant/k_dot.hpp"
#include "qkit/quant/k_quants.hpp"
#include "qkit/quant/ternary.hpp"
#include "support/golden.hpp"

namespace {

using qkit::Format;

uint64_t golden_row_bytes(uint32_t type, uint64_t n) { return qkit::row_bytes(qkit::format_from_gguf_type(type), n); }

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Index of the first differing byte, or -1.
long first_diff(const uint8_t* a, const uint8_t* b, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return static_cast<long>(i);
  return -1;
}

template <Format F>
void check_golden(const std::string& file) {
  using C = qkit::Codec<F>;
  const qkit::test::Qkgv g = qkit::test::load_qkgv(qkit::test::golden_path("quant/" + file), golden_row_bytes);
  REQUIRE(g.type == static_cast<uint32_t>(F));
  const int64_t n = g.n_per_row;
  const size_t rb = qkit::row_bytes(F, static_cast<uint64_t>(n));
  const float* imatrix = g.has_imatrix ? g.imatrix.data() : nullptr;

  // Quantized bytes, row by row (the row kind tells which input broke).
  std::vector<uint8_t> q(rb);
  for (uint32_t r = 0; r < g.n_rows; ++r) {
    C::quantize_row(g.input.data() + static_cast<size_t>(r) * n, q.data(), n, imatrix);
    const uint8_t* want = g.quantized.data() + static_cast<size_t>(r) * rb;
    const long at = first_diff(q.data(), want, rb);
    INFO(file << " row " << r << " (input kind " << r % 11 << "): first differing byte " << at << " of "
              << rb << " (block " << (at < 0 ? -1 : at / static_cast<long>(sizeof(typename C::Block))) << ")");
    CHECK(at == -1);
  }

  // Dequantization of the reference's bytes, bitwise.
  if (g.has_dequant) {
    std::vector<float> y(static_cast<size_t>(n));
    for (uint32_t r = 0; r < g.n_rows; ++r) {
      C::dequantize_row(g.quantized.data() + static_cast<size_t>(r) * rb, y.data(), n);
      const float* want = g.dequant.data() + static_cast<size_t>(r) * n;
      int64_t bad = -1;
      for (int64_t i = 0; i < n && bad < 0; ++i)
        if (bits(y[static_cast<size_t>(i)]) != bits(want[i])) bad = i;
      INFO(file << " dequant row " << r << ": first differing value " << bad);
      CHECK(bad == -1);
    }
  }

  // Dot products with the stored Q8_K activation.
  if constexpr (F != Format::Q8_K) {
    REQUIRE(g.vec_dot_type >= 0);
    REQUIRE(g.vec_dot_type == static_cast<int32_t>(Format::Q8_K));
    // The activation's quantization is Q8_K's reference quantizer too.
    std::vector<uint8_t> act_q(g.act_q.size());
    qkit::Codec<Format::Q8_K>::quantize_row(g.act.data(), act_q.data(), n, nullptr);
    CHECK(first_diff(act_q.data(), g.act_q.data(), act_q.size()) == -1);

    using Block = typename C::Block;
    const auto* act = reinterpret_cast<const qkit::BlockQ8K*>(g.act_q.data());
    for (uint32_t r = 0; r < g.n_rows; ++r) {
      const uint8_t* row = g.quantized.data() + static_cast<size_t>(r) * rb;
      const float got = qkit::quant::dot_q8k_row<F>(row, act, n);
      const float want = g.dots[r];
      // Relative 1e-5 of the magnitude of what was summed: the outlier rows
      // add block contributions of opposite sign that cancel to a small
      // result, and the reference's SIMD order (8 float lanes, separate
      // minima) then differs from the exact sum by more than 1e-5 of it.
      double magnitude = std::fabs(want);
      double sum_abs = 0;
      for (int64_t b = 0; b < n / qkit::kQK; ++b)
        sum_abs += std::fabs(qkit::quant::block_dot(reinterpret_cast<const Block*>(row)[b], act[b]));
      if (sum_abs > magnitude) magnitude = sum_abs;
      INFO(file << " dot row " << r << " (input kind " << r % 11 << "): got " << got << ", reference " << want
                << ", sum of |block contributions| " << sum_abs);
      CHECK(std::fabs(static_cast<double>(got) - want) <= 1e-5 * magnitude);
    }
  }
}

}  // namespace

TEST_CASE("q2_K matches the reference", "[quant][kquants][golden]") { check_golden<Format::Q2_K>("q2_K.qkgv"); }
TEST_CASE("q2_K with imatrix matches the reference", "[quant][kquants][golden]") {
  check_golden<Format::Q2_K>("q2_K-imatrix.qkgv");
}
TEST_CASE("q3_K matches the reference", "[quant][kquants][golden]") { check_golden<Format::Q3_K>("q3_K.qkgv"); }
TEST_CASE("q3_K with imatrix matches the reference", "[quant][kquants][golden]") {
  check_golden<Format::Q3_K>("q3_K-imatrix.qkgv");
}
TEST_CASE("q4_K matches the reference", "[quant][kquants][golden]") { check_golden<Format::Q4_K>("q4_K.qkgv"); }
TEST_CASE("q4_K with imatrix matches the reference", "[quant][kquants][golden]") {
  check_golden<Format::Q4_K>("q4_K-imatrix.qkgv");
}
TEST_CASE("q5_K matches the reference", "[quant][kquants][golden]") { check_golden<Format::Q5_K>("q5_K.qkgv"); }
TEST_CASE("q5_K with imatrix matches the reference", "[quant][kquants][golden]") {
  check_golden<Format::Q5_K>("q5_K-imatrix.qkgv");
}
TEST_CASE("q6_K matches the reference", "[quant][kquants][golden]") { check_golden<Format::Q6_K>("q6_K.qkgv"); }
TEST_CASE("q6_K with imatrix matches the reference", "[quant][kquants][golden]") {
  check_golden<Format::Q6_K>("q6_K-imatrix.qkgv");
}
TEST_CASE("q8_K matches the reference", "[quant][kquants][golden]") { check_golden<Format::Q8_K>("q8_K.qkgv"); }
TEST_CASE("tq1_0 matches the reference", "[quant][ternary][golden]") { check_golden<Format::TQ1_0>("tq1_0.qkgv"); }
TEST_CASE("tq1_0 with imatrix matches the reference", "[quant][ternary][golden]") {
  check_golden<Format::TQ1_0>("tq1_0-imatrix.qkgv");
}
TEST_CASE("tq2_0 matches the reference", "[quant][ternary][golden]") { check_golden<Format::TQ2_0>("tq2_0.qkgv"); }
TEST_CASE("tq2_0 with imatrix matches the reference", "[quant][ternary][golden]") {
  check_golden<Format::TQ2_0>("tq2_0-imatrix.qkgv");
}

// --- Bad input and bad data.

namespace {

std::vector<float> gaussian_row(size_t n, uint32_t seed) {
  // Small LCG + Box-Muller: deterministic, no <random> distribution differences.
  std::vector<float> x(n);
  uint32_t s = seed;
  auto uniform = [&s] {
    s = s * 1664525u + 1013904223u;
    return (static_cast<float>(s >> 8) + 0.5f) / 16777216.0f;
  };
  for (size_t i = 0; i < n; ++i) {
    const float u1 = uniform(), u2 = uniform();
    x[i] = std::sqrt(-2.0f * std::log(u1)) * std::cos(6.2831853f * u2);
  }
  return x;
}

template <Format F>
void check_rejects_non_finite(const char* name) {
  using C = qkit::Codec<F>;
  const int64_t n = 512;
  std::vector<uint8_t> q(qkit::row_bytes(F, n));
  const std::vector<float> imatrix(n, 1.0f);
  for (const float* im : {static_cast<const float*>(nullptr), imatrix.data()}) {
    std::vector<float> x = gaussian_row(n, 7);
    x[300] = std::numeric_limits<float>::quiet_NaN();
    INFO(name << (im ? " with imatrix" : ""));
    REQUIRE_THROWS_WITH(C::quantize_row(x.data(), q.data(), n, im),
                        Catch::Contains(name) && Catch::Contains("element 300") && Catch::Contains("NaN"));
    x[300] = 1.0f;
    x[7] = -std::numeric_limits<float>::infinity();
    REQUIRE_THROWS_WITH(C::quantize_row(x.data(), q.data(), n, im),
                        Catch::Contains("element 7") && Catch::Contains("Inf"));
  }
}

}  // namespace

TEST_CASE("weight quantizers reject NaN/Inf input naming the element", "[quant][kquants][ternary]") {
  check_rejects_non_finite<Format::Q2_K>("q2_K");
  check_rejects_non_finite<Format::Q3_K>("q3_K");
  check_rejects_non_finite<Format::Q4_K>("q4_K");
  check_rejects_non_finite<Format::Q5_K>("q5_K");
  check_rejects_non_finite<Format::Q6_K>("q6_K");
  check_rejects_non_finite<Format::TQ1_0>("tq1_0");
  check_rejects_non_finite<Format::TQ2_0>("tq2_0");
}

TEST_CASE("q8_K activation rule: a NaN/Inf block gets d = NaN and zero quants, others are unaffected",
          "[quant][kquants]") {
  using C = qkit::Codec<Format::Q8_K>;
  const int64_t n = 3 * qkit::kQK;
  const std::vector<float> clean = gaussian_row(static_cast<size_t>(n), 11);
  std::vector<qkit::BlockQ8K> want(3);
  C::quantize_act_row(clean.data(), want.data(), n);

  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                          std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()}) {
    std::vector<float> x = clean;
    x[qkit::kQK + 17] = bad;
    std::vector<qkit::BlockQ8K> got(3), again(3);
    C::quantize_act_row(x.data(), got.data(), n);
    C::quantize_row(x.data(), again.data(), n, nullptr);  // the same rule
    INFO("bad value " << bad);
    CHECK(std::memcmp(got.data(), again.data(), sizeof(qkit::BlockQ8K) * 3) == 0);
    CHECK(std::memcmp(&got[0], &want[0], sizeof(qkit::BlockQ8K)) == 0);
    CHECK(std::memcmp(&got[2], &want[2], sizeof(qkit::BlockQ8K)) == 0);
    CHECK(std::isnan(got[1].d));
    for (int j = 0; j < qkit::kQK; ++j) CHECK(got[1].qs[j] == 0);
    for (int j = 0; j < qkit::kQK / 16; ++j) CHECK(got[1].bsums[j] == 0);
    REQUIRE_THROWS_WITH(C::validate_blocks(got.data(), 3), Catch::Contains("q8_K block 1") && Catch::Contains("NaN"));
  }
}

namespace {

// A valid row passes; a NaN or Inf in each f16 scale field is reported with
// the block index and the field.
template <Format F>
void check_validate(const char* name, std::initializer_list<size_t> scale_offsets) {
  using C = qkit::Codec<F>;
  using Block = typename C::Block;
  const int64_t n = 4 * qkit::kQK;
  const std::vector<float> x = gaussian_row(static_cast<size_t>(n), 3);
  std::vector<Block> q(4);
  C::quantize_row(x.data(), q.data(), n, nullptr);
  REQUIRE_NOTHROW(C::validate_blocks(q.data(), 4));
  for (const size_t off : scale_offsets) {
    for (const uint16_t bits : {uint16_t{0x7e00}, uint16_t{0xfc00}, uint16_t{0x7c01}}) {
      std::vector<Block> bad = q;
      std::memcpy(reinterpret_cast<uint8_t*>(&bad[2]) + off, &bits, 2);
      INFO(name << " scale at byte " << off << " = 0x" << std::hex << bits);
      REQUIRE_THROWS_WITH(C::validate_blocks(bad.data(), 4),
                          Catch::Contains(std::string(name) + " block 2") &&
                              Catch::Contains((bits & 0x3ff) ? "NaN" : "Inf"));
      CHECK_NOTHROW(C::validate_blocks(bad.data(), 2));  // blocks before it are fine
    }
  }
}

}  // namespace

TEST_CASE("validate_blocks names the block whose scale is NaN/Inf", "[quant][kquants][ternary]") {
  check_validate<Format::Q2_K>("q2_K", {offsetof(qkit::BlockQ2K, d), offsetof(qkit::BlockQ2K, dmin)});
  check_validate<Format::Q3_K>("q3_K", {offsetof(qkit::BlockQ3K, d)});
  check_validate<Format::Q4_K>("q4_K", {offsetof(qkit::BlockQ4K, d), offsetof(qkit::BlockQ4K, dmin)});
  check_validate<Format::Q5_K>("q5_K", {offsetof(qkit::BlockQ5K, d), offsetof(qkit::BlockQ5K, dmin)});
  check_validate<Format::Q6_K>("q6_K", {offsetof(qkit::BlockQ6K, d)});
  check_validate<Format::TQ1_0>("tq1_0", {offsetof(qkit::BlockTQ1_0, d)});
  check_validate<Format::TQ2_0>("tq2_0", {offsetof(qkit::BlockTQ2_0, d)});

  // Q8_K's scale is an f32.
  std::vector<qkit::BlockQ8K> q(2);
  const std::vector<float> x = gaussian_row(2 * qkit::kQK, 5);
  qkit::Codec<Format::Q8_K>::quantize_act_row(x.data(), q.data(), 2 * qkit::kQK);
  REQUIRE_NOTHROW(qkit::Codec<Format::Q8_K>::validate_blocks(q.data(), 2));
  q[1].d = std::numeric_limits<float>::infinity();
  REQUIRE_THROWS_WITH(qkit::Codec<Format::Q8_K>::validate_blocks(q.data(), 2),
                      Catch::Contains("q8_K block 1") && Catch::Contains("Inf"));
}

TEST_CASE("K-quant rows must hold a multiple of 256 values", "[quant][kquants][ternary]") {
  std::vector<float> x(300, 1.0f);
  std::vector<uint8_t> q(4096);
  CHECK_THROWS_WITH(qkit::Codec<Format::Q4_K>::quantize_row(x.data(), q.data(), 300, nullptr),
                    Catch::Contains("q4_K") && Catch::Contains("300"));
  CHECK_THROWS_WITH(qkit::Codec<Format::TQ2_0>::dequantize_row(q.data(), x.data(), 100), Catch::Contains("tq2_0"));
}

// --- Exhaustive checks of the packings (small spaces).

TEST_CASE("tq1_0 base-3 packing round-trips every trit combination", "[quant][ternary]") {
  // 5 trits per byte (qs) and 4 per byte (qh) through the reference's
  // ceil(v * 256 / 243) encoding and multiply-by-3 decoding.
  for (int n_trits : {4, 5}) {
    int combos = 1;
    for (int k = 0; k < n_trits; ++k) combos *= 3;
    for (int c = 0; c < combos; ++c) {
      float x[5];
      int t[5];
      for (int k = n_trits - 1, v = c; k >= 0; --k, v /= 3) t[k] = v % 3 - 1;
      for (int k = 0; k < n_trits; ++k) x[k] = static_cast<float>(t[k]);
      const uint8_t byte = qkit::quant::pack_trits(x, 1, n_trits, 1.0f);
      for (int k = 0; k < n_trits; ++k) {
        INFO(n_trits << " trits, combination " << c << ", trit " << k);
        CHECK(qkit::quant::unpack_trit(byte, k) == t[k]);
      }
    }
  }
}

TEST_CASE("K-quant sub-block scale packings round-trip every value", "[quant][kquants]") {
  // Q4_K/Q5_K: 8 six-bit (scale, min) pairs in 12 bytes.
  for (int v = 0; v < 64; ++v) {
    for (int j = 0; j < 8; ++j) {
      uint8_t ls[8], lm[8], packed[12];
      for (int k = 0; k < 8; ++k) {
        ls[k] = static_cast<uint8_t>((v + 7 * k) % 64);
        lm[k] = static_cast<uint8_t>((63 - v + 5 * k) % 64);
      }
      qkit::quant::set_scales_mins_k4(ls, lm, packed);
      uint8_t sc, m;
      qkit::quant::get_scale_min_k4(j, packed, &sc, &m);
      CHECK(sc == ls[j]);
      CHECK(m == lm[j]);
    }
  }
  // Q3_K: 16 biased six-bit scales in 12 bytes.
  for (int v = 0; v < 64; ++v) {
    int l[16];
    uint8_t packed[12];
    for (int k = 0; k < 16; ++k) l[k] = (v + 11 * k) % 64;
    qkit::quant::set_scales_q3k(l, packed);
    for (int j = 0; j < 16; ++j) CHECK(qkit::quant::get_scale_q3k(packed, j) == l[j] - 32);
  }
}
