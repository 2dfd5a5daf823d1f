// The speed-ups of the scalar reference quantizers against the plain code
// they replace (the golden tests prove the codecs end to end; these pin the
// pieces, including inputs the golden files may not reach):
//  - quant::round_half_away against std::round: every float of magnitude in
//    [2^-2, 2^8) (a 1-in-17 sample under qemu), ties, +-0, subnormals;
//  - the lane-parallel scale searches (search_lanes.hpp: make_qx_quants_x8,
//    make_qkx2_quants_x8, make_qkx3_quants_x8; iq4.hpp: iq4_sub_scale_x8)
//    against eight calls of the scalar search, on gaussian, uniform,
//    constant, all-zero, one-sign and tiny groups, with each search's
//    parameters as the codecs use them;
//  - iq4_indices (table lookup by floor(2x)) against best_index_int8 around
//    every midpoint, on a dense sweep and at the non-finite ends.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "qkit/quant/registry.hpp"
#include "qkit/quant/search_lanes.hpp"

using namespace qkit;

namespace {

float bits_to_float(uint32_t u) { return f32_from_bits(u); }

// Fills 8 groups of n values with one of several shapes (by `kind`).
void fill_groups(std::mt19937& rng, int kind, int n, float* x) {
  std::normal_distribution<float> g(0.f, 1.f);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int k = 0; k < 8; ++k) {
    const int shape = (kind + k) % 8;
    for (int i = 0; i < n; ++i) {
      float v;
      switch (shape) {
        case 0: v = g(rng); break;
        case 1: v = 0.02f * g(rng); break;
        case 2: v = u(rng); break;
        case 3: v = 0.f; break;                    // all zero
        case 4: v = 0.5f; break;                   // constant positive
        case 5: v = std::fabs(g(rng)) + 1.f; break;  // one sign, away from 0
        case 6: v = -std::fabs(g(rng)); break;    // all <= 0
        default: v = 1e-30f * g(rng); break;       // tiny
      }
      x[k * n + i] = v;
    }
  }
}

}  // namespace

TEST_CASE("round_half_away equals std::round", "[quant][fast]") {
  const uint32_t stride = std::getenv("QEMU_CPU") ? 17u : 1u;
  // |v| in [2^-2, 2^8): exponent fields 125..134.
  uint64_t mismatches = 0;
  for (uint32_t u = 125u << 23; u < 135u << 23; u += stride) {
    for (uint32_t sign : {0u, 0x80000000u}) {
      const float v = bits_to_float(u | sign);
      if (quant::round_half_away(v) != static_cast<int>(std::round(v))) ++mismatches;
    }
  }
  CHECK(mismatches == 0);
  // Ties, their neighbours, zeros, subnormals and the edge of the valid range.
  std::vector<float> edge = {0.f, -0.f, 1e-45f, -1e-45f, 1e-38f, 0.49999997f, 0.5f, 1.5f, 2.5f, 126.5f, 127.5f,
                             4194302.5f, 4194303.f, 8388607.f * 0.5f};
  for (int k = -300; k <= 300; ++k) {
    const float t = static_cast<float>(k) + 0.5f;
    edge.push_back(t);
    edge.push_back(std::nextafter(t, 0.f));
    edge.push_back(std::nextafter(t, 1e9f));
    edge.push_back(std::nextafter(t, -1e9f));
  }
  for (float e : edge) {
    for (float v : {e, -e}) {
      INFO("v = " << v);
      CHECK(quant::round_half_away(v) == static_cast<int>(std::round(v)));
    }
  }
  // -0.0 rounds to -0.0 in roundf; as an integer both are 0.
  CHECK(quant::round_half_away(-0.f) == 0);
}

TEST_CASE("make_qkx2_quants_x8 and make_qkx3_quants_x8 equal eight scalar searches", "[quant][fast]") {
  struct Params {
    bool qkx3;
    int n, nmax;
    float rmin, rdelta;
    int nstep;
    bool use_mad;
  };
  // As the codecs call them: Q4_K, Q5_K, Q2_K plain; the importance paths of
  // Q4_K/Q5_K/Q4_1/Q5_1 (n 32) and Q2_K (n 16); and no refinement steps.
  const Params params[] = {{false, 32, 15, -1.f, 0.1f, 20, false}, {false, 32, 31, -0.5f, 0.1f, 15, false},
                           {false, 16, 3, -0.5f, 0.1f, 15, true},  {false, 32, 15, -1.f, 0.1f, 0, false},
                           {true, 32, 15, -0.9f, 0.05f, 36, false}, {true, 32, 31, -0.9f, 0.05f, 36, false},
                           {true, 16, 3, -0.9f, 0.05f, 36, false},  {true, 32, 15, -0.9f, 0.05f, 0, false}};
  std::mt19937 rng(42);
  for (const Params& p : params) {
    for (int trial = 0; trial < 300; ++trial) {
      float x[256], w[256];
      fill_groups(rng, trial, p.n, x);
      for (int i = 0; i < 8 * p.n; ++i) w[i] = trial % 2 ? std::fabs(x[i]) : 0.3f + std::fabs(x[i]);
      uint8_t L1[256], L2[256], Laux[32];
      float s1[8], m1[8], s2[8], m2[8];
      for (int k = 0; k < 8; ++k) {
        const float* xk = x + k * p.n;
        const float* wk = w + k * p.n;
        s1[k] = p.qkx3 ? quant::make_qkx3_quants(p.n, p.nmax, xk, wk, L1 + k * p.n, &m1[k], Laux, p.rmin, p.rdelta,
                                                 p.nstep, p.use_mad)
                       : quant::make_qkx2_quants(p.n, p.nmax, xk, wk, L1 + k * p.n, &m1[k], Laux, p.rmin, p.rdelta,
                                                 p.nstep, p.use_mad);
      }
      if (p.qkx3) {
        quant::make_qkx3_quants_x8(p.n, p.nmax, x, w, p.n, L2, s2, m2, p.rmin, p.rdelta, p.nstep, p.use_mad);
      } else {
        quant::make_qkx2_quants_x8(p.n, p.nmax, x, w, p.n, L2, s2, m2, p.rmin, p.rdelta, p.nstep, p.use_mad);
      }
      for (int k = 0; k < 8; ++k) {
        INFO("qkx3 " << p.qkx3 << " n " << p.n << " nmax " << p.nmax << " trial " << trial << " group " << k);
        CHECK(f32_bits(s1[k]) == f32_bits(s2[k]));
        CHECK(f32_bits(m1[k]) == f32_bits(m2[k]));
        CHECK(std::memcmp(L1 + k * p.n, L2 + k * p.n, static_cast<size_t>(p.n)) == 0);
      }
    }
  }
}

