// examples/phi/weights.hpp — a Phi model's weights as zero-copy views of the
// mmapped GGUF file.
//
// Matrices stay in whatever format the file holds them (a Q4_K_M file mixes
// Q4_K, Q5_0, Q6_K, Q8_0 ...): each Matrix carries its own format and the
// matmul dispatches on it. Vectors (norm weights, biases, LongRoPE factors)
// are used as f32: F32 tensors are viewed in place, other formats are
// dequantized once into storage owned here.
//
// Every tensor's shape is checked against the hyper-parameters when loaded;
// a missing tensor, a wrong shape or a format qkit cannot multiply is a
// qkit::Error naming the tensor.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "phi/hparams.hpp"
#include "qkit/base/error.hpp"
#include "qkit/gguf/reader.hpp"
#include "qkit/kernels/repack.hpp"
#include "qkit/quant/format.hpp"
#include "qkit/quant/registry.hpp"

namespace phi {

// rows x cols weights, row r at data + r * row_stride (GGUF: ne[0] = cols),
// or, once repacked, 16-row groups row_stride bytes apart (qkit/kernels/
// repack.hpp). y = W x maps cols inputs to rows outputs.
struct Matrix {
  qkit::Format format = qkit::Format::F32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  size_t row_stride = 0;
  qkit::WeightLayout layout = qkit::WeightLayout::kRows;
  std::string name;

