// examples/phi/tokenizer/special.hpp — finding special tokens in raw text.
//
// Before any BPE, the text is cut into fragments: runs of plain text and
// special tokens matched literally. Special tokens are tried one at a time,
// longest first, each over every plain fragment left by the ones before
// (the reference engine's order, which decides overlaps). With
// parse_special off only user-defined tokens are matched (control and
// unknown-type ones stay plain text), as Hugging Face tokenizers do.
// A token with Lstrip / Rstrip drops the whitespace before / after it.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "phi/tokenizer/vocab.hpp"

namespace phi {

// A special token (token != kNoToken) or the plain text text[offset, offset+length).
struct Fragment {
  Token token = kNoToken;
  size_t offset = 0;
  size_t length = 0;
  bool is_text() const { return token == kNoToken; }
};

// The whitespace the strip flags remove: C isspace() in the "C" locale.
inline bool is_ascii_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

inline std::vector<Fragment> split_special(const Vocab& vocab, std::string_view text, bool parse_special) {
  std::vector<Fragment> frags;
  if (text.empty()) return frags;
  frags.push_back({kNoToken, 0, text.size()});

  std::vector<Fragment> next;
  for (const Token special : vocab.special_tokens()) {
    const uint32_t attr = vocab.attr(special);
    if (!parse_special && (attr & (kAttrControl | kAttrUnknown))) continue;
    const std::string& needle = vocab.text(special);

    next.clear();
    for (const Fragment& f : frags) {
      if (!f.is_text()) {
        next.push_back(f);
        continue;
      }
      size_t begin = f.offset;
      const size_t end = f.offset + f.length;
      while (begin < end) {
        const size_t match = text.substr(0, end).find(needle, begin);
        if (match == std::string_view::npos) break;
        size_t left_end = match;
        if (attr & kAttrLstrip) {
          while (left_end > begin && is_ascii_space(text[left_end - 1])) --left_end;
        }
        if (left_end > begin) next.push_back({kNoToken, begin, left_end - begin});
        next.push_back({special, 0, 0});
        begin = match + needle.size();
        if (attr & kAttrRstrip) {
          while (begin < end && is_ascii_space(text[begin])) ++begin;
        }
      }
      if (begin < end) next.push_back({kNoToken, begin, end - begin});
    }
    frags.swap(next);
  }
  return frags;
}

}  // namespace phi
