// The machine's limits that every other benchmark reports against:
// read bandwidth at 1..N threads, int8 dot peak and f32 FMA peak per core.
#include <benchmark/benchmark.h>

#include <thread>

#include "limits.hpp"

namespace {

using namespace qkit::bench;

void BM_ReadBandwidth(benchmark::State& state) {
  const int threads = int(state.range(0));
  double gbps = 0;
  for (auto _ : state) gbps = measure_read_bandwidth(threads, size_t(512) << 20, 3);
  state.counters["GB/s"] = gbps;
  state.SetLabel(std::to_string(threads) + " thread(s), 512 MiB, median of 3");
}

void BM_Int8PeakPerCore(benchmark::State& state) {
  double macs = 0;
  for (auto _ : state) macs = measure_int8_peak_per_core();
  state.counters["GMAC/s"] = macs * 1e-9;
#if defined(__x86_64__)
  state.SetLabel("vpdpbusd zmm, 12 chains");
#else
  state.SetLabel("sdot, 12 chains");
#endif
}

void BM_F32FmaPeakPerCore(benchmark::State& state) {
  double flops = 0;
  for (auto _ : state) flops = measure_f32_peak_per_core();
  state.counters["GFLOP/s"] = flops * 1e-9;
}

}  // namespace

BENCHMARK(BM_ReadBandwidth)->DenseRange(1, int(std::max(1u, std::thread::hardware_concurrency())))
    ->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Int8PeakPerCore)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_F32FmaPeakPerCore)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
