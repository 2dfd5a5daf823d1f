// bench_matmul — GEMV (decode) and GEMM (prompt) on Phi-3-mini shapes, per
// weight format, at 1 and 2 threads, against this machine's limits measured
// in the same run (bench/limits.hpp):
//   GEMV: weight bytes streamed per second and % of the read bandwidth at
//         that thread count (weights are far larger than the caches);
//   GEMM: multiply-accumulates per second and % of the vpdpbusd peak.
// The target is the best one unless QKIT_TARGETS says otherwise; the label
// names the variant that ran (e.g. "AVX3_DL+vnni").
//
//   build-*/bench/bench_matmul --benchmark_filter=gemv
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "limits.hpp"
#include "qkit/kernels/matmul.hpp"
#include "qkit/kernels/repack.hpp"
#include "qkit/quant/registry.hpp"
#include "qkit/thread/pool.hpp"

namespace {

using namespace qkit;

// Every weight format of the registry: the key formats first (so
// --benchmark_filter='BM_gemv/[0-4]/' selects them), then the rest in
// QKIT_FORMATS order. Activation-only formats (Q8_1, Q8_K) are not weights.
std::vector<Format> weight_formats() {
  std::vector<Format> v = {Format::Q4_0, Format::Q8_0, Format::Q4_K, Format::Q6_K, Format::IQ4_NL};
  for (const FormatInfo& fi : kFormatInfo) {
    const bool activation_only = fi.format == Format::Q8_1 || fi.format == Format::Q8_K;
    if (!activation_only && std::find(v.begin(), v.end(), fi.format) == v.end()) v.push_back(fi.format);
  }
  return v;
}
const std::vector<Format> kFormats = weight_formats();
struct Shape {
  int64_t k, m;
};
const Shape kShapes[] = {{3072, 9216}, {3072, 3072}, {3072, 16384}, {3072, 32064}, {8192, 3072}};

ThreadPool* pool_of(int threads) {
  static std::vector<std::unique_ptr<ThreadPool>> pools(8);
  if (threads <= 1) return nullptr;
  auto& p = pools[size_t(threads)];
  if (!p) p = std::make_unique<ThreadPool>(threads);
  return p.get();
}

// Weights: 64 properly quantized random rows, repeated to m rows (the
// traffic is what matters; scalar quantization of 100 M values would take
// minutes). Returns empty if the format has no quantizer in this build.
std::vector<uint8_t> make_weights(Format f, int64_t m, int64_t k) {
  const size_t rb = row_bytes(f, uint64_t(k));
  std::vector<uint8_t> w(rb * size_t(m));
  std::mt19937 rng(1);
  std::normal_distribution<float> g(0.0f, 0.02f);
  std::vector<float> row(static_cast<size_t>(k));
  const int64_t distinct = std::min<int64_t>(64, m);
  try {
    for (int64_t r = 0; r < distinct; ++r) {
      for (auto& v : row) v = g(rng);
      quantize_row(f, row.data(), w.data() + rb * size_t(r), k);
    }
  } catch (const Error&) {
    return {};
  }
  for (int64_t r = distinct; r < m; ++r) std::memcpy(w.data() + rb * size_t(r), w.data() + rb * size_t(r % distinct), rb);
  return w;
}

std::vector<float> random_acts(size_t n) {
  std::mt19937 rng(2);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = g(rng);
  return v;
}

// Args: format index, shape index, threads, repacked (0/1).
void BM_gemv(benchmark::State& state) {
  const Format f = kFormats[size_t(state.range(0))];
  const Shape s = kShapes[state.range(1)];
  const int threads = int(state.range(2));
  const bool repacked = state.range(3) != 0;
  const double read_gbps = bench::machine_limits().read(threads);
  const auto w = make_weights(f, s.m, s.k);
  if (w.empty()) {
    state.SkipWithError("no quantizer for this format in this build");
    return;
  }
  const auto x = random_acts(size_t(s.k));
  std::vector<float> y(size_t(s.m));
  // Enough copies to exceed the caches (L3 is 32 MiB here): each call
  // streams weights that are not cached, as in decoding a real model.
  const size_t copies = std::max<size_t>(1, (size_t(160) << 20) / w.size() + 1);
  std::vector<RepackedWeights> packed;
  std::vector<std::vector<uint8_t>> plain;
  std::vector<WeightView> views;
  for (size_t i = 0; i < copies; ++i) {
    if (repacked) {
      packed.push_back(repack(WeightView{f, w.data(), s.m, s.k, 0}));
      views.push_back(packed.back().view());
    } else {
      plain.push_back(w);
      views.push_back(WeightView{f, plain.back().data(), s.m, s.k, 0});
    }
  }
  ThreadPool* pool = pool_of(threads);
  size_t next = 0;
  for (auto _ : state) {
    gemv(views[next], x.data(), y.data(), pool);
    next = next + 1 == views.size() ? 0 : next + 1;
    benchmark::DoNotOptimize(y.data());
  }
  const double bytes = double(w.size()) * double(state.iterations());
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
  // The stricter of the program's start-up limit and one measured right
  // after this benchmark (bench::read_bandwidth_now: the machine's memory
  // speed drifts within minutes).
  state.counters["read_bw"] = std::max(read_gbps, bench::read_bandwidth_now(threads));
  state.SetLabel(std::string(format_name(f)) + " " + matmul_variant(f) + (repacked ? " repacked" : "") + " K=" + std::to_string(s.k) +
                 " M=" + std::to_string(s.m) + " t=" + std::to_string(threads));
}

// Args: format index, n (columns), threads, repacked. Shape K = 3072, M = 3072.
void BM_gemm(benchmark::State& state) {
  const Format f = kFormats[size_t(state.range(0))];
  const int64_t n = state.range(1);
  const int threads = int(state.range(2));
  const bool repacked = state.range(3) != 0;
  const Shape s{3072, 3072};
  const double peak = bench::machine_limits().int8_peak(threads);
  const auto w = make_weights(f, s.m, s.k);
  if (w.empty()) {
    state.SkipWithError("no quantizer for this format in this build");
    return;
  }
  const auto x = random_acts(size_t(s.k * n));
  std::vector<float> y(size_t(s.m * n));
  RepackedWeights R;
  WeightView W{f, w.data(), s.m, s.k, 0};
  if (repacked) {
    R = repack(W);
    W = R.view();
  }
  ThreadPool* pool = pool_of(threads);
  for (auto _ : state) {
    gemm(W, x.data(), n, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
  }
  const double macs = double(s.m) * double(s.k) * double(n) * double(state.iterations());
  state.counters["GMAC/s"] = benchmark::Counter(macs / 1e9, benchmark::Counter::kIsRate);
  state.counters["int8_peak_G"] = peak / 1e9;
  state.SetLabel(std::string(format_name(f)) + " " + matmul_variant(f) + (repacked ? " repacked" : "") + " N=" + std::to_string(n) +
                 " t=" + std::to_string(threads));
}

void gemv_args(benchmark::internal::Benchmark* b) {
  for (int64_t f = 0; f < int64_t(kFormats.size()); ++f)
    for (int64_t s = 0; s < int64_t(std::size(kShapes)); ++s)
      for (int64_t t : {1, 2})
        for (int64_t rp : {0, 1})
          if (rp == 0 || can_repack(kFormats[size_t(f)])) b->Args({f, s, t, rp});
}
void gemm_args(benchmark::internal::Benchmark* b) {
  for (int64_t f = 0; f < int64_t(kFormats.size()); ++f)
    for (int64_t t : {1, 2})
      for (int64_t rp : {0, 1})
        if (rp == 0 || can_repack(kFormats[size_t(f)])) b->Args({f, 512, t, rp});
}

}  // namespace

BENCHMARK(BM_gemv)->Apply(gemv_args)->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(0.2);
BENCHMARK(BM_gemm)->Apply(gemm_args)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.3);

BENCHMARK_MAIN();
