// Flash attention and the KV cache: every target against a naive
// softmax(QK^T * scale + mask) V computed in double from the values the
// cache actually holds, over decode and prompt shapes, GQA ratios, head
// dims and cache types; plus masking, windows, edge cases and errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "qkit/kernels/attention.hpp"
#include "qkit/kernels/kv_cache.hpp"
#include "qkit/thread/pool.hpp"
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

// What the cache holds for head h, position j (decoded exactly).
std::vector<float> cached_row(const KvView& v, size_t h, size_t j) {
  std::vector<float> out(v.head_dim);
  kv::decode_row(v.type, v.row(h, j), out.data(), v.head_dim);
  return out;
}

// The query as a Q8_0 cache's K.q sees it: each head's blocks of 32
// quantized with the activation rule (quant::quantize_act_block, as the
// reference engine quantizes q to K's vec_dot_type), d rounded to f16.
std::vector<float> q8_query(const std::vector<float>& q) {
  std::vector<float> out(q.size());
  for (size_t b = 0; b + 32 <= q.size(); b += 32) {
    int8_t t[32];
    int sum = 0;
    const float d = f16_to_f32(f32_to_f16(quant::quantize_act_block(&q[b], t, sum)));
    for (size_t c = 0; c < 32; ++c) out[b + c] = d * static_cast<float>(t[c]);
  }
  return out;
}

// For a Q8_0 V cache, the AVX-512 VNNI decode kernel rounds the P V
// weights w_j * d_v(j, b) of each tile of at most T consecutive keys to
// int16 on the scale of their maximum (attention_pv_i16_x86.hpp): each
// moves by at most max_tile / 65534. So output c (block b) moves by at
// most sum_j |q_jc| * M_jb / 65534, M_jb the largest w_i * d_v(i, b) of
// keys within T - 1 of j (any tile holding j lies there; T =
// kAttnKvTile). Accumulated into bound[c] from one head's normalized
// weights w (0 where masked).
void add_q8_weight_rounding_bound(const KvView& v, size_t hk, const std::vector<double>& w, double* bound) {
  const size_t T = kernels::kAttnKvTile;
  const size_t n = w.size(), nb = v.head_dim / 32, n_chunks = (n + T - 1) / T;
  for (size_t b = 0; b < nb; ++b) {
    const auto scale = [&](size_t j) {
      uint16_t h;
      std::memcpy(&h, v.row(hk, j) + b * 34, 2);
      return static_cast<double>(f16_to_f32(h));
    };
    std::vector<double> chunk_max(n_chunks, 0.0);
    for (size_t j = 0; j < n; ++j) chunk_max[j / T] = std::max(chunk_max[j / T], w[j] * scale(j));
    for (size_t j = 0; j < n; ++j) {
      if (w[j] == 0) continue;
      const size_t c = j / T;
      double m = chunk_max[c];
      if (c > 0) m = std::max(m, chunk_max[c - 1]);
      if (c + 1 < n_chunks) m = std::max(m, chunk_max[c + 1]);
      const auto* qs = reinterpret_cast<const int8_t*>(v.row(hk, j) + b * 34 + 2);
      for (size_t i = 0; i < 32; ++i) bound[b * 32 + i] += std::abs(static_cast<double>(qs[i])) * m / 65534.0;
    }
  }
}

