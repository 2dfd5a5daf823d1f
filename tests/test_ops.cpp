// Transformer ops (norms, activations, softmax, RoPE) and the vector math
// under them: every op on every target against a double-precision
// reference, with the error bounds documented in the headers.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "qkit/kernels/activation.hpp"
#include "qkit/kernels/norm.hpp"
#include "qkit/kernels/rope.hpp"
#include "support/targets.hpp"

using namespace qkit;
using qkit::test::for_each_target;

namespace {

std::vector<float> random_floats(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<float> sweep(float lo, float hi, size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * static_cast<float>(i) / static_cast<float>(n - 1);
  return v;
}

// Row lengths with tails for every vector width.
const size_t kLengths[] = {1, 3, 8, 17, 64, 127, 3072};

// 0.5 x (1 + tanh(u)) written as x * sigmoid(2u): the same function,
// without the cancellation that makes 1 + tanh(u) worthless for x < -9.
double gelu_tanh_ref(double x) {
  const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
  return x / (1.0 + std::exp(-2.0 * u));
}
double gelu_erf_ref(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double silu_ref(double x) { return x / (1.0 + std::exp(-x)); }

}  // namespace

TEST_CASE("vector exp has relative error <= 3e-7 and exact limits", "[ops][math]") {
  const auto x = sweep(-87.0f, 88.7f, 200001);
  std::vector<float> y(x.size());
  for_each_target([&](int64_t) {
    exp_row(x.data(), y.data(), x.size());
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double ref = std::exp(static_cast<double>(x[i]));
      worst = std::max(worst, std::fabs(y[i] - ref) / ref);
    }
    INFO("max relative error " << worst);
    CHECK(worst <= 3e-7);
    const float inf = std::numeric_limits<float>::infinity();
    const float special[] = {-inf, -1000.0f, -104.0f, 0.0f, 89.0f, inf, std::nanf("")};
    float out[7];
    exp_row(special, out, 7);
    CHECK(out[0] == 0.0f);
    CHECK(out[1] == 0.0f);
    CHECK(out[2] == 0.0f);
    CHECK(out[3] == 1.0f);
    CHECK(out[4] == inf);
    CHECK(out[5] == inf);
    CHECK(std::isnan(out[6]));
    // Subnormal results stay close in absolute terms.
    const auto xs = sweep(-103.0f, -87.0f, 1001);
    std::vector<float> ys(xs.size());
    exp_row(xs.data(), ys.data(), xs.size());
    for (size_t i = 0; i < xs.size(); ++i) REQUIRE(std::fabs(ys[i] - std::exp(static_cast<double>(xs[i]))) < 2e-45 + 3e-7 * std::exp(static_cast<double>(xs[i])));
  });
}

TEST_CASE("vector tanh and erf have absolute error <= 3e-7 / 5e-7", "[ops][math]") {
  const auto x = sweep(-12.0f, 12.0f, 200001);
  std::vector<float> t(x.size()), e(x.size());
  for_each_target([&](int64_t) {
    tanh_row(x.data(), t.data(), x.size());
    erf_row(x.data(), e.data(), x.size());
    double wt = 0, we = 0, wrel_small = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double xd = x[i];
      wt = std::max(wt, std::fabs(t[i] - std::tanh(xd)));
      we = std::max(we, std::fabs(e[i] - std::erf(xd)));
      if (std::fabs(xd) < 0.625 && xd != 0) wrel_small = std::max(wrel_small, std::fabs(t[i] - std::tanh(xd)) / std::fabs(std::tanh(xd)));
    }
    INFO("tanh abs " << wt << ", tanh rel (|x| < 0.625) " << wrel_small << ", erf abs " << we);
    CHECK(wt <= 3e-7);
    CHECK(wrel_small <= 1e-6);
    CHECK(we <= 5e-7);
  });
}

