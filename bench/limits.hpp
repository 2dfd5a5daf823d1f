// bench/limits.hpp — this machine's limits, measured in the same process as
// the benchmark that reports against them.
//
// Every kernel benchmark reports its speed as a fraction of these:
//   read bandwidth  — a STREAM-like sum over a buffer far larger than the
//                     caches, on 1..N threads (GB/s), the faster of a plain
//                     loop and one that prefetches 4 KiB ahead (the plain
//                     loop alone reads ~25% below what streaming kernels
//                     reach on Zen 5 at 2 threads, which made ratios > 100%);
//   int8 peak       — a dependent-chain-free loop of vpdpbusd (zmm) on x86
//                     with AVX-512 VNNI, sdot on Arm with dotprod (MAC/s/core);
//   f32 FMA peak    — independent FMA chains at the widest vector (FLOP/s/core).
// Each is the median of several repetitions: the machines are shared and noisy.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "qkit/base/aligned.hpp"
#include "qkit/cpu/targets.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

// GCC 12 reports a false -Wuninitialized inside avx512fintrin.h (its
// _mm512_undefined_* idiom) when these intrinsics are inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace qkit::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0.0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

namespace detail {

#if defined(__x86_64__)
// With kPrefetch, each step also prefetches the line 4 KiB ahead (past the
// end it is a harmless hint).
template <bool kPrefetch>
__attribute__((target("avx512f"))) inline uint64_t read_sum_avx512(const uint64_t* p, size_t n) {
  constexpr size_t kAhead = 4096 / 8;
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 32 <= n; i += 32) {
    if constexpr (kPrefetch)
      for (size_t l = 0; l < 32; l += 8) _mm_prefetch(reinterpret_cast<const char*>(p + i + kAhead + l), _MM_HINT_T0);
    a0 = _mm512_add_epi64(a0, _mm512_load_si512(p + i));
    a1 = _mm512_add_epi64(a1, _mm512_load_si512(p + i + 8));
    a2 = _mm512_add_epi64(a2, _mm512_load_si512(p + i + 16));
    a3 = _mm512_add_epi64(a3, _mm512_load_si512(p + i + 24));
  }
  return _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)));
}
#endif

// Sums 64-bit words so the compiler cannot skip the loads; 4 chains keep
// the adds off the critical path. n is a multiple of 32.
inline uint64_t read_sum(const uint64_t* p, size_t n, bool prefetch = false) {
#if defined(__x86_64__)
  if (cpu::features().avx512f) return prefetch ? read_sum_avx512<true>(p, n) : read_sum_avx512<false>(p, n);
#else
  (void)prefetch;
#endif
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i + 4 <= n; i += 4) {
    s0 += p[i];
    s1 += p[i + 1];
    s2 += p[i + 2];
    s3 += p[i + 3];
  }
  return s0 + s1 + s2 + s3;
}

}  // namespace detail

namespace detail {

// A buffer of `bytes` (>> any L3 here), every page touched and the data
// given some entropy, so timing it measures streaming from memory.
inline AlignedBuffer<uint64_t> touched_buffer(size_t bytes) {
  const size_t words = bytes / 8 / 32 * 32;
  AlignedBuffer<uint64_t> buf(words);
  for (size_t i = 0; i < words; ++i) buf[i] = i * 0x9e3779b97f4a7c15ull;
  return buf;
}

// GB/s of `threads` threads each streaming its share of buf: the median of
// `reps` runs of the plain loop and of the prefetching one, whichever is
// faster.
inline double read_bandwidth_of(const AlignedBuffer<uint64_t>& buf, int threads, int reps) {
  const size_t per = buf.size() / (32 * size_t(threads)) * 32;
  volatile uint64_t sink = 0;
  auto rate = [&](bool prefetch) {
    std::vector<double> gbps;
    for (int r = 0; r < reps; ++r) {
      std::vector<uint64_t> sums(static_cast<size_t>(threads), 0);
      const auto t0 = Clock::now();
      std::vector<std::thread> pool;
      for (int t = 1; t < threads; ++t)
        pool.emplace_back([&, t] { sums[size_t(t)] = read_sum(buf.data() + per * size_t(t), per, prefetch); });
      sums[0] = read_sum(buf.data(), per, prefetch);
      for (auto& th : pool) th.join();
      const double s = seconds_since(t0);
      for (uint64_t v : sums) sink = sink + v;
      gbps.push_back(double(per * size_t(threads) * 8) / s * 1e-9);
    }
    return median(gbps);
  };
  const double plain = rate(false);
#if defined(__x86_64__)
  const double best = cpu::features().avx512f ? std::max(plain, rate(true)) : plain;
#else
  const double best = plain;
#endif
  (void)sink;
  return best;
}

}  // namespace detail

