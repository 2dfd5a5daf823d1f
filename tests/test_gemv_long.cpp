// GEMV paths that the main matmul test's short rows never reach: F16 rows
// of 4096 values and more (activations held as f16, float_matmul-inl.h),
// and formats whose one- or two-column path differs from the tiles (TQ1_0's
// and Q2_K's rearranged activations, vnni_gemv_*_x86.hpp), on long rows, checked on every
// target against the scalar reference dot (quant/registry.hpp vec_dot_ref)
// and for identical results at 1 and 2 threads.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "qkit/kernels/matmul.hpp"
#include "qkit/quant/registry.hpp"
#include "qkit/thread/pool.hpp"
#include "support/targets.hpp"

using namespace qkit;

namespace {

struct Case {
  Format f;
  int64_t k;
};

std::vector<float> normal(std::mt19937& rng, size_t n, float scale) {
  std::normal_distribution<float> g(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = g(rng);
  return v;
}

}  // namespace

TEST_CASE("long-row gemv and two-column gemm match the scalar reference dot", "[matmul][gemv]") {
  std::mt19937 rng(11);
  const int64_t m = 7;
  for (const Case cs : {Case{Format::F16, 4096}, Case{Format::F16, 8192 + 5}, Case{Format::TQ1_0, 8192},
                        // 19 super-blocks: the last block's d lies past TQ1_0's last 64-byte window
                        Case{Format::TQ1_0, 19 * 256}, Case{Format::Q2_K, 8192},
                        Case{Format::TQ2_0, 8192}, Case{Format::Q5_K, 8192}}) {
    const Format f = cs.f;
    const int64_t k = cs.k;
    const size_t rb = row_bytes(f, static_cast<uint64_t>(k));
    std::vector<uint8_t> w(rb * m);
    for (int64_t r = 0; r < m; ++r) {
      const auto row = normal(rng, static_cast<size_t>(k), 0.05f);
      quantize_row(f, row.data(), w.data() + rb * r, k);
    }
    std::vector<float> wd(static_cast<size_t>(k) * m);
    for (int64_t r = 0; r < m; ++r) dequantize_row_ref(f, w.data() + rb * r, wd.data() + k * r, k);
    const WeightView W{f, w.data(), m, k, 0};
    const Format pair = format_info(f).pair;
    for (int64_t n : {1, 2}) {
      const auto X = normal(rng, static_cast<size_t>(n * k), 1.0f);
      // Reference: the scalar dot against the activation rounded the way
      // the pair format's reference quantizer rounds it.
      std::vector<double> ref(static_cast<size_t>(n * m)), mag(ref.size());
      std::vector<uint8_t> xq(row_bytes(pair, static_cast<uint64_t>(k)));
      for (int64_t c = 0; c < n; ++c) {
        if (pair == Format::Q8_K) {
          quantize_row(pair, X.data() + c * k, xq.data(), k);
        } else {
          quantize_act_row_ref(pair, X.data() + c * k, xq.data(), k);
        }
        for (int64_t r = 0; r < m; ++r) {
          ref[static_cast<size_t>(c * m + r)] = vec_dot_ref(f, w.data() + rb * r, xq.data(), k);
          double s = 0;
          for (int64_t i = 0; i < k; ++i) s += std::fabs(double(wd[static_cast<size_t>(r * k + i)]) * X[static_cast<size_t>(c * k + i)]);
          mag[static_cast<size_t>(c * m + r)] = s;
        }
      }
      test::for_each_target([&](int64_t) {
        INFO(format_name(f) << " variant " << matmul_variant(f) << " K " << k << " N " << n);
        std::vector<float> y1(static_cast<size_t>(n * m), -1.0f), y2(y1.size(), -2.0f);
        ThreadPool pool(2);
        if (n == 1) {
          gemv(W, X.data(), y1.data());
          gemv(W, X.data(), y2.data(), &pool);
        } else {
          gemm(W, X.data(), n, y1.data());
          gemm(W, X.data(), n, y2.data(), &pool);
        }
        CHECK(std::memcmp(y1.data(), y2.data(), y1.size() * 4) == 0);
        for (size_t i = 0; i < y1.size(); ++i) {
          INFO("output " << i << " got " << y1[i] << " want " << ref[i] << " sum|wx| " << mag[i]);
          REQUIRE(std::fabs(y1[i] - ref[i]) <= 2e-5 * mag[i] + 1e-30);
        }
      });
    }
  }
}