// Naive attention in double, with an explicit n_q x n_kv score row per
// query: the oracle the flash kernel must match. For a Q8_0 cache the
// query is the Q8_0 one (q8_query) unless exact_q. With weight_bound, a
// Q8_0 V cache also gives each output's add_q8_weight_rounding_bound.
std::vector<double> naive_attention(const std::vector<float>& q_in, const KvView& k, const KvView& v, size_t n_q,
                                    size_t n_head, const std::vector<int32_t>& pos, size_t window, bool causal,
                                    bool exact_q = false, std::vector<double>* weight_bound = nullptr) {
  const std::vector<float> q = k.type == KvType::Q8_0 && !exact_q ? q8_query(q_in) : q_in;
  const size_t D = k.head_dim, g = n_head / k.n_head_kv, n_kv = k.length;
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  std::vector<std::vector<float>> K(k.n_head_kv * n_kv), V(k.n_head_kv * n_kv);
  for (size_t h = 0; h < k.n_head_kv; ++h)
    for (size_t j = 0; j < n_kv; ++j) {
      K[h * n_kv + j] = cached_row(k, h, j);
      V[h * n_kv + j] = cached_row(v, h, j);
    }
  std::vector<double> out(n_q * n_head * D, 0.0), s(n_kv);
  if (weight_bound) weight_bound->assign(out.size(), 0.0);
  for (size_t i = 0; i < n_q; ++i)
    for (size_t h = 0; h < n_head; ++h) {
      const size_t hk = h / g;
      double m = -HUGE_VAL;
      for (size_t j = 0; j < n_kv; ++j) {
        const bool visible = (!causal || static_cast<int64_t>(j) <= pos[i]) &&
                             (window == 0 || pos[i] - static_cast<int64_t>(j) < static_cast<int64_t>(window));
        if (!visible) {
          s[j] = -HUGE_VAL;
          continue;
        }
        double dot = 0;
        for (size_t c = 0; c < D; ++c) dot += static_cast<double>(q[(i * n_head + h) * D + c]) * K[hk * n_kv + j][c];
        s[j] = dot * scale;
        m = std::max(m, s[j]);
      }
      if (m == -HUGE_VAL) continue;
      double sum = 0;
      for (size_t j = 0; j < n_kv; ++j) sum += s[j] == -HUGE_VAL ? 0.0 : std::exp(s[j] - m);
      std::vector<double> w(n_kv, 0.0);
      for (size_t j = 0; j < n_kv; ++j) {
        if (s[j] == -HUGE_VAL) continue;
        w[j] = std::exp(s[j] - m) / sum;
        for (size_t c = 0; c < D; ++c) out[(i * n_head + h) * D + c] += w[j] * V[hk * n_kv + j][c];
      }
      if (weight_bound && v.type == KvType::Q8_0)
        add_q8_weight_rounding_bound(v, hk, w, weight_bound->data() + (i * n_head + h) * D);
    }
  return out;
}

struct Shape {
  size_t n_q, n_kv, ratio, head_dim, n_head_kv;
  KvType type;
};

void check_against_naive(const Shape& s, size_t window = 0, uint32_t seed = 1) {
  const size_t n_head = s.n_head_kv * s.ratio, D = s.head_dim;
  KvCache cache({1, s.n_head_kv, D, s.n_kv + 3, s.type});
  const auto k = random_floats(s.n_kv * s.n_head_kv * D, -1, 1, seed);
  const auto v = random_floats(s.n_kv * s.n_head_kv * D, -1, 1, seed + 1);
  // Append in two pieces, as prompt + decode would.
  const size_t first = s.n_kv / 2;
  cache.append(0, k.data(), v.data(), first);
  cache.append(0, k.data() + first * s.n_head_kv * D, v.data() + first * s.n_head_kv * D, s.n_kv - first);
  REQUIRE(cache.length(0) == s.n_kv);
  // Queries large enough that the softmax is far from uniform.
  const auto q = random_floats(s.n_q * n_head * D, -3, 3, seed + 2);
  std::vector<int32_t> pos(s.n_q);
  for (size_t i = 0; i < s.n_q; ++i) pos[i] = static_cast<int32_t>(s.n_kv - s.n_q + i);  // may be < 0: sees nothing
  std::vector<double> bound;
  const auto ref = naive_attention(q, cache.keys(0), cache.values(0), s.n_q, n_head, pos, window, true, false, &bound);
  AttentionParams p;
  p.n_q = s.n_q;
  p.n_head = n_head;
  p.head_dim = D;
  p.q_pos = pos.data();
  p.window = window;
  std::vector<float> out(s.n_q * n_head * D);
  for_each_target([&](int64_t) {
    INFO("n_q " << s.n_q << " n_kv " << s.n_kv << " ratio " << s.ratio << " head_dim " << D << " cache "
                << kv_type_name(s.type) << " window " << window);
    std::fill(out.begin(), out.end(), std::nanf(""));
    attention(q.data(), cache.keys(0), cache.values(0), out.data(), p);
    // f32 accumulation, plus the int16 P V weights' rounding where the
    // target has them (AVX-512 VNNI; f32 everywhere else).
    const double int_pv = cpu::has_fast_path(cpu::kFastVnni) ? 1.0 : 0.0;
    double worst = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      REQUIRE(std::isfinite(out[i]));
      worst = std::max(worst, std::fabs(out[i] - ref[i]) - int_pv * bound[i]);
    }
    INFO("max abs error beyond the weight rounding bound " << worst);
    REQUIRE(worst < 2e-5);
  });
}

}  // namespace

