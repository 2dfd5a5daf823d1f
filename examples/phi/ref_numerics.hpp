// examples/phi/ref_numerics.hpp — a few ops computed with the reference
// engine's CPU rounding instead of qkit's (more accurate) kernels, for
// comparing logits with it position by position (Model's
// Numerics::Reference, --ref-numerics).
//
// Why this exists: the reference's flash attention with an F16 KV cache
// rounds q to f16 and keeps its softmax-weighted sum of V in an f16
// accumulator (rounded after every key), and its GELU reads an f16 table.
// qkit accumulates in f32. The difference is ~1e-3 relative, far inside
// the logit tolerances for real models; but on tiny random-weight models
// with quantized weights, such a difference flips the rounding of some
// Q8_0 activations in the next matmul, which moves logits by ~0.5% of their
// range and can swap near-tied argmaxes. The norms' sums, SwiGLU's exp and
// RoPE's roundings matter the same way; so does the matmuls' summation
// order (ref_matmul.hpp). With all of them, Reference mode reproduces the
// reference's logits for the golden tiny models bit for bit where the
// weights are quantized (F16 weights still go through qkit's matmul).
//
// All scalar and slow; the default (Numerics::Fast) uses qkit's kernels.
// Scalar code with explicit fma / unfused products, so the same bits on
// every target.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "qkit/base/fp16.hpp"
#include "qkit/kernels/kv_layout.hpp"
#include "qkit/kernels/rope.hpp"
#include "qkit/quant/codec.hpp"
#include "qkit/quant/q8.hpp"
#include "qkit/thread/pool.hpp"

