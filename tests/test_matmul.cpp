// Activation quantization and GEMV/GEMM: every target against the scalar
// references (quant/registry.hpp) and the reference engine's golden dots.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "qkit/kernels/matmul.hpp"
#include "qkit/kernels/quantize_act.hpp"
#include "qkit/kernels/matmul_tensor.hpp"
#include "qkit/kernels/repack.hpp"
#include "qkit/kernels/sve_dot_arm.hpp"
#include "qkit/kernels/vnni_gemv_tq1_x86.hpp"  // tq1_vbmi_allowed (x86 only)
#include "qkit/quant/k_quants.hpp"
#include "qkit/quant/registry.hpp"
#include "qkit/quant/ternary.hpp"
#include "support/golden.hpp"
#include "support/targets.hpp"

using namespace qkit;

namespace {

// The scalar activation rule of the pair format (Q8_K's codec quantizer is it).
void ref_act(Format pair, const float* x, void* dst, int64_t n) {
  if (pair == Format::Q8_K) {
    quantize_row(pair, x, dst, n);
  } else {
    quantize_act_row_ref(pair, x, dst, n);
  }
}

std::vector<float> random_row(std::mt19937& rng, size_t n, float scale) {
  std::normal_distribution<float> g(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = g(rng);
  return v;
}

// Rows that stress the quantizers: ties at x * id = k + 0.5, zeros, one
// huge value, all-negative, tiny.
std::vector<float> act_cases(std::mt19937& rng, size_t n) {
  std::vector<float> v = random_row(rng, n, 1.0f);
  for (size_t i = 0; i < n; ++i) {
    const size_t blk = i / 32;
    switch (blk % 6) {
      case 1: v[i] = (i % 32 == 0) ? 127.0f : static_cast<float>(static_cast<int>(i % 32) - 16) + 0.5f; break;  // exact ties
      case 2: v[i] = 0.0f; break;
      case 3: v[i] = (i % 32 == 5) ? 1e4f : v[i]; break;
      case 4: v[i] = -std::fabs(v[i]) * 1e-8f; break;
      default: break;
    }
  }
  return v;
}

}  // namespace

TEST_CASE("activation quantizers equal the scalar rule bit for bit on every target", "[matmul][act]") {
  std::mt19937 rng(11);
  const size_t n = 256 * 6;
  std::vector<std::vector<float>> rows = {act_cases(rng, n), random_row(rng, n, 3.0f), random_row(rng, n, 1e-3f)};
  // A row with Inf and NaN blocks (Q8_0/Q8_1 define them; Q8_K only for finite input).
  std::vector<float> bad = random_row(rng, n, 1.0f);
  bad[40] = std::numeric_limits<float>::infinity();
  bad[100] = std::numeric_limits<float>::quiet_NaN();
  test::for_each_target([&](int64_t) {
    for (Format pair : {Format::Q8_0, Format::Q8_1, Format::Q8_K}) {
      INFO("pair " << format_name(pair));
      const size_t bytes = row_bytes(pair, n);
      std::vector<uint8_t> got(bytes), want(bytes);
      auto all = rows;
      if (pair != Format::Q8_K) all.push_back(bad);
      for (const auto& r : all) {
        quantize_act(pair, r.data(), got.data(), static_cast<int64_t>(n));
        ref_act(pair, r.data(), want.data(), static_cast<int64_t>(n));
        REQUIRE(std::memcmp(got.data(), want.data(), bytes) == 0);
      }
    }
  });
}

TEST_CASE("activation quantizers reproduce the reference engine's act_q", "[matmul][act][golden]") {
  for (const char* name : {"q4_0", "q4_1", "q4_K", "q6_K", "iq4_nl"}) {
    const auto g = test::load_qkgv(test::golden_path(std::string("quant/") + name + ".qkgv"),
                                   [](uint32_t t, uint32_t n) { return row_bytes(static_cast<Format>(t), n); });
    REQUIRE(g.vec_dot_type >= 0);
    const Format pair = static_cast<Format>(g.vec_dot_type);
    test::for_each_target([&](int64_t) {
      INFO(name << " pair " << format_name(pair));
      std::vector<uint8_t> got(g.act_q.size());
      quantize_act(pair, g.act.data(), got.data(), g.n_per_row);
      REQUIRE(std::memcmp(got.data(), g.act_q.data(), got.size()) == 0);
    });
  }
}

namespace {

struct Problem {
  Format f;
  int64_t m, k;
  std::vector<uint8_t> w;
  std::vector<double> wd;  // dequantized weights
};

bool make_problem(Format f, int64_t m, int64_t k, std::mt19937& rng, Problem& p) {
  p.f = f;
  p.m = m;
  p.k = k;
  const size_t rb = row_bytes(f, static_cast<uint64_t>(k));
  p.w.assign(rb * static_cast<size_t>(m), 0);
  p.wd.assign(static_cast<size_t>(m * k), 0.0);
  std::vector<float> deq(static_cast<size_t>(k));
  for (int64_t r = 0; r < m; ++r) {
    const auto src = random_row(rng, static_cast<size_t>(k), r % 3 == 0 ? 0.02f : 1.0f);
    try {
      quantize_row(f, src.data(), p.w.data() + rb * static_cast<size_t>(r), k);
      dequantize_row_ref(f, p.w.data() + rb * static_cast<size_t>(r), deq.data(), k);
    } catch (const Error& e) {
      WARN("no reference codec for " << format_name(f) << ": " << e.what());
      return false;
    }
    for (int64_t i = 0; i < k; ++i) p.wd[static_cast<size_t>(r * k + i)] = deq[static_cast<size_t>(i)];
  }
  return true;
}

// x rounded through the pair format as the reference does it.
std::vector<double> act_reference(Format wf, const float* x, int64_t k) {
  const Format pair = format_info(wf).pair;
  std::vector<double> out(static_cast<size_t>(k));
  if (pair == Format::F32) {
    for (int64_t i = 0; i < k; ++i) out[static_cast<size_t>(i)] = x[i];
  } else if (pair == Format::F16) {
    for (int64_t i = 0; i < k; ++i) out[static_cast<size_t>(i)] = f16_to_f32(f32_to_f16(x[i]));
  } else if (pair == Format::BF16) {
    for (int64_t i = 0; i < k; ++i) out[static_cast<size_t>(i)] = bf16_to_f32(f32_to_bf16(x[i]));
  } else {
    std::vector<uint8_t> q(row_bytes(pair, static_cast<uint64_t>(k)));
    std::vector<float> dq(static_cast<size_t>(k));
    ref_act(pair, x, q.data(), k);
    dequantize_row_ref(pair, q.data(), dq.data(), k);
    for (int64_t i = 0; i < k; ++i) out[static_cast<size_t>(i)] = dq[static_cast<size_t>(i)];
  }
  return out;
}

// |Y - ref| <= tol * sum |w x| for every output.
void check_against_reference(const Problem& p, const std::vector<float>& X, int64_t n, const std::vector<float>& Y,
                             double tol) {
  for (int64_t c = 0; c < n; ++c) {
    const auto xr = act_reference(p.f, X.data() + c * p.k, p.k);
    for (int64_t r = 0; r < p.m; ++r) {
      double ref = 0, mag = 0;
      for (int64_t i = 0; i < p.k; ++i) {
        const double t = p.wd[static_cast<size_t>(r * p.k + i)] * xr[static_cast<size_t>(i)];
        ref += t;
        mag += std::fabs(t);
      }
      if (format_info(p.f).pair == Format::Q8_1) {
        // The reference applies the min to s = f16(d * sum): its own dot.
        const size_t rb = row_bytes(p.f, static_cast<uint64_t>(p.k));
        std::vector<uint8_t> xq(row_bytes(Format::Q8_1, static_cast<uint64_t>(p.k)));
        ref_act(Format::Q8_1, X.data() + c * p.k, xq.data(), p.k);
        ref = vec_dot_ref(p.f, p.w.data() + rb * static_cast<size_t>(r), xq.data(), p.k);
      }
      const double got = Y[static_cast<size_t>(c * p.m + r)];
      if (!(std::fabs(got - ref) <= tol * mag + 1e-30)) {
        FAIL_CHECK("row " << r << " col " << c << ": got " << got << " want " << ref << " (sum|wx| " << mag << ")");
        return;
      }
    }
  }
}

std::vector<Format> weight_formats() {
  std::vector<Format> out;
  for (const FormatInfo& fi : kFormatInfo)
    if (format_has_quantizer(fi.format)) out.push_back(fi.format);
  return out;
}

}  // namespace

TEST_CASE("gemv and gemm match the double-precision reference for every format, target and shape", "[matmul]") {
  std::mt19937 rng(5);
  for (Format f : weight_formats()) {
    const int64_t bs = format_info(f).block_size;
    const int64_t kb = bs == 1 ? 32 : bs;
    for (int64_t k : {kb, 3 * kb, (bs == 256 ? 4 : 10) * kb + (bs == 1 ? 7 : 0)}) {
      Problem p;
      if (!make_problem(f, 37, k, rng, p)) break;
      WeightView W{f, p.w.data(), p.m, p.k, 0};
      for (int64_t n : {1, 2, 3, 7, 8, 33}) {
        std::vector<float> X(static_cast<size_t>(n * k));
        for (int64_t c = 0; c < n; ++c) {
          const auto col = random_row(rng, static_cast<size_t>(k), c % 2 ? 5.0f : 1.0f);
          std::copy(col.begin(), col.end(), X.begin() + c * k);
        }
        test::for_each_target([&](int64_t) {
          INFO(format_name(f) << " variant " << matmul_variant(f) << " K " << k << " N " << n);
          std::vector<float> Y(static_cast<size_t>(n * p.m), -1.0f);
          if (n == 1) {
            gemv(W, X.data(), Y.data());
          } else {
            gemm(W, X.data(), n, Y.data());
          }
          check_against_reference(p, X, n, Y, 2e-5);
        });
      }
    }
  }
}

TEST_CASE("gemm with N = 512 matches the reference (fast formats)", "[matmul]") {
  std::mt19937 rng(9);
  for (Format f : {Format::Q4_0, Format::Q8_0, Format::Q4_K, Format::Q6_K, Format::F16}) {
    const int64_t k = format_info(f).block_size == 256 ? 256 : 96;
    Problem p;
    if (!make_problem(f, 19, k, rng, p)) continue;
    const int64_t n = 512;
    std::vector<float> X = random_row(rng, static_cast<size_t>(n * k), 1.0f);
    std::vector<float> Y(static_cast<size_t>(n * p.m));
    ThreadPool pool(2);
    INFO(format_name(f) << " variant " << matmul_variant(f));
    gemm(WeightView{f, p.w.data(), p.m, k, 0}, X.data(), n, Y.data(), &pool);
    check_against_reference(p, X, n, Y, 2e-5);
  }
}

TEST_CASE("256-value formats without the int8 dot fast paths match the reference, N across the 64-column chunk",
          "[matmul]") {
  // Fast paths off: AVX3 / AVX3_DL take the AVX2 GEMV and the int16 GEMM
  // (dot_avx2_k-inl.h, dot_i16-inl.h) instead of VNNI, Arm NEON its int16
  // kernels instead of sdot; 70 columns cross the kernels' 64-column chunk.
  std::mt19937 rng(29);
  for (Format f : {Format::Q2_K, Format::Q3_K, Format::Q4_K, Format::Q5_K, Format::Q6_K, Format::IQ4_XS}) {
    const int64_t k = 512;
    Problem p;
    REQUIRE(make_problem(f, 11, k, rng, p));
    for (int64_t n : {1, 2, 70}) {
      std::vector<float> X(static_cast<size_t>(n * k));
      for (int64_t c = 0; c < n; ++c) {
        const auto col = random_row(rng, static_cast<size_t>(k), c % 2 ? 4.0f : 1.0f);
        std::copy(col.begin(), col.end(), X.begin() + c * k);
      }
      for (int64_t t : cpu::supported_targets()) {
        cpu::ScopedTarget scope(t, 0);
        INFO(format_name(f) << " target " << cpu::target_name(t) << " variant " << matmul_variant(f) << " N " << n);
        std::vector<float> Y(static_cast<size_t>(n * p.m), -1.0f);
        gemm(WeightView{f, p.w.data(), p.m, k, 0}, X.data(), n, Y.data());
        check_against_reference(p, X, n, Y, 2e-5);
      }
    }
  }
}

TEST_CASE("results are identical for 1, 2 and 3 threads", "[matmul][thread]") {
  std::mt19937 rng(3);
  ThreadPool p2(2), p3(3);
  for (Format f : weight_formats()) {
    const int64_t k = format_info(f).block_size == 256 ? 512 : 128;
    Problem p;
    if (!make_problem(f, 101, k, rng, p)) continue;
    const WeightView W{f, p.w.data(), p.m, k, 0};
    for (int64_t n : {1, 5}) {
      std::vector<float> X = random_row(rng, static_cast<size_t>(n * k), 1.0f);
      std::vector<float> y1(static_cast<size_t>(n * p.m)), y2(y1.size()), y3(y1.size());
      gemm(W, X.data(), n, y1.data(), nullptr);
      gemm(W, X.data(), n, y2.data(), &p2);
      gemm(W, X.data(), n, y3.data(), &p3);
      INFO(format_name(f) << " N " << n);
      REQUIRE(std::memcmp(y1.data(), y2.data(), y1.size() * 4) == 0);
      REQUIRE(std::memcmp(y1.data(), y3.data(), y1.size() * 4) == 0);
    }
  }
}

TEST_CASE("gemv agrees with the reference engine's dot products", "[matmul][golden]") {
  int checked = 0;
  for (const FormatInfo& fi : kFormatInfo) {
    if (!fi.quantized() || !format_has_codec(fi.format)) continue;
    const std::string path = test::golden_dir() + "/quant/" + fi.name + ".qkgv";
    if (!test::file_exists(path)) continue;
    const auto g = test::load_qkgv(path, [](uint32_t t, uint32_t n) { return row_bytes(static_cast<Format>(t), n); });
    if (g.vec_dot_type < 0) continue;
    const Format pair = static_cast<Format>(g.vec_dot_type);
    REQUIRE(pair == fi.pair);
    // sum |w x| from the reference dequantization and act_q, for the tolerance.
    std::vector<float> wd(g.n_per_row), xd(g.n_per_row);
    dequantize_row_ref(pair, g.act_q.data(), xd.data(), g.n_per_row);
    const WeightView W{fi.format, g.quantized.data(), g.n_rows, g.n_per_row, 0};
    test::for_each_target([&](int64_t) {
      INFO(fi.name << " variant " << matmul_variant(fi.format));
      std::vector<float> y(g.n_rows);
      gemv(W, g.act.data(), y.data());
      const size_t rb = row_bytes(fi.format, g.n_per_row);
      for (uint32_t r = 0; r < g.n_rows; ++r) {
        dequantize_row_ref(fi.format, g.quantized.data() + r * rb, wd.data(), g.n_per_row);
        double mag = 0;
        for (uint32_t i = 0; i < g.n_per_row; ++i) mag += std::fabs(double(wd[i]) * xd[i]);
        INFO("row " << r << " got " << y[r] << " want " << g.dots[r]);
        REQUIRE(std::fabs(double(y[r]) - g.dots[r]) <= 1e-5 * mag + 1e-30);
      }
    });
    ++checked;
  }
  if (checked == 0) QKIT_SKIP("no golden quant files with dot products under " << test::golden_dir());
}

TEST_CASE("bad shapes throw qkit::Error naming both shapes", "[matmul]") {
  std::vector<uint8_t> w(18 * 4);
  std::vector<float> x(64), y(4);
  try {
    gemv(WeightView{Format::Q4_0, w.data(), 2, 48, 0}, x.data(), y.data());
    FAIL("no error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    REQUIRE(msg.find("[2 x 48]") != std::string::npos);
    REQUIRE(msg.find("q4_0") != std::string::npos);
  }
  REQUIRE_THROWS_AS(gemm(WeightView{Format::Q4_0, w.data(), 2, 64, 10}, x.data(), 1, y.data()), Error);
  REQUIRE_THROWS_AS(gemm(WeightView{Format::Q4_0, w.data(), 2, 64, 0}, x.data(), -1, y.data()), Error);
  REQUIRE_THROWS_AS(quantize_act_q8_0(x.data(), w.data(), 48), Error);
}

TEST_CASE("the integer kernels are chosen where the CPU has them", "[matmul][dispatch]") {
  // Every format's variant belongs to the chosen target.
  const std::string target = cpu::target_name(cpu::chosen_target());
  for (const FormatInfo& fi : kFormatInfo) REQUIRE(std::string(matmul_variant(fi.format)).rfind(target, 0) == 0);
  if (cpu::has_fast_path(cpu::kFastVnni) && cpu::chosen_target() == HWY_AVX3_DL) {
    for (Format f : {Format::Q4_0, Format::Q8_0, Format::Q4_K, Format::Q6_K})
      REQUIRE(std::string(matmul_variant(f)) == "AVX3_DL+vnni");
    cpu::ScopedTarget no_vnni(HWY_AVX3_DL, cpu::kFastAll & ~cpu::kFastVnni);
    REQUIRE(std::string(matmul_variant(Format::Q4_0)) == "AVX3_DL");
  }
}

TEST_CASE("Arm: sdot and smmla kernels are chosen where the CPU has them, and can be switched off", "[matmul][dispatch]") {
  const int64_t arm = HWY_NEON | HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128;
  if ((cpu::chosen_target() & arm) == 0) {
    // Elsewhere no variant may claim an Arm fast path.
    for (const FormatInfo& fi : kFormatInfo) {
      const std::string v = matmul_variant(fi.format);
      REQUIRE(v.find("+dotprod") == std::string::npos);
      REQUIRE(v.find("+i8mm") == std::string::npos);
    }
    return;
  }
  // Without QKIT_TARGETS, every fast path the CPU reports is on.
  if (std::getenv("QKIT_TARGETS") == nullptr) {
    REQUIRE(cpu::has_fast_path(cpu::kFastDotprod) == cpu::features().dotprod);
    REQUIRE(cpu::has_fast_path(cpu::kFastI8mm) == cpu::features().i8mm);
  }
  for (int64_t t : cpu::supported_targets()) {
    for (uint32_t fp : {uint32_t{cpu::kFastAll}, cpu::kFastAll & ~cpu::kFastI8mm, cpu::kFastAll & ~cpu::kFastDotprod,
                        cpu::kFastAll & ~(cpu::kFastDotprod | cpu::kFastI8mm)}) {
      cpu::ScopedTarget scope(t, fp);
      const std::string name = cpu::target_name(t);
      const bool dot = cpu::has_fast_path(cpu::kFastDotprod), mm = cpu::has_fast_path(cpu::kFastI8mm);
      INFO("target " << name << " dotprod " << dot << " i8mm " << mm);
      REQUIRE(dot == (cpu::features().dotprod && (fp & cpu::kFastDotprod) != 0));
      REQUIRE(mm == (cpu::features().i8mm && (fp & cpu::kFastI8mm) != 0));
      // Q8_0 / Q4_0 on the SVE targets take svdot (base SVE, no fast-path
      // bit) for GEMV and for GEMM without i8mm, from 256-bit vectors up or
      // without NEON sdot.
#if defined(QKIT_HAVE_SVE_DOT)
      const bool svdot = (t & (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)) != 0 &&
                         (!dot || (t != HWY_SVE2_128 && cpu::features().sve_bits >= 256));
#else
      const bool svdot = false;
#endif
      const std::string q8 = name + (dot && !svdot ? "+dotprod" : "") + (mm ? "+i8mm" : "");
      const std::string kq = name + (dot ? "+dotprod" : "");
      for (Format f : {Format::Q8_0, Format::Q4_0}) REQUIRE(std::string(matmul_variant(f)) == q8);
      for (Format f : {Format::Q4_K, Format::Q6_K}) REQUIRE(std::string(matmul_variant(f)) == kq);
      REQUIRE(std::string(matmul_variant(Format::Q5_K)) == name);  // f32 path
      // Each combination computes within budget (the main case runs only
      // the full set per target): Q8_0/Q4_0 gemm takes smmla or sdot or the
      // widening multiply; Q4_K/Q6_K sdot or the f32 path.
      std::mt19937 rng(17);
      for (Format f : {Format::Q8_0, Format::Q4_0, Format::Q4_K, Format::Q6_K}) {
        const int64_t k = format_info(f).block_size == 256 ? 512 : 96;
        Problem p;
        REQUIRE(make_problem(f, 7, k, rng, p));
        for (int64_t n : {1, 3}) {
          std::vector<float> X = random_row(rng, static_cast<size_t>(n * k), 1.0f);
          std::vector<float> Y(static_cast<size_t>(n * p.m), -1.0f);
          gemm(WeightView{f, p.w.data(), p.m, k, 0}, X.data(), n, Y.data());
          check_against_reference(p, X, n, Y, 2e-5);
        }
      }
    }
  }
}

TEST_CASE("repacked weights: reversible, and gemv/gemm on them match the reference on every target", "[matmul][repack]") {
  std::mt19937 rng(21);
  ThreadPool p3(3);
  for (Format f : {Format::Q8_0, Format::Q4_0, Format::IQ4_NL, Format::Q4_K, Format::Q6_K}) {
    for (int64_t m : {1, 16, 37}) {
      const int64_t k = format_info(f).block_size == 256 ? 512 : 96;
      Problem p;
      REQUIRE(make_problem(f, m, k, rng, p));
      const WeightView W{f, p.w.data(), m, k, 0};
      const RepackedWeights R = repack(W);
      std::vector<uint8_t> back(p.w.size());
      unpack(R, back.data());
      REQUIRE(back == p.w);
      for (int64_t n : {1, 3, 8, 33}) {
        std::vector<float> X = random_row(rng, static_cast<size_t>(n * k), 2.0f);
        std::vector<float> yt;
        test::for_each_target([&](int64_t) {
          INFO(format_name(f) << " variant " << matmul_variant(f) << " M " << m << " N " << n);
          std::vector<float> Y(static_cast<size_t>(n * m), -1.0f);
          gemm(R.view(), X.data(), n, Y.data());
          check_against_reference(p, X, n, Y, 2e-5);
        });
        // Thread count never changes a bit.
        std::vector<float> y1(static_cast<size_t>(n * m)), y3(y1.size());
        gemm(R.view(), X.data(), n, y1.data());
        gemm(R.view(), X.data(), n, y3.data(), &p3);
        REQUIRE(std::memcmp(y1.data(), y3.data(), y1.size() * 4) == 0);
      }
    }
  }
  REQUIRE_THROWS_AS(repack(WeightView{Format::Q5_K, nullptr, 1, 256, 0}), Error);
}

TEST_CASE("repack_pays: only where the target has a kernel for the interleaved layout", "[matmul][repack][dispatch]") {
  // Formats without a layout never pay, whatever the target.
  for (const FormatInfo& fi : kFormatInfo)
    if (!can_repack(fi.format)) REQUIRE_FALSE(repack_pays(fi.format));
  // Without AVX-512 VNNI every target unpacks interleaved groups per call.
  test::for_each_target([&](int64_t) {
    INFO("target " << cpu::target_name(cpu::chosen_target()));
    const bool vnni = cpu::has_fast_path(cpu::kFastVnni) &&
                      (cpu::chosen_target() == HWY_AVX3 || cpu::chosen_target() == HWY_AVX3_DL);
    for (Format f : {Format::Q8_0, Format::Q4_0, Format::IQ4_NL, Format::Q4_K, Format::Q6_K}) {
      INFO(format_name(f));
      REQUIRE(repack_pays(f) == vnni);
    }
  });
  if (cpu::has_fast_path(cpu::kFastVnni)) {
    cpu::ScopedTarget no_vnni(cpu::chosen_target(), cpu::kFastAll & ~cpu::kFastVnni);
    REQUIRE_FALSE(repack_pays(Format::Q4_0));
  } else {
    WARN("no AVX-512 VNNI here: repack_pays is false on every target, the true case is not exercised");
  }
}

TEST_CASE("gemv/gemm accept AnyTensor weights", "[matmul][tensor]") {
  std::mt19937 rng(4);
  Problem p;
  REQUIRE(make_problem(Format::Q4_0, 5, 64, rng, p));
  const AnyTensor t(Format::Q4_0, static_cast<const void*>(p.w.data()), Shape({64, 5}));
  REQUIRE(t.rows() == 5);
  REQUIRE(t.cols() == 64);
  const auto x = random_row(rng, 64, 1.0f);
  std::vector<float> y1(5), y2(5);
  gemv(t, x.data(), y1.data());
  gemv(WeightView{Format::Q4_0, p.w.data(), 5, 64, 0}, x.data(), y2.data());
  REQUIRE(y1 == y2);
}

#if defined(QKIT_HAVE_VNNI_X86)
TEST_CASE("TQ1_0 GEMV: table look-ups (VBMI) and the carry chain agree bit for bit, for every byte value",
          "[matmul][tq1]") {
  // Raw random trit bytes (all 256 values, not only the quantizer's 243)
  // and random d: the reference is the scalar dequantizer's rule.
  std::mt19937 rng(11);
  for (int64_t k : {int64_t(256), int64_t(3 * 256), int64_t(12 * 256), int64_t(19 * 256)}) {
    Problem p;
    p.f = Format::TQ1_0;
    p.m = 23;
    p.k = k;
    const size_t rb = row_bytes(p.f, static_cast<uint64_t>(k));
    p.w.resize(rb * static_cast<size_t>(p.m));
    for (auto& b : p.w) b = static_cast<uint8_t>(rng());
    std::uniform_real_distribution<float> ud(-0.05f, 0.05f);
    for (int64_t r = 0; r < p.m; ++r)
      for (int64_t b = 0; b < k / 256; ++b) {
        const uint16_t h = f32_to_f16(ud(rng));
        std::memcpy(p.w.data() + rb * static_cast<size_t>(r) + 54 * static_cast<size_t>(b) + 52, &h, 2);
      }
    p.wd.assign(static_cast<size_t>(p.m * k), 0.0);
    std::vector<float> deq(static_cast<size_t>(k));
    for (int64_t r = 0; r < p.m; ++r) {
      dequantize_row_ref(p.f, p.w.data() + rb * static_cast<size_t>(r), deq.data(), k);
      for (int64_t i = 0; i < k; ++i) p.wd[static_cast<size_t>(r * k + i)] = deq[static_cast<size_t>(i)];
    }
    const WeightView W{p.f, p.w.data(), p.m, k, 0};
    for (int64_t n : {1, 2}) {
      const auto X = random_row(rng, static_cast<size_t>(n * k), 1.0f);
      test::for_each_target([&](int64_t) {
        INFO("variant " << matmul_variant(p.f) << " K " << k << " N " << n);
        std::vector<float> y_tab(static_cast<size_t>(n * p.m), -1.0f), y_chain(y_tab.size(), -2.0f);
        gemm(W, X.data(), n, y_tab.data());
        kernels::vnni::tq1_vbmi_allowed() = false;
        gemm(W, X.data(), n, y_chain.data());
        kernels::vnni::tq1_vbmi_allowed() = true;
        check_against_reference(p, X, n, y_tab, 2e-5);
        check_against_reference(p, X, n, y_chain, 2e-5);
        REQUIRE(std::memcmp(y_tab.data(), y_chain.data(), y_tab.size() * 4) == 0);
      });
    }
  }
}
#endif
