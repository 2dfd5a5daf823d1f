// bench_quant — codec throughput against this machine's read bandwidth
// (bench/limits.hpp, measured in the same run), one core:
//   read/1_thread               the baseline: limits.hpp's streaming read,
//                               timed like the rest (see BM_read).
//   dequant/<format>/<target>   dispatched dequantize_rows with the target
//                               forced: f32 GB/s written, and that as a
//                               fraction of one core's read bandwidth
//                               (issue goal: >= 0.5 for the 4- and 8-bit
//                               formats on AVX-512). The quantized source
//                               (64 MiB) is far larger than the caches; each
//                               row lands in one L1-resident scratch row.
//   quantize/<format>           the scalar reference weight quantizer
//                               (quant/registry.hpp, not dispatched): f32
//                               GB/s read.
//   act/<q8_0|q8_1|q8_K>/<target>  dispatched activation quantization
//                               (kernels/quantize_act.hpp): f32 GB/s read
//                               (goal: >= 8 GB/s per core), input in L2.
//
// Rates are per CPU second of the benchmark thread (Google Benchmark's
// default), which the shared 2-core machines disturb less than wall time.
//
//   build-*/bench/bench_quant --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "limits.hpp"
#include "qkit/base/aligned.hpp"
#include "qkit/cpu/targets.hpp"
#include "qkit/kernels/dequant.hpp"
#include "qkit/kernels/quantize_act.hpp"
#include "qkit/quant/registry.hpp"

