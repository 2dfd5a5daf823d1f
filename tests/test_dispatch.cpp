// Runtime dispatch: target detection, forcing, and a dispatched kernel on
// every target against its scalar reference.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "qkit/qkit.hpp"
#include "support/targets.hpp"

using namespace qkit;

TEST_CASE("the chosen target is the best supported one, or the one the test run expects", "[dispatch]") {
  const int64_t chosen = cpu::chosen_target();
  REQUIRE((cpu::detected_targets() & chosen) != 0);
  REQUIRE(cpu::supported_targets().front() == chosen);
  // Cross runs under qemu set QKIT_EXPECT_TARGET per emulated CPU.
  if (const char* expect = std::getenv("QKIT_EXPECT_TARGET")) {
    INFO("features: " << cpu::features().describe());
    REQUIRE(std::string(cpu::target_name(chosen)) == expect);
  }
#if defined(__x86_64__)
  // This project's machines are Zen 5: make sure detection does not regress
  // to a lesser target where the CPU has AVX-512 VNNI.
  if (cpu::features().avx512vnni && cpu::features().avx512vbmi2) REQUIRE(chosen == HWY_AVX3_DL);
#endif
}

TEST_CASE("every entry point resolves to a variant of the chosen target", "[dispatch]") {
  const std::string target = cpu::target_name(cpu::chosen_target());
  const auto eps = kernels::entry_points();
  REQUIRE(!eps.empty());
  for (const auto& ep : eps) {
    INFO(ep.name);
    REQUIRE(ep.variant.rfind(target, 0) == 0);
  }
}

TEST_CASE("forcing targets: by API, scoped, and rejecting unsupported ones", "[dispatch]") {
  const int64_t best = cpu::chosen_target();
  {
    cpu::ScopedTarget s(cpu::kFallbackTarget);
    REQUIRE(cpu::chosen_target() == cpu::kFallbackTarget);
    REQUIRE(std::string(kernels::entry_points().front().variant) == cpu::target_name(cpu::kFallbackTarget));
  }
  REQUIRE(cpu::chosen_target() == best);
  // A target of the other architecture is never supported here.
#if defined(__x86_64__)
  REQUIRE_THROWS_AS(cpu::parse_selection("neon"), Error);
  REQUIRE_THROWS_AS(cpu::set_target_mask(HWY_NEON), Error);
#else
  REQUIRE_THROWS_AS(cpu::parse_selection("avx2"), Error);
#endif
  REQUIRE_THROWS_AS(cpu::parse_selection("no_such_target"), Error);
  REQUIRE_THROWS_AS(cpu::parse_selection("-no_such_fastpath"), Error);
  const auto sel = cpu::parse_selection("scalar,-vnni,-bf16");
  REQUIRE(sel.targets == cpu::kFallbackTarget);
  REQUIRE((sel.fast_paths & (cpu::kFastVnni | cpu::kFastBf16)) == 0);
}

TEST_CASE("dot_f32 matches a double-precision reference on every target, all tails", "[dispatch][dot]") {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist;
  std::vector<float> a(300), b(300);
  for (auto& v : a) v = dist(rng);
  for (auto& v : b) v = dist(rng);
  test::for_each_target([&](int64_t) {
    for (size_t n = 0; n <= a.size(); n += (n < 70 ? 1 : 23)) {
      double ref = 0, mag = 0;
      for (size_t i = 0; i < n; ++i) {
        ref += double(a[i]) * b[i];
        mag += std::fabs(double(a[i]) * b[i]);
      }
      INFO("n = " << n);
      REQUIRE(std::fabs(dot_f32(a.data(), b.data(), n) - ref) <= 1e-6 * mag + 1e-30);
    }
  });
}

TEST_CASE("f16 -> f32 is exact for all 65536 halves on every target", "[dispatch][convert]") {
  std::vector<uint16_t> bits(65536);
  for (uint32_t i = 0; i < 65536; ++i) bits[i] = static_cast<uint16_t>(i);
  std::vector<float> out(65536);
  test::for_each_target([&](int64_t) {
    f16_to_f32(reinterpret_cast<const f16*>(bits.data()), out.data(), bits.size());
    for (uint32_t i = 0; i < 65536; ++i) {
      const float ref = f16_to_f32(static_cast<uint16_t>(i));
      if (std::isnan(ref)) {
        REQUIRE(std::isnan(out[i]));
      } else if (f32_bits(out[i]) != f32_bits(ref)) {
        FAIL("half 0x" << std::hex << i << " -> " << out[i] << " expected " << ref);
      }
    }
  });
}

TEST_CASE("f16 round trip and rounding: scalar conversions are exact inverses on all halves", "[convert]") {
  for (uint32_t i = 0; i < 65536; ++i) {
    const float f = f16_to_f32(static_cast<uint16_t>(i));
    if (std::isnan(f)) {
      REQUIRE((f32_to_f16(f) & 0x7c00u) == 0x7c00u);
      REQUIRE((f32_to_f16(f) & 0x3ffu) != 0);
      continue;
    }
    REQUIRE(f32_to_f16(f) == i);
  }
  // Ties go to even; just past the largest half rounds to Inf, below it to 65504.
  REQUIRE(f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00);
  REQUIRE(f32_to_f16(1.0f + 3.0f / 2048) == 0x3c02);
  REQUIRE(f32_to_f16(65519.0f) == 0x7bff);
  REQUIRE(f32_to_f16(65520.0f) == 0x7c00);
  REQUIRE(f32_to_f16(-1e9f) == 0xfc00);
  REQUIRE(f32_to_f16(2.98023224e-8f) == 0x0000);  // exactly half the smallest subnormal: tie to even 0
  REQUIRE(f32_to_f16(2.98023259e-8f) == 0x0001);
}

TEST_CASE("f32 -> f16 and bf16 on every target equal the scalar rounding", "[dispatch][convert]") {
  std::mt19937 rng(11);
  std::vector<float> src;
  // Every f32 whose upper 16 bits vary and lower bits hit the rounding edges.
  for (uint32_t hi = 0; hi < 65536; hi += 1) {
    for (uint32_t lo : {0x0000u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu}) src.push_back(f32_from_bits((hi << 16) | lo));
  }
  for (int i = 0; i < 4096; ++i) src.push_back(f32_from_bits(rng()));
  std::vector<uint16_t> h(src.size()), b(src.size());
  test::for_each_target([&](int64_t) {
    f32_to_f16(src.data(), reinterpret_cast<f16*>(h.data()), src.size());
    f32_to_bf16(src.data(), reinterpret_cast<bf16*>(b.data()), src.size());
    size_t bad_h = 0, bad_b = 0;
    for (size_t i = 0; i < src.size(); ++i) {
      bad_h += h[i] != f32_to_f16(src[i]);
      bad_b += b[i] != f32_to_bf16(src[i]);
    }
    REQUIRE(bad_h == 0);
    REQUIRE(bad_b == 0);
    std::vector<float> back(src.size());
    bf16_to_f32(reinterpret_cast<const bf16*>(b.data()), back.data(), src.size());
    for (size_t i = 0; i < src.size(); ++i) REQUIRE(f32_bits(back[i]) == (uint32_t(b[i]) << 16));
  });
}
