// examples/quantize/mix.hpp — which format each tensor of a model gets, for
// a target file type: the reference engine's rules (llama.cpp's
// llama_tensor_get_type), restricted to the file types qkit has codecs for.
//
// A *file type* (the reference's llama_ftype, stored as general.file_type)
// is either a plain format applied to every quantizable tensor ("pure"), or
// a *mix* that gives some tensors more bits: the output (and tied token
// embedding) gets Q6_K; in the _M mixes attention-v-like and ffn_down
// tensors of the layers use_more_bits() picks get Q6_K; and so on. Rows
// whose length is not a multiple of a format's block fall back to a
// 32-block format, as the reference does.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "qkit/base/error.hpp"
#include "qkit/quant/format.hpp"

namespace qkit::quantize_tool {

// The reference's llama_ftype values (general.file_type), for the types qkit
// can write.
enum class FileType : uint32_t {
  ALL_F32 = 0,
  MOSTLY_F16 = 1,
  MOSTLY_Q4_0 = 2,
  MOSTLY_Q4_1 = 3,
  MOSTLY_Q8_0 = 7,
  MOSTLY_Q5_0 = 8,
  MOSTLY_Q5_1 = 9,
  MOSTLY_Q2_K = 10,
  MOSTLY_Q3_K_S = 11,
  MOSTLY_Q3_K_M = 12,
  MOSTLY_Q3_K_L = 13,
  MOSTLY_Q4_K_S = 14,
  MOSTLY_Q4_K_M = 15,
  MOSTLY_Q5_K_S = 16,
  MOSTLY_Q5_K_M = 17,
  MOSTLY_Q6_K = 18,
  MOSTLY_IQ4_NL = 25,
  MOSTLY_IQ4_XS = 30,
  MOSTLY_BF16 = 32,
  MOSTLY_TQ1_0 = 36,
  MOSTLY_TQ2_0 = 37,
};

struct FileTypeInfo {
  FileType type;
  const char* name;  // as the reference's quantize tool spells it
  Format base;       // the format most tensors get
};

inline constexpr FileTypeInfo kFileTypes[] = {
    {FileType::ALL_F32, "F32", Format::F32},          {FileType::MOSTLY_F16, "F16", Format::F16},
    {FileType::MOSTLY_BF16, "BF16", Format::BF16},    {FileType::MOSTLY_Q4_0, "Q4_0", Format::Q4_0},
    {FileType::MOSTLY_Q4_1, "Q4_1", Format::Q4_1},    {FileType::MOSTLY_Q5_0, "Q5_0", Format::Q5_0},
    {FileType::MOSTLY_Q5_1, "Q5_1", Format::Q5_1},    {FileType::MOSTLY_Q8_0, "Q8_0", Format::Q8_0},
    {FileType::MOSTLY_Q2_K, "Q2_K", Format::Q2_K},    {FileType::MOSTLY_Q3_K_S, "Q3_K_S", Format::Q3_K},
    {FileType::MOSTLY_Q3_K_M, "Q3_K_M", Format::Q3_K}, {FileType::MOSTLY_Q3_K_L, "Q3_K_L", Format::Q3_K},
    {FileType::MOSTLY_Q4_K_S, "Q4_K_S", Format::Q4_K}, {FileType::MOSTLY_Q4_K_M, "Q4_K_M", Format::Q4_K},
    {FileType::MOSTLY_Q5_K_S, "Q5_K_S", Format::Q5_K}, {FileType::MOSTLY_Q5_K_M, "Q5_K_M", Format::Q5_K},
    {FileType::MOSTLY_Q6_K, "Q6_K", Format::Q6_K},    {FileType::MOSTLY_IQ4_NL, "IQ4_NL", Format::IQ4_NL},
    {FileType::MOSTLY_IQ4_XS, "IQ4_XS", Format::IQ4_XS}, {FileType::MOSTLY_TQ1_0, "TQ1_0", Format::TQ1_0},
    {FileType::MOSTLY_TQ2_0, "TQ2_0", Format::TQ2_0},
};

// What the user asked for: a file type (mix or plain), or a format with no
// file type of its own (Q3_K, Q4_K, Q5_K, MXFP4 ...), applied "pure" under
// the closest file type id.
struct Target {
  FileType file_type;
  Format base;
  bool pure;  // every quantizable tensor gets `base` (with shape fallback)
};

inline std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  return s;
}

