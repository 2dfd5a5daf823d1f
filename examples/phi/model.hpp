// examples/phi/model.hpp — the Phi forward pass (phi3 and phi2) over a KV
// cache: a prompt goes through in batches (GEMM), a generated token alone
// (GEMV); the same code does both, a batch of one being a GEMV.
//
//   phi::Model m("model.gguf", {});            // mmaps, checks every tensor
//   m.eval(tokens.data(), n, logits, false);   // appends n positions, logits of the last
//
// Matrices in Q4_0 / Q8_0 / IQ4_NL / Q4_K / Q6_K are repacked at load into qkit's 16-row
// interleaved layout (ModelOptions::repack), which its fastest kernels use.
//
// The layer follows the reference engine's graphs (llama.cpp
// llm_build_phi3 / llm_build_phi2):
//  phi3: h = x + Wo attn(rope(q), rope(k), v)    with q|k|v = Wqkv rmsnorm(x)
//        x' = h + Wdown swiglu(Wup rmsnorm(h))  (Wup holds gate | up)
//  phi2: n = layernorm(x);  x' = x + (Wo attn(...) + bo) + (Wdown gelu(Wup n + bup) + bdown)
// RoPE is NeoX style over the first n_rot dims; phi3 divides its
// frequencies by LongRoPE's short factors while the context (-c) fits the
// original training context and by the long ones beyond it, and scales cos
// and sin by rope.scaling.attn_factor. q is scaled by 1/sqrt(head_dim).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "phi/hparams.hpp"
#include "phi/matmul.hpp"
#include "phi/ref_matmul.hpp"
#include "phi/ref_numerics.hpp"
#include "phi/weights.hpp"
#include "qkit/base/aligned.hpp"
#include "qkit/base/error.hpp"
#include "qkit/gguf/reader.hpp"
#include "qkit/kernels/activation.hpp"
#include "qkit/kernels/attention.hpp"
#include "qkit/kernels/dequant.hpp"
#include "qkit/kernels/kv_cache.hpp"
#include "qkit/kernels/norm.hpp"
#include "qkit/kernels/rope.hpp"
#include "qkit/thread/pool.hpp"

namespace phi {

// Fast: qkit's kernels throughout. Reference: matmuls (ref_matmul.hpp),
// attention, RoPE, SwiGLU, GELU and the norms (ref_numerics.hpp) summed and
// rounded as the reference engine's x86 CPU code does, for position-by-
// position comparison with its logits; slower (scalar), weights not repacked.
enum class Numerics { Fast, Reference };

struct ModelOptions {
  int64_t n_ctx = 0;  // context length (KV cache positions); 0: min(4096, trained context)
  qkit::KvType cache_type = qkit::KvType::F16;
  int n_threads = 0;     // 0: all hardware threads
  int64_t n_batch = 512;  // prompt tokens per forward pass
  Numerics numerics = Numerics::Fast;
  bool repack = true;  // interleave matrices where the target has a kernel for that layout (qkit::repack_pays)
};

inline qkit::KvType kv_type_from_name(const std::string& s) {
  if (s == "f32") return qkit::KvType::F32;
  if (s == "f16") return qkit::KvType::F16;
  if (s == "q8_0") return qkit::KvType::Q8_0;
  qkit::fail("unknown KV cache type '", s, "' (f32, f16 or q8_0)");
}

class Model {
 public:
  explicit Model(const std::string& path, const ModelOptions& opt = {})
      : Model(qkit::gguf::File::open(path), opt, true) {}

  // from_mapping: file views a read-only mapping of its own, whose pages
  // may be released once repacked (not a caller's buffer).
  Model(qkit::gguf::File file, const ModelOptions& opt, bool from_mapping = false)
      : file_(std::move(file)), opt_(opt) {
    hp_ = hparams_from_gguf(file_);
    w_ = load_weights(file_, hp_);
    hp_.n_vocab = w_.token_embd.rows;
    n_ctx_ = opt.n_ctx > 0 ? opt.n_ctx : std::min<int64_t>(4096, hp_.n_ctx_train);
    qkit::require(opt_.n_batch > 0, "n_batch must be > 0");
    // LongRoPE: one set of factors for the whole context, chosen by its size
    // (llama_model::get_rope_factors), so every cached key was rotated alike.
    // A file with only one of the two uses it for every context size.
    const float* lng = w_.rope_factors_long.data;
    const float* sht = w_.rope_factors_short.data;
    rope_factors_ = n_ctx_ > hp_.n_ctx_orig ? (lng ? lng : sht) : (sht ? sht : lng);
    qkit::KvCache::Config kc;
    kc.n_layer = static_cast<size_t>(hp_.n_layer);
    kc.n_head_kv = static_cast<size_t>(hp_.n_head_kv);
    kc.head_dim = static_cast<size_t>(hp_.head_dim);
    kc.capacity = static_cast<size_t>(n_ctx_);
    kc.type = opt.cache_type;
    kv_ = std::make_unique<qkit::KvCache>(kc);
    pool_ = std::make_unique<qkit::ThreadPool>(opt.n_threads);
    // Reference numerics multiplies GGUF rows itself (ref_matmul.hpp).
    if (opt.repack && opt.numerics != Numerics::Reference) repack_weights(w_, from_mapping, pool_.get());
  }