// Read bandwidth in GB/s with `threads` threads, each streaming its share of
// a `bytes` buffer (default 512 MiB, >> any L3 here).
inline double measure_read_bandwidth(int threads, size_t bytes = size_t(512) << 20, int reps = 5) {
  return detail::read_bandwidth_of(detail::touched_buffer(bytes), threads, reps);
}

// The read bandwidth at this moment, over a 512 MiB buffer kept for the
// process: for a ratio taken right next to the figure it divides. On the
// shared virtual machines we measure on, the memory system's speed moves
// by 30-60% within minutes, so a limit measured once at the start of a
// program can sit far from the one a later benchmark ran against.
inline double read_bandwidth_now(int threads, int reps = 3) {
  static const AlignedBuffer<uint64_t> buf = detail::touched_buffer(size_t(512) << 20);
  return detail::read_bandwidth_of(buf, threads, reps);
}

namespace detail {

#if defined(__x86_64__)
// Twelve named accumulators (not an array, which GCC keeps in memory) and one
// empty asm that claims to modify all of them, so nothing is hoisted or spilled.
#define QKIT_BENCH_12(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11)
#define QKIT_BENCH_KEEP_X86(a)                                                                    \
  __asm__ volatile("" : "+v"(a##0), "+v"(a##1), "+v"(a##2), "+v"(a##3), "+v"(a##4), "+v"(a##5), \
                   "+v"(a##6), "+v"(a##7), "+v"(a##8), "+v"(a##9), "+v"(a##10), "+v"(a##11))

// 12 independent vpdpbusd chains on zmm: 64 u8*s8 MACs each.
__attribute__((target("avx512f,avx512vnni"))) inline double int8_macs_vnni(int64_t iters) {
#define QKIT_DECL(k) __m512i acc##k = _mm512_set1_epi32(k);
  QKIT_BENCH_12(QKIT_DECL)
#undef QKIT_DECL
  const __m512i u = _mm512_set1_epi8(3), s = _mm512_set1_epi8(-2);
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < iters; ++i) {
#define QKIT_STEP(k) acc##k = _mm512_dpbusd_epi32(acc##k, u, s);
    QKIT_BENCH_12(QKIT_STEP)
#undef QKIT_STEP
    QKIT_BENCH_KEEP_X86(acc);
  }
  const double sec = seconds_since(t0);
  __m512i t = _mm512_setzero_si512();
#define QKIT_SUM(k) t = _mm512_add_epi32(t, acc##k);
  QKIT_BENCH_12(QKIT_SUM)
#undef QKIT_SUM
  volatile int sink = _mm512_reduce_add_epi32(t);
  (void)sink;
  return double(iters) * 12 * 64 / sec;
}

// 12 independent FMA chains on zmm: 16 lanes x 2 FLOP each.
__attribute__((target("avx512f"))) inline double f32_flops_avx512(int64_t iters) {
#define QKIT_DECL(k) __m512 acc##k = _mm512_set1_ps(float(k));
  QKIT_BENCH_12(QKIT_DECL)
#undef QKIT_DECL
  const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < iters; ++i) {
#define QKIT_STEP(k) acc##k = _mm512_fmadd_ps(acc##k, m, a);
    QKIT_BENCH_12(QKIT_STEP)
#undef QKIT_STEP
    QKIT_BENCH_KEEP_X86(acc);
  }
  const double sec = seconds_since(t0);
  __m512 t = _mm512_setzero_ps();
#define QKIT_SUM(k) t = _mm512_add_ps(t, acc##k);
  QKIT_BENCH_12(QKIT_SUM)
#undef QKIT_SUM
  volatile float sink = _mm512_reduce_add_ps(t);
  (void)sink;
  return double(iters) * 12 * 32 / sec;
}
#endif

#if defined(__aarch64__)
__attribute__((target("arch=armv8.2-a+dotprod"))) inline double int8_macs_sdot(int64_t iters) {
  int32x4_t acc[12];
  for (auto& a : acc) a = vdupq_n_s32(0);
  const int8x16_t x = vdupq_n_s8(3), y = vdupq_n_s8(-2);
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < iters; ++i) {
    for (auto& a : acc) a = vdotq_s32(a, x, y);
    __asm__ volatile("" : "+w"(acc[0]), "+w"(acc[1]), "+w"(acc[2]), "+w"(acc[3]));
  }
  const double sec = seconds_since(t0);
  int32x4_t t = acc[0];
  for (int k = 1; k < 12; ++k) t = vaddq_s32(t, acc[k]);
  volatile int sink = vaddvq_s32(t);
  (void)sink;
  return double(iters) * 12 * 16 / sec;
}

inline double f32_flops_neon(int64_t iters) {
  float32x4_t acc[12];
  for (int k = 0; k < 12; ++k) acc[k] = vdupq_n_f32(float(k));
  const float32x4_t m = vdupq_n_f32(0.999999f), a = vdupq_n_f32(1e-7f);
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < iters; ++i) {
    for (auto& x : acc) x = vfmaq_f32(a, x, m);
    __asm__ volatile("" : "+w"(acc[0]), "+w"(acc[1]), "+w"(acc[2]), "+w"(acc[3]));
  }
  const double sec = seconds_since(t0);
  float32x4_t t = acc[0];
  for (int k = 1; k < 12; ++k) t = vaddq_f32(t, acc[k]);
  volatile float sink = vaddvq_f32(t);
  (void)sink;
  return double(iters) * 12 * 8 / sec;
}
#endif

