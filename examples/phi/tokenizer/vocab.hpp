// examples/phi/tokenizer/vocab.hpp — a model's vocabulary: token texts,
// scores, attributes, BPE merge ranks, the special ids and the flags that
// steer tokenization, built from plain vectors (see gguf_vocab.hpp for the
// GGUF metadata keys they come from).
//
// The defaults and fix-ups follow the reference engine's vocabulary loader,
// because they decide token ids:
// - "llama" (SentencePiece): BOS 1, EOS 2, UNK 0; add BOS; prefix a space.
// - "gpt2" (byte-level BPE): BOS = EOS = 11 unless metadata says otherwise;
//   no BOS. Two pre-tokenizers (tokenizer.ggml.pre) are implemented: the
//   GPT-2 family (Phi-2; "clean spaces" when detokenizing) and GPT-4o
//   (Phi-4-mini); other names are refused.
// - Tokens whose text marks the end of a turn (<|end|>, <|endoftext|>, ...)
//   become control tokens and end generation, as do EOS and EOT.
// - Control, user-defined and unknown-type tokens are "special": matched
//   literally in the text before BPE, longest first.
// - If general.name contains "phi3" or "phi-3" (any case), every special
//   token right-strips the whitespace after it (the Hugging Face Phi-3
//   tokenizer's `rstrip`), except <unk>, <s> and <|endoftext|>; </s> does too.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "qkit/base/error.hpp"

namespace phi {

using Token = int32_t;
inline constexpr Token kNoToken = -1;

// tokenizer.ggml.token_type values.
enum class TokenType : int32_t { Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

// Per-token attribute bits (a token can gain Control or the strip flags on load).
enum TokenAttr : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
  kAttrLstrip = 1u << 7,  // drop whitespace before the token when it is matched in text
  kAttrRstrip = 1u << 8,  // drop whitespace after it
};

enum class VocabKind { Spm, Gpt2 };
enum class PreTokenizer { None, Gpt2, Gpt4o };  // how gpt2-kind text is split into words

// Everything the tokenizer reads from a model file, as plain values.
struct VocabData {
  std::string model;               // tokenizer.ggml.model: "llama" | "gpt2"
  std::string pre;                 // tokenizer.ggml.pre (gpt2 only)
  std::string name;                // general.name (the Phi-3 rstrip rule)
  std::vector<std::string> tokens; // tokenizer.ggml.tokens
  std::vector<float> scores;       // tokenizer.ggml.scores (empty: all 0)
  std::vector<int32_t> types;      // tokenizer.ggml.token_type (empty: all normal)
  std::vector<std::string> merges; // tokenizer.ggml.merges, "left right", rank = index
  std::optional<uint32_t> bos, eos, unk, pad, eot;
  std::optional<bool> add_bos, add_eos, add_space_prefix;
};

class Vocab {
 public:
  explicit Vocab(VocabData d);

  VocabKind kind() const { return kind_; }
  PreTokenizer pre_tokenizer() const { return pre_; }
  size_t size() const { return text_.size(); }
  bool valid(Token t) const { return t >= 0 && static_cast<size_t>(t) < text_.size(); }

  const std::string& text(Token t) const { return text_[at(t)]; }
  float score(Token t) const { return score_[at(t)]; }
  uint32_t attr(Token t) const { return attr_[at(t)]; }
  bool has_attr(Token t, uint32_t bits) const { return (attr(t) & bits) != 0; }

  // The id of an exact token text, or kNoToken.
  Token find(const std::string& s) const {
    const auto it = id_.find(s);
    return it == id_.end() ? kNoToken : it->second;
  }
  // BPE merge rank of (left, right), or -1 if they never merge.
  int merge_rank(const std::string& left, const std::string& right) const {
    if (ranks_.empty()) return -1;
    std::string key;
    key.reserve(left.size() + 1 + right.size());
    key.append(left).push_back(' ');
    key.append(right);
    const auto it = ranks_.find(key);
    return it == ranks_.end() ? -1 : it->second;
  }

