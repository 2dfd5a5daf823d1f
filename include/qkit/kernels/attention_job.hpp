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
};

// Keys per tile of the online softmax (the kernel's working set is
// O(rows * kAttnKvTile + kAttnKvTile * head_dim)).
inline constexpr size_t kAttnKvTile = 32;

}  // namespace qkit::kernels
