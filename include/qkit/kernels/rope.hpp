// qkit/kernels/rope.hpp — rotary position embedding with the reference
// engine's ggml_rope_ext semantics: NeoX (rotate halves) or normal
// (adjacent pairs) style, partial rotary (first n_rot of head_dim dims),
// frequency base and scale, per-pair frequency factors (LongRoPE's
// rope_factors_long / rope_factors_short: theta_i is divided by factor_i),
// YaRN's ext_factor ramp and the attention factor (mscale multiplying cos
// and sin), and one position id per token.
//
// The angles follow ggml's float arithmetic step for step (theta_i built
// by repeated multiplication with base^(-2/n_rot), cosf/sinf in float), so
// results match the reference engine closely; the rotation itself is
// vectorized per target. Tested against a double-precision formula.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "qkit/base/aligned.hpp"
#include "qkit/base/error.hpp"
#include "qkit/kernels/tables.hpp"

namespace qkit {

struct RopeParams {
  size_t head_dim = 0;
  size_t n_rot = 0;  // rotated dims: even, <= head_dim; 0 means head_dim
  bool neox = true;  // Phi-2/3/4 use NeoX style
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;
  const float* freq_factors = nullptr;  // n_rot/2 factors, or null
  float ext_factor = 0.0f;              // YaRN ramp mix (0: off, as for LongRoPE)
  float attn_factor = 1.0f;             // mscale: multiplies cos and sin
  float beta_fast = 32.0f;
  float beta_slow = 1.0f;
  uint32_t n_ctx_orig = 0;  // only used when ext_factor != 0
};

namespace rope_detail {

inline size_t n_rot(const RopeParams& p) { return p.n_rot ? p.n_rot : p.head_dim; }

// ggml_rope_yarn_corr_dims: the dims where YaRN's ramp starts and ends.
inline void corr_dims(const RopeParams& p, float dims[2]) {
  const float nd = static_cast<float>(n_rot(p));
  const float pi = 3.14159265358979323846f;
  auto corr_dim = [&](float beta) {
    return nd * std::log(static_cast<float>(p.n_ctx_orig) / (beta * 2.0f * pi)) / (2.0f * std::log(p.freq_base));
  };
  const float start = std::floor(corr_dim(p.beta_fast));
  const float end = std::ceil(corr_dim(p.beta_slow));
  dims[0] = start > 0.0f ? start : 0.0f;
  dims[1] = end < nd - 1.0f ? end : nd - 1.0f;
}

}  // namespace rope_detail

// cos_i and sin_i (i < n_rot/2) of one position, as ggml_rope_cache_init
// computes them (mscale included).
inline void rope_cos_sin(const RopeParams& p, int32_t pos, float* cos_out, float* sin_out) {
  const size_t nr = rope_detail::n_rot(p);
  const float theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(nr));
  float dims[2] = {0.0f, 0.0f};
  if (p.ext_factor != 0.0f) rope_detail::corr_dims(p, dims);
  float theta = static_cast<float>(pos);
  for (size_t i = 0; i < nr / 2; ++i) {
    const float ff = p.freq_factors ? p.freq_factors[i] : 1.0f;
    const float theta_extrap = theta / ff;
    const float theta_interp = p.freq_scale * theta_extrap;
    float t = theta_interp;
    float mscale = p.attn_factor;
    if (p.ext_factor != 0.0f) {
      // rope_yarn_ramp with i0 = 2i, where ggml computes i0 / 2 in integers.
      const float y = (static_cast<float>(i) - dims[0]) / std::fmax(0.001f, dims[1] - dims[0]);
      const float ramp_mix = (1.0f - std::fmin(1.0f, std::fmax(0.0f, y))) * p.ext_factor;
      t = theta_interp * (1.0f - ramp_mix) + theta_extrap * ramp_mix;
      mscale *= 1.0f + 0.1f * std::log(1.0f / p.freq_scale);
    }
    cos_out[i] = std::cos(t) * mscale;
    sin_out[i] = std::sin(t) * mscale;
    theta *= theta_scale;
  }
}

// Rotates x in place: x is [n_tokens][n_head][head_dim] f32, token t at
// position pos[t]. Dims n_rot..head_dim of each head are left unchanged.
inline void rope(float* x, size_t n_tokens, size_t n_head, const int32_t* pos, const RopeParams& p) {
  const size_t nr = rope_detail::n_rot(p);
  require(p.head_dim > 0 && nr % 2 == 0 && nr <= p.head_dim, "rope: n_rot ", nr,
          " must be even and <= head_dim ", p.head_dim);
  require(p.freq_base > 0.0f && p.freq_scale > 0.0f, "rope: freq_base ", p.freq_base, " and freq_scale ",
          p.freq_scale, " must be > 0");
  if (n_tokens == 0 || n_head == 0 || nr == 0) return;
  // Per token the expanded table the kernel wants (see rope-inl.h).
  static thread_local AlignedBuffer<float> tables;
  tables.ensure(n_tokens * 2 * nr + nr);
  float* half = tables.data() + n_tokens * 2 * nr;  // cos | sin of one token, nr/2 each
  const size_t h = nr / 2;
  for (size_t t = 0; t < n_tokens; ++t) {
    rope_cos_sin(p, pos[t], half, half + h);
    float* c = tables.data() + t * 2 * nr;
    float* s = c + nr;
    for (size_t i = 0; i < h; ++i) {
      const float ci = half[i], si = half[h + i];
      const size_t a = p.neox ? i : 2 * i, b = p.neox ? i + h : 2 * i + 1;
      c[a] = ci;
      c[b] = ci;
      s[a] = -si;
      s[b] = si;
    }
  }
  QKIT_DISPATCH(rope_apply)(x, n_tokens, n_head, p.head_dim, nr, p.neox, tables.data());
}

}  // namespace qkit