namespace phi::ref {

inline float round_f16(float x) { return qkit::f16_to_f32(qkit::f32_to_f16(x)); }

// a * b rounded before any addition that follows: the reference's results
// here come from separate multiplies and adds, and a compiler that fuses them
// (aarch64 by default) would make Reference mode depend on the target.
inline float mul(float a, float b) { return qkit::quant::product(a, b); }

// K.q for a Q8_0 key row against the query as Q8_0 (quants qq, f16-rounded
// scales dq), as the reference's scalar Q8_0 x Q8_0 dot: an exact integer
// sum per block, scaled by d_k * d_q and summed in f32 block by block.
inline float q8_dot(const uint8_t* key, const int8_t* qq, const float* dq, size_t nb) {
  float s = 0.0f;
  for (size_t b = 0; b < nb; ++b, key += sizeof(qkit::BlockQ8_0)) {
    uint16_t h;
    std::memcpy(&h, key, 2);
    int isum = 0;
    for (size_t c = 0; c < qkit::kv::kQ8Block; ++c)
      isum += static_cast<int8_t>(key[2 + c]) * qq[b * qkit::kv::kQ8Block + c];
    s = std::fma(static_cast<float>(isum), mul(qkit::f16_to_f32(h), dq[b]), s);
  }
  return s;
}

// out[i][h] = softmax_j(q[i][h] . K[h/g][j] * scale) V[h/g][j] over the keys
// j <= position of query i (the queries are the last n_q cache positions),
// as the reference's one-query-at-a-time flash attention computes it: keys
// in order, online softmax, q and the V accumulator in f16 when the cache
// is F16 (f32 otherwise), q as Q8_0 when the cache is Q8_0 (q8_dot),
// other scores summed in double as its f16 dot does for head sizes below
// its 64-wide SIMD step.
inline void attention(const float* q, const qkit::KvView& k, const qkit::KvView& v, float* out, size_t n_q,
                      size_t n_head, float scale, qkit::ThreadPool* pool) {
  const size_t hd = k.head_dim, g = n_head / k.n_head_kv, len = k.length;
  const bool f16 = k.type == qkit::KvType::F16;
  const bool q8 = k.type == qkit::KvType::Q8_0;
  constexpr size_t kB = qkit::kv::kQ8Block;
  const size_t nb = hd / kB;
  auto rnd = [f16](float x) { return f16 ? round_f16(x) : x; };
  auto work = [&](int64_t lo, int64_t hi) {
    std::vector<float> kr(hd), vr(hd), qr(hd), acc(hd), dq(q8 ? nb : 0);
    std::vector<int8_t> qq(q8 ? hd : 0);
    for (int64_t task = lo; task < hi; ++task) {
      const size_t i = static_cast<size_t>(task) / n_head, h = static_cast<size_t>(task) % n_head;
      const size_t pos = len - n_q + i;
      const float* qi = q + (i * n_head + h) * hd;
      for (size_t d = 0; d < hd; ++d) qr[d] = rnd(qi[d] * scale);
      if (q8) {  // the reference's vec_dot_type for a Q8_0 K: q itself (unscaled) as Q8_0
        for (size_t b = 0; b < nb; ++b) {
          int sum = 0;
          dq[b] = round_f16(qkit::quant::quantize_act_block(qi + b * kB, qq.data() + b * kB, sum));
        }
      }
      for (size_t d = 0; d < hd; ++d) acc[d] = 0.0f;
      float m = -INFINITY, s = 0.0f;
      for (size_t j = 0; j <= pos; ++j) {
        if (!q8) qkit::kv::decode_row(k.type, k.row(h / g, j), kr.data(), hd);
        qkit::kv::decode_row(v.type, v.row(h / g, j), vr.data(), hd);
        float sj;
        if (q8) {
          sj = mul(q8_dot(k.row(h / g, j), qq.data(), dq.data(), nb), scale);
        } else {
          double dot = 0;
          for (size_t d = 0; d < hd; ++d) dot += static_cast<double>(qr[d] * kr[d]);
          sj = static_cast<float>(dot);
        }
        float ms = 1.0f, vs = 1.0f;
        if (sj > m) {  // new maximum: rescale what was summed so far
          ms = std::exp(m - sj);
          m = sj;
          for (size_t d = 0; d < hd; ++d) acc[d] = rnd(acc[d] * ms);
        } else {
          vs = std::exp(sj - m);
        }
        // Both fused, as the reference's build (-march=native, GCC's default
        // contraction) compiles its scalar S*ms + vs and, for head sizes
        // below its 64-wide SIMD step, v*vs + acc. Rounding S apart moves
        // 1/S by an ulp now and then, and Phi-4-mini-tiny's attention output
        // has Q8_0 values at exact .5 ties that such an ulp decides.
        for (size_t d = 0; d < hd; ++d) acc[d] = rnd(std::fma(vr[d], vs, acc[d]));
        s = std::fma(s, ms, vs);
      }
      float* o = out + (i * n_head + h) * hd;
      const float inv = 1.0f / s;
      for (size_t d = 0; d < hd; ++d) o[d] = acc[d] * inv;
    }
  };
  const int64_t n_tasks = static_cast<int64_t>(n_q * n_head);
  if (pool) {
    pool->parallel_for(0, n_tasks, 1, work);
  } else {
    work(0, n_tasks);
  }
}

// NeoX RoPE with every rotated pair rounded the same way: each output is
// one product rounded and the other fused into it,
//   x[i]     = fma(-x[i+h], sin, x[i] * cos)
//   x[i + h] = fma( x[i],   sin, x[i+h] * cos),
// which is what the reference computes (phi3-tiny, whose 16 pairs fill
// qkit's vector path, matches it bit for bit). qkit's rope rounds both
// products in its scalar tail, which Phi-4-mini's partial rotary (12 pairs,
// fewer than one AVX-512 vector) takes; angles: qkit::rope_cos_sin, ggml's.
inline void rope_neox(float* x, size_t n_tokens, size_t n_head, const int32_t* pos, const qkit::RopeParams& p) {
  const size_t nr = p.n_rot ? p.n_rot : p.head_dim, h = nr / 2;
  std::vector<float> cs(nr);
  for (size_t t = 0; t < n_tokens; ++t) {
    qkit::rope_cos_sin(p, pos[t], cs.data(), cs.data() + h);
    for (size_t hd = 0; hd < n_head; ++hd) {
      float* xh = x + (t * n_head + hd) * p.head_dim;
      for (size_t i = 0; i < h; ++i) {
        const float lo = xh[i], hi = xh[h + i], c = cs[i], s = cs[h + i];
        const float lc = lo * c, hc = hi * c;
        xh[i] = std::fma(-hi, s, lc);
        xh[h + i] = std::fma(lo, s, hc);
      }
    }
  }
}

// RMSNorm and LayerNorm with the reference's double-precision sums (its
// norm ops), then the weight multiply and bias add as separate steps.
inline void rms_norm(const float* x, const float* w, float* out, size_t rows, size_t n, float eps) {
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += static_cast<double>(xr[i] * xr[i]);
    const float mean = static_cast<float>(sum / static_cast<double>(n));
    const float scale = 1.0f / std::sqrt(mean + eps);
    for (size_t i = 0; i < n; ++i) out[r * n + i] = (xr[i] * scale) * w[i];
  }
}

