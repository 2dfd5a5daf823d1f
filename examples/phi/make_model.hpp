// examples/phi/make_model.hpp — writes a random-weight Phi-3-shaped GGUF
// model with qkit's own writer and a synthetic SentencePiece vocabulary:
// for speed work on full-size shapes (`--make-model phi3-mini --type Q4_0
// OUT.gguf`) and for the demo model qkit-phi runs without -m.
//
// Weights are uniform in +-sqrt(3 / cols) (unit-variance outputs for
// unit-variance inputs), from a counter-based generator keyed by (seed,
// tensor, row): every row is independent, so rows are produced and
// quantized in parallel and the file does not depend on the thread count.
// The quantization type is a plain format or a file type with the
// reference engine's per-tensor mix (Q4_K_M ...), chosen by qkit-quantize's
// rules (examples/quantize/mix.hpp). Tensors stream to the file one row
// group at a time: memory stays small whatever the model size.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "phi/tokenizer/gguf_vocab.hpp"
#include "phi/tokenizer/synthetic.hpp"
#include "qkit/base/error.hpp"
#include "qkit/gguf/writer.hpp"
#include "qkit/quant/registry.hpp"
#include "qkit/thread/pool.hpp"
#include "quantize/mix.hpp"

namespace phi {

struct ModelSpec {
  std::string name;
  int64_t n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_vocab = 0, n_ctx = 0;
  uint64_t seed = 7;
};

// "phi3-mini": Phi-3-mini-4k's shapes (3.82 B parameters). "demo": a small
// model of the same layout that builds in a moment.
inline ModelSpec model_spec(const std::string& name) {
  ModelSpec s;
  s.name = name;
  if (name == "phi3-mini") {
    s.n_embd = 3072, s.n_layer = 32, s.n_head = 32, s.n_head_kv = 32, s.n_ff = 8192, s.n_vocab = 32064, s.n_ctx = 4096;
  } else if (name == "demo") {
    s.n_embd = 256, s.n_layer = 4, s.n_head = 8, s.n_head_kv = 8, s.n_ff = 768, s.n_vocab = 2048, s.n_ctx = 2048;
  } else {
    qkit::fail("unknown model shape '", name, "' (phi3-mini or demo)");
  }
  return s;
}

namespace make_detail {

inline uint64_t mix64(uint64_t x) {  // splitmix64's finaliser
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

inline uint64_t hash_name(const std::string& s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// One row of uniform values in [-a, a).
inline void random_row(uint64_t key, float a, float* out, int64_t n) {
  uint64_t state = mix64(key);
  for (int64_t i = 0; i < n; ++i) {
    state = mix64(state);
    const float u = static_cast<float>(state >> 40) * (1.0f / 16777216.0f);  // [0, 1)
    out[i] = (2.0f * u - 1.0f) * a;
  }
}

}  // namespace make_detail

// Writes the model; `type` is a file type or format name ("Q4_0", "Q8_0",
// "Q4_K_M", "F16" ...). progress(done, total) is called after each tensor.
inline void make_model(const ModelSpec& s, const std::string& type, qkit::gguf::Writer& w, int n_threads,
                       const std::function<void(size_t, size_t)>& progress = nullptr) {
  namespace qt = qkit::quantize_tool;
  const qt::Target target = qt::parse_target(type);
  const int64_t hd = s.n_embd / s.n_head;
  qkit::require(s.n_embd % s.n_head == 0 && s.n_head % s.n_head_kv == 0, "model shape: heads do not divide");

  w.set("general.architecture", "phi3");
  w.set("general.name", "qkit random " + s.name);  // no "phi3" in it: no rstrip quirk (see golden README)
  w.set("general.file_type", static_cast<uint32_t>(target.file_type));
  w.set("general.quantization_version", uint32_t{2});
  w.set("phi3.context_length", static_cast<uint32_t>(s.n_ctx));
  w.set("phi3.embedding_length", static_cast<uint32_t>(s.n_embd));
  w.set("phi3.feed_forward_length", static_cast<uint32_t>(s.n_ff));
  w.set("phi3.block_count", static_cast<uint32_t>(s.n_layer));
  w.set("phi3.attention.head_count", static_cast<uint32_t>(s.n_head));
  w.set("phi3.attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  w.set("phi3.rope.dimension_count", static_cast<uint32_t>(hd));
  w.set("phi3.rope.freq_base", 10000.0f);
  w.set("phi3.rope.scaling.original_context_length", static_cast<uint32_t>(s.n_ctx));
  w.set("phi3.attention.layer_norm_rms_epsilon", 1e-5f);
  w.set("phi3.attention.sliding_window", uint32_t{0});
  VocabData vocab = synthetic_vocab(static_cast<size_t>(s.n_vocab));
  write_vocab(w, vocab);

  struct Spec {
    std::string name;
    std::vector<int64_t> ne;  // {cols, rows} or {n}
  };
  std::vector<Spec> specs = {{"token_embd.weight", {s.n_embd, s.n_vocab}},
                             {"output_norm.weight", {s.n_embd}},
                             {"output.weight", {s.n_embd, s.n_vocab}}};
  const int64_t n_qkv = s.n_embd + 2 * s.n_head_kv * hd;
  for (int64_t i = 0; i < s.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    specs.push_back({p + "attn_norm.weight", {s.n_embd}});
    specs.push_back({p + "attn_output.weight", {s.n_embd, s.n_embd}});
    specs.push_back({p + "attn_qkv.weight", {s.n_embd, n_qkv}});
    specs.push_back({p + "ffn_down.weight", {s.n_ff, s.n_embd}});
    specs.push_back({p + "ffn_norm.weight", {s.n_embd}});
    specs.push_back({p + "ffn_up.weight", {s.n_embd, 2 * s.n_ff}});
  }
  // Formats in the order the reference's mix rules count tensors.
  qt::ModelShape shape;
  shape.n_layer = static_cast<int>(s.n_layer);
  shape.n_gqa = static_cast<int>(s.n_head / s.n_head_kv);
  shape.tied_output = false;
  shape.n_attention_v = static_cast<int>(s.n_layer);
  qt::TypeSelector select(target, shape, false);
  std::vector<qkit::Format> formats;
  for (const Spec& t : specs) formats.push_back(select.choose(t.name, t.ne, qkit::Format::F32));

  auto pool = std::make_shared<qkit::ThreadPool>(n_threads);
  auto done = std::make_shared<size_t>(0);
  const size_t total = specs.size();
  for (size_t ti = 0; ti < specs.size(); ++ti) {
    const Spec t = specs[ti];
    const qkit::Format f = formats[ti];
    const uint64_t key = make_detail::hash_name(t.name) ^ (s.seed * 0x9E3779B97F4A7C15ull);
    w.add_tensor(t.name, f, t.ne, [t, f, key, pool, done, total, progress](qkit::gguf::Sink& sink) {
      if (t.ne.size() == 1) {  // norm weights: 1 + small noise, kept f32
        std::vector<float> v(static_cast<size_t>(t.ne[0]));
        make_detail::random_row(key, 0.1f, v.data(), t.ne[0]);
        for (float& x : v) x += 1.0f;
        sink.write(v.data(), v.size() * 4);
      } else {
        const int64_t cols = t.ne[0], rows = t.ne[1];
        const size_t rb = static_cast<size_t>(qkit::row_bytes(f, static_cast<uint64_t>(cols)));
        const float a = std::sqrt(3.0f / static_cast<float>(cols));
        constexpr int64_t kGroup = 256;
        std::vector<uint8_t> buf(rb * kGroup);
        for (int64_t r0 = 0; r0 < rows; r0 += kGroup) {
          const int64_t nr = std::min(kGroup, rows - r0);
          pool->parallel_for(0, nr, 1, [&](int64_t lo, int64_t hi) {
            std::vector<float> x(static_cast<size_t>(cols));
            for (int64_t r = lo; r < hi; ++r) {
              make_detail::random_row(key + static_cast<uint64_t>(r0 + r), a, x.data(), cols);
              qkit::quantize_row(f, x.data(), buf.data() + static_cast<size_t>(r) * rb, cols);
            }
          });
          sink.write(buf.data(), rb * static_cast<size_t>(nr));
        }
      }
      ++*done;
      if (progress) progress(*done, total);
    });
  }
}

}  // namespace phi