namespace {

using namespace qkit;

constexpr int64_t kCols = 4096;  // a multiple of every block size
constexpr size_t kSourceBytes = size_t(64) << 20;

std::vector<float> gaussian(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = g(rng);
  return v;
}

// A 64 MiB matrix of format f: 64 properly quantized gaussian rows, repeated
// (the traffic is what matters; scalar-quantizing 100 M values would take
// minutes). Kept for the benchmarks of one format at a time.
struct Source {
  Format f = Format::F32;
  int64_t rows = 0;
  std::vector<uint8_t> bytes;
};

const Source& source_of(Format f) {
  static Source s;
  if (s.f == f && !s.bytes.empty()) return s;
  const size_t rb = row_bytes(f, kCols);
  s.f = f;
  s.rows = int64_t(kSourceBytes / rb);
  s.bytes.assign(rb * size_t(s.rows), 0);
  const int64_t distinct = 64;
  const auto x = gaussian(size_t(distinct * kCols), 1);
  quantize(f, x.data(), s.bytes.data(), distinct, kCols, nullptr, 1);
  for (int64_t r = distinct; r < s.rows; ++r)
    std::memcpy(s.bytes.data() + rb * size_t(r), s.bytes.data() + rb * size_t(r % distinct), rb);
  return s;
}

void BM_dequant(benchmark::State& state, Format f, int64_t target) {
  const double read_gbps = bench::machine_limits().read(1);
  const Source& src = source_of(f);
  const size_t rb = row_bytes(f, kCols);
  cpu::ScopedTarget scope(target);
  AlignedBuffer<float> row{static_cast<size_t>(kCols)};
  for (auto _ : state) {
    for (int64_t r = 0; r < src.rows; ++r) {
      dequantize_row(f, src.bytes.data() + rb * size_t(r), row.data(), kCols);
      benchmark::ClobberMemory();
    }
  }
  const double values = double(src.rows) * double(kCols) * double(state.iterations());
  state.counters["f32_GB/s"] = benchmark::Counter(values * 4 / 1e9, benchmark::Counter::kIsRate);
  state.counters["src_GB/s"] = benchmark::Counter(double(src.bytes.size()) * double(state.iterations()) / 1e9,
                                                  benchmark::Counter::kIsRate);
  state.counters["of_read_bw"] = benchmark::Counter(values * 4 / 1e9 / read_gbps, benchmark::Counter::kIsRate);
  state.counters["read_bw_GB/s"] = read_gbps;
}

// The baseline for the ratios in docs/benchmarks.md: limits.hpp's
// STREAM-like read over 256 MiB, as a benchmark, so it is timed like the
// others (CPU seconds) in the same run. limits.hpp's own figure (wall
// clock, counter read_bw_GB/s) drops far below the true bandwidth when the
// machine is shared.
void BM_read(benchmark::State& state) {
  const size_t words = (size_t(256) << 20) / 8;
  AlignedBuffer<uint64_t> buf{words};
  for (size_t i = 0; i < words; ++i) buf.data()[i] = i;
  for (auto _ : state) benchmark::DoNotOptimize(bench::detail::read_sum(buf.data(), words));
  state.counters["GB/s"] = benchmark::Counter(double(words) * 8 * double(state.iterations()) / 1e9,
                                              benchmark::Counter::kIsRate);
}

void BM_quantize(benchmark::State& state, Format f, bool with_imatrix) {
  const double read_gbps = bench::machine_limits().read(1);
  const int64_t rows = 16;
  const auto x = gaussian(size_t(rows * kCols), 2);
  const auto imat = gaussian(size_t(kCols), 3);
  std::vector<float> w(imat.size());
  for (size_t i = 0; i < w.size(); ++i) w[i] = imat[i] * imat[i];
  std::vector<uint8_t> dst(row_bytes(f, kCols) * size_t(rows));
  for (auto _ : state) {
    quantize(f, x.data(), dst.data(), rows, kCols, with_imatrix ? w.data() : nullptr, 1);
    benchmark::DoNotOptimize(dst.data());
  }
  const double bytes = double(rows) * double(kCols) * 4 * double(state.iterations());
  state.counters["f32_GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
  state.counters["of_read_bw"] = benchmark::Counter(bytes / 1e9 / read_gbps, benchmark::Counter::kIsRate);
}

void BM_act(benchmark::State& state, Format pair, int64_t target) {
  const double read_gbps = bench::machine_limits().read(1);
  const int64_t rows = 16;  // 256 KiB of f32: cache-resident, like a token's activations
  const auto x = gaussian(size_t(rows * kCols), 4);
  std::vector<uint8_t> dst(row_bytes(pair, kCols) * size_t(rows));
  cpu::ScopedTarget scope(target);
  for (auto _ : state) {
    for (int64_t r = 0; r < rows; ++r)
      quantize_act(pair, x.data() + r * kCols, dst.data() + row_bytes(pair, kCols) * size_t(r), kCols);
    benchmark::ClobberMemory();
  }
  const double bytes = double(rows) * double(kCols) * 4 * double(state.iterations());
  state.counters["f32_GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
  state.counters["of_read_bw"] = benchmark::Counter(bytes / 1e9 / read_gbps, benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const auto targets = cpu::supported_targets();
  benchmark::RegisterBenchmark("read/1_thread", BM_read)->Unit(benchmark::kMillisecond)->MinTime(0.5);
  for (const FormatInfo& fi : kFormatInfo) {
    if (!format_has_codec(fi.format)) continue;
    for (int64_t t : targets) {
      benchmark::RegisterBenchmark((std::string("dequant/") + fi.name + "/" + cpu::target_name(t)).c_str(),
                                   BM_dequant, fi.format, t)
          ->Unit(benchmark::kMillisecond)
          ->MinTime(0.2);
    }
  }
  for (const FormatInfo& fi : kFormatInfo) {
    if (!format_has_quantizer(fi.format)) continue;
    benchmark::RegisterBenchmark((std::string("quantize/") + fi.name).c_str(), BM_quantize, fi.format, false)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(0.1);
    if (fi.quantized() && !format_is_activation(fi.format)) {
      benchmark::RegisterBenchmark((std::string("quantize/") + fi.name + "/imatrix").c_str(), BM_quantize,
                                   fi.format, true)
          ->Unit(benchmark::kMillisecond)
          ->MinTime(0.1);
    }
  }
  for (Format pair : {Format::Q8_0, Format::Q8_1, Format::Q8_K}) {
    for (int64_t t : targets) {
      benchmark::RegisterBenchmark((std::string("act/") + format_name(pair) + "/" + cpu::target_name(t)).c_str(),
                                   BM_act, pair, t)
          ->Unit(benchmark::kMicrosecond)
          ->MinTime(0.1);
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