TEST_CASE("attention matches naive softmax(QK^T/sqrt(d))V for decode and prompt shapes", "[attention]") {
  const size_t n_qs[] = {1, 7, 64};
  const size_t n_kvs[] = {1, 100, 2048};
  const size_t ratios[] = {1, 3, 4};
  const size_t dims[] = {32, 64, 96, 128};
  const KvType types[] = {KvType::F32, KvType::F16, KvType::Q8_0};
  // Every n_q x n_kv x cache type; GQA ratio and head dim rotate so each
  // appears with each other parameter, while the largest shapes keep few
  // heads (the whole file must stay quick under qemu).
  size_t idx = 0;
  for (size_t n_q : n_qs)
    for (size_t n_kv : n_kvs)
      for (KvType t : types) {
        const size_t ratio = ratios[idx % 3], dim = dims[(idx / 3 + idx) % 4];
        ++idx;
        const bool big = n_q * n_kv >= 64 * 2048;
        check_against_naive({n_q, n_kv, big ? size_t{1} : ratio, dim, big ? size_t{1} : size_t{2}, t}, 0, static_cast<uint32_t>(idx));
      }
  // Each GQA ratio x head dim at least once with a mid-size prompt.
  for (size_t ratio : ratios)
    for (size_t dim : dims) check_against_naive({7, 100, ratio, dim, 2, KvType::F16}, 0, static_cast<uint32_t>(ratio * dim));
}

TEST_CASE("decode attention: every GQA group size and key-count remainder", "[attention]") {
  // One query (the decode kernel): group sizes 1-4 take its register
  // paths, 5 and 8 the tiled one; key counts leave 0-3 keys after the
  // groups of four and partial tiles, at each head dim.
  const size_t n_kvs[] = {1, 3, 33, 66, 103, 515};
  size_t idx = 0;
  for (KvType t : {KvType::F32, KvType::F16, KvType::Q8_0})
    for (size_t ratio : {1, 2, 3, 4, 5, 8})
      for (size_t dim : {32, 64, 96, 128}) {
        const size_t n_kv = n_kvs[idx++ % 6];
        check_against_naive({1, n_kv, ratio, dim, 2, t}, 0, static_cast<uint32_t>(1000 + idx));
      }
}

TEST_CASE("q8_0 decode: Phi-4-mini's shape at every group-of-four and tile remainder", "[attention]") {
  // 24 query heads on 8 KV heads of 128 dims: the integer block-sum score
  // kernel and the int16 P V of key pairs (AVX-512 VNNI), for key
  // counts that end a tile (32 keys) with 0-3 keys after the last group of
  // four, an exactly full tile, one past it, and a split cache (>= 2048).
  for (size_t n_kv : {1, 2, 3, 5, 31, 32, 33, 62, 64, 65, 126, 128, 129, 2051})
    check_against_naive({1, n_kv, 3, 128, 8, KvType::Q8_0}, 0, static_cast<uint32_t>(3000 + n_kv));
  // Head dims of 1-3 blocks (the masked scale loads, a single last block).
  for (size_t dim : {32, 64, 96})
    for (size_t n_kv : {7, 37}) check_against_naive({1, n_kv, 3, dim, 2, KvType::Q8_0}, 0, static_cast<uint32_t>(dim + n_kv));
}