  const HParams& hparams() const { return hp_; }
  const Weights& weights() const { return w_; }
  const qkit::gguf::File& file() const { return file_; }
  const qkit::KvCache& kv_cache() const { return *kv_; }
  qkit::ThreadPool& pool() { return *pool_; }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_vocab() const { return hp_.n_vocab; }
  int64_t n_past() const { return static_cast<int64_t>(kv_->length(0)); }

  // Forgets positions >= n (n = 0: a fresh conversation).
  void reset(int64_t n = 0) { kv_->truncate(static_cast<size_t>(n)); }

  // Evaluates n tokens at positions n_past() .. n_past() + n - 1 and
  // appends them to the KV cache. logits receives n_vocab floats per token
  // when all_logits, else those of the last token only (may be null).
  void eval(const int32_t* tokens, int64_t n, float* logits, bool all_logits = false) {
    qkit::require(n >= 0, "eval: negative token count ", n);
    qkit::require(n <= n_ctx_ - n_past(), "context full: ", n_past(), " of ", n_ctx_, " positions used, cannot add ",
                  n, " more (raise -c)");
    for (int64_t i = 0; i < n; ++i) {
      qkit::require(tokens[i] >= 0 && tokens[i] < hp_.n_vocab, "token id ", tokens[i], " at index ", i,
                    " is outside the vocabulary (", hp_.n_vocab, " tokens)");
    }
    for (int64_t b = 0; b < n; b += opt_.n_batch) {
      const int64_t nb = std::min(opt_.n_batch, n - b);
      const bool last = b + nb == n;
      float* out = nullptr;
      if (logits && all_logits) out = logits + b * hp_.n_vocab;
      if (logits && !all_logits && last) out = logits;
      forward(tokens + b, nb, out, all_logits);
    }
  }

 private:
  struct Scratch {
    qkit::AlignedBuffer<float> x, xn, qkv, q, k, v, attn, o, ff, h;
    std::vector<int32_t> pos;
  };

