// examples/phi/tokenizer/split_gpt4o.hpp — the GPT-4o ("o200k") pre-tokenizer,
// used by Phi-4-mini's gpt2-type vocabulary (tokenizer.ggml.pre = "gpt-4o").
//
// The reference engine runs this pattern with std::regex over a "collapsed"
// text in which every non-ASCII code point stands for its class (letter,
// number, whitespace, other), so case only exists for ASCII there:
//   [^\r\n\p{L}\p{N}]?U*W+C? | [^\r\n\p{L}\p{N}]?U+W*C? | \p{N}{1,3}
//   | ?[^\s\p{L}\p{N}]+[\r\n/]* | \s*[\r\n]+ | \s+(?!\S) | \s+
// with U = a letter other than a-z, W = a letter other than A-Z (so a
// non-ASCII letter is both), C = 's 't 're 've 'm 'll 'd in either case.
// Marks are not letters there. This file matches it by hand, alternative by
// alternative in the regex's order, with the same backtracking outcome;
// tests/test_tokenizer.cpp checks it against that std::regex construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "phi/tokenizer/unicode.hpp"

namespace phi {

inline std::vector<std::string> gpt4o_split(std::string_view text) {
  using unicode::Class;
  const std::vector<uint32_t> cp = unicode::decode(text);
  const size_t n = cp.size();
  std::vector<Class> cls(n);
  for (size_t i = 0; i < n; ++i) cls[i] = unicode::classify(cp[i]);

  const auto letter = [&](size_t i) { return i < n && cls[i] == Class::Letter; };
  const auto number = [&](size_t i) { return i < n && cls[i] == Class::Number; };
  const auto space = [&](size_t i) { return i < n && cls[i] == Class::Whitespace; };
  const auto other = [&](size_t i) { return i < n && cls[i] == Class::Other; };
  const auto upper = [&](size_t i) { return letter(i) && !(cp[i] >= 'a' && cp[i] <= 'z'); };
  const auto lower = [&](size_t i) { return letter(i) && !(cp[i] >= 'A' && cp[i] <= 'Z'); };
  const auto newline = [&](size_t i) { return i < n && (cp[i] == '\r' || cp[i] == '\n'); };
  const auto lead = [&](size_t i) { return i < n && !newline(i) && !letter(i) && !number(i); };
  const auto run = [&](size_t i, auto pred) {
    while (pred(i)) ++i;
    return i;
  };
  const auto ascii_lower = [&](size_t i) -> uint32_t {
    if (i >= n) return 0;
    return (cp[i] >= 'A' && cp[i] <= 'Z') ? cp[i] + 32 : cp[i];
  };
  // Optional contraction at i: its length.
  const auto contraction = [&](size_t i) -> size_t {
    if (i >= n || cp[i] != '\'' || i + 1 >= n) return 0;
    const uint32_t c1 = ascii_lower(i + 1);
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
    const uint32_t c2 = ascii_lower(i + 2);
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return 3;
    return 0;
  };

  // End of the match at s (every position matches one alternative).
  const auto match = [&](size_t s) -> size_t {
    // The letter alternatives try the optional leading character first.
    const size_t starts[2] = {s + 1, s};
    const size_t first = lead(s) ? 0 : 1;
    for (size_t k = first; k < 2; ++k) {  // U*W+C?: give back upper letters until a lower one follows
      const size_t p0 = starts[k];
      for (size_t p = run(p0, upper);; --p) {
        if (lower(p)) {
          const size_t e = run(p, lower);
          return e + contraction(e);
        }
        if (p == p0) break;
      }
    }
    for (size_t k = first; k < 2; ++k) {  // U+W*C?
      const size_t p0 = starts[k];
      const size_t u = run(p0, upper);
      if (u > p0) {
        const size_t e = run(u, lower);
        return e + contraction(e);
      }
    }
    if (number(s)) return std::min(run(s, number), s + 3);  // \p{N}{1,3}
    const size_t o = (cp[s] == ' ' && other(s + 1)) ? s + 1 : s;
    if (other(o)) {  // ' ?[^\s\p{L}\p{N}]+[\r\n/]*'
      size_t e = run(o, other);
      while (e < n && (cp[e] == '\r' || cp[e] == '\n' || cp[e] == '/')) ++e;
      return e;
    }
    const size_t e = run(s, space);  // s is whitespace here
    for (size_t j = e; j > s; --j) {  // \s*[\r\n]+: up to the run's last newline
      if (newline(j - 1)) return j;
    }
    if (e == n || e - s == 1) return e;  // \s+(?!\S) at the end, else \s+
    return e - 1;                        // \s+(?!\S): leave one for the next word
  };

  std::vector<std::string> words;
  for (size_t s = 0; s < n;) {
    const size_t e = match(s);
    std::string w;
    for (size_t i = s; i < e; ++i) unicode::append_utf8(w, cp[i]);
    words.push_back(std::move(w));
    s = e;
  }
  return words;
}

}  // namespace phi
