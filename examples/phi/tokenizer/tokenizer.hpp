// examples/phi/tokenizer/tokenizer.hpp — text <-> token ids for a Vocab.
//
//   phi::Tokenizer tok(phi::load_vocab(gguf_file));          // gguf_vocab.hpp
//   std::vector<phi::Token> ids = tok.encode(prompt);        // BOS as the model wants, specials parsed
//   std::string piece = tok.piece(id);                       // bytes to print while streaming
//   std::string text = tok.decode(ids);                      // whole sequence
//   if (tok.vocab().is_eog(id)) ...                          // stop generating
//
// encode() follows the reference engine's llama_tokenize: special tokens
// are cut out first (special.hpp); each plain fragment goes through
// SentencePiece (after a leading space when the fragment is the first one
// or follows a special token, and spaces -> "▁") or through GPT-2 BPE.
// decode() follows llama_detokenize: pieces joined, the first piece's
// leading space dropped for SentencePiece, and for GPT-2 vocabularies the
// reference's "clean up tokenization spaces" passes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "phi/tokenizer/bpe.hpp"
#include "phi/tokenizer/special.hpp"
#include "phi/tokenizer/spm.hpp"
#include "phi/tokenizer/unicode.hpp"
#include "phi/tokenizer/vocab.hpp"

namespace phi {

struct EncodeOptions {
  bool add_special = true;    // BOS / EOS as the vocabulary asks (tokenizer.ggml.add_bos_token ...)
  bool parse_special = true;  // match control tokens such as <|user|> in the text
};

struct DecodeOptions {
  bool remove_special = false;  // drop a leading BOS / trailing EOS the vocabulary would add
  bool render_special = false;  // print control tokens' text instead of nothing
};

class Tokenizer {
 public:
  explicit Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {}

  const Vocab& vocab() const { return vocab_; }

  std::vector<Token> encode(std::string_view text, EncodeOptions opt = {}) const {
    std::vector<Token> out;
    const std::vector<Fragment> frags = split_special(vocab_, text, opt.parse_special);
    if (vocab_.kind() == VocabKind::Spm) {
      if (opt.add_special && vocab_.add_bos()) out.push_back(vocab_.bos());
      SpmSession session(vocab_);
      bool after_special = true;  // the first fragment also gets the space prefix
      for (const Fragment& f : frags) {
        if (!f.is_text()) {
          out.push_back(f.token);
          after_special = true;
          continue;
        }
        std::string raw;
        if (vocab_.add_space_prefix() && after_special) raw.push_back(' ');
        raw.append(text.substr(f.offset, f.length));
        session.tokenize(spm_escape(raw), out);
        after_special = false;
      }
    } else {
      if (opt.add_special && vocab_.add_bos()) out.push_back(vocab_.bos());
      Gpt2Session session(vocab_);
      for (const Fragment& f : frags) {
        if (f.is_text()) session.tokenize(text.substr(f.offset, f.length), out);
        else out.push_back(f.token);
      }
    }
    if (opt.add_special && vocab_.add_eos()) out.push_back(vocab_.eos());
    return out;
  }

  // The bytes of one token (possibly part of a UTF-8 character). Control and
  // unknown-type tokens are empty unless render_special; lstrip drops up to
  // that many leading spaces.
  std::string piece(Token t, bool render_special = false, int lstrip = 0) const {
    const uint32_t attr = vocab_.attr(t);
    if (!render_special && (attr & (kAttrControl | kAttrUnknown))) return {};
    const std::string& text = vocab_.text(t);
    std::string out;
    if (attr & (kAttrControl | kAttrUnknown | kAttrUserDefined)) {
      out = text;
    } else if (attr & kAttrNormal) {
      out = vocab_.kind() == VocabKind::Spm ? spm_unescape(text) : byte_decode(text);
    } else if (attr & kAttrByte) {
      out.push_back(static_cast<char>(byte_value(text)));
    }  // other types (unused, undefined) print nothing
    size_t skip = 0;
    while (static_cast<int>(skip) < lstrip && skip < out.size() && out[skip] == ' ') ++skip;
    return out.substr(skip);
  }