TEST_CASE("make_qx_quants_x8 equals eight scalar searches", "[quant][fast]") {
  // Q6_K (n 16, nmax 32), Q3_K's importance path (16, 4), Q4_0/Q5_0's (32, 8 / 16).
  const int shapes[][2] = {{16, 32}, {16, 4}, {32, 8}, {32, 16}};
  std::mt19937 rng(7);
  for (const auto& sh : shapes) {
    const int n = sh[0], nmax = sh[1];
    for (int trial = 0; trial < 300; ++trial) {
      float x[256], w[256];
      fill_groups(rng, trial, n, x);
      // rmse_type 1's x^2 weights, or importance-like positive weights.
      for (int i = 0; i < 8 * n; ++i) w[i] = trial % 2 ? quant::product(x[i], x[i]) : 0.1f + std::fabs(x[i]);
      int8_t L1[256], L2[256];
      float s1[8], s2[8];
      for (int k = 0; k < 8; ++k) s1[k] = quant::make_qx_quants(n, nmax, x + k * n, L1 + k * n, 1, w + k * n);
      quant::make_qx_quants_x8(n, nmax, x, w, n, L2, s2);
      for (int k = 0; k < 8; ++k) {
        INFO("n " << n << " nmax " << nmax << " trial " << trial << " group " << k);
        CHECK(f32_bits(s1[k]) == f32_bits(s2[k]));
        CHECK(std::memcmp(L1 + k * n, L2 + k * n, static_cast<size_t>(n)) == 0);
      }
    }
  }
}

TEST_CASE("iq4_sub_scale_x8 equals eight scalar searches", "[quant][fast]") {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 400; ++trial) {
    float x[256], w[256];
    fill_groups(rng, trial, 32, x);
    quant::iq4_weights(256, x, nullptr, w);
    if (trial % 2) {
      std::vector<float> qw(256);
      for (auto& v : qw) v = std::uniform_real_distribution<float>(0.01f, 3.f)(rng);
      quant::iq4_weights(256, x, qw.data(), w);
    }
    float d1[8], d2[8];
    for (int k = 0; k < 8; ++k) d1[k] = quant::iq4_sub_scale(x + 32 * k, w + 32 * k);
    quant::iq4_sub_scale_x8(x, w, d2);
    for (int k = 0; k < 8; ++k) {
      INFO("trial " << trial << " group " << k);
      CHECK(f32_bits(d1[k]) == f32_bits(d2[k]));
    }
  }
}

TEST_CASE("iq4_indices equals best_index_int8", "[quant][fast]") {
  // Values around every midpoint of the level table (2x = val[j-1] + val[j]),
  // a dense sweep, and the non-finite / out-of-range ends.
  std::vector<float> xs;
  for (int j = 1; j < 16; ++j) {
    float m = 0.5f * static_cast<float>(kIQ4Values[j - 1] + kIQ4Values[j]);
    float a = m, b = m;
    for (int k = 0; k < 8; ++k) {
      xs.push_back(a);
      xs.push_back(b);
      a = std::nextafter(a, -1e9f);
      b = std::nextafter(b, 1e9f);
    }
  }
  for (int k = -300000; k <= 300000; ++k) xs.push_back(static_cast<float>(k) * 0.001f);
  for (float v : {0.f, -0.f, 1e-40f, 151.f, -151.f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN}) xs.push_back(v);
  while (xs.size() % 4) xs.push_back(0.f);
  for (float id : {1.f, 0.37f, -2.5f, 0.f}) {
    std::vector<uint8_t> L(xs.size());
    quant::iq4_indices(xs.data(), id, static_cast<int>(xs.size()), L.data());
    size_t bad = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      if (L[i] != quant::best_index_int8(16, kIQ4Values, id * xs[i])) ++bad;
    }
    INFO("id " << id);
    CHECK(bad == 0);
  }
}