TEST_CASE("SiLU, GELU (tanh and erf) match their formulas", "[ops][activation]") {
  const auto x = sweep(-30.0f, 30.0f, 20001);
  std::vector<float> y(x.size());
  for_each_target([&](int64_t) {
    silu(x.data(), y.data(), x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      const double ref = silu_ref(x[i]);
      REQUIRE(std::fabs(y[i] - ref) <= 1e-6 * std::fabs(ref) + 1e-37);
    }
    gelu_tanh(x.data(), y.data(), x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      const double ref = gelu_tanh_ref(x[i]);
      // The f32 exponent 2u (up to ~90 before the result underflows)
      // carries its own rounding into the relative error of e^-2u.
      const double u2 = 2 * 0.7978845608 * std::fabs(x[i] + 0.044715 * x[i] * x[i] * x[i]);
      INFO("x = " << x[i]);
      REQUIRE(std::fabs(y[i] - ref) <= (1e-6 + 4e-7 * u2) * std::fabs(ref) + 1e-37);
    }
    gelu_erf(x.data(), y.data(), x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      INFO("x = " << x[i]);
      REQUIRE(std::fabs(y[i] - gelu_erf_ref(x[i])) <= 4e-7 * std::fabs(x[i]) + 1e-30);
    }
    // In place, and every tail length.
    for (size_t n : kLengths) {
      auto v = random_floats(n, -5, 5, 7);
      const auto ref = v;
      silu(v.data(), v.data(), n);
      for (size_t i = 0; i < n; ++i) REQUIRE(std::fabs(v[i] - silu_ref(ref[i])) <= 1e-6 * std::fabs(silu_ref(ref[i])) + 1e-37);
    }
  });
}

TEST_CASE("SwiGLU takes gate from the first half and up from the second", "[ops][activation]") {
  for_each_target([&](int64_t) {
    for (size_t n : kLengths) {
      const size_t rows = 3;
      const auto gu = random_floats(rows * 2 * n, -6, 6, static_cast<uint32_t>(n));
      std::vector<float> out(rows * n);
      swiglu(gu.data(), out.data(), rows, n);
      for (size_t r = 0; r < rows; ++r)
        for (size_t i = 0; i < n; ++i) {
          const double ref = silu_ref(gu[r * 2 * n + i]) * gu[r * 2 * n + n + i];
          REQUIRE(std::fabs(out[r * n + i] - ref) <= 2e-6 * std::fabs(ref) + 1e-30);
        }
    }
  });
}

TEST_CASE("softmax: large logits, -inf masks, temperature, all-masked rows", "[ops][softmax]") {
  const float inf = std::numeric_limits<float>::infinity();
  for_each_target([&](int64_t) {
    for (size_t n : kLengths) {
      for (float temp : {1.0f, 0.7f, 2.5f}) {
        auto x = random_floats(n, -20, 20, static_cast<uint32_t>(n * 3));
        for (size_t i = 0; i < n; i += 3) x[i] += 1e4f;  // would overflow e^x unshifted
        for (size_t i = 1; i < n; i += 4) x[i] = -inf;   // masked
        std::vector<float> y(n);
        softmax(x.data(), y.data(), 1, n, temp);
        double m = -HUGE_VAL;
        for (float v : x) m = std::max(m, static_cast<double>(v));
        double sum = 0;
        for (float v : x) sum += std::exp((v - m) / temp);
        double total = 0;
        for (size_t i = 0; i < n; ++i) {
          const double ref = std::exp((x[i] - m) / temp) / sum;
          REQUIRE(std::isfinite(y[i]));
          if (x[i] == -inf) {
            REQUIRE(y[i] == 0.0f);
            continue;
          }
          // x / temp and the shift are f32: the exponent's own rounding
          // (|x|/temp * 1.2e-7) becomes a relative error of the result.
          const double arg_err = 1.2e-7 * (std::fabs(x[i]) + std::fabs(m)) / temp;
          REQUIRE(std::fabs(y[i] - ref) <= (2e-6 + arg_err) * ref + 1e-38);
          total += y[i];
        }
        REQUIRE(std::fabs(total - 1.0) < 1e-5);
      }
    }
    float all_masked[5] = {-inf, -inf, -inf, -inf, -inf};
    softmax(all_masked, all_masked, 1, 5);
    for (float v : all_masked) REQUIRE(v == 0.0f);
  });
  REQUIRE_THROWS_AS(softmax(nullptr, nullptr, 0, 0, 0.0f), qkit::Error);
}

