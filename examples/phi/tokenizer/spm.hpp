// examples/phi/tokenizer/spm.hpp — SentencePiece BPE ("llama" vocabularies).
//
// The text (spaces already escaped to U+2581 "▁") is split into UTF-8
// characters; then, repeatedly, the adjacent pair whose concatenation is a
// token with the highest score is merged (ties: leftmost first), until no
// pair forms a token. Each final piece is its token; a piece that is not
// one (a character outside the vocabulary) falls back to its bytes as
// <0xNN> tokens. This is the reference engine's llm_tokenizer_spm.
#pragma once

#include <cstddef>
#include <map>
#include <queue>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "phi/tokenizer/unicode.hpp"
#include "phi/tokenizer/vocab.hpp"

namespace phi {

inline const std::string kSpmSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

// Replaces every ' ' with "▁".
inline std::string spm_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  for (char c : text) {
    if (c == ' ') out += kSpmSpace;
    else out.push_back(c);
  }
  return out;
}

// The token for one raw byte: <0xNN>, else the byte itself as a token, else UNK.
inline Token spm_byte_token(const Vocab& vocab, uint8_t byte) {
  static const char* hex = "0123456789ABCDEF";
  const char name[7] = {'<', '0', 'x', hex[byte >> 4], hex[byte & 15], '>', 0};
  Token t = vocab.find(name);
  if (t == kNoToken) t = vocab.find(std::string(1, static_cast<char>(byte)));
  if (t == kNoToken) t = vocab.unk();
  qkit::require(t != kNoToken, "tokenizer: no token for byte 0x", hex[byte >> 4], hex[byte & 15],
                " (no <0xNN> byte tokens and no <unk>)");
  return t;
}

class SpmSession {
 public:
  explicit SpmSession(const Vocab& vocab) : vocab_(vocab) {}

  // Appends the tokens of `text` (already escaped) to out.
  void tokenize(const std::string& text, std::vector<Token>& out) {
    symbols_.clear();
    merged_from_.clear();
    queue_ = {};
    for (size_t off = 0; off < text.size();) {
      const size_t n = std::min(unicode::utf8_len(text[off]), text.size() - off);
      const int index = static_cast<int>(symbols_.size());
      symbols_.push_back({index - 1, off + n == text.size() ? -1 : index + 1, off, n});
      off += n;
    }
    text_ = &text;
    for (int i = 1; i < static_cast<int>(symbols_.size()); ++i) try_pair(i - 1, i);

    while (!queue_.empty()) {
      const Pair p = queue_.top();
      queue_.pop();
      Symbol& left = symbols_[size_t(p.left)];
      Symbol& right = symbols_[size_t(p.right)];
      // Stale: one side was merged away or grew since this pair was queued.
      if (left.n == 0 || right.n == 0 || left.n + right.n != p.size) continue;
      left.n += right.n;
      right.n = 0;
      left.next = right.next;
      if (right.next >= 0) symbols_[size_t(right.next)].prev = p.left;
      try_pair(left.prev, p.left);
      try_pair(p.left, left.next);
    }
    if (symbols_.empty()) return;
    for (int i = 0; i != -1; i = symbols_[size_t(i)].next) emit(symbols_[size_t(i)], out);
  }

 private:
  struct Symbol {
    int prev, next;
    size_t off, n;  // bytes text[off, off+n); n = 0 once merged into its left neighbour
  };
  struct Pair {
    int left, right;
    float score;
    size_t size;
    // Max-heap order: higher score first, then the leftmost pair.
    bool operator<(const Pair& o) const { return score < o.score || (score == o.score && left > o.left); }
  };

  void try_pair(int left, int right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols_[size_t(left)];
    const Symbol& r = symbols_[size_t(right)];
    std::string s = text_->substr(l.off, l.n + r.n);
    const Token t = vocab_.find(s);
    if (t == kNoToken) return;
    queue_.push({left, right, vocab_.score(t), s.size()});
    merged_from_[std::move(s)] = {left, right};  // the last pair that formed this text
  }

  void emit(const Symbol& sym, std::vector<Token>& out) {
    const std::string s = text_->substr(sym.off, sym.n);
    const Token t = vocab_.find(s);
    if (t != kNoToken) {
      out.push_back(t);
      return;
    }
    const auto it = merged_from_.find(s);
    if (it == merged_from_.end()) {
      for (char c : s) out.push_back(spm_byte_token(vocab_, static_cast<uint8_t>(c)));
      return;
    }
    emit(symbols_[size_t(it->second.first)], out);
    emit(symbols_[size_t(it->second.second)], out);
  }

  const Vocab& vocab_;
  const std::string* text_ = nullptr;
  std::vector<Symbol> symbols_;
  std::priority_queue<Pair> queue_;
  std::map<std::string, std::pair<int, int>> merged_from_;
};

}  // namespace phi
