// qkit/gguf/imatrix.hpp — importance matrices for the quantizers, in the
// reference engine's formats.
//
// GGUF imatrix (current reference format; general.type = "imatrix"):
//   imatrix.datasets     array of string   calibration files
//   imatrix.chunk_count  uint32            chunks processed
//   imatrix.chunk_size   uint32            tokens per chunk
//   tensors, one pair per weight tensor <name> (e.g. blk.0.ffn_down.weight):
//     <name>.in_sum2  f32 [ne0, n_mat]  sum over tokens of x^2 per input column
//     <name>.counts   f32 [1, n_mat]    tokens summed, per matrix (experts: n_mat > 1)
//     <name>.in_sum   f32 [ne0, n_mat]  optional: sum of x (ignored by quantization)
//   The quantizer's importance weight for column i of matrix j is
//   in_sum2[j][i] / counts[j], or 1 where counts[j] is 0 (as the reference).
// Legacy .dat (older reference): i32 n_entries, then per entry i32 name
//   length, name, i32 ncall, i32 nval, f32 values[nval] (already scaled
//   by ncall); the weights are values / ncall (values as is if ncall is 0);
//   trailing i32 chunk count and i32-length dataset name.
//
// Both are untrusted input: every length and count is checked and an error
// names the entry and the byte offset.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "qkit/base/error.hpp"
#include "qkit/gguf/cursor.hpp"
#include "qkit/gguf/mapping.hpp"
#include "qkit/gguf/reader.hpp"
#include "qkit/gguf/writer.hpp"

namespace qkit::gguf {

struct ImatrixEntry {
  int64_t n_per_row = 0;       // ne0: the weight tensor's row length
  int64_t n_mat = 1;           // matrices (experts) sharing the entry
  std::vector<float> weights;  // n_mat * n_per_row importance weights
  std::vector<float> counts;   // n_mat token counts (legacy: ncall)

  // Weights of matrix j (j < n_mat): n_per_row values.
  const float* matrix(int64_t j) const { return weights.data() + j * n_per_row; }
};

class Imatrix {
 public:
  // Reads a GGUF imatrix, or a legacy .dat when the file is not GGUF.
  static Imatrix load(const std::string& path) {
    const Mapping m(path);
    if (m.size() >= 4 && std::memcmp(m.data(), "GGUF", 4) == 0) {
      return from_gguf(File::open(path));
    }
    return from_legacy(m.data(), m.size(), "imatrix '" + path + "'");
  }