TEST_CASE("q8_0 cache: quantizing the query stays within its error budget", "[attention]") {
  // The kernel takes K.q against the Q8_0 query (the reference engine's
  // numerics). Against the exact query each logit s_j moves by at most
  //   delta_j = scale * sum_c |K_jc| * d_q(c) / 2   (|q_c - q~_c| <= d_q / 2),
  // each softmax weight by a factor within e^(+-2 max delta), so every
  // output moves by at most max|V| * (e^(2 max delta) - 1). Checked for
  // decode (integer dot products where VNNI exists) and prompt shapes.
  for (size_t n_q : {1, 7})
    for (size_t D : {64, 96, 128}) {
      const size_t n_head_kv = 2, ratio = 3, n_head = n_head_kv * ratio, n_kv = 300;
      KvCache cache({1, n_head_kv, D, n_kv, KvType::Q8_0});
      const auto k = random_floats(n_kv * n_head_kv * D, -1, 1, 21);
      const auto v = random_floats(n_kv * n_head_kv * D, -1, 1, 22);
      cache.append(0, k.data(), v.data(), n_kv);
      const auto q = random_floats(n_q * n_head * D, -3, 3, 23);
      const auto qt = q8_query(q);
      std::vector<int32_t> pos(n_q);
      for (size_t i = 0; i < n_q; ++i) pos[i] = static_cast<int32_t>(n_kv - n_q + i);
      const auto exact = naive_attention(q, cache.keys(0), cache.values(0), n_q, n_head, pos, 0, true, true);
      const double scale = 1.0 / std::sqrt(static_cast<double>(D));
      double max_delta = 0, max_v = 0;
      for (size_t i = 0; i < n_q; ++i)
        for (size_t h = 0; h < n_head; ++h)
          for (size_t j = 0; j < n_kv; ++j) {
            const auto kr = cached_row(cache.keys(0), h / ratio, j);
            double delta = 0;
            for (size_t c = 0; c < D; ++c) {
              const size_t qi = (i * n_head + h) * D + c;
              delta += std::fabs(static_cast<double>(kr[c])) * std::fabs(static_cast<double>(q[qi]) - qt[qi]);
            }
            max_delta = std::max(max_delta, delta * scale);
          }
      for (size_t h = 0; h < n_head_kv; ++h)
        for (size_t j = 0; j < n_kv; ++j)
          for (float x : cached_row(cache.values(0), h, j)) max_v = std::max(max_v, std::fabs(static_cast<double>(x)));
      const double budget = max_v * std::expm1(2 * max_delta) + 2e-5;
      AttentionParams p;
      p.n_q = n_q;
      p.n_head = n_head;
      p.head_dim = D;
      std::vector<float> out(n_q * n_head * D);
      for_each_target([&](int64_t) {
        attention(q.data(), cache.keys(0), cache.values(0), out.data(), p);
        double worst = 0;
        for (size_t x = 0; x < out.size(); ++x) worst = std::max(worst, std::fabs(out[x] - exact[x]));
        INFO("n_q " << n_q << " head_dim " << D << " max abs error vs exact q " << worst << ", budget " << budget
                    << " (max logit shift " << max_delta << ")");
        REQUIRE(worst <= budget);
        REQUIRE(worst > 0);  // the query really is quantized
      });
    }
}

TEST_CASE("sliding window attention matches the naive oracle", "[attention]") {
  for (KvType t : {KvType::F32, KvType::F16, KvType::Q8_0}) {
    check_against_naive({7, 100, 3, 64, 1, t}, 16);
    check_against_naive({40, 300, 1, 32, 2, t}, 33);
    check_against_naive({1, 300, 4, 128, 1, t}, 64);
  }
}

TEST_CASE("masked positions have exactly zero weight; single-key rows have no NaN", "[attention]") {
  // Future keys and values are NaN in the cache: any nonzero weight, or
  // even reading them into a sum, would poison the output.
  const size_t D = 64, n_kv = 70, n_head = 2;
  const float nan = std::nanf("");
  for (KvType t : {KvType::F32, KvType::F16}) {
    KvCache cache({1, 1, D, n_kv, t});
    auto k = random_floats(n_kv * D, -1, 1, 5), v = random_floats(n_kv * D, -1, 1, 6);
    for (size_t j = 40; j < n_kv; ++j)
      for (size_t c = 0; c < D; ++c) k[j * D + c] = v[j * D + c] = nan;
    cache.append(0, k.data(), v.data(), n_kv);
    const auto q = random_floats(3 * n_head * D, -50, 50, 7);  // large logits too
    const std::vector<int32_t> pos = {0, 17, 39};
    AttentionParams p;
    p.n_q = 3;
    p.n_head = n_head;
    p.head_dim = D;
    p.q_pos = pos.data();
    std::vector<float> out(3 * n_head * D);
    for_each_target([&](int64_t) {
      INFO("cache " << kv_type_name(t));
      attention(q.data(), cache.keys(0), cache.values(0), out.data(), p);
      for (float x : out) REQUIRE(std::isfinite(x));
      // Query 0 sees only position 0: its output is V[0] exactly (weight 1).
      const auto v0 = cached_row(cache.values(0), 0, 0);
      for (size_t h = 0; h < n_head; ++h)
        for (size_t c = 0; c < D; ++c) REQUIRE(out[h * D + c] == v0[c]);
      // A window of 1 makes every query see only itself.
      AttentionParams pw = p;
      pw.window = 1;
      attention(q.data(), cache.keys(0), cache.values(0), out.data(), pw);
      for (size_t i = 0; i < 3; ++i) {
        const auto vi = cached_row(cache.values(0), 0, static_cast<size_t>(pos[i]));
        for (size_t h = 0; h < n_head; ++h)
          for (size_t c = 0; c < D; ++c) REQUIRE(out[(i * n_head + h) * D + c] == vi[c]);
      }
      // One query at a time (the decode path, rows converted in registers).
      for (size_t i = 0; i < 3; ++i) {
        AttentionParams pd = pw;
        pd.n_q = 1;
        pd.q_pos = &pos[i];
        std::vector<float> o1(n_head * D);
        attention(q.data() + i * n_head * D, cache.keys(0), cache.values(0), o1.data(), pd);
        const auto vi = cached_row(cache.values(0), 0, static_cast<size_t>(pos[i]));
        for (size_t h = 0; h < n_head; ++h)
          for (size_t c = 0; c < D; ++c) REQUIRE(o1[h * D + c] == vi[c]);
        pd.window = 0;
        attention(q.data() + i * n_head * D, cache.keys(0), cache.values(0), o1.data(), pd);
        for (float x : o1) REQUIRE(std::isfinite(x));
      }
    });
  }
}

