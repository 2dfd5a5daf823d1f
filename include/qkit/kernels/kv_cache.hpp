// qkit/kernels/kv_cache.hpp — the attention KV cache: per layer, keys and
// values of every KV head for positions 0..length-1, stored as f32, f16 or
// Q8_0 (chosen at run time), plus the read-only views attention() takes.
//
// Storage layout and KvView: kv_layout.hpp.
//
// Cache row j holds position j: append() writes at the layer's current
// length. A full cache is a qkit::Error naming the layer and the counts.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "qkit/base/aligned.hpp"
#include "qkit/base/checked.hpp"
#include "qkit/base/error.hpp"
#include "qkit/base/fp16.hpp"
#include "qkit/kernels/convert.hpp"
#include "qkit/kernels/kv_layout.hpp"

namespace qkit {

namespace kv {

// Converts head_dim floats into one cache row of type t.
inline void encode_row(KvType t, const float* x, uint8_t* dst, size_t head_dim) {
  switch (t) {
    case KvType::F32: std::memcpy(dst, x, head_dim * 4); return;
    case KvType::F16: f32_to_f16(x, reinterpret_cast<f16*>(dst), head_dim); return;
    case KvType::Q8_0: quantize_q8_0(x, dst, head_dim); return;
  }
}

}  // namespace kv

class KvCache {
 public:
  struct Config {
    size_t n_layer = 0;
    size_t n_head_kv = 0;
    size_t head_dim = 0;
    size_t capacity = 0;  // positions per layer (the context length)
    KvType type = KvType::F16;
  };

  explicit KvCache(const Config& c) : cfg_(c), length_(c.n_layer, 0) {
    require(c.n_layer > 0 && c.n_head_kv > 0 && c.head_dim > 0 && c.capacity > 0,
            "KV cache: n_layer, n_head_kv, head_dim and capacity must be > 0 (got ", c.n_layer, ", ", c.n_head_kv,
            ", ", c.head_dim, ", ", c.capacity, ")");
    row_bytes_ = kv::row_bytes(c.type, c.head_dim);
    head_stride_ = checked_size(checked_mul(c.capacity, row_bytes_, "KV cache size"), "KV cache");
    layer_bytes_ = checked_size(checked_mul(c.n_head_kv, head_stride_, "KV cache size"), "KV cache");
    const uint64_t total = checked_mul(checked_mul(layer_bytes_, 2, "KV cache size"), c.n_layer, "KV cache size");
    data_.reset(checked_size(total, "KV cache"));
  }

  const Config& config() const { return cfg_; }
  size_t capacity() const { return cfg_.capacity; }
  KvType type() const { return cfg_.type; }
  size_t n_layer() const { return cfg_.n_layer; }
  size_t length(size_t layer) const { return length_.at(check_layer(layer)); }
  size_t bytes() const { return data_.size(); }

  // Appends n_tokens positions to a layer: k and v are [n_tokens][n_head_kv]
  // [head_dim] f32 (the projection output), converted to the cache type.
  void append(size_t layer, const float* k, const float* v, size_t n_tokens) {
    check_layer(layer);
    const size_t len = length_[layer];
    require(n_tokens <= cfg_.capacity - len, "KV cache full: layer ", layer, " holds ", len, " of ", cfg_.capacity,
            " positions, cannot append ", n_tokens);
    const size_t hd = cfg_.head_dim;
    for (size_t t = 0; t < n_tokens; ++t) {
      for (size_t h = 0; h < cfg_.n_head_kv; ++h) {
        const size_t src = (t * cfg_.n_head_kv + h) * hd;
        const size_t off = h * head_stride_ + (len + t) * row_bytes_;
        kv::encode_row(cfg_.type, k + src, base(layer, 0) + off, hd);
        kv::encode_row(cfg_.type, v + src, base(layer, 1) + off, hd);
      }
    }
    length_[layer] = len + n_tokens;
  }

  // Forgets positions >= n in every layer (rolls back a rejected draft or
  // restarts a conversation at a shared prefix).
  void truncate(size_t n) {
    for (auto& l : length_) l = l < n ? l : n;
  }
  void clear() { truncate(0); }

  KvView keys(size_t layer) const { return view(layer, 0); }
  KvView values(size_t layer) const { return view(layer, 1); }

 private:
  size_t check_layer(size_t layer) const {
    require(layer < cfg_.n_layer, "KV cache: layer ", layer, " out of range (n_layer ", cfg_.n_layer, ")");
    return layer;
  }
  uint8_t* base(size_t layer, int kv) { return data_.data() + (2 * layer + kv) * layer_bytes_; }
  KvView view(size_t layer, int kv) const {
    check_layer(layer);
    KvView v;
    v.type = cfg_.type;
    v.data = data_.data() + (2 * layer + kv) * layer_bytes_;
    v.n_head_kv = cfg_.n_head_kv;
    v.head_dim = cfg_.head_dim;
    v.length = length_[layer];
    v.row_bytes = row_bytes_;
    v.head_stride = head_stride_;
    return v;
  }

  Config cfg_;
  std::vector<size_t> length_;
  size_t row_bytes_ = 0, head_stride_ = 0, layer_bytes_ = 0;
  AlignedBuffer<uint8_t> data_;
};

}  // namespace qkit
