// examples/phi/hparams.hpp — a Phi model's hyper-parameters, read from the
// GGUF metadata under the architecture's prefix (`phi3.` or `phi2.`).
//
// Two architectures, as GGUF names them:
//  * phi3 — Phi-3/3.5-mini, Phi-3-medium, Phi-4-mini: RMSNorm, fused qkv,
//    NeoX RoPE (partial for Phi-4-mini) with LongRoPE factors, SwiGLU.
//  * phi2 — Phi-2: LayerNorm with bias, parallel attention + MLP, GELU.
// Anything else is a qkit::Error naming the architecture.
#pragma once

#include <cstdint>
#include <string>

#include "qkit/base/error.hpp"
#include "qkit/gguf/reader.hpp"

namespace phi {

enum class Arch { Phi3, Phi2 };

inline const char* arch_name(Arch a) { return a == Arch::Phi3 ? "phi3" : "phi2"; }

struct HParams {
  Arch arch = Arch::Phi3;
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;  // n_embd / n_head unless the file says otherwise
  int64_t n_rot = 0;     // rotated dims per head (partial rotary when < head_dim)
  int64_t n_ff = 0;
  int64_t n_ctx_train = 0;
  int64_t n_ctx_orig = 0;  // LongRoPE's original context (rope.scaling.original_context_length)
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // 1 / rope.scaling.factor
  float rope_attn_factor = 1.0f;  // LongRoPE's attention factor (scales cos and sin)
  float norm_eps = 1e-5f;
  int64_t sliding_window = 0;  // read for reporting only (see from_gguf)

  int64_t n_embd_q() const { return n_head * head_dim; }
  int64_t n_embd_kv() const { return n_head_kv * head_dim; }
};

// Reads and checks the hyper-parameters. n_vocab comes from the token
// embedding's shape, which is what the weights actually hold.
inline HParams hparams_from_gguf(const qkit::gguf::File& f) {
  using qkit::require;
  require(f.has("general.architecture"), f.source(), ": no general.architecture key (is this a model file?)");
  const std::string arch = f.get<std::string>("general.architecture");
  HParams h;
  if (arch == "phi3") {
    h.arch = Arch::Phi3;
  } else if (arch == "phi2") {
    h.arch = Arch::Phi2;
  } else {
    qkit::fail(f.source(), ": unsupported architecture '", arch, "' (qkit-phi runs phi3 and phi2)");
  }
  const std::string p = arch + ".";
  h.n_embd = f.get<int64_t>(p + "embedding_length");
  h.n_layer = f.get<int64_t>(p + "block_count");
  h.n_head = f.get<int64_t>(p + "attention.head_count");
  h.n_head_kv = f.get_or<int64_t>(p + "attention.head_count_kv", h.n_head);
  h.n_ff = f.get<int64_t>(p + "feed_forward_length");
  h.n_ctx_train = f.get<int64_t>(p + "context_length");
  require(h.n_embd > 0 && h.n_layer > 0 && h.n_head > 0 && h.n_head_kv > 0 && h.n_ff > 0 && h.n_ctx_train > 0,
          f.source(), ": non-positive hyper-parameter (embedding_length ", h.n_embd, ", block_count ", h.n_layer,
          ", head_count ", h.n_head, ", head_count_kv ", h.n_head_kv, ", feed_forward_length ", h.n_ff,
          ", context_length ", h.n_ctx_train, ")");
  require(h.n_embd % h.n_head == 0, f.source(), ": embedding_length ", h.n_embd, " is not a multiple of head_count ",
          h.n_head);
  require(h.n_head % h.n_head_kv == 0, f.source(), ": head_count ", h.n_head, " is not a multiple of head_count_kv ",
          h.n_head_kv);
  h.head_dim = f.get_or<int64_t>(p + "attention.key_length", h.n_embd / h.n_head);
  require(f.get_or<int64_t>(p + "attention.value_length", h.head_dim) == h.head_dim, f.source(),
          ": key and value head sizes differ");
  h.n_rot = f.get_or<int64_t>(p + "rope.dimension_count", h.head_dim);
  require(h.n_rot > 0 && h.n_rot % 2 == 0 && h.n_rot <= h.head_dim, f.source(), ": rope.dimension_count ", h.n_rot,
          " must be even and <= the head size ", h.head_dim);
  h.rope_freq_base = f.get_or<float>(p + "rope.freq_base", 10000.0f);
  const float scale = f.get_or<float>(p + "rope.scaling.factor", 0.0f);
  h.rope_freq_scale = scale == 0.0f ? 1.0f : 1.0f / scale;
  h.rope_attn_factor = f.get_or<float>(p + "rope.scaling.attn_factor", 1.0f);
  h.n_ctx_orig = f.get_or<int64_t>(p + "rope.scaling.original_context_length", h.n_ctx_train);
  if (h.arch == Arch::Phi3) {
    h.norm_eps = f.get<float>(p + "attention.layer_norm_rms_epsilon");
  } else {
    h.norm_eps = f.get<float>(p + "attention.layer_norm_epsilon");
  }
  // The reference engine ignores Phi-3's sliding window (its conversion
  // scripts do not fill it reliably; llama.cpp PR 13676) and so do we, to
  // give the same results.
  h.sliding_window = f.get_or<int64_t>(p + "attention.sliding_window", 0);
  return h;
}

}  // namespace phi