inline Target parse_target(const std::string& name, bool force_pure = false) {
  const std::string want = upper(name);
  for (const FileTypeInfo& ft : kFileTypes)
    if (want == ft.name) return Target{ft.type, ft.base, force_pure};
  // A weight format without a file type of its own: pure.
  for (const FormatInfo& fi : kFormatInfo) {
    if (upper(fi.name) != want) continue;
    require(fi.format != Format::Q8_1 && fi.format != Format::Q8_K, "'", name,
            "' is an activation format, not a weight format");
    FileType ft = FileType::MOSTLY_F16;
    for (const FileTypeInfo& t : kFileTypes)
      if (t.base == fi.format) ft = t.type;  // the last (largest) mix of this base: Q3_K_L, Q4_K_M, Q5_K_M
    return Target{ft, fi.format, true};
  }
  std::string known;
  for (const FileTypeInfo& ft : kFileTypes) known += std::string(known.empty() ? "" : ", ") + ft.name;
  fail("unknown quantization type '", name, "' (file types: ", known, "; or any qkit weight format)");
}

// Broad tensor roles the rules speak of (by GGUF tensor name).
enum class Role { TokenEmbd, AttnQkv, AttnV, AttnK, AttnQ, AttnOutput, FfnUp, FfnGate, FfnDown, Output, Other };

inline Role role_of(const std::string& name) {
  auto has = [&](const char* s) { return name.find(s) != std::string::npos; };
  if (name == "output.weight") return Role::Output;
  if (name == "token_embd.weight") return Role::TokenEmbd;
  if (has("attn_qkv.weight")) return Role::AttnQkv;
  if (has("attn_v.weight")) return Role::AttnV;
  if (has("attn_k.weight")) return Role::AttnK;
  if (has("attn_q.weight")) return Role::AttnQ;
  if (has("attn_output.weight")) return Role::AttnOutput;
  if (has("ffn_up")) return Role::FfnUp;
  if (has("ffn_gate")) return Role::FfnGate;
  if (has("ffn_down")) return Role::FfnDown;
  return Role::Other;
}

// Whether the reference quantizes a tensor at all: matrices (2+ dims) whose
// name ends in "weight", except norms, positional/type embeddings and
// routing gates (kept as they are in the input).
inline bool is_quantizable(const std::string& name, const std::vector<int64_t>& ne) {
  int n_dims = static_cast<int>(ne.size());
  while (n_dims > 1 && ne[static_cast<size_t>(n_dims - 1)] == 1) --n_dims;
  if (n_dims < 2) return false;
  auto ends_with = [&](const std::string& suf) {
    return name.size() >= suf.size() && name.compare(name.size() - suf.size(), suf.size(), suf) == 0;
  };
  if (!ends_with("weight")) return false;
  for (const char* keep : {"_norm.weight", "ffn_gate_inp.weight", "position_embd.weight", "token_types.weight",
                           "ssm_conv1d", "attn_rel_b.weight"})
    if (name.find(keep) != std::string::npos) return false;
  return true;
}

struct ModelShape {
  int n_layer = 0;        // <arch>.block_count
  int n_gqa = 1;          // head_count / head_count_kv
  bool tied_output = true;  // no output.weight: the token embedding doubles as output
  int n_attention_v = 0;  // attention-v-like tensors (attn_v, attn_qkv)
};

// Chooses each tensor's format, in the order the tensors are visited (the
// rules count attention-v and ffn_down tensors as they go, like the
// reference, so visit tensors in the reference's order: see tensor_order()).
class TypeSelector {
 public:
  TypeSelector(Target target, ModelShape shape, bool has_imatrix)
      : t_(target), shape_(shape), has_imatrix_(has_imatrix) {}

  // `input` is the tensor's current format (kept for tensors not quantized).
  Format choose(const std::string& name, const std::vector<int64_t>& ne, Format input) {
    if (!is_quantizable(name, ne)) return input;
    Format f = t_.base;
    if (format_info(f).quantized()) {
      if (!t_.pure) f = mix_rule(name, ne, f);
      f = shape_fallback(name, ne[0], f);
    }
    return f;
  }
  int n_fallback() const { return n_fallback_; }

