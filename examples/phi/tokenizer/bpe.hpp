// examples/phi/tokenizer/bpe.hpp — GPT-2 byte-level BPE ("gpt2" vocabularies).
//
// 1. Pre-tokenize: split the text into words, with the GPT-4o pattern for
//    "gpt-4o" vocabularies (split_gpt4o.hpp), else with GPT-2's pattern
//      's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//    written out by hand over code points (std::regex has no \p classes and
//    is slow). The rules, in order, at each position:
//      - an apostrophe contraction ('s 't 'm 'd 're 've 'll, lower case only);
//      - an optional space then a run of letters / of digits / of "other"
//        (neither whitespace, letter nor number);
//      - a whitespace run: all of it at the end of the text, otherwise all but
//        its last character (that one then leads the next word, " ?\p{L}+"),
//        unless the run is a single character.
// 2. Byte-encode each word (every byte -> a printable code point) and merge
//    adjacent symbols by rank from tokenizer.ggml.merges (lowest rank first,
//    leftmost on ties) until no ranked pair is left. Each symbol is a token.
#pragma once

#include <cstddef>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "phi/tokenizer/split_gpt4o.hpp"
#include "phi/tokenizer/unicode.hpp"
#include "phi/tokenizer/vocab.hpp"

namespace phi {

// GPT-2 pre-tokenizer: the words of `text`, as UTF-8 (malformed bytes -> U+FFFD).
inline std::vector<std::string> gpt2_split(std::string_view text) {
  using unicode::Class;
  const std::vector<uint32_t> cpts = unicode::decode(text);
  const size_t n = cpts.size();
  std::vector<Class> cls(n);
  for (size_t i = 0; i < n; ++i) cls[i] = unicode::classify(cpts[i]);
  // Past the end counts as "nothing": no class matches there.
  const auto is = [&](size_t i, Class c) { return i < n && cls[i] == c; };

  std::vector<std::string> words;
  size_t start = 0;
  const auto cut = [&](size_t end) {
    if (end > start) {
      std::string w;
      for (size_t i = start; i < end; ++i) unicode::append_utf8(w, cpts[i]);
      words.push_back(std::move(w));
    }
    start = end;
  };

  for (size_t pos = 0; pos < n;) {
    const uint32_t c = cpts[pos];
    if (c == '\'' && pos + 1 < n) {
      const uint32_t c1 = cpts[pos + 1];
      if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
        cut(pos += 2);
        continue;
      }
      if (pos + 2 < n) {
        const uint32_t c2 = cpts[pos + 2];
        if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
          cut(pos += 3);
          continue;
        }
      }
    }
    // " ?X+": the class after an optional leading space.
    const size_t first = (c == ' ') ? pos + 1 : pos;
    if (first < n && cls[first] != Class::Whitespace) {
      const Class run = cls[first];
      pos = first;
      while (is(pos, run)) ++pos;
      cut(pos);
      continue;
    }
    size_t ws = 0;
    while (is(pos + ws, Class::Whitespace)) ++ws;
    if (ws > 1 && pos + ws < n) {  // \s+(?!\S): leave the last one for the next word
      cut(pos += ws - 1);
      continue;
    }
    if (ws > 0) {  // \s+
      cut(pos += ws);
      continue;
    }
    cut(++pos);  // unreachable for well-formed classes; kept as the reference has it
  }
  return words;
}

// Byte-level BPE over one pre-tokenized word at a time.
class Gpt2Session {
 public:
  explicit Gpt2Session(const Vocab& vocab) : vocab_(vocab) {}

  void tokenize(std::string_view text, std::vector<Token>& out) {
    const bool gpt4o = vocab_.pre_tokenizer() == PreTokenizer::Gpt4o;
    for (const std::string& word : gpt4o ? gpt4o_split(text) : gpt2_split(text)) {
      encoded_.clear();
      unicode::append_byte_encoded(encoded_, word);
      merge_word(out);
    }
  }

 private:
  struct Symbol {
    int prev, next;
    size_t off, n;  // bytes of encoded_; n = 0 once merged into its left neighbour
  };
  struct Pair {
    int left, right;
    int rank;
    std::string text;
    // Max-heap order: lowest rank first, then the leftmost pair.
    bool operator<(const Pair& o) const { return rank > o.rank || (rank == o.rank && left > o.left); }
  };

  std::string piece(int i) const { return encoded_.substr(symbols_[size_t(i)].off, symbols_[size_t(i)].n); }

  void try_pair(int left, int right) {
    if (left < 0 || right < 0) return;
    std::string l = piece(left), r = piece(right);
    const int rank = vocab_.merge_rank(l, r);
    if (rank < 0) return;
    queue_.push({left, right, rank, l + r});
  }

  void merge_word(std::vector<Token>& out) {
    symbols_.clear();
    queue_ = {};
    for (size_t off = 0; off < encoded_.size();) {
      const size_t n = std::min(unicode::utf8_len(encoded_[off]), encoded_.size() - off);
      const int index = static_cast<int>(symbols_.size());
      symbols_.push_back({index - 1, off + n == encoded_.size() ? -1 : index + 1, off, n});
      off += n;
    }
    for (int i = 1; i < static_cast<int>(symbols_.size()); ++i) try_pair(i - 1, i);

    while (!queue_.empty()) {
      const Pair p = queue_.top();
      queue_.pop();
      Symbol& left = symbols_[size_t(p.left)];
      Symbol& right = symbols_[size_t(p.right)];
      if (left.n == 0 || right.n == 0) continue;
      if (left.n + right.n != p.text.size() || piece(p.left) + piece(p.right) != p.text) continue;  // stale
      left.n += right.n;
      right.n = 0;
      left.next = right.next;
      if (right.next >= 0) symbols_[size_t(right.next)].prev = p.left;
      try_pair(left.prev, p.left);
      try_pair(p.left, left.next);
    }

    for (const Symbol& s : symbols_) {
      if (s.n == 0) continue;
      const std::string text = encoded_.substr(s.off, s.n);
      const Token t = vocab_.find(text);
      if (t != kNoToken) {
        out.push_back(t);
        continue;
      }
      // Not a token: each byte on its own if that is one (it rarely is, as the
      // bytes are byte-encoded); otherwise dropped, as the reference does.
      for (char ch : text) {
        const Token b = vocab_.find(std::string(1, ch));
        if (b != kNoToken) out.push_back(b);
      }
    }
  }

  const Vocab& vocab_;
  std::string encoded_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Pair> queue_;
};

}  // namespace phi