inline void layer_norm(const float* x, const float* w, const float* b, float* out, size_t rows, size_t n, float eps) {
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += static_cast<double>(xr[i]);
    const float mean = static_cast<float>(sum / static_cast<double>(n));
    double sum2 = 0;
    for (size_t i = 0; i < n; ++i) sum2 += static_cast<double>((xr[i] - mean) * (xr[i] - mean));
    const float scale = 1.0f / std::sqrt(static_cast<float>(sum2 / static_cast<double>(n)) + eps);
    for (size_t i = 0; i < n; ++i) out[r * n + i] = mul((xr[i] - mean) * scale, w[i]) + b[i];
  }
}

// SwiGLU as the reference's AVX-512 build computes it (ggml_vec_swiglu_f32):
// silu(g) * u with silu(x) = x / (1 + e^-x) and e^x from its vector routine
// (ggml_v_expf: n = round(x / ln2), a degree-5 polynomial in the reduced
// argument, then scalef) on every full group of 16, libm expf on the rest.
// qkit's exp differs from it by an ulp here and there, enough to flip a Q8
// activation rounding in the next matmul now and then.
inline float v_expf(float x) {
  const float r = 0x1.8p23f;
  const float z = std::fma(x, 0x1.715476p+0f, r);
  const float n = z - r;
  const float b = std::fma(-n, 0x1.7f7d1cp-20f, std::fma(-n, 0x1.62e4p-1f, x));
  const float u = b * b;
  const float j = std::fma(std::fma(std::fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, std::fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                           u, std::fma(0x1.ffffecp-1f, b, 1.0f));
  if (std::fabs(n) > 192.0f) return n <= 0.0f ? 0.0f : INFINITY;
  return std::ldexp(j, static_cast<int>(n));  // scalef: j * 2^n, one rounding
}

// gate_up: [rows][2n] = gate | up; out: [rows][n].
inline void swiglu(const float* gate_up, float* out, size_t rows, size_t n) {
  for (size_t r = 0; r < rows; ++r) {
    const float* g = gate_up + r * 2 * n;
    const float* u = g + n;
    float* o = out + r * n;
    size_t i = 0;
    for (const size_t nv = n / 16 * 16; i < nv; ++i) o[i] = (g[i] / (1.0f + v_expf(0.0f - g[i]))) * u[i];
    for (; i < n; ++i) o[i] = (g[i] / (1.0f + std::exp(-g[i]))) * u[i];
  }
}

// GELU (tanh form) as the reference's f16 lookup table gives it: the input
// rounded to f16, the result rounded to f16, identity / zero beyond +-10.
inline void gelu(const float* x, float* out, size_t n) {
  const float c = 0.79788456080286535587989211986876f;  // sqrt(2 / pi)
  for (size_t i = 0; i < n; ++i) {
    if (x[i] <= -10.0f) {
      out[i] = 0.0f;
    } else if (x[i] >= 10.0f) {
      out[i] = x[i];
    } else {
      const float v = round_f16(x[i]);
      out[i] = round_f16(0.5f * v * (1.0f + std::tanh(c * v * (1.0f + mul(0.044715f * v, v)))));
    }
  }
}

}  // namespace phi::ref