TEST_CASE("RMSNorm and LayerNorm match a double reference; add adds", "[ops][norm]") {
  for_each_target([&](int64_t) {
    for (size_t n : kLengths) {
      const size_t rows = 3;
      auto x = random_floats(rows * n, -3, 3, static_cast<uint32_t>(n + 11));
      for (size_t i = 0; i < x.size(); i += 5) x[i] += 2.0f;  // a mean to subtract
      const auto w = random_floats(n, 0.5f, 1.5f, 3);
      const auto b = random_floats(n, -1, 1, 4);
      std::vector<float> y(rows * n), z(rows * n);
      const float eps = 1e-5f;
      rms_norm(x.data(), w.data(), y.data(), rows, n, eps);
      layer_norm(x.data(), w.data(), b.data(), z.data(), rows, n, eps);
      for (size_t r = 0; r < rows; ++r) {
        const float* xr = &x[r * n];
        double ss = 0, mean = 0;
        for (size_t i = 0; i < n; ++i) ss += static_cast<double>(xr[i]) * xr[i], mean += xr[i];
        mean /= static_cast<double>(n);
        double var = 0;
        for (size_t i = 0; i < n; ++i) var += (xr[i] - mean) * (xr[i] - mean);
        var /= static_cast<double>(n);
        const double rs = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
        const double ls = 1.0 / std::sqrt(var + eps);
        for (size_t i = 0; i < n; ++i) {
          const double ry = xr[i] * rs * w[i];
          const double lz = (xr[i] - mean) * ls * w[i] + b[i];
          REQUIRE(std::fabs(y[r * n + i] - ry) <= 1e-5 * (std::fabs(ry) + 1e-3));
          REQUIRE(std::fabs(z[r * n + i] - lz) <= 1e-5 * (std::fabs(lz) + std::fabs(b[i]) + 1e-3));
        }
      }
      // In place with no weight equals the weighted one divided by w.
      auto xi = x;
      rms_norm(xi.data(), nullptr, xi.data(), rows, n, eps);
      for (size_t i = 0; i < xi.size(); ++i) REQUIRE(std::fabs(xi[i] * w[i % n] - y[i]) <= 1e-6 * (std::fabs(y[i]) + 1e-3));
      std::vector<float> s(n);
      add(x.data(), w.data(), s.data(), n);
      for (size_t i = 0; i < n; ++i) REQUIRE(s[i] == x[i] + w[i]);
    }
  });
}

namespace {

// The RoPE formula in double: theta_i = freq_scale * pos * base^(-2i/n_rot)
// / factor_i (ext_factor 0), cos and sin scaled by attn_factor.
void rope_ref(std::vector<double>& x, size_t n_tokens, size_t n_head, const int32_t* pos, const RopeParams& p) {
  const size_t nr = p.n_rot ? p.n_rot : p.head_dim;
  for (size_t t = 0; t < n_tokens; ++t)
    for (size_t h = 0; h < n_head; ++h) {
      double* xh = &x[(t * n_head + h) * p.head_dim];
      for (size_t i = 0; i < nr / 2; ++i) {
        double theta = pos[t] * std::pow(static_cast<double>(p.freq_base), -2.0 * i / nr) * p.freq_scale;
        if (p.freq_factors) theta /= p.freq_factors[i];
        const double c = std::cos(theta) * p.attn_factor, s = std::sin(theta) * p.attn_factor;
        const size_t a = p.neox ? i : 2 * i, b = p.neox ? i + nr / 2 : 2 * i + 1;
        const double x0 = xh[a], x1 = xh[b];
        xh[a] = x0 * c - x1 * s;
        xh[b] = x0 * s + x1 * c;
      }
    }
}

}  // namespace