  std::string decode(const std::vector<Token>& tokens, DecodeOptions opt = {}) const {
    size_t begin = 0, end = tokens.size();
    bool strip_space = vocab_.add_space_prefix();
    if (opt.remove_special && vocab_.add_bos() && end > 0 && tokens[0] == vocab_.bos()) {
      strip_space = false;  // the reference keeps the space when it removes BOS
      begin = 1;
    }
    if (opt.remove_special && vocab_.add_eos() && end > begin && tokens[end - 1] == vocab_.eos()) --end;
    std::string text;
    for (size_t i = begin; i < end; ++i) {
      text += piece(tokens[i], opt.render_special, strip_space ? 1 : 0);
      strip_space = false;  // only ever the first token, even if it printed nothing
    }
    if (vocab_.clean_spaces()) clean_up_spaces(text);
    return text;
  }

 private:
  static std::string spm_unescape(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
      if (s.compare(i, kSpmSpace.size(), kSpmSpace) == 0) {
        out.push_back(' ');
        i += kSpmSpace.size();
      } else {
        out.push_back(s[i++]);
      }
    }
    return out;
  }

  // Byte-level text back to bytes; a code point outside the byte map is
  // written as the reference does, "[UNK_BYTE_0x<its utf-8 hex><token>]".
  static std::string byte_decode(const std::string& s) {
    const unicode::ByteMap& m = unicode::byte_map();
    std::string out;
    for (size_t pos = 0; pos < s.size();) {
      const size_t at = pos;
      const uint32_t c = unicode::decode_one(s, pos);
      if (c < m.to_byte.size() && m.to_byte[c] >= 0) {
        out.push_back(static_cast<char>(m.to_byte[c]));
        continue;
      }
      static const char* hex = "0123456789abcdef";
      out += "[UNK_BYTE_0x";
      for (size_t i = at; i < pos; ++i) {
        const auto b = static_cast<uint8_t>(s[i]);
        out.push_back(hex[b >> 4]);
        out.push_back(hex[b & 15]);
      }
      out += s + "]";
    }
    return out;
  }

  // "<0xNN>" -> NN (a byte token's text; the vocabulary said it is one).
  static uint8_t byte_value(const std::string& s) {
    const auto nibble = [&](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      qkit::fail("tokenizer: byte token '", s, "' is not of the form <0xNN>");
    };
    qkit::require(s.size() == 6 && s.compare(0, 3, "<0x") == 0 && s[5] == '>', "tokenizer: byte token '", s,
                  "' is not of the form <0xNN>");
    return static_cast<uint8_t>(nibble(s[3]) * 16 + nibble(s[4]));
  }

  // The reference's clean_up_tokenization_spaces, three in-place passes:
  // " ?", " !", " .", " ," lose the space; a lone "'" between spaces loses
  // both; " 's", " 'm", " 're", " 've" lose the space.
  static void clean_up_spaces(std::string& t) {
    size_t n = t.size();
    if (n == 0) return;
    size_t w = 1;
    for (size_t i = 1; i < n; ++i) {
      const char x = t[i];
      if (t[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) --w;
      t[w++] = x;
    }
    n = w;
    w = 1;
    for (size_t i = 1; i < n; ++i) {
      const char x = t[i];
      if (x == '\'' && i + 1 < n && t[i - 1] == ' ' && t[i + 1] == ' ') {
        --w;           // the space before
        t[++i] = '\0';  // and the one after, skipped
      }
      t[w++] = x;
    }
    n = w;
    w = 1;
    for (size_t i = 1; i < n; ++i) {
      const char x = t[i];
      if (t[i - 1] == ' ' && x == '\'' && i + 1 < n) {
        const char x1 = t[i + 1];
        if (x1 == 's' || x1 == 'm') {
          --w;
        } else if (x1 != 't' && x1 != 'd' && i + 2 < n) {
          const char x2 = t[i + 2];
          if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) --w;
        }
      }
      t[w++] = x;
    }
    t.resize(w);
  }

  Vocab vocab_;
};

}  // namespace phi