  void forward(const int32_t* tokens, int64_t n, float* logits, bool all_logits) {
    const HParams& h = hp_;
    const size_t N = static_cast<size_t>(n), E = static_cast<size_t>(h.n_embd);
    const size_t Eq = static_cast<size_t>(h.n_embd_q()), Ekv = static_cast<size_t>(h.n_embd_kv());
    const size_t Eqkv = Eq + 2 * Ekv;
    const size_t F = static_cast<size_t>(h.n_ff);
    const bool phi2 = h.arch == Arch::Phi2;
    Scratch& s = s_;
    s.x.ensure(N * E);
    s.xn.ensure(N * E);
    s.qkv.ensure(N * Eqkv);
    s.q.ensure(N * Eq);
    s.k.ensure(N * Ekv);
    s.v.ensure(N * Ekv);
    s.attn.ensure(N * Eq);
    s.o.ensure(N * E);
    s.ff.ensure(N * (phi2 ? F : 2 * F));
    s.h.ensure(N * F);
    s.pos.resize(N);
    const int64_t p0 = n_past();
    for (size_t t = 0; t < N; ++t) s.pos[t] = static_cast<int32_t>(p0 + static_cast<int64_t>(t));

    for (size_t t = 0; t < N; ++t) {
      qkit::dequantize_row(w_.token_embd.format, w_.token_embd.row(tokens[t]), s.x.data() + t * E, h.n_embd);
    }

    qkit::RopeParams rope;
    rope.head_dim = static_cast<size_t>(h.head_dim);
    rope.n_rot = static_cast<size_t>(h.n_rot);
    rope.neox = true;
    rope.freq_base = h.rope_freq_base;
    rope.freq_scale = h.rope_freq_scale;
    rope.freq_factors = phi2 ? nullptr : rope_factors_;
    rope.attn_factor = h.rope_attn_factor;
    rope.n_ctx_orig = static_cast<uint32_t>(h.n_ctx_orig);
    const bool ref = opt_.numerics == Numerics::Reference;
    const float kq_scale = 1.0f / std::sqrt(static_cast<float>(h.head_dim));
    qkit::ThreadPool* pool = pool_.get();

    for (int64_t il = 0; il < h.n_layer; ++il) {
      const LayerWeights& L = w_.layers[static_cast<size_t>(il)];
      // Attention input.
      norm(s.x.data(), L.attn_norm, L.attn_norm_b, s.xn.data(), N);
      mm(L.qkv, s.xn.data(), n, s.qkv.data(), pool);
      if (L.qkv_b) add_bias(s.qkv.data(), L.qkv_b, N);
      for (size_t t = 0; t < N; ++t) {
        const float* row = s.qkv.data() + t * Eqkv;
        std::copy(row, row + Eq, s.q.data() + t * Eq);
        std::copy(row + Eq, row + Eq + Ekv, s.k.data() + t * Ekv);
        std::copy(row + Eq + Ekv, row + Eqkv, s.v.data() + t * Ekv);
      }
      if (ref) {
        ref::rope_neox(s.q.data(), N, static_cast<size_t>(h.n_head), s.pos.data(), rope);
        ref::rope_neox(s.k.data(), N, static_cast<size_t>(h.n_head_kv), s.pos.data(), rope);
      } else {
        qkit::rope(s.q.data(), N, static_cast<size_t>(h.n_head), s.pos.data(), rope);
        qkit::rope(s.k.data(), N, static_cast<size_t>(h.n_head_kv), s.pos.data(), rope);
      }
      const size_t l = static_cast<size_t>(il);
      kv_->append(l, s.k.data(), s.v.data(), N);
      if (ref) {
        ref::attention(s.q.data(), kv_->keys(l), kv_->values(l), s.attn.data(), N, static_cast<size_t>(h.n_head),
                       kq_scale, pool);
      } else {
        qkit::AttentionParams ap;
        ap.n_q = N;
        ap.n_head = static_cast<size_t>(h.n_head);
        ap.head_dim = static_cast<size_t>(h.head_dim);
        ap.scale = kq_scale;
        qkit::attention(s.q.data(), kv_->keys(l), kv_->values(l), s.attn.data(), ap, pool);
      }
      mm(L.attn_out, s.attn.data(), n, s.o.data(), pool);
      if (L.attn_out_b) add_bias(s.o.data(), L.attn_out_b, N);

      if (phi2) {
        // The MLP reads the same normed input as attention (parallel block).
        mm(L.ffn_up, s.xn.data(), n, s.ff.data(), pool);
        add_bias(s.ff.data(), L.ffn_up_b, N);
        if (ref) {
          ref::gelu(s.ff.data(), s.h.data(), N * F);
        } else {
          qkit::gelu_tanh(s.ff.data(), s.h.data(), N * F);
        }
        mm(L.ffn_down, s.h.data(), n, s.xn.data(), pool);
        add_bias(s.xn.data(), L.ffn_down_b, N);
        qkit::add(s.o.data(), s.xn.data(), s.o.data(), N * E);  // attn + mlp, then the residual
        qkit::add(s.o.data(), s.x.data(), s.x.data(), N * E);
      } else {
        qkit::add(s.o.data(), s.x.data(), s.x.data(), N * E);
        norm(s.x.data(), L.ffn_norm, Vector{}, s.xn.data(), N);
        mm(L.ffn_up, s.xn.data(), n, s.ff.data(), pool);
        if (ref) {
          ref::swiglu(s.ff.data(), s.h.data(), N, F);
        } else {
          qkit::swiglu(s.ff.data(), s.h.data(), N, F);
        }
        mm(L.ffn_down, s.h.data(), n, s.o.data(), pool);
        qkit::add(s.x.data(), s.o.data(), s.x.data(), N * E);
      }
    }
    if (!logits) return;
    // Output head on the rows whose logits are wanted.
    const size_t first = all_logits ? 0 : N - 1, rows = N - first;
    const float* x = s.x.data() + first * E;
    norm(x, w_.output_norm, w_.output_norm_b, s.xn.data(), rows);
    mm(w_.output, s.xn.data(), static_cast<int64_t>(rows), logits, pool);
    if (w_.output_b) add_bias(logits, w_.output_b, rows);
  }

  // Y = X W^T: qkit's kernels, or the reference's summation order.
  void mm(const Matrix& W, const float* X, int64_t n, float* Y, qkit::ThreadPool* pool) const {
    if (opt_.numerics == Numerics::Reference) {
      ref::matmul(W, X, n, Y, pool);
    } else {
      matmul(W, X, n, Y, pool);
    }
  }

  // phi2: LayerNorm with bias; phi3: RMSNorm. n rows of n_embd.
  void norm(const float* x, const Vector& w, const Vector& b, float* out, size_t n) const {
    const size_t E = static_cast<size_t>(hp_.n_embd);
    const bool ref = opt_.numerics == Numerics::Reference;
    if (hp_.arch == Arch::Phi2) {
      if (ref) {
        ref::layer_norm(x, w.data, b.data, out, n, E, hp_.norm_eps);
      } else {
        qkit::layer_norm(x, w.data, b.data, out, n, E, hp_.norm_eps);
      }
    } else if (ref) {
      ref::rms_norm(x, w.data, out, n, E, hp_.norm_eps);
    } else {
      qkit::rms_norm(x, w.data, out, n, E, hp_.norm_eps);
    }
  }

  // y[t] += b for each of n rows of b.n values.
  static void add_bias(float* y, const Vector& b, size_t n) {
    const size_t m = static_cast<size_t>(b.n);
    for (size_t t = 0; t < n; ++t) qkit::add(y + t * m, b.data, y + t * m, m);
  }

  qkit::gguf::File file_;
  ModelOptions opt_;
  HParams hp_;
  Weights w_;
  int64_t n_ctx_ = 0;
  const float* rope_factors_ = nullptr;
  std::unique_ptr<qkit::KvCache> kv_;
  std::unique_ptr<qkit::ThreadPool> pool_;
  Scratch s_;
};

}  // namespace phi