  Token bos() const { return bos_; }
  Token eos() const { return eos_; }
  Token eot() const { return eot_; }
  Token unk() const { return unk_; }
  Token pad() const { return pad_; }
  bool add_bos() const { return add_bos_; }
  bool add_eos() const { return add_eos_; }
  bool add_space_prefix() const { return add_space_prefix_; }
  bool clean_spaces() const { return clean_spaces_; }

  // Control / user-defined / unknown-type tokens, longest text first.
  const std::vector<Token>& special_tokens() const { return special_; }
  // Tokens that end generation (EOS, EOT, <|end|>, <|endoftext|>, ...), ascending.
  const std::vector<Token>& eog_tokens() const { return eog_; }
  bool is_eog(Token t) const { return std::binary_search(eog_.begin(), eog_.end(), t); }

 private:
  size_t at(Token t) const {
    qkit::require(valid(t), "token id ", t, " is outside the vocabulary (", text_.size(), " tokens)");
    return static_cast<size_t>(t);
  }
  void set_attr(const std::string& s, uint32_t bits, bool on) {
    const Token t = find(s);
    if (t == kNoToken) return;
    auto& a = attr_[static_cast<size_t>(t)];
    a = on ? (a | bits) : (a & ~bits);
  }

  VocabKind kind_ = VocabKind::Spm;
  PreTokenizer pre_ = PreTokenizer::None;
  std::vector<std::string> text_;
  std::vector<float> score_;
  std::vector<uint32_t> attr_;
  std::unordered_map<std::string, Token> id_;
  std::unordered_map<std::string, int> ranks_;  // "left right" -> rank
  Token bos_ = kNoToken, eos_ = kNoToken, eot_ = kNoToken, unk_ = kNoToken, pad_ = kNoToken;
  bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false, clean_spaces_ = false;
  std::vector<Token> special_;
  std::vector<Token> eog_;
};

inline uint32_t attr_from_type(int32_t type) {
  switch (static_cast<TokenType>(type)) {
    case TokenType::Unknown: return kAttrUnknown;
    case TokenType::Unused: return kAttrUnused;
    case TokenType::Normal: return kAttrNormal;
    case TokenType::Control: return kAttrControl;
    case TokenType::UserDefined: return kAttrUserDefined;
    case TokenType::Byte: return kAttrByte;
    default: return kAttrUndefined;
  }
}

// Pre-tokenizer names that mean the plain GPT-2 split (the reference maps
// these to its GPT2 / MPT / OLMO pre-types, which share the regex).
inline bool is_gpt2_pretokenizer(const std::string& pre) {
  for (const char* name : {"gpt-2", "phi-2", "mpt", "olmo", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de",
                           "gigachat", "a.x-4.0", "mellum", "exaone4"}) {
    if (pre == name) return true;
  }
  return false;
}

inline Vocab::Vocab(VocabData d) {
  const size_t n = d.tokens.size();
  qkit::require(n > 0, "tokenizer: the vocabulary (tokenizer.ggml.tokens) is empty");
  qkit::require(n < 0x7FFFFFFF, "tokenizer: ", n, " tokens is more than token ids can hold");

  if (d.model == "llama") {
    kind_ = VocabKind::Spm;
    bos_ = 1, eos_ = 2, unk_ = 0;
    add_bos_ = true, add_space_prefix_ = true;
  } else if (d.model == "gpt2") {
    kind_ = VocabKind::Gpt2;
    bos_ = 11, eos_ = 11;
    qkit::require(!d.merges.empty(), "tokenizer: gpt2 vocabulary without tokenizer.ggml.merges");
    if (is_gpt2_pretokenizer(d.pre)) {
      pre_ = PreTokenizer::Gpt2;
      clean_spaces_ = true;
    } else if (d.pre == "gpt-4o" || d.pre == "llama4") {
      pre_ = PreTokenizer::Gpt4o;
    } else {
      qkit::fail("tokenizer: unsupported pre-tokenizer '", d.pre,
                 "' (tokenizer.ggml.pre); qkit-phi implements gpt-2 / phi-2 (and their family) and gpt-4o");
    }
  } else {
    qkit::fail("tokenizer: unsupported tokenizer model '", d.model,
               "' (tokenizer.ggml.model); qkit-phi supports 'llama' (SentencePiece) and 'gpt2' (byte-level BPE)");
  }
  if (!d.scores.empty()) {
    qkit::require(d.scores.size() >= n, "tokenizer: ", d.scores.size(), " scores for ", n, " tokens");
  }
  if (!d.types.empty()) {
    qkit::require(d.types.size() >= n, "tokenizer: ", d.types.size(), " token types for ", n, " tokens");
  }

  text_ = std::move(d.tokens);
  score_.assign(n, 0.0f);
  attr_.assign(n, kAttrNormal);
  id_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (text_[i].empty()) text_[i] = "[EMPTY_" + std::to_string(i) + "]";  // as the reference names them
    const auto [it, inserted] = id_.emplace(text_[i], static_cast<Token>(i));
    qkit::require(inserted, "tokenizer: duplicate token '", text_[i], "' (ids ", it->second, " and ", i, ")");
    if (!d.scores.empty()) score_[i] = d.scores[i];
    if (!d.types.empty()) attr_[i] = attr_from_type(d.types[i]);
  }

