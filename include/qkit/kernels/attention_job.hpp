// qkit/kernels/attention_job.hpp — the plain description of one attention
// call that the public entry (attention.hpp) hands to the per-target kernel
// (attention-inl.h). Shapes are checked before a job is built.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qkit/kernels/kv_layout.hpp"

namespace qkit::kernels {

struct AttentionJob {
  const float* q = nullptr;  // [n_q][q_stride], head h at h * head_dim
  float* out = nullptr;      // [n_q][out_stride], head h at h * head_dim
  size_t q_stride = 0;       // floats between tokens
  size_t out_stride = 0;
  size_t n_q = 0;
  size_t n_head = 0;
  size_t head_dim = 0;
  KvView k, v;                    // same type, shape and length
  const int32_t* q_pos = nullptr;  // n_q positions (never null here)
  float scale = 1.0f;
  bool causal = true;
  size_t window = 0;  // 0: none; else key j is seen by position p iff p - j < window
  // Work split: task t covers KV head t / n_q_tiles and queries
  // [(t % n_q_tiles) * q_tile, +q_tile) with all the query heads that
  // share that KV head, so each K/V tile is read once per group.
  size_t q_tile = 1;
  size_t n_q_tiles = 1;
  // Decode (n_q == 1) over a long cache also splits each head's keys into
  // n_splits ranges of split_keys (flash-decoding), so every thread shares
  // every head. Task t covers split t / (n_head_kv * n_q_tiles), so a
  // static split over threads hands each thread its own key range of all
  // heads. With n_splits > 1 a task writes, per query head h, its partial
  // (acc[head_dim], running max m, running sum l) to
  // partial + (h * n_splits + split) * (head_dim + 2), unnormalised; the
  // caller merges the splits in order (attention.hpp), so the result does
  // not depend on the thread count. The split depends on the length only.
  size_t n_splits = 1;
  size_t split_lo = 0;  // split s covers keys split_lo + [s, s + 1) * split_keys
  size_t split_keys = 0;
  float* partial = nullptr;
};

// The row's result: normalised into out, or (n_splits > 1) the partial
// state for the merge.
inline void FinishRow(const AttentionJob& job, size_t i, size_t h, size_t split, const float* acc, float m, float l) {
  const size_t D = job.head_dim;
  if (job.n_splits > 1) {
    float* p = job.partial + (h * job.n_splits + split) * (D + 2);
    for (size_t c = 0; c < D; ++c) p[c] = acc[c];
    p[D] = m;
    p[D + 1] = l;
    return;
  }
  float* o = job.out + i * job.out_stride + h * D;
  // l >= 1 for a row that saw a key (its max contributes e^0); a row that
  // sees nothing (a negative position) outputs zeros, not NaN.
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
  for (size_t c = 0; c < D; ++c) o[c] = acc[c] * inv;
}

// Keys per tile of the online softmax (the kernel's working set is
// O(rows * kAttnKvTile + kAttnKvTile * head_dim)). 64 made decode 4-10%
// faster in cache (the per-tile work weighs half as much) but ~25% slower
// streaming from memory at 1 thread (Phi-4-mini, f16 and Q8_0 caches,
// 32768 positions, alternating A/B runs), so 32.
inline constexpr size_t kAttnKvTile = 32;

}  // namespace qkit::kernels
