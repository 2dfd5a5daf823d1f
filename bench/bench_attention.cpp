// Attention benchmarks.
//
// Decode: one query per head against a KV cache of 512..32768 positions,
// for Phi-3-mini (32 heads x 96, MHA) and Phi-4-mini (24 heads, 8 KV
// heads, 128 dims), with f32, f16 and Q8_0 caches. Decoding streams the
// whole cache once per token, so it is reported as KV-cache GB/s and as a
// fraction of this machine's read bandwidth (bench/limits.hpp, same run,
// same thread count). Several layers' caches are cycled so the working
// set (>= 256 MiB) never fits in the last-level cache, as in a real model.
//
// DecodeHot: the same kernel on a cache that stays in the last-level
// cache, its instruction-bound ceiling (CPU time).
//
// Prompt: 512 and 2048 causal queries, flash (tiled, online softmax)
// against a naive version that materialises each head's n_q x n_kv score
// matrix; both on the same cache, threads and dispatch target.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "limits.hpp"
#include "qkit/kernels/activation.hpp"
#include "qkit/kernels/attention.hpp"
#include "qkit/kernels/dot.hpp"
#include "qkit/kernels/kv_cache.hpp"
#include "qkit/thread/pool.hpp"

namespace {

using namespace qkit;

struct Model {
  const char* name;
  size_t n_head, n_head_kv, head_dim;
};
const Model kModels[] = {{"phi3-mini", 32, 32, 96}, {"phi4-mini", 24, 8, 128}};
const KvType kTypes[] = {KvType::F32, KvType::F16, KvType::Q8_0};

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// A cache of n_layer layers filled to ctx positions with random K/V.
std::unique_ptr<KvCache> filled_cache(const Model& m, KvType t, size_t ctx, size_t n_layer) {
  auto cache = std::make_unique<KvCache>(KvCache::Config{n_layer, m.n_head_kv, m.head_dim, ctx, t});
  const size_t chunk = 256;
  const auto kv = random_floats(chunk * m.n_head_kv * m.head_dim, 42);
  for (size_t l = 0; l < n_layer; ++l)
    for (size_t p = 0; p < ctx; p += chunk) cache->append(l, kv.data(), kv.data(), std::min(chunk, ctx - p));
  return cache;
}

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

struct StreamRate {
  double wall_gbps, cpu_gbps;
};

// Sums every 64-bit word of the K and V caches of `iters` layers in turn
// (4 independent chains, vectorised by the compiler): the speed a pure
// stream over the same bytes reaches right now.
StreamRate stream_cache(const KvCache& cache, size_t n_layer, int64_t iters) {
  uint64_t sink = 0;
  double bytes = 0;
  const auto t0 = bench::Clock::now();
  const double c0 = thread_cpu_seconds();
  for (int64_t i = 0; i < iters; ++i) {
    const size_t l = size_t(i) % n_layer;
    for (const KvView& v : {cache.keys(l), cache.values(l)}) {
      const size_t words = v.n_head_kv * v.head_stride / 8;
      const auto* w = reinterpret_cast<const uint64_t*>(v.data);
      uint64_t a = 0, b = 0, c = 0, d = 0;
      for (size_t j = 0; j + 4 <= words; j += 4) {
        a += w[j];
        b += w[j + 1];
        c += w[j + 2];
        d += w[j + 3];
      }
      sink += a + b + c + d;
      bytes += double(words * 8);
    }
  }
  benchmark::DoNotOptimize(sink);
  return {bytes / bench::seconds_since(t0) * 1e-9, bytes / (thread_cpu_seconds() - c0) * 1e-9};
}

ThreadPool& pool_of(int threads) {
  static std::vector<std::unique_ptr<ThreadPool>> pools(8);
  auto& p = pools[size_t(threads)];
  if (!p) p = std::make_unique<ThreadPool>(threads);
  return *p;
}

// Args: model, context, cache type, threads.
void BM_DecodeAttention(benchmark::State& state) {
  const Model& m = kModels[state.range(0)];
  const size_t ctx = size_t(state.range(1));
  const KvType t = kTypes[state.range(2)];
  const int threads = int(state.range(3));
  const size_t layer_bytes = 2 * m.n_head_kv * ctx * kv::row_bytes(t, m.head_dim);
  const size_t n_layer = std::max<size_t>(1, (size_t(256) << 20) / layer_bytes + 1);
  const double read_gbps = bench::machine_limits().read(threads);  // before allocating
  auto cache = filled_cache(m, t, ctx, n_layer);
  const auto q = random_floats(m.n_head * m.head_dim, 7);
  std::vector<float> out(q.size());
  AttentionParams p;
  p.n_q = 1;
  p.n_head = m.n_head;
  p.head_dim = m.head_dim;
  ThreadPool* pool = threads > 1 ? &pool_of(threads) : nullptr;
  size_t layer = 0;
  const auto t0 = bench::Clock::now();
  const double c0 = thread_cpu_seconds();
  for (auto _ : state) {
    attention(q.data(), cache->keys(layer), cache->values(layer), out.data(), p, pool);
    benchmark::DoNotOptimize(out.data());
    layer = (layer + 1) % n_layer;
  }
  const double bytes = double(layer_bytes) * double(state.iterations());
  const double kv_gbps = bytes / bench::seconds_since(t0) * 1e-9;
  const double kv_cpu_gbps = bytes / (thread_cpu_seconds() - c0) * 1e-9;
  // The stricter of the start-up limit and one measured right after the
  // loop (the machine's memory speed drifts within minutes).
  const double read_now = std::max(read_gbps, bench::read_bandwidth_now(threads));
  state.counters["KV_GB/s"] = kv_gbps;
  state.counters["read_GB/s"] = read_now;
  state.counters["pct_read_bw"] = 100.0 * kv_gbps / read_now;
  // Baseline of the same moment: a plain streaming read of the same cache
  // bytes (same layers, same order), in wall time and, for one thread, in
  // CPU time of the calling thread, which stays meaningful when the
  // machine is shared and the wall-clock bandwidth is not.
  const StreamRate st = stream_cache(*cache, n_layer, state.iterations());
  state.counters["pct_stream"] = 100.0 * kv_gbps / st.wall_gbps;
  if (threads == 1) {
    state.counters["KV_GB/s_cpu"] = kv_cpu_gbps;  // bytes per second of this thread's CPU time
    state.counters["pct_stream_cpu"] = 100.0 * kv_cpu_gbps / st.cpu_gbps;
  }
  state.SetLabel(std::string(m.name) + " " + kv_type_name(t) + " ctx " + std::to_string(ctx) + " " +
                 std::to_string(threads) + "T");
}

// Args: model, cache type. The decode kernel's instruction ceiling: one
// layer of 512 positions (a few MiB, in the last-level cache) attended
// over and over on one thread, KV bytes per second of CPU time. Where this
// is not well above the read bandwidth, decoding cannot be memory-bound.
void BM_DecodeAttentionHot(benchmark::State& state) {
  const Model& m = kModels[state.range(0)];
  const KvType t = kTypes[state.range(1)];
  const size_t ctx = 512;
  const size_t layer_bytes = 2 * m.n_head_kv * ctx * kv::row_bytes(t, m.head_dim);
  auto cache = filled_cache(m, t, ctx, 1);
  const auto q = random_floats(m.n_head * m.head_dim, 7);
  std::vector<float> out(q.size());
  AttentionParams p;
  p.n_q = 1;
  p.n_head = m.n_head;
  p.head_dim = m.head_dim;
  attention(q.data(), cache->keys(0), cache->values(0), out.data(), p);  // warm the cache
  const double c0 = thread_cpu_seconds();
  for (auto _ : state) {
    attention(q.data(), cache->keys(0), cache->values(0), out.data(), p);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["KV_GB/s_cpu"] =
      double(layer_bytes) * double(state.iterations()) / (thread_cpu_seconds() - c0) * 1e-9;
  state.SetLabel(std::string(m.name) + " " + kv_type_name(t) + " ctx 512 in cache 1T");
}

// The materialising baseline: per head, S = scale * Q K^T (n_q x n_kv,
// O(n^2) memory), causal mask, softmax, O = S V; K and V converted to f32
// once per head.
void naive_attention(const float* q, const KvView& k, const KvView& v, float* out, size_t n_q, size_t n_head,
                     ThreadPool* pool) {
  const size_t D = k.head_dim, n_kv = k.length, g = n_head / k.n_head_kv;
  const float scale = 1.0f / std::sqrt(float(D));
  auto head = [&](int64_t h0, int64_t h1) {
    std::vector<float> K(n_kv * D), V(n_kv * D), S(n_q * n_kv), qh(D);
    for (int64_t h = h0; h < h1; ++h) {
      const size_t hk = size_t(h) / g;
      for (size_t j = 0; j < n_kv; ++j) {
        kv::decode_row(k.type, k.row(hk, j), &K[j * D], D);
        kv::decode_row(v.type, v.row(hk, j), &V[j * D], D);
      }
      for (size_t i = 0; i < n_q; ++i) {
        const size_t pos = n_kv - n_q + i;
        const float* qi = q + (i * n_head + size_t(h)) * D;
        for (size_t j = 0; j < n_kv; ++j)
          S[i * n_kv + j] = j <= pos ? dot_f32(qi, &K[j * D], D) * scale : -std::numeric_limits<float>::infinity();
      }
      softmax(S.data(), S.data(), n_q, n_kv);
      for (size_t i = 0; i < n_q; ++i) {
        float* o = out + (i * n_head + size_t(h)) * D;
        std::fill(o, o + D, 0.0f);
        for (size_t j = 0; j < n_kv; ++j) {
          const float w = S[i * n_kv + j];
          if (w == 0.0f) continue;
          for (size_t c = 0; c < D; ++c) o[c] += w * V[j * D + c];
        }
      }
    }
  };
  if (pool) {
    pool->parallel_for(0, int64_t(n_head), 1, head);
  } else {
    head(0, int64_t(n_head));
  }
}

// Args: model, n_q (= context), flash (1) or naive (0), threads. f16 cache.
void BM_PromptAttention(benchmark::State& state) {
  const Model& m = kModels[state.range(0)];
  const size_t n_q = size_t(state.range(1));
  const bool flash = state.range(2) != 0;
  const int threads = int(state.range(3));
  auto cache = filled_cache(m, KvType::F16, n_q, 1);
  const auto q = random_floats(n_q * m.n_head * m.head_dim, 9);
  std::vector<float> out(q.size());
  AttentionParams p;
  p.n_q = n_q;
  p.n_head = m.n_head;
  p.head_dim = m.head_dim;
  ThreadPool* pool = threads > 1 ? &pool_of(threads) : nullptr;
  for (auto _ : state) {
    if (flash) {
      attention(q.data(), cache->keys(0), cache->values(0), out.data(), p, pool);
    } else {
      naive_attention(q.data(), cache->keys(0), cache->values(0), out.data(), n_q, m.n_head, pool);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["tok/s"] = benchmark::Counter(double(n_q) * double(state.iterations()), benchmark::Counter::kIsRate);
  // Scratch beyond the output: flash O(tile) per thread, naive n_q x n_kv per thread.
  state.counters["scratch_MiB"] =
      flash ? double(threads) * (32 * (2 * m.head_dim + kernels::kAttnKvTile + 4) + 2 * kernels::kAttnKvTile * m.head_dim) * 4 / 1048576.0
            : double(threads) * (double(n_q) * double(n_q) + 2.0 * double(n_q * m.head_dim)) * 4 / 1048576.0;
  state.SetLabel(std::string(m.name) + (flash ? " flash" : " naive") + " f16 " + std::to_string(n_q) + " queries " +
                 std::to_string(threads) + "T");
}

void decode_args(benchmark::internal::Benchmark* b) {
  const int hw = int(std::max(1u, std::thread::hardware_concurrency()));
  for (int model = 0; model < 2; ++model)
    for (int ctx : {512, 2048, 8192, 32768})
      for (int type = 0; type < 3; ++type)
        for (int threads = 1; threads <= hw; threads = threads == hw ? hw + 1 : hw) {
          if (type == 0 && ctx > 8192) continue;  // 0.8 GB per layer: f32 caches are not the target
          b->Args({model, ctx, type, threads});
        }
}

void prompt_args(benchmark::internal::Benchmark* b) {
  const int hw = int(std::max(1u, std::thread::hardware_concurrency()));
  for (int model = 0; model < 2; ++model)
    for (int n : {512, 2048})
      for (int flash : {1, 0}) b->Args({model, n, flash, hw});
}

}  // namespace

BENCHMARK(BM_DecodeAttention)->Apply(decode_args)->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(0.2);
BENCHMARK(BM_DecodeAttentionHot)
    ->ArgsProduct({{0, 1}, {0, 1, 2}})
    ->Unit(benchmark::kMicrosecond)
    ->MinTime(0.2);
BENCHMARK(BM_PromptAttention)->Apply(prompt_args)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  // Measure the machine first, before the caches take memory and time.
  const auto& lim = qkit::bench::machine_limits();
  for (size_t t = 0; t < lim.read_gbps.size(); ++t)
    benchmark::AddCustomContext("read_GB/s_" + std::to_string(t + 1) + "T", std::to_string(lim.read_gbps[t]));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