  // Merges: rank = position; the first occurrence of a pair wins. An entry
  // without a separating space (at index >= 1) can never match and is skipped.
  ranks_.reserve(d.merges.size());
  for (size_t i = 0; i < d.merges.size(); ++i) {
    const std::string& m = d.merges[i];
    const size_t sp = m.find(' ', 1);
    if (sp == std::string::npos) continue;
    ranks_.emplace(m.substr(0, sp) + ' ' + m.substr(sp + 1), static_cast<int>(i));
  }

  // Special ids from metadata; an id outside the vocabulary keeps the default,
  // and a default outside it means "none".
  const auto pick = [&](Token& id, const std::optional<uint32_t>& meta) {
    if (meta && *meta < n) id = static_cast<Token>(*meta);
    if (!valid(id)) id = kNoToken;
  };
  pick(bos_, d.bos);
  pick(eos_, d.eos);
  pick(unk_, d.unk);
  pick(pad_, d.pad);
  pick(eot_, d.eot);
  if (d.add_bos) add_bos_ = *d.add_bos;
  if (d.add_eos) add_eos_ = *d.add_eos;
  if (d.add_space_prefix) add_space_prefix_ = *d.add_space_prefix;
  qkit::require(!add_bos_ || bos_ != kNoToken, "tokenizer: add_bos_token is set but there is no BOS token");
  qkit::require(!add_eos_ || eos_ != kNoToken, "tokenizer: add_eos_token is set but there is no EOS token");

  // End-of-turn texts: the first one present becomes EOT if metadata named none.
  static const char* const kEotTexts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                          "<|end_of_text|>", "<EOT>"};
  for (const char* s : kEotTexts) {
    const Token t = find(s);
    if (t == kNoToken) continue;
    if (eot_ == kNoToken) eot_ = t;
    eog_.push_back(t);
    attr_[static_cast<size_t>(t)] |= kAttrControl;
  }
  if (const Token t = find("<|eom_id|>"); t != kNoToken) {
    eog_.push_back(t);
    attr_[static_cast<size_t>(t)] |= kAttrControl;
  }
  if (eos_ != kNoToken) eog_.push_back(eos_);
  if (eot_ != kNoToken) eog_.push_back(eot_);
  std::sort(eog_.begin(), eog_.end());
  eog_.erase(std::unique(eog_.begin(), eog_.end()), eog_.end());

  for (size_t i = 0; i < n; ++i) {
    if (attr_[i] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) special_.push_back(static_cast<Token>(i));
  }
  // Longest first, so "<|end|>" cannot pre-empt a longer token sharing its start;
  // ties by id to be deterministic.
  std::stable_sort(special_.begin(), special_.end(),
                   [&](Token a, Token b) { return text_[size_t(a)].size() > text_[size_t(b)].size(); });

  std::string lname = d.name;
  for (char& c : lname) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  if (lname.find("phi3") != std::string::npos || lname.find("phi-3") != std::string::npos) {
    for (Token t : special_) attr_[static_cast<size_t>(t)] |= kAttrRstrip;
    set_attr("</s>", kAttrRstrip, true);
    for (const char* s : {"<unk>", "<s>", "<|endoftext|>"}) set_attr(s, kAttrRstrip, false);
  }
}

}  // namespace phi