  // Row r (row layout only).
  const uint8_t* row(int64_t r) const { return static_cast<const uint8_t*>(data) + static_cast<size_t>(r) * row_stride; }
};

struct Vector {
  const float* data = nullptr;  // null: absent (optional tensors)
  int64_t n = 0;
  explicit operator bool() const { return data != nullptr; }
};

struct LayerWeights {
  Vector attn_norm, attn_norm_b;  // _b: phi2 only
  Matrix qkv;                     // [n_embd_q + 2 n_embd_kv] x n_embd
  Vector qkv_b;
  Matrix attn_out;  // n_embd x n_embd_q
  Vector attn_out_b;
  Vector ffn_norm;  // phi3 only (phi2 feeds the MLP from attn_norm)
  Matrix ffn_up;    // phi3: [2 n_ff] x n_embd (gate | up); phi2: n_ff x n_embd
  Vector ffn_up_b;
  Matrix ffn_down;  // n_embd x n_ff
  Vector ffn_down_b;
};

struct Weights {
  Matrix token_embd;  // n_vocab x n_embd (a row per token)
  Vector output_norm, output_norm_b;
  Matrix output;  // n_vocab x n_embd; token_embd when the file ties them
  Vector output_b;
  Vector rope_factors_short, rope_factors_long;  // phi3 LongRoPE, n_rot / 2 each, optional
  std::vector<LayerWeights> layers;
  std::vector<std::unique_ptr<std::vector<float>>> owned;  // dequantized vectors
  std::vector<std::unique_ptr<qkit::RepackedWeights>> repacked;
};

namespace detail {

inline std::string shape_str(const std::vector<int64_t>& ne) {
  std::string s = "[";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

class Loader {
 public:
  explicit Loader(const qkit::gguf::File& f, Weights& w) : f_(f), w_(w) {}

  // A matrix of `rows` rows of `cols` values.
  Matrix matrix(const std::string& name, int64_t cols, int64_t rows) const {
    const qkit::gguf::TensorInfo& t = f_.tensor(name);
    check_shape(t, {cols, rows});
    qkit::require(qkit::format_has_codec(t.format), f_.source(), ": tensor '", name, "' has format ",
            qkit::format_name(t.format), ", which qkit-phi cannot multiply");
    Matrix m;
    m.format = t.format;
    m.data = f_.tensor_data(t);
    m.rows = rows;
    m.cols = cols;
    m.row_stride = static_cast<size_t>(qkit::row_bytes(t.format, static_cast<uint64_t>(cols)));
    m.name = name;
    return m;
  }

  Vector vector(const std::string& name, int64_t n) const {
    const qkit::gguf::TensorInfo& t = f_.tensor(name);
    check_shape(t, {n});
    Vector v;
    v.n = n;
    if (t.format == qkit::Format::F32) {
      v.data = reinterpret_cast<const float*>(f_.tensor_data(t));
    } else {
      qkit::require(qkit::format_has_codec(t.format), f_.source(), ": tensor '", name, "' has format ",
              qkit::format_name(t.format), ", which qkit-phi cannot read");
      auto buf = std::make_unique<std::vector<float>>(static_cast<size_t>(n));
      qkit::dequantize_row_ref(t.format, f_.tensor_data(t), buf->data(), n);
      v.data = buf->data();
      w_.owned.push_back(std::move(buf));
    }
    return v;
  }

  Vector optional_vector(const std::string& name, int64_t n) const {
    return f_.find_tensor(name) ? vector(name, n) : Vector{};
  }

 private:
  void check_shape(const qkit::gguf::TensorInfo& t, std::vector<int64_t> want) const {
    // GGUF files may carry trailing 1s (ne = [n, 1]).
    std::vector<int64_t> have = t.ne;
    while (have.size() > want.size() && have.back() == 1) have.pop_back();
    qkit::require(have == want, f_.source(), ": tensor '", t.name, "' has shape ", shape_str(t.ne), ", expected ",
            shape_str(want));
  }
  const qkit::gguf::File& f_;
  Weights& w_;
};

}  // namespace detail

// Drops the whole pages inside [p, p + n) of a read-only file mapping from
// memory (they would be read back from the file if touched again).
inline void release_pages(const void* p, size_t n) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t a = reinterpret_cast<uintptr_t>(p), b = a + n;
  const uintptr_t lo = (a + page - 1) / page * page, hi = b / page * page;
  if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

inline Weights load_weights(const qkit::gguf::File& f, const HParams& h) {
  Weights w;
  detail::Loader ld(f, w);
  const bool phi2 = h.arch == Arch::Phi2;
  const qkit::gguf::TensorInfo& emb = f.tensor("token_embd.weight");
  qkit::require(emb.ne.size() >= 2, f.source(), ": token_embd.weight is not a matrix");
  const int64_t n_vocab = emb.ne[1];
  w.token_embd = ld.matrix("token_embd.weight", h.n_embd, n_vocab);
  w.output_norm = ld.vector("output_norm.weight", h.n_embd);
  if (phi2) w.output_norm_b = ld.vector("output_norm.bias", h.n_embd);
  w.output = f.find_tensor("output.weight") ? ld.matrix("output.weight", h.n_embd, n_vocab) : w.token_embd;
  w.output_b = ld.optional_vector("output.bias", n_vocab);
  if (!phi2) {
    w.rope_factors_short = ld.optional_vector("rope_factors_short.weight", h.n_rot / 2);
    w.rope_factors_long = ld.optional_vector("rope_factors_long.weight", h.n_rot / 2);
  }
  const int64_t n_qkv = h.n_embd_q() + 2 * h.n_embd_kv();
  for (int64_t i = 0; i < h.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    LayerWeights L;
    L.attn_norm = ld.vector(p + "attn_norm.weight", h.n_embd);
    if (!f.find_tensor(p + "attn_qkv.weight")) {
      qkit::fail(f.source(), ": tensor '", p, "attn_qkv.weight' not found (qkit-phi needs the fused qkv projection ",
                 "that the reference converter writes for ", arch_name(h.arch), ")");
    }
    L.qkv = ld.matrix(p + "attn_qkv.weight", h.n_embd, n_qkv);
    L.attn_out = ld.matrix(p + "attn_output.weight", h.n_embd_q(), h.n_embd);
    if (phi2) {
      L.attn_norm_b = ld.vector(p + "attn_norm.bias", h.n_embd);
      L.qkv_b = ld.vector(p + "attn_qkv.bias", n_qkv);
      L.attn_out_b = ld.vector(p + "attn_output.bias", h.n_embd);
      L.ffn_up = ld.matrix(p + "ffn_up.weight", h.n_embd, h.n_ff);
      L.ffn_up_b = ld.vector(p + "ffn_up.bias", h.n_ff);
      L.ffn_down_b = ld.vector(p + "ffn_down.bias", h.n_embd);
    } else {
      L.ffn_norm = ld.vector(p + "ffn_norm.weight", h.n_embd);
      L.ffn_up = ld.matrix(p + "ffn_up.weight", h.n_embd, 2 * h.n_ff);
    }
    L.ffn_down = ld.matrix(p + "ffn_down.weight", h.n_ff, h.n_embd);
    w.layers.push_back(std::move(L));
  }
  return w;
}

// Repacks every matrix whose format has an interleaved layout (Q4_0, Q8_0,
// IQ4_NL, Q4_K, Q6_K: one SIMD register then holds the same values of 16 rows, which the
// matmul kernels multiply with one broadcast activation) where the running
// target has a kernel for that layout (qkit::repack_pays). The token
// embedding stays in rows: it is read a row at a time. When release is set
// (weights viewed from a file mapping, not from caller memory), the file
// pages of each repacked tensor are given back to the kernel, so resident
// memory stays about the file size, not twice it.
inline void repack_weights(Weights& w, bool release, qkit::ThreadPool* pool) {
  std::vector<Matrix*> todo;
  for (LayerWeights& L : w.layers)
    for (Matrix* m : {&L.qkv, &L.attn_out, &L.ffn_up, &L.ffn_down}) todo.push_back(m);
  if (w.output.data != w.token_embd.data) todo.push_back(&w.output);
  std::vector<Matrix*> sel;
  for (Matrix* m : todo)
    if (qkit::repack_pays(m->format)) sel.push_back(m);
  std::vector<std::unique_ptr<qkit::RepackedWeights>> out(sel.size());
  auto work = [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      Matrix& m = *sel[static_cast<size_t>(i)];
      qkit::WeightView v;
      v.format = m.format;
      v.data = m.data;
      v.rows = m.rows;
      v.cols = m.cols;
      v.row_stride = m.row_stride;
      out[static_cast<size_t>(i)] = std::make_unique<qkit::RepackedWeights>(qkit::repack(v));
      if (release) release_pages(m.data, static_cast<size_t>(m.rows) * m.row_stride);
    }
  };
  if (pool) {
    pool->parallel_for(0, static_cast<int64_t>(sel.size()), 1, work);
  } else {
    work(0, static_cast<int64_t>(sel.size()));
  }
  for (size_t i = 0; i < sel.size(); ++i) {
    const qkit::WeightView v = out[i]->view();
    sel[i]->data = v.data;
    sel[i]->row_stride = v.row_stride;
    sel[i]->layout = v.layout;
    w.repacked.push_back(std::move(out[i]));
  }
}

}  // namespace phi
