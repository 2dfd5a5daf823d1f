// examples/phi/tokenizer/synthetic.hpp — a small made-up SentencePiece
// vocabulary laid out like Phi-3's, for the random-weight demo model that
// qkit-phi builds when no model file is given (and for tests).
//
// Ids 0-2 are <unk> <s> </s>, 3-258 the byte tokens <0x00>..<0xFF>, then
// "▁", the printable ASCII characters, "▁"+letter and a list of common
// English words with and without "▁" (scores favour longer pieces, so text
// made of them tokenizes to whole words), then filler pieces up to
// n_vocab - 11, and finally Phi-3's chat tokens (<|endoftext|> = EOS,
// <|assistant|>, <|system|>, <|end|>, <|user|> ...). Any text round-trips.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "phi/tokenizer/vocab.hpp"

namespace phi {

inline VocabData synthetic_vocab(size_t n_vocab = 32064, const std::string& name = "qkit-phi synthetic phi3") {
  static const char* const kSpecials[] = {"<|endoftext|>", "<|assistant|>", "<|placeholder1|>", "<|placeholder2|>",
                                          "<|placeholder3|>", "<|placeholder4|>", "<|system|>", "<|end|>",
                                          "<|placeholder5|>", "<|placeholder6|>", "<|user|>"};
  constexpr size_t kNumSpecials = sizeof(kSpecials) / sizeof(kSpecials[0]);
  qkit::require(n_vocab >= 3 + 256 + 1 + kNumSpecials, "synthetic vocabulary: n_vocab ", n_vocab, " is too small");
  static const char* const kWords[] = {
      "the", "of", "and", "to", "a", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are", "as", "with",
      "his", "they", "I", "at", "be", "this", "have", "from", "or", "one", "had", "by", "word", "but", "not", "what",
      "all", "were", "we", "when", "your", "can", "said", "there", "use", "an", "each", "which", "she", "do", "how",
      "their", "if", "will", "up", "other", "about", "out", "many", "then", "them", "these", "so", "some", "her",
      "would", "make", "like", "him", "into", "time", "has", "look", "two", "more", "write", "go", "see", "number",
      "no", "way", "could", "people", "my", "than", "first", "water", "been", "call", "who", "oil", "its", "now",
      "find", "long", "down", "day", "did", "get", "come", "made", "may", "part", "Hello", "world", "What", "The",
      "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "model", "token", "Phi", "answer", "question"};
  const std::string sp = "\xE2\x96\x81";

  VocabData d;
  d.model = "llama";
  d.pre = "default";
  d.name = name;
  const auto add = [&](const std::string& t, float score, TokenType type) {
    d.tokens.push_back(t);
    d.scores.push_back(score);
    d.types.push_back(static_cast<int32_t>(type));
  };
  add("<unk>", 0, TokenType::Unknown);
  add("<s>", 0, TokenType::Control);
  add("</s>", 0, TokenType::Control);
  static const char* hex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) add(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">", 0, TokenType::Byte);
  const size_t n_plain = n_vocab - kNumSpecials;
  const auto room = [&] { return d.tokens.size() < n_plain; };
  if (room()) add(sp, -1, TokenType::Normal);
  for (char c = '!'; c <= '~' && room(); ++c) add(std::string(1, c), -2, TokenType::Normal);
  for (char c = 'a'; c <= 'z' && room(); ++c) add(sp + c, -1.5f, TokenType::Normal);
  for (const char* w : kWords) {
    const std::string word = w;
    if (word.size() < 2) continue;  // single characters are already there
    // Longer pieces score higher, so whole words win over their parts.
    for (const std::string& piece : {sp + word, word}) {
      if (room() && std::find(d.tokens.begin(), d.tokens.end(), piece) == d.tokens.end()) {
        add(piece, static_cast<float>(word.size()) - (piece == word ? 0.5f : 0.0f), TokenType::Normal);
      }
    }
  }
  // Prefixes of the words, so the merges can build them pair by pair.
  for (const char* w : kWords) {
    const std::string word = w;
    for (size_t len = 2; len < word.size(); ++len) {
      for (const std::string& piece : {word.substr(0, len), sp + word.substr(0, len)}) {
        if (room() && std::find(d.tokens.begin(), d.tokens.end(), piece) == d.tokens.end()) {
          add(piece, static_cast<float>(len) - 1.0f, TokenType::Normal);
        }
      }
    }
  }
  for (size_t i = 0; room(); ++i) add("[filler" + std::to_string(i) + "]", -100, TokenType::Unused);
  for (const char* s : kSpecials) add(s, 0, TokenType::Control);
  d.bos = 1;
  d.eos = static_cast<uint32_t>(n_plain);  // <|endoftext|>, as Phi-3 sets it
  d.unk = 0;
  d.pad = static_cast<uint32_t>(n_plain);
  d.add_bos = true;
  d.add_eos = false;
  return d;
}

}  // namespace phi