  static Imatrix from_gguf(const File& f) {
    Imatrix im;
    im.source_ = f.source();
    if (f.has("general.type")) {
      const std::string type = f.get<std::string>("general.type");
      require(type == "imatrix", f.source(), ": general.type is '", type, "', not 'imatrix'");
    }
    if (f.has("imatrix.datasets")) im.datasets_ = f.get_array<std::string>("imatrix.datasets");
    im.chunk_count_ = f.get_or<uint32_t>("imatrix.chunk_count", 0);
    im.chunk_size_ = f.get_or<uint32_t>("imatrix.chunk_size", 0);

    static constexpr std::string_view kSum2 = ".in_sum2", kCounts = ".counts";
    auto ends_with = [](const std::string& s, std::string_view suffix) {
      return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    for (const TensorInfo& t : f.tensors()) {
      if (!ends_with(t.name, kSum2)) continue;
      const std::string name = t.name.substr(0, t.name.size() - kSum2.size());
      const TensorInfo* c = f.find_tensor(name + std::string(kCounts));
      require(c != nullptr, f.source(), ": imatrix entry '", name, "' has ", t.name, " but no ", name, kCounts);
      require(t.format == Format::F32 && c->format == Format::F32, f.source(), ": imatrix entry '", name,
              "' must be f32 (in_sum2 is ", format_name(t.format), ", counts is ", format_name(c->format), ")");
      ImatrixEntry e;
      e.n_mat = static_cast<int64_t>(c->n_elements());
      require(e.n_mat >= 1 && t.n_elements() % static_cast<uint64_t>(e.n_mat) == 0 && t.rows() == e.n_mat,
              f.source(), ": imatrix entry '", name, "': in_sum2 ", shape_string(t.ne), " does not match counts ",
              shape_string(c->ne));
      e.n_per_row = t.cols();
      const auto* sums = reinterpret_cast<const uint8_t*>(f.tensor_data(t));
      const auto* cnts = reinterpret_cast<const uint8_t*>(f.tensor_data(*c));
      e.counts.resize(static_cast<size_t>(e.n_mat));
      std::memcpy(e.counts.data(), cnts, e.counts.size() * 4);
      e.weights.resize(static_cast<size_t>(t.n_elements()));
      for (int64_t j = 0; j < e.n_mat; ++j) {
        const float count = e.counts[static_cast<size_t>(j)];
        require(std::isfinite(count) && count >= 0, f.source(), ": imatrix entry '", name, "' count ", j, " is ", count);
        for (int64_t i = 0; i < e.n_per_row; ++i) {
          const size_t k = static_cast<size_t>(j * e.n_per_row + i);
          float s;
          std::memcpy(&s, sums + k * 4, 4);
          require(std::isfinite(s), f.source(), ": imatrix entry '", name, "' in_sum2[", j, "][", i, "] is ", s);
          e.weights[k] = count > 0.0f ? s / count : 1.0f;
        }
      }
      im.entries_.emplace(name, std::move(e));
    }
    for (const TensorInfo& t : f.tensors()) {
      if (ends_with(t.name, kCounts)) {
        const std::string name = t.name.substr(0, t.name.size() - kCounts.size());
        require(im.entries_.count(name) == 1, f.source(), ": imatrix entry '", name, "' has counts but no in_sum2");
      }
    }
    require(!im.entries_.empty(), f.source(), ": no imatrix entries (<name>.in_sum2 / <name>.counts tensors)");
    return im;
  }

  static Imatrix from_legacy(const uint8_t* data, size_t size, const std::string& source) {
    Imatrix im;
    im.source_ = source;
    im.legacy_ = true;
    Cursor c(data, size, im.source_);
    const size_t n_at = c.pos();
    const int32_t n = c.read<int32_t>("entry count");
    if (n < 1) c.error_at(n_at, "legacy imatrix has ", n, " entries");
    c.check_count(static_cast<uint64_t>(n), 4 + 4 + 4, n_at, "entry count");
    for (int32_t k = 0; k < n; ++k) {
      const size_t at = c.pos();
      const int32_t len = c.read<int32_t>("entry name length");
      if (len < 1) c.error_at(at, "entry ", k, " has name length ", len);
      c.need(static_cast<uint64_t>(len), "entry name");
      std::string name(reinterpret_cast<const char*>(c.here()), static_cast<size_t>(len));
      c.skip(static_cast<uint64_t>(len), "entry name");
      c.context = "entry '" + name + "': ";
      const int32_t ncall = c.read<int32_t>("call count");
      const size_t nval_at = c.pos();
      const int32_t nval = c.read<int32_t>("value count");
      if (nval < 1) c.error_at(nval_at, "value count ", nval);
      c.check_count(static_cast<uint64_t>(nval), 4, nval_at, "value count");
      if (ncall < 0) c.error_at(nval_at - 4, "negative call count ", ncall);
      ImatrixEntry e;
      e.n_per_row = nval;
      e.counts = {static_cast<float>(ncall)};
      e.weights.resize(static_cast<size_t>(nval));
      for (int32_t i = 0; i < nval; ++i) {
        const size_t vat = c.pos();
        const float v = c.read<float>("value");
        if (!std::isfinite(v)) c.error_at(vat, "value ", i, " is ", v);
        e.weights[static_cast<size_t>(i)] = ncall > 0 ? v / static_cast<float>(ncall) : v;
      }
      c.context.clear();
      if (!im.entries_.emplace(name, std::move(e)).second) c.error_at(at, "duplicate entry '", name, "'");
    }
    // Optional trailer: chunk count and dataset name.
    if (c.remaining() >= 4) im.chunk_count_ = static_cast<uint32_t>(c.read<int32_t>("chunk count"));
    if (c.remaining() >= 4) {
      const size_t at = c.pos();
      const int32_t len = c.read<int32_t>("dataset name length");
      if (len < 0 || static_cast<uint64_t>(len) > c.remaining()) c.error_at(at, "dataset name length ", len);
      im.datasets_.emplace_back(reinterpret_cast<const char*>(c.here()), static_cast<size_t>(len));
    }
    return im;
  }

  // Importance weights for a weight tensor, or nullptr when it has none.
  const ImatrixEntry* find(std::string_view tensor_name) const {
    auto it = entries_.find(tensor_name);
    return it == entries_.end() ? nullptr : &it->second;
  }
  // Weights for one row length; throws if the entry's length differs.
  const float* weights_for(std::string_view tensor_name, int64_t n_per_row, int64_t mat = 0) const {
    const ImatrixEntry* e = find(tensor_name);
    if (!e) return nullptr;
    require(e->n_per_row == n_per_row, source_, ": imatrix entry '", tensor_name, "' has ", e->n_per_row,
            " values per row, the tensor has rows of ", n_per_row);
    require(mat >= 0 && mat < e->n_mat, source_, ": imatrix entry '", tensor_name, "' has ", e->n_mat,
            " matrices, asked for ", mat);
    return e->matrix(mat);
  }

  size_t size() const { return entries_.size(); }
  const std::map<std::string, ImatrixEntry, std::less<>>& entries() const { return entries_; }
  const std::vector<std::string>& datasets() const { return datasets_; }
  uint32_t chunk_count() const { return chunk_count_; }
  uint32_t chunk_size() const { return chunk_size_; }
  bool legacy() const { return legacy_; }

 private:
  std::string source_;
  std::map<std::string, ImatrixEntry, std::less<>> entries_;
  std::vector<std::string> datasets_;
  uint32_t chunk_count_ = 0, chunk_size_ = 0;
  bool legacy_ = false;
};

}  // namespace qkit::gguf
