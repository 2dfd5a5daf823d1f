// qkit/kernels/attention.hpp — scaled dot-product attention over the KV
// cache, flash style (tiled keys, online softmax, no n_q x n_kv matrix).
//
//   out[i][h] = sum_j softmax_j(scale * q[i][h] . K[h / g][j]) V[h / g][j]
//
// over the keys j that query i may see: j <= pos[i] when causal, and
// pos[i] - j < window when a sliding window is set. g = n_head / n_head_kv
// (grouped-query attention; 1 is MHA). Keys a query may not see get weight
// exactly 0; a query that sees no key (only possible with pos < 0) gets
// zeros. Works for one query (decode) and many (prompt).
//
// Shapes: q is [n_q][q_stride] f32 with head h at h * head_dim; out alike
// with out_stride. k and v: views of one layer of a KvCache (f32, f16 or
// Q8_0), cache row j holding position j. Checked once here (qkit::Error
// naming both shapes); the kernel trusts them.
//
// Threads: tasks are (KV head, query tile) pairs, split statically over
// the pool, so results do not depend on the thread count. One query over
// >= 2048 keys also splits each head's keys into ranges (flash-decoding,
// merged in a fixed order; the ranges depend on the length only).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "qkit/base/error.hpp"
#include "qkit/kernels/attention_job.hpp"
#include "qkit/kernels/kv_layout.hpp"
#include "qkit/kernels/tables.hpp"
#include "qkit/thread/pool.hpp"