TEST_CASE("RoPE: NeoX and normal, partial rotary, LongRoPE factors, attention factor", "[ops][rope]") {
  struct Case {
    size_t head_dim, n_rot;
    bool neox;
    bool factors;
    float attn_factor, freq_base;
  };
  const Case cases[] = {
      {96, 0, true, false, 1.0f, 10000.0f},     // Phi-3-mini
      {96, 0, true, true, 1.19f, 10000.0f},     // Phi-3-mini-128k LongRoPE
      {80, 32, true, false, 1.0f, 10000.0f},    // Phi-2 partial rotary
      {128, 96, true, true, 1.19f, 250000.0f},  // Phi-4-mini: partial + factors
      {64, 0, false, false, 1.0f, 10000.0f},    // normal (GPT-J) style
      {64, 24, false, true, 0.9f, 500000.0f},
      {6, 6, false, false, 1.0f, 100.0f},       // tiny: scalar tails only
  };
  const int32_t pos[] = {0, 1, 7, 100, 1023, 4000};
  const size_t n_tokens = 6, n_head = 3;
  for_each_target([&](int64_t) {
    for (const Case& c : cases) {
      RopeParams p;
      p.head_dim = c.head_dim;
      p.n_rot = c.n_rot;
      p.neox = c.neox;
      p.freq_base = c.freq_base;
      p.attn_factor = c.attn_factor;
      const size_t nr = c.n_rot ? c.n_rot : c.head_dim;
      std::vector<float> factors(nr / 2);
      // LongRoPE factors grow with the dimension (long: 1 .. ~60).
      for (size_t i = 0; i < nr / 2; ++i) factors[i] = 1.0f + 59.0f * static_cast<float>(i * i) / static_cast<float>(nr * nr / 4);
      if (c.factors) p.freq_factors = factors.data();
      auto x = random_floats(n_tokens * n_head * c.head_dim, -2, 2, static_cast<uint32_t>(c.head_dim + nr));
      std::vector<double> ref(x.begin(), x.end());
      rope_ref(ref, n_tokens, n_head, pos, p);
      rope(x.data(), n_tokens, n_head, pos, p);
      for (size_t t = 0; t < n_tokens; ++t)
        for (size_t k = 0; k < n_head * c.head_dim; ++k) {
          const size_t i = t * n_head * c.head_dim + k;
          // The float angle pos * base^(-2i/n) carries ~n_rot/2 roundings of
          // relative size 6e-8 (ggml builds it by repeated products).
          const double tol = 2e-6 + 4e-8 * static_cast<double>(nr) * pos[t];
          INFO("head_dim " << c.head_dim << " n_rot " << nr << " neox " << c.neox << " token " << t << " dim " << k % c.head_dim);
          REQUIRE(std::fabs(x[i] - ref[i]) <= tol * 3 * c.attn_factor);
          if (k % c.head_dim >= nr) REQUIRE(x[i] == static_cast<float>(ref[i]));  // untouched dims are exact
        }
    }
  });
  RopeParams bad;
  bad.head_dim = 64;
  bad.n_rot = 65;
  float x[64] = {};
  const int32_t p0 = 0;
  REQUIRE_THROWS_AS(rope(x, 1, 1, &p0, bad), qkit::Error);
}

TEST_CASE("RoPE with YaRN ext_factor follows ggml's ramp", "[ops][rope]") {
  // ext_factor 1, freq_scale 1/4: low dims (fast) keep theta_extrap, high
  // dims (slow) are interpolated; mscale grows by 1 + 0.1 ln 4.
  RopeParams p;
  p.head_dim = 64;
  p.freq_scale = 0.25f;
  p.ext_factor = 1.0f;
  p.n_ctx_orig = 4096;
  std::vector<float> c(32), s(32);
  rope_cos_sin(p, 1000, c.data(), s.data());
  const double mscale = 1.0 + 0.1 * std::log(4.0);
  const double lo = std::max(0.0, std::floor(64 * std::log(4096 / (32 * 2 * M_PI)) / (2 * std::log(10000.0))));
  const double hi = std::min(63.0, std::ceil(64 * std::log(4096 / (1 * 2 * M_PI)) / (2 * std::log(10000.0))));
  for (size_t i = 0; i < 32; ++i) {
    const double extrap = 1000 * std::pow(10000.0, -2.0 * i / 64);
    const double ramp = 1 - std::min(1.0, std::max(0.0, (i - lo) / std::max(0.001, hi - lo)));
    const double theta = extrap * 0.25 * (1 - ramp) + extrap * ramp;
    INFO("pair " << i);
    REQUIRE(std::fabs(c[i] - std::cos(theta) * mscale) < 2e-4);
    REQUIRE(std::fabs(s[i] - std::sin(theta) * mscale) < 2e-4);
  }
}