 private:
  static bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }
  bool is(FileType ft) const { return t_.file_type == ft; }

  Format mix_rule(const std::string& name, const std::vector<int64_t>& ne, Format f) {
    using FT = FileType;
    const Role role = role_of(name);
    if (role == Role::Output || (shape_.tied_output && role == Role::TokenEmbd)) {
      // The output layer is the most sensitive: Q6_K unless the rows do not
      // fit 256-blocks (then Q8_0) or the base already is Q8_0.
      if (ne[0] % format_info(f).block_size != 0) return Format::Q8_0;
      return f == Format::Q8_0 ? f : Format::Q6_K;
    }
    if (role == Role::TokenEmbd) {
      return (is(FT::MOSTLY_TQ1_0) || is(FT::MOSTLY_TQ2_0)) ? Format::Q4_K : f;
    }
    if (role == Role::AttnV || role == Role::AttnQkv) {
      const int i = i_attention_v_++;
      const int n = shape_.n_attention_v;
      if (is(FT::MOSTLY_Q2_K)) return shape_.n_gqa >= 4 ? Format::Q4_K : Format::Q3_K;
      if (is(FT::MOSTLY_Q3_K_M)) return i < 2 ? Format::Q5_K : Format::Q4_K;
      if (is(FT::MOSTLY_Q3_K_L)) return Format::Q5_K;
      if ((is(FT::MOSTLY_IQ4_NL) || is(FT::MOSTLY_IQ4_XS)) && shape_.n_gqa >= 4) return Format::Q5_K;
      if ((is(FT::MOSTLY_Q4_K_M) || is(FT::MOSTLY_Q5_K_M)) && use_more_bits(i, n)) return Format::Q6_K;
      if (is(FT::MOSTLY_Q4_K_S) && i < 4) return Format::Q5_K;
      return f;
    }
    if (role == Role::FfnDown) {
      const int i = i_ffn_down_++;
      const int n = shape_.n_layer;
      if (is(FT::MOSTLY_Q2_K)) return Format::Q3_K;
      if (is(FT::MOSTLY_Q3_K_M)) return i < n / 16 ? Format::Q5_K : Format::Q4_K;
      if (is(FT::MOSTLY_Q3_K_L)) return Format::Q5_K;
      if (is(FT::MOSTLY_Q4_K_M)) return use_more_bits(i, n) ? Format::Q6_K : f;
      if (i < n / 8 && (is(FT::MOSTLY_IQ4_NL) || is(FT::MOSTLY_IQ4_XS)) && !has_imatrix_) return Format::Q5_K;
      if (is(FT::MOSTLY_Q5_K_M)) return use_more_bits(i, n) ? Format::Q6_K : f;
      if (is(FT::MOSTLY_Q4_K_S) && i < n / 8) return Format::Q5_K;
      // Guards the first ffn_down layers of imatrix Q4_0/Q5_0 files.
      if ((is(FT::MOSTLY_Q4_0) || is(FT::MOSTLY_Q5_0)) && has_imatrix_ && i < n / 8)
        return is(FT::MOSTLY_Q4_0) ? Format::Q4_1 : Format::Q5_1;
      return f;
    }
    if (role == Role::AttnOutput) {
      if (is(FT::MOSTLY_Q2_K)) return Format::Q3_K;
      if (is(FT::MOSTLY_Q3_K_M)) return Format::Q4_K;
      if (is(FT::MOSTLY_Q3_K_L)) return Format::Q5_K;
      return f;
    }
    return f;
  }

  // Rows that are not a multiple of the block size take the reference's
  // 32-block fallback, or F16 when even that does not fit.
  Format shape_fallback(const std::string& name, int64_t ncols, Format f) {
    if (ncols % format_info(f).block_size == 0) return f;
    ++n_fallback_;
    Format g;
    switch (f) {
      case Format::Q2_K:
      case Format::Q3_K:
      case Format::TQ1_0:
      case Format::TQ2_0: g = Format::Q4_0; break;
      case Format::Q4_K: g = Format::Q5_0; break;
      case Format::Q5_K: g = Format::Q5_1; break;
      case Format::Q6_K: g = Format::Q8_0; break;
      case Format::IQ4_XS: g = Format::IQ4_NL; break;
      default:
        fail("tensor '", name, "': rows of ", ncols, " values are not a multiple of the ", format_name(f),
             " block size ", format_info(f).block_size, " and ", format_name(f), " has no fallback format");
    }
    // Rows not even a multiple of 32: the reference keeps such tensors in F16.
    if (ncols % format_info(g).block_size != 0) g = Format::F16;
    return g;
  }

  Target t_;
  ModelShape shape_;
  bool has_imatrix_;
  int i_attention_v_ = 0, i_ffn_down_ = 0, n_fallback_ = 0;
};

// The reference visits tensors with the non-layer ones first (by name), then
// layer by layer ("blk.N." numerically), by name within a layer.
inline bool tensor_order_less(const std::string& a, const std::string& b) {
  auto layer = [](const std::string& s) {
    if (s.rfind("blk.", 0) != 0) return -1L;
    return std::strtol(s.c_str() + 4, nullptr, 10);
  };
  const long la = layer(a), lb = layer(b);
  return la != lb ? la < lb : a < b;
}

}  // namespace qkit::quantize_tool