TEST_CASE("a query that sees no key gets zeros, not NaN", "[attention]") {
  KvCache cache({1, 1, 32, 8, KvType::F32});
  const auto k = random_floats(4 * 32, -1, 1, 1);
  cache.append(0, k.data(), k.data(), 4);
  const auto q = random_floats(32, -1, 1, 2);
  const int32_t pos = -1;
  AttentionParams p;
  p.n_q = 1;
  p.n_head = 1;
  p.head_dim = 32;
  p.q_pos = &pos;
  std::vector<float> out(32, 1.0f);
  attention(q.data(), cache.keys(0), cache.values(0), out.data(), p);
  for (float x : out) REQUIRE(x == 0.0f);
}

TEST_CASE("attention gives the same bits with and without a thread pool", "[attention]") {
  const size_t D = 96, n_head = 6, n_kv = 333, n_q = 20;
  KvCache cache({1, 2, D, n_kv, KvType::Q8_0});
  const auto k = random_floats(n_kv * 2 * D, -1, 1, 3), v = random_floats(n_kv * 2 * D, -1, 1, 4);
  cache.append(0, k.data(), v.data(), n_kv);
  const auto q = random_floats(n_q * n_head * D, -2, 2, 5);
  AttentionParams p;
  p.n_q = n_q;
  p.n_head = n_head;
  p.head_dim = D;
  std::vector<float> a(n_q * n_head * D), b(a.size());
  ThreadPool pool(3);
  attention(q.data(), cache.keys(0), cache.values(0), a.data(), p);
  attention(q.data(), cache.keys(0), cache.values(0), b.data(), p, &pool);
  REQUIRE(a == b);
}

TEST_CASE("decode over a long cache: key splits merge to the oracle, same bits for any thread count", "[attention]") {
  // 5000 keys: the decode splits each head's visible keys into ranges (4
  // of 1280) that the threads share; the merged result must match the
  // naive oracle and be bit-identical with 1, 2 and 3 threads. With a
  // window of 2100 the ranges cover only the window (2 of 1056).
  const size_t D = 128, n_head_kv = 2, ratio = 3, n_head = n_head_kv * ratio, n_kv = 5000;
  for (KvType t : {KvType::F32, KvType::F16, KvType::Q8_0})
    for (size_t window : {size_t{0}, size_t{700}, size_t{2100}}) {
      KvCache cache({1, n_head_kv, D, n_kv, t});
      const auto k = random_floats(n_kv * n_head_kv * D, -1, 1, 31), v = random_floats(n_kv * n_head_kv * D, -1, 1, 32);
      cache.append(0, k.data(), v.data(), n_kv);
      const auto q = random_floats(n_head * D, -3, 3, 33);
      const std::vector<int32_t> pos = {static_cast<int32_t>(n_kv - 1)};
      std::vector<double> bound;
      const auto ref = naive_attention(q, cache.keys(0), cache.values(0), 1, n_head, pos, window, true, false, &bound);
      AttentionParams p;
      p.n_q = 1;
      p.n_head = n_head;
      p.head_dim = D;
      p.window = window;
      std::vector<float> a(n_head * D), b(a.size()), c(a.size());
      ThreadPool pool2(2), pool3(3);
      for_each_target([&](int64_t) {
        INFO("cache " << kv_type_name(t) << " window " << window);
        attention(q.data(), cache.keys(0), cache.values(0), a.data(), p);
        attention(q.data(), cache.keys(0), cache.values(0), b.data(), p, &pool2);
        attention(q.data(), cache.keys(0), cache.values(0), c.data(), p, &pool3);
        REQUIRE(a == b);
        REQUIRE(a == c);
        const double int_pv = cpu::has_fast_path(cpu::kFastVnni) ? 1.0 : 0.0;
        double worst = 0;
        for (size_t x = 0; x < a.size(); ++x) worst = std::max(worst, std::fabs(a[x] - ref[x]) - int_pv * bound[x]);
        INFO("max abs error beyond the Q8_0 weight rounding bound " << worst);
        REQUIRE(worst < 2e-5);
      });
    }
}

