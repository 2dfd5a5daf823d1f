// bench_quantize_ref — single-thread throughput of the scalar reference
// weight quantizers (quant/registry.hpp quantize_row), in MB/s of f32 input,
// with and without an importance matrix, plus an FNV-1a hash of every
// output so a speed change can be checked for identical bytes at a glance
// (the golden tests are the real proof).
//
// Plain program (no Google Benchmark, no kernels). The machine is shared and
// often oversubscribed, so time is the thread's CPU time (time it was
// actually running), not wall time; each figure is the median of `reps`
// timings of `rows` x `cols` gaussian rows, each timing at least ~40 ms.
//
//   g++ -O3 -DNDEBUG -std=c++17 -Iinclude bench/bench_quantize_ref.cpp -o /tmp/bqr -lpthread
//   (or the bench_quantize_ref CMake target)
//   /tmp/bqr [reps=7] [format-filter] [no|yes: only without / with imatrix]
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "qkit/quant/registry.hpp"

namespace {

uint64_t fnv1a(const std::vector<uint8_t>& v) {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : v) h = (h ^ b) * 1099511628211ull;
  return h;
}

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 7;
  const std::string filter = argc > 2 ? argv[2] : "";
  const std::string imat_filter = argc > 3 ? argv[3] : "";
  constexpr int64_t rows = 16, cols = 4096;
  std::mt19937 rng(1234);
  std::normal_distribution<float> gauss(0.f, 1.f);
  std::uniform_real_distribution<float> uni(0.01f, 4.f);
  std::vector<float> x(static_cast<size_t>(rows * cols));
  for (auto& v : x) v = 0.02f * gauss(rng);
  std::vector<float> imat(static_cast<size_t>(cols));
  for (auto& v : imat) v = uni(rng);

  using qkit::Format;
  const Format formats[] = {Format::Q4_0, Format::Q4_1, Format::Q5_0, Format::Q5_1, Format::Q8_0,
                            Format::IQ4_NL, Format::IQ4_XS, Format::Q2_K, Format::Q3_K, Format::Q4_K,
                            Format::Q5_K, Format::Q6_K};
  std::printf("%-8s %-8s %10s %18s\n", "format", "imatrix", "MB/s", "hash");
  for (Format f : formats) {
    const auto& fi = qkit::format_info(f);
    if (!filter.empty() && filter != fi.name) continue;
    const size_t rb = qkit::row_bytes(f, cols);
    std::vector<uint8_t> out(rb * rows);
    for (int with_imat = 0; with_imat < 2; ++with_imat) {
      if (!imat_filter.empty() && imat_filter != (with_imat ? "yes" : "no")) continue;
      const float* qw = with_imat ? imat.data() : nullptr;
      auto once = [&] {
        for (int64_t r = 0; r < rows; ++r) qkit::quantize_row(f, x.data() + r * cols, out.data() + r * rb, cols, qw);
      };
      // Calibrate the inner repeat count to ~40 ms per timing.
      int inner = 1;
      for (;;) {
        const double t0 = cpu_seconds();
        for (int k = 0; k < inner; ++k) once();
        const double s = cpu_seconds() - t0;
        if (s > 0.04 || inner > (1 << 20)) break;
        inner *= 2;
      }
      std::vector<double> mbs;
      for (int r = 0; r < reps; ++r) {
        const double t0 = cpu_seconds();
        for (int k = 0; k < inner; ++k) once();
        const double s = cpu_seconds() - t0;
        mbs.push_back(static_cast<double>(inner) * rows * cols * sizeof(float) / s / 1e6);
      }
      std::printf("%-8s %-8s %10.1f %018llx\n", fi.name, with_imat ? "yes" : "no", median(mbs),
                  static_cast<unsigned long long>(fnv1a(out)));
      std::fflush(stdout);
    }
  }
  return 0;
}