template <typename Fn>
double median_rate(Fn fn, int reps = 5, int64_t iters = 20'000'000) {
  std::vector<double> v;
  for (int r = 0; r < reps; ++r) v.push_back(fn(iters));
  return median(v);
}

}  // namespace detail

// int8 multiply-accumulates per second on one core with the fastest int8 dot
// instruction available (0 when the CPU has none qkit measures).
inline double measure_int8_peak_per_core() {
#if defined(__x86_64__)
  if (cpu::features().avx512vnni) return detail::median_rate(detail::int8_macs_vnni);
#elif defined(__aarch64__)
  if (cpu::features().dotprod) return detail::median_rate(detail::int8_macs_sdot, 5, 2'000'000);
#endif
  return 0.0;
}

// f32 FLOP/s (an FMA counts 2) on one core at the widest vector qkit measures.
inline double measure_f32_peak_per_core() {
#if defined(__x86_64__)
  if (cpu::features().avx512f) return detail::median_rate(detail::f32_flops_avx512);
#elif defined(__aarch64__)
  return detail::median_rate(detail::f32_flops_neon, 5, 2'000'000);
#endif
  return 0.0;
}

// The limits, measured once per process on first use.
struct MachineLimits {
  std::vector<double> read_gbps;  // [t-1] = read bandwidth with t threads
  double int8_macs_per_core = 0;
  double f32_flops_per_core = 0;
  double read(int threads) const {
    return read_gbps[size_t(std::min<int>(threads, int(read_gbps.size())) - 1)];
  }
  double int8_peak(int threads) const { return int8_macs_per_core * threads; }
};

inline const MachineLimits& machine_limits() {
  static const MachineLimits lim = [] {
    MachineLimits m;
    const int n = int(std::max(1u, std::thread::hardware_concurrency()));
    for (int t = 1; t <= n; ++t) m.read_gbps.push_back(measure_read_bandwidth(t));
    m.int8_macs_per_core = measure_int8_peak_per_core();
    m.f32_flops_per_core = measure_f32_peak_per_core();
    return m;
  }();
  return lim;
}

}  // namespace qkit::bench

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