TEST_CASE("KV cache: capacity, lengths per layer, views, full-context error", "[attention][kv_cache]") {
  KvCache cache({2, 2, 64, 10, KvType::Q8_0});
  REQUIRE(cache.capacity() == 10);
  REQUIRE(cache.length(0) == 0);
  const auto x = random_floats(10 * 2 * 64, -4, 4, 9);
  cache.append(1, x.data(), x.data(), 6);
  REQUIRE(cache.length(1) == 6);
  REQUIRE(cache.length(0) == 0);
  const KvView kv = cache.keys(1);
  REQUIRE(kv.length == 6);
  REQUIRE(kv.row_bytes == 2 * 34);
  // Q8_0 rows hold the reference quantization: within half a step of x,
  // plus 127 times the f16 rounding of the step (2^-11 relative).
  for (size_t j = 0; j < 6; ++j)
    for (size_t h = 0; h < 2; ++h) {
      const auto r = cached_row(kv, h, j);
      const float* src = &x[(j * 2 + h) * 64];
      for (size_t b = 0; b < 2; ++b) {
        float amax = 0;
        for (size_t c = 0; c < 32; ++c) amax = std::max(amax, std::fabs(src[b * 32 + c]));
        for (size_t c = 0; c < 32; ++c) REQUIRE(std::fabs(r[b * 32 + c] - src[b * 32 + c]) <= amax / 127 * (0.5f + 127.0f / 2048));
      }
    }
  try {
    cache.append(1, x.data(), x.data(), 5);
    FAIL("appending past capacity must throw");
  } catch (const qkit::Error& e) {
    const std::string what = e.what();
    INFO(what);
    REQUIRE(what.find("full") != std::string::npos);
    REQUIRE(what.find("6 of 10") != std::string::npos);
  }
  REQUIRE(cache.length(1) == 6);  // a failed append changes nothing
  cache.append(1, x.data(), x.data(), 4);
  REQUIRE(cache.length(1) == 10);
  cache.truncate(3);
  REQUIRE(cache.length(1) == 3);
  REQUIRE_THROWS_AS(cache.keys(2), qkit::Error);
  REQUIRE_THROWS_AS(KvCache({1, 1, 48, 4, KvType::Q8_0}), qkit::Error);  // q8_0 needs head_dim % 32 == 0
}

TEST_CASE("attention rejects mismatched shapes with both shapes in the message", "[attention]") {
  KvCache a({1, 2, 64, 8, KvType::F16}), b({1, 2, 32, 8, KvType::F16});
  std::vector<float> q(4 * 64), out(4 * 64), kv(8 * 2 * 64);
  a.append(0, kv.data(), kv.data(), 4);
  AttentionParams p;
  p.n_q = 1;
  p.n_head = 3;  // not a multiple of n_head_kv = 2
  p.head_dim = 64;
  REQUIRE_THROWS_AS(attention(q.data(), a.keys(0), a.values(0), out.data(), p), qkit::Error);
  p.n_head = 4;
  try {
    attention(q.data(), a.keys(0), b.values(0), out.data(), p);
    FAIL("K and V of different shapes must throw");
  } catch (const qkit::Error& e) {
    const std::string what = e.what();
    INFO(what);
    REQUIRE(what.find("64") != std::string::npos);
    REQUIRE(what.find("32") != std::string::npos);
  }
  p.n_q = 5;  // more queries than cache positions, no q_pos
  REQUIRE_THROWS_AS(attention(q.data(), a.keys(0), a.values(0), out.data(), p), qkit::Error);
}
