// examples/phi/bench.hpp — prompt-processing and generation speed, reported
// like the reference engine's bench tool: ppN = N prompt tokens in one batch
// on an empty cache, tgN = N tokens generated one at a time from an empty
// cache; mean ± stddev of tokens/s over repetitions after one warm-up run.
// Token ids are random (the speed does not depend on them).
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "limits.hpp"  // bench/: the machine's limits, measured in the same run
#include "phi/model.hpp"

namespace phi {

struct BenchResult {
  double mean = 0, stddev = 0;  // tokens per second (wall clock)
  double per_cpu_s = 0;         // tokens per second of process CPU time (all threads)
};

// Process CPU time (user + system, all threads) in seconds. On a shared,
// oversubscribed machine tokens per CPU-second shows what the code does with
// the CPU it gets; with -t 1 it approximates an idle core's speed.
inline double cpu_s() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Peak resident set size in bytes (VmHWM), 0 if unknown.
inline uint64_t peak_rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

inline BenchResult bench_run(Model& m, int64_t n_prompt, int64_t n_gen, int reps) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(m.n_vocab() - 1));
  std::vector<float> logits(static_cast<size_t>(m.n_vocab()));
  std::vector<double> rates;
  double cpu = 0, tokens = 0;
  for (int r = 0; r <= reps; ++r) {  // run 0 warms up
    m.reset();
    const double c0 = cpu_s();
    double t;
    if (n_prompt > 0) {
      std::vector<int32_t> prompt(static_cast<size_t>(n_prompt));
      for (int32_t& x : prompt) x = tok(rng);
      const double t0 = now_s();
      m.eval(prompt.data(), n_prompt, logits.data());
      t = now_s() - t0;
      if (r > 0) rates.push_back(static_cast<double>(n_prompt) / t);
    } else {
      const double t0 = now_s();
      int32_t x = tok(rng);
      for (int64_t i = 0; i < n_gen; ++i) {
        m.eval(&x, 1, logits.data());
        x = tok(rng);
      }
      t = now_s() - t0;
      if (r > 0) rates.push_back(static_cast<double>(n_gen) / t);
    }
    if (r > 0) {
      cpu += cpu_s() - c0;
      tokens += static_cast<double>(n_prompt > 0 ? n_prompt : n_gen);
    }
  }
  BenchResult b;
  for (double x : rates) b.mean += x;
  b.mean /= static_cast<double>(rates.size());
  for (double x : rates) b.stddev += (x - b.mean) * (x - b.mean);
  b.stddev = rates.size() > 1 ? std::sqrt(b.stddev / static_cast<double>(rates.size() - 1)) : 0.0;
  b.per_cpu_s = cpu > 0 ? tokens / cpu : 0.0;
  return b;
}

// What one token costs: matrix bytes read by a generated token (every
// weight once; the token embedding only one row unless it is also the
// output matrix) and the multiply-accumulates of its matrix products; plus
// the file's bytes and parameter count.
struct ModelCost {
  uint64_t bytes = 0, params = 0, bytes_per_token = 0, macs_per_token = 0;
};

inline ModelCost model_cost(const Model& m) {
  ModelCost c;
  const bool tied = !m.file().find_tensor("output.weight");
  for (const auto& t : m.file().tensors()) {
    c.bytes += t.nbytes;
    c.params += t.n_elements();
    const bool embedding_only = t.name == "token_embd.weight" && !tied;
    if (!embedding_only) c.bytes_per_token += t.nbytes;
    if (!embedding_only && t.ne.size() >= 2) c.macs_per_token += t.n_elements();
  }
  return c;
}

// Prints the table, then each result against this machine's limits
// measured in the same run (bench/limits.hpp, at the same thread count):
// generation against the read-bandwidth ceiling (bytes per token / read
// bandwidth), prompt processing against the int8 dot-product peak.
inline void run_bench(Model& m, const std::string& name, int64_t n_prompt, int64_t n_gen, int reps, int threads) {
  const ModelCost cost = model_cost(m);
  std::printf("| model | size | params | threads | test | t/s | t/CPU-s |\n|---|---:|---:|---:|---|---:|---:|\n");
  auto row = [&](const std::string& test, const BenchResult& b) {
    std::printf("| %s | %.2f GiB | %.2f B | %d | %s | %.2f ± %.2f | %.2f |\n", name.c_str(),
                static_cast<double>(cost.bytes) / (1024.0 * 1024 * 1024), static_cast<double>(cost.params) / 1e9,
                threads, test.c_str(), b.mean, b.stddev, b.per_cpu_s);
    std::fflush(stdout);
  };
  BenchResult pp, tg;
  if (n_prompt > 0) row("pp" + std::to_string(n_prompt), pp = bench_run(m, n_prompt, 0, reps));
  if (n_gen > 0) row("tg" + std::to_string(n_gen), tg = bench_run(m, 0, n_gen, reps));

  // Before the limits' own 512 MiB buffer raises the high-water mark.
  const uint64_t peak_rss = peak_rss_bytes();
  std::printf("\nmachine limits measured now (%d threads):", threads);
  std::fflush(stdout);
  const double read_gbps = qkit::bench::measure_read_bandwidth(threads);
  const double int8_peak = qkit::bench::measure_int8_peak_per_core() * threads;
  std::printf(" read %.1f GB/s", read_gbps);
  if (int8_peak > 0) std::printf(", int8 dot peak %.0f G MAC/s", int8_peak / 1e9);
  std::printf("\n");
  if (n_gen > 0) {
    const double gb = static_cast<double>(cost.bytes_per_token) / 1e9;
    const double ceiling = read_gbps / gb;
    std::printf("generation reads %.2f GB of weights per token: %.1f GB/s at %.2f tok/s = %.0f%% of the "
                "read-bandwidth ceiling (%.2f tok/s)\n",
                gb, gb * tg.mean, tg.mean, 100.0 * tg.mean / ceiling, ceiling);
  }
  if (n_prompt > 0 && int8_peak > 0) {
    const double gmac = static_cast<double>(cost.macs_per_token) * pp.mean / 1e9;
    std::printf("prompt processing: %.2f G MAC per token, %.0f G MAC/s = %.0f%% of the int8 dot peak\n",
                static_cast<double>(cost.macs_per_token) / 1e9, gmac, 100.0 * gmac * 1e9 / int8_peak);
  }
  std::printf("peak resident memory: %.0f MB (file %.0f MB, KV cache %.0f MB)\n",
              static_cast<double>(peak_rss) / 1e6, static_cast<double>(m.file().file_size()) / 1e6,
              static_cast<double>(m.kv_cache().bytes()) / 1e6);
}

}  // namespace phi