namespace qkit {

struct AttentionParams {
  size_t n_q = 0;
  size_t n_head = 0;
  size_t head_dim = 0;
  size_t q_stride = 0;    // floats between query tokens; 0: n_head * head_dim
  size_t out_stride = 0;  // floats between output tokens; 0: n_head * head_dim
  float scale = 0.0f;     // 0: 1 / sqrt(head_dim)
  // Position of each query, or null: the last n_q cache positions
  // (k.length - n_q + i), i.e. the queries whose keys were just appended.
  const int32_t* q_pos = nullptr;
  bool causal = true;
  size_t window = 0;  // sliding window in positions; 0: none
};

namespace detail {
inline constexpr size_t kSplitMin = 1024;  // keys per split at least
inline constexpr size_t kMaxSplits = 16;
}  // namespace detail

// Out of the splits' partial states (AttentionJob): per query head, the
// largest running max m, then sum_s e^(m_s - m) acc_s / sum_s e^(m_s - m) l_s,
// splits in order. A split that saw no key (m = -inf) adds nothing.
inline void merge_splits(const kernels::AttentionJob& job) {
  const size_t D = job.head_dim, S = job.n_splits;
  for (size_t h = 0; h < job.n_head; ++h) {
    const float* ph = job.partial + h * S * (D + 2);
    float m = -HUGE_VALF;
    for (size_t s = 0; s < S; ++s) m = std::max(m, ph[s * (D + 2) + D]);
    float* o = job.out + h * D;
    for (size_t c = 0; c < D; ++c) o[c] = 0.0f;
    if (m == -HUGE_VALF) continue;  // no visible key: zeros
    float l = 0.0f;
    for (size_t s = 0; s < S; ++s) {
      const float* ps = ph + s * (D + 2);
      if (ps[D] == -HUGE_VALF) continue;
      const float w = std::exp(ps[D] - m);
      l += w * ps[D + 1];
      for (size_t c = 0; c < D; ++c) o[c] += w * ps[c];
    }
    const float inv = 1.0f / l;
    for (size_t c = 0; c < D; ++c) o[c] *= inv;
  }
}

inline void attention(const float* q, const KvView& k, const KvView& v, float* out, const AttentionParams& p,
                      ThreadPool* pool = nullptr) {
  require(q && out, "attention: null q or out");
  require(p.head_dim > 0 && p.n_head > 0, "attention: n_head ", p.n_head, " and head_dim ", p.head_dim,
          " must be > 0");
  require(k.type == v.type && k.n_head_kv == v.n_head_kv && k.head_dim == v.head_dim && k.length == v.length,
          "attention: K [", kv_type_name(k.type), " ", k.n_head_kv, " x ", k.length, " x ", k.head_dim,
          "] and V [", kv_type_name(v.type), " ", v.n_head_kv, " x ", v.length, " x ", v.head_dim, "] differ");
  require(k.head_dim == p.head_dim, "attention: q head_dim ", p.head_dim, " but cache head_dim ", k.head_dim);
  require(k.n_head_kv > 0 && p.n_head % k.n_head_kv == 0, "attention: n_head ", p.n_head,
          " is not a multiple of the cache's n_head_kv ", k.n_head_kv);
  require(k.length == 0 || (k.data && v.data), "attention: null cache data");
  require(k.type != KvType::Q8_0 || p.head_dim % kv::kQ8Block == 0, "attention: q8_0 cache needs head_dim % 32 == 0");
  const size_t row = p.n_head * p.head_dim;
  kernels::AttentionJob job;
  job.q = q;
  job.out = out;
  job.q_stride = p.q_stride ? p.q_stride : row;
  job.out_stride = p.out_stride ? p.out_stride : row;
  require(job.q_stride >= row && job.out_stride >= row, "attention: strides (", job.q_stride, ", ", job.out_stride,
          ") smaller than n_head * head_dim = ", row);
  job.n_q = p.n_q;
  job.n_head = p.n_head;
  job.head_dim = p.head_dim;
  job.k = k;
  job.v = v;
  job.scale = p.scale != 0.0f ? p.scale : 1.0f / std::sqrt(static_cast<float>(p.head_dim));
  job.causal = p.causal;
  job.window = p.window;
  if (p.n_q == 0) return;
  std::vector<int32_t> default_pos;
  if (p.q_pos) {
    job.q_pos = p.q_pos;
  } else {
    require(k.length >= p.n_q, "attention: ", p.n_q, " queries but only ", k.length,
            " cache positions (pass q_pos for queries not at the end of the cache)");
    default_pos.resize(p.n_q);
    for (size_t i = 0; i < p.n_q; ++i) default_pos[i] = static_cast<int32_t>(k.length - p.n_q + i);
    job.q_pos = default_pos.data();
  }
  // About 32 rows (query heads x queries) per task: enough to reuse each
  // converted K/V tile, small enough to keep the scratch in L1/L2.
  const size_t g = p.n_head / k.n_head_kv;
  job.q_tile = g >= 32 ? 1 : 32 / g;
  job.n_q_tiles = (p.n_q + job.q_tile - 1) / job.q_tile;
  // Decode over a long cache: each head's keys in up to kMaxSplits ranges
  // of >= kSplitMin keys (flash-decoding), chosen from the length alone so
  // the bits do not depend on the thread count. Threads then share every
  // head, whatever n_head_kv is, and each streams its own part of the
  // cache.
  // The ranges cover the keys the query sees: [lo, hi) from its position
  // and the window.
  static thread_local std::vector<float> partial;
  const int64_t pos = job.q_pos[0], len = static_cast<int64_t>(k.length);
  const int64_t vis_hi = p.causal ? std::min(pos + 1, len) : len;
  const int64_t vis_lo = p.window ? std::max<int64_t>(0, pos - static_cast<int64_t>(p.window) + 1) : 0;
  const size_t visible = vis_hi > vis_lo ? static_cast<size_t>(vis_hi - vis_lo) : 0;
  if (p.n_q == 1 && visible >= 2 * detail::kSplitMin) {
    job.n_splits = std::min(detail::kMaxSplits, visible / detail::kSplitMin);
    const size_t T = kernels::kAttnKvTile;
    job.split_lo = static_cast<size_t>(vis_lo);
    job.split_keys = ((visible + job.n_splits - 1) / job.n_splits + T - 1) / T * T;
    job.n_splits = (visible + job.split_keys - 1) / job.split_keys;
    partial.resize(p.n_head * job.n_splits * (p.head_dim + 2));
    job.partial = partial.data();
  }
  const size_t n_tasks = k.n_head_kv * job.n_q_tiles * job.n_splits;
  const auto fn = QKIT_DISPATCH(attention_task);
  if (pool && n_tasks > 1) {
    pool->parallel_for(0, static_cast<int64_t>(n_tasks), 1, [&](int64_t lo, int64_t hi) {
      for (int64_t t = lo; t < hi; ++t) fn(job, static_cast<size_t>(t));
    });
  } else {
    for (size_t t = 0; t < n_tasks; ++t) fn(job, t);
  }
  if (job.n_splits > 1) merge_splits(job);
}

}  // namespace qkit
