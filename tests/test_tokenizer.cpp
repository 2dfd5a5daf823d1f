// tests/test_tokenizer.cpp — the Phi example's tokenizers against the
// reference engine: its vocab test vectors (../shared/golden/vocab, every
// line exact), the prompt tokens it stored with each tiny model, plus the
// algorithms on small hand-made vocabularies and the Unicode helpers.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "phi/tokenizer/bpe.hpp"
#include "phi/tokenizer/chat.hpp"
#include "phi/tokenizer/gguf_vocab.hpp"
#include "phi/tokenizer/special.hpp"
#include "phi/tokenizer/split_gpt4o.hpp"
#include "phi/tokenizer/synthetic.hpp"
#include "phi/tokenizer/tokenizer.hpp"
#include "phi/tokenizer/unicode.hpp"
#include "phi/tokenizer/vocab.hpp"
#include "support/golden.hpp"

using phi::Token;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) qkit::fail("cannot open ", path);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

// The reference's test-tokenizer-0 reading: texts separated by
// "\n__ggml_vocab_test__\n" (a trailing separator ends the list), expected
// ids one line per text, space separated.
struct VocabCase {
  std::string text;
  std::vector<Token> ids;
};

std::vector<VocabCase> load_vocab_cases(const std::string& inp, const std::string& out) {
  const std::string raw = slurp(inp);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < raw.size();) {
    const size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      texts.push_back(raw.substr(pos));
      break;
    }
    texts.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::vector<VocabCase> cases;
  std::istringstream lines(slurp(out));
  std::string line;
  for (const std::string& t : texts) {
    if (!std::getline(lines, line)) qkit::fail(out, ": fewer lines than texts in ", inp);
    VocabCase c{t, {}};
    std::istringstream ids(line);
    for (long v; ids >> v;) c.ids.push_back(static_cast<Token>(v));
    cases.push_back(std::move(c));
  }
  if (std::getline(lines, line) && !line.empty()) qkit::fail(out, ": more lines than texts in ", inp);
  return cases;
}

std::string show(const std::vector<Token>& ids) {
  std::ostringstream os;
  for (Token t : ids) os << ' ' << t;
  return os.str();
}

// A small SentencePiece vocabulary: <unk> <s> </s>, the 256 byte tokens,
// then pieces with scores chosen to make the merge order matter.
phi::VocabData small_spm() {
  phi::VocabData d;
  d.model = "llama";
  d.tokens = {"<unk>", "<s>", "</s>"};
  d.types = {2, 3, 3};
  d.scores = {0, 0, 0};
  static const char* hex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    d.tokens.push_back(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">");
    d.types.push_back(6);
    d.scores.push_back(0);
  }
  const std::vector<std::pair<std::string, float>> pieces = {
      {"\xE2\x96\x81", -1}, {"a", -2},  {"b", -2},  {"c", -2},  {"ab", -5}, {"bc", -3},
      {"abc", -4},          {"\xE2\x96\x81" "a", -6}, {"<|user|>", 0}, {"<|end|>", 0}, {"h", -2}, {"i", -2},
      {"hi", -1},           {"\xE2\x96\x81" "hi", -0.5f}};
  for (const auto& [t, s] : pieces) {
    d.tokens.push_back(t);
    d.types.push_back(t[0] == '<' ? 3 : 1);
    d.scores.push_back(s);
  }
  return d;
}

Token id_of(const phi::Vocab& v, const std::string& s) {
  const Token t = v.find(s);
  REQUIRE(t != phi::kNoToken);
  return t;
}

// A small byte-level BPE vocabulary: every byte's mapped character, then merges.
phi::VocabData small_gpt2() {
  phi::VocabData d;
  d.model = "gpt2";
  d.pre = "gpt-2";
  for (int b = 0; b < 256; ++b) d.tokens.push_back(phi::unicode::to_utf8(phi::unicode::byte_map().to_cpt[size_t(b)]));
  d.merges = {"l l", "e ll", "h ell", "\xC4\xA0 w", "o r", "\xC4\xA0w or", "l d", "\xC4\xA0wor ld"};
  for (const char* t : {"ll", "ell", "hell", "\xC4\xA0w", "or", "\xC4\xA0wor", "ld", "\xC4\xA0world"}) d.tokens.push_back(t);
  d.tokens.push_back("<|endoftext|>");
  d.types.assign(d.tokens.size(), 1);
  d.types.back() = 3;
  d.eos = d.bos = static_cast<uint32_t>(d.tokens.size() - 1);
  return d;
}

}  // namespace

// ---------------------------------------------------------------------------
// Unicode helpers

TEST_CASE("utf8 decode/encode round-trips and replaces malformed bytes", "[tokenizer][unicode]") {
  const std::string s = "a\xC3\x84\xE2\x82\xAC\xF0\x9F\xA6\x99";  // a Ä € 🦙
  const std::vector<uint32_t> c = phi::unicode::decode(s);
  REQUIRE(c == std::vector<uint32_t>{0x61, 0xC4, 0x20AC, 0x1F999});
  std::string back;
  for (uint32_t x : c) phi::unicode::append_utf8(back, x);
  CHECK(back == s);
  // Stray continuation, truncated 3-byte sequence, 0xFF: one U+FFFD per bad byte.
  CHECK(phi::unicode::decode("\x80" "x") == std::vector<uint32_t>{0xFFFD, 'x'});
  CHECK(phi::unicode::decode("\xE2\x82") == std::vector<uint32_t>{0xFFFD, 0xFFFD});
  CHECK(phi::unicode::decode("\xFF") == std::vector<uint32_t>{0xFFFD});
  CHECK(phi::unicode::utf8_len('\xF0') == 4);
  CHECK(phi::unicode::utf8_len('\x80') == 1);
}

TEST_CASE("unicode classes match the Unicode character database", "[tokenizer][unicode]") {
  using phi::unicode::Class;
  using phi::unicode::classify;
  // Letters from several scripts (Lu, Ll, Lo, Lm), numbers (Nd, No, Nl).
  for (uint32_t c : {0x41u, 0x7Au, 0xC4u, 0x43Du, 0x1780u, 0x6211u, 0x2B0u, 0xAAu}) {
    INFO(c);
    CHECK(classify(c) == Class::Letter);
  }
  for (uint32_t c : {0x30u, 0x39u, 0xBDu, 0x0663u, 0x2160u, 0xFF11u}) {
    INFO(c);
    CHECK(classify(c) == Class::Number);
  }
  for (uint32_t c : {0x09u, 0x0Au, 0x0Du, 0x20u, 0x85u, 0xA0u, 0x2003u, 0x3000u}) {
    INFO(c);
    CHECK(classify(c) == Class::Whitespace);
  }
  // Khmer vowel signs are marks (Mc/Mn), not letters; ZWJ is a format char.
  for (uint32_t c : {0x21u, 0x2Eu, 0x17B6u, 0x17C2u, 0x0301u, 0x200Du, 0x1F680u, 0xFF5Eu, 0xFFFDu}) {
    INFO(c);
    CHECK(classify(c) == Class::Other);
  }
}

TEST_CASE("GPT-2 byte map is a bijection with the published anchors", "[tokenizer][unicode]") {
  const auto& m = phi::unicode::byte_map();
  std::vector<bool> seen(324, false);
  for (int b = 0; b < 256; ++b) {
    const uint32_t c = m.to_cpt[size_t(b)];
    REQUIRE(c < 324);
    CHECK_FALSE(seen[c]);
    seen[c] = true;
    CHECK(m.to_byte[c] == b);
  }
  CHECK(m.to_cpt[' '] == 0x120);   // "Ġ"
  CHECK(m.to_cpt['\n'] == 0x10A);  // "Ċ"
  CHECK(m.to_cpt['A'] == 'A');
  CHECK(m.to_cpt[0xAD] == 0x143);  // the last remapped byte
}

// ---------------------------------------------------------------------------
// Algorithms on hand-made vocabularies

TEST_CASE("SentencePiece merges by score and prefixes a space and falls back to bytes", "[tokenizer][spm]") {
  const phi::Tokenizer tok{phi::Vocab(small_spm())};
  const phi::Vocab& v = tok.vocab();
  const phi::EncodeOptions raw{false, false};
  // "▁abc": ▁ a b c; best pair by score: "bc" (-3) before "ab" (-5) and "▁a" (-6);
  // then ("a","bc") -> "abc" (-4), then "▁" + "abc" has no token.
  CHECK(tok.encode("abc", raw) == std::vector<Token>{id_of(v, "\xE2\x96\x81"), id_of(v, "abc")});
  // "hi" merges, then "▁hi" (-0.5) beats nothing else.
  CHECK(tok.encode("hi", raw) == std::vector<Token>{id_of(v, "\xE2\x96\x81hi")});
  // BOS added when asked; spaces become "▁" tokens; "é" (C3 A9) is not in the
  // vocabulary: byte tokens <0xC3> <0xA9> (ids 3 + byte).
  CHECK(tok.encode("hi é") == std::vector<Token>{1, id_of(v, "\xE2\x96\x81hi"), id_of(v, "\xE2\x96\x81"), 3 + 0xC3, 3 + 0xA9});
  // Empty text: nothing, or just BOS.
  CHECK(tok.encode("", raw).empty());
  CHECK(tok.encode("") == std::vector<Token>{1});
}

TEST_CASE("special tokens are cut out first and text after them gets the space prefix", "[tokenizer][special]") {
  phi::VocabData d = small_spm();
  const phi::Tokenizer plain{phi::Vocab(d)};
  const phi::Vocab& v = plain.vocab();
  const Token user = id_of(v, "<|user|>"), end = id_of(v, "<|end|>"), sp = id_of(v, "\xE2\x96\x81");
  const Token hi = id_of(v, "\xE2\x96\x81hi");
  // parse_special on: "<|user|>" is one token; the text after it gets the
  // space prefix: "\nhi" -> "▁" <0x0A> "hi".
  CHECK(plain.encode("<|user|>\nhi<|end|>", {false, true}) ==
        std::vector<Token>{user, sp, 3 + '\n', id_of(v, "hi"), end});
  // parse_special off: control tokens are plain text (no "<|user|>" match).
  const std::vector<Token> off = plain.encode("<|user|>", {false, false});
  CHECK(std::find(off.begin(), off.end(), user) == off.end());
  // A name containing "Phi-3": special tokens swallow the whitespace after them.
  d.name = "My-Phi-3-mini";
  const phi::Tokenizer phi3{phi::Vocab(d)};
  CHECK(phi3.vocab().has_attr(user, phi::kAttrRstrip));
  CHECK_FALSE(phi3.vocab().has_attr(1, phi::kAttrRstrip));  // <s> is exempt
  CHECK(phi3.encode("<|user|>\n hi<|end|>\n", {false, true}) == std::vector<Token>{user, hi, end});
  // Longest match first; adjacent specials; leading and trailing text.
  const auto frags = phi::split_special(v, "a<|end|><|user|>b", true);
  REQUIRE(frags.size() == 4);
  CHECK((frags[0].is_text() && frags[0].offset == 0 && frags[0].length == 1));
  CHECK(frags[1].token == end);
  CHECK(frags[2].token == user);
  CHECK((frags[3].is_text() && frags[3].offset == 16 && frags[3].length == 1));
}

TEST_CASE("GPT-2 pre-tokenizer splits like the GPT-2 pattern", "[tokenizer][bpe]") {
  using V = std::vector<std::string>;
  CHECK(phi::gpt2_split("Hello world") == V{"Hello", " world"});
  CHECK(phi::gpt2_split("  Hello") == V{" ", " Hello"});
  CHECK(phi::gpt2_split("Hello  ") == V{"Hello", "  "});
  CHECK(phi::gpt2_split("a\n\n b") == V{"a", "\n\n", " b"});
  CHECK(phi::gpt2_split("I'm don't we'll they're 'x") == V{"I", "'m", " don", "'t", " we", "'ll", " they", "'re", " '", "x"});
  CHECK(phi::gpt2_split("abc123 4.5!!") == V{"abc", "123", " 4", ".", "5", "!!"});
  CHECK(phi::gpt2_split(" \xC3\x84pfel\t\t\n") == V{" \xC3\x84pfel", "\t\t\n"});
  // An em space is whitespace but not the optional " " of " ?\p{L}+".
  CHECK(phi::gpt2_split("x \xE2\x80\x83y") == V{"x", " ", "\xE2\x80\x83", "y"});
  CHECK(phi::gpt2_split("").empty());
}

namespace {

// The reference engine's way of running the GPT-4o pattern: std::regex over
// a collapsed text (ASCII as is; other code points -> \v if whitespace,
// 0xD2 letter, 0xD1 number, else a byte no class names), with \p{L} / \p{N}
// in the pattern rewritten to those bytes plus their ASCII ranges, and the
// text between matches kept as words of their own. An independent oracle
// for gpt4o_split (slow, fine for tests).
std::vector<std::string> regex_gpt4o_split(const std::string& text) {
  static const std::string re =
      "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|"
      "'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|"
      "'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  static const std::regex expr = [] {
    std::string rc;
    bool inside = false;
    for (size_t i = 0; i < re.size(); ++i) {
      if (re[i] == '[' && (i == 0 || re[i - 1] != '\\')) {
        rc += '[';
        inside = true;
      } else if (inside && re[i] == ']' && re[i - 1] != '\\') {
        rc += ']';
        inside = false;
      } else if (re.compare(i, 5, "\\p{L}") == 0 || re.compare(i, 5, "\\p{N}") == 0) {
        const bool l = re[i + 3] == 'L';
        if (!inside) rc += '[';
        rc += l ? std::string("\xD2" "A-Za-z") : std::string("\xD1" "0-9");
        if (!inside) rc += ']';
        i += 4;
      } else {
        rc += re[i];
      }
    }
    return std::regex(rc, std::regex_constants::optimize | std::regex_constants::nosubs);
  }();
  const std::vector<uint32_t> cp = phi::unicode::decode(text);
  std::string collapsed;
  for (uint32_t c : cp) {
    using phi::unicode::Class;
    const Class k = phi::unicode::classify(c);
    if (c < 128) collapsed.push_back(static_cast<char>(c));
    else if (k == Class::Whitespace) collapsed.push_back('\x0B');
    else if (k == Class::Letter) collapsed.push_back('\xD2');
    else if (k == Class::Number) collapsed.push_back('\xD1');
    else collapsed.push_back('\xD0');
  }
  std::vector<size_t> lens;
  size_t at = 0;
  for (std::cregex_iterator it(collapsed.data(), collapsed.data() + collapsed.size(), expr), end; it != end; ++it) {
    const size_t pos = static_cast<size_t>(it->position());
    if (pos > at) lens.push_back(pos - at);
    lens.push_back(static_cast<size_t>(it->length()));
    at = pos + static_cast<size_t>(it->length());
  }
  if (at < collapsed.size()) lens.push_back(collapsed.size() - at);
  std::vector<std::string> words;
  size_t i = 0;
  for (size_t len : lens) {
    std::string w;
    for (size_t k = 0; k < len; ++k) phi::unicode::append_utf8(w, cp[i++]);
    words.push_back(std::move(w));
  }
  return words;
}

}  // namespace

TEST_CASE("GPT-4o pre-tokenizer equals the reference's regex construction", "[tokenizer][bpe]") {
  using V = std::vector<std::string>;
  CHECK(phi::gpt4o_split("Hello world") == V{"Hello", " world"});
  CHECK(phi::gpt4o_split("HELLOworld DON'T you're") == V{"HELLOworld", " DON'T", " you're"});
  CHECK(phi::gpt4o_split("12345 (x)\n\n  y") == V{"123", "45", " (", "x", ")\n\n", " ", " y"});
  std::mt19937 rng(99);
  const std::vector<uint32_t> pool = {'a', 'b', 's', 't', 'r', 'e', 'v', 'l', 'd', 'm', 'A', 'S', 'R', 'E', 'L', 'D', 'Q',
                                      '\'', '\'', ' ', ' ', ' ', '\n', '\r', '\t', '/', '!', '(', '1', '7', 0xC4, 0xE4,
                                      0x43D, 0x0301, 0x17B6, 0x3000, 0xA0, 0x85, 0x6211, 0x0663, 0xBD, 0x1F600, 0x200D};
  int mismatches = 0;
  for (int iter = 0; iter < 8000; ++iter) {
    std::string s;
    const size_t n = rng() % 24;
    for (size_t i = 0; i < n; ++i) phi::unicode::append_utf8(s, pool[rng() % pool.size()]);
    const V got = phi::gpt4o_split(s), want = regex_gpt4o_split(s);
    if (got != want && ++mismatches <= 5) {
      INFO("text: '" << s << "'");
      CHECK(got == want);
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("a gpt-4o vocabulary uses the GPT-4o split and keeps spaces", "[tokenizer][bpe]") {
  phi::VocabData d = small_gpt2();
  d.pre = "gpt-4o";
  const phi::Tokenizer tok{phi::Vocab(d)};
  CHECK(tok.vocab().pre_tokenizer() == phi::PreTokenizer::Gpt4o);
  CHECK_FALSE(tok.vocab().clean_spaces());
  // "'S" is a contraction for GPT-4o (case-insensitive), not for GPT-2.
  CHECK(phi::gpt4o_split("IT'S") == std::vector<std::string>{"IT'S"});
  CHECK(phi::gpt2_split("IT'S") == std::vector<std::string>{"IT", "'", "S"});
  const std::vector<Token> ids = tok.encode("IT'S");
  CHECK(ids.size() == 4);  // one word, no merges in this vocabulary: 4 byte tokens
  CHECK(tok.decode(tok.encode("a , b")) == "a , b");
}

TEST_CASE("GPT-2 BPE merges by rank over byte-encoded words", "[tokenizer][bpe]") {
  const phi::Tokenizer tok{phi::Vocab(small_gpt2())};
  const phi::Vocab& v = tok.vocab();
  CHECK_FALSE(v.add_bos());
  const Token h = id_of(v, "h"), o = id_of(v, "o");
  // "hello" -> h e l l o: "l l" (rank 0) -> "e ll" -> "h ell" -> "hell" "o".
  CHECK(tok.encode("hello") == std::vector<Token>{id_of(v, "hell"), o});
  CHECK(tok.encode("hello world") == std::vector<Token>{id_of(v, "hell"), o, id_of(v, "\xC4\xA0world")});
  CHECK(tok.encode("h") == std::vector<Token>{h});
  // Control token parsed; EOS is end-of-generation.
  const Token eot = id_of(v, "<|endoftext|>");
  CHECK(tok.encode("h<|endoftext|>") == std::vector<Token>{h, eot});
  CHECK(v.is_eog(eot));
  // Detokenize: byte-level decoding, control tokens hidden unless asked.
  CHECK(tok.decode(tok.encode("hello world<|endoftext|>")) == "hello world");
  CHECK(tok.decode({eot}, {false, true}) == "<|endoftext|>");
  // Every byte string survives a round trip through byte-level BPE.
  std::string bytes;
  for (int b = 1; b < 256; ++b) bytes.push_back(static_cast<char>(b));
  std::string joined;
  for (Token t : tok.encode(bytes, {false, false})) joined += tok.piece(t);
  const std::vector<uint32_t> cp = phi::unicode::decode(bytes);
  std::string expect;  // malformed bytes read as U+FFFD, as the reference does
  for (uint32_t c : cp) phi::unicode::append_utf8(expect, c);
  CHECK(joined == expect);
}

TEST_CASE("vocabulary errors name the problem", "[tokenizer][errors]") {
  phi::VocabData d = small_spm();
  d.model = "bert";
  CHECK_THROWS_WITH(phi::Vocab(d), Catch::Contains("'bert'"));
  phi::VocabData g = small_gpt2();
  g.pre = "llama3";
  CHECK_THROWS_WITH(phi::Vocab(g), Catch::Contains("'llama3'"));
  phi::VocabData dup = small_spm();
  dup.tokens.push_back("abc");
  dup.types.push_back(1);
  dup.scores.push_back(0);
  CHECK_THROWS_WITH(phi::Vocab(dup), Catch::Contains("duplicate token 'abc'"));
  phi::VocabData short_scores = small_spm();
  short_scores.scores.resize(10);
  CHECK_THROWS_AS(phi::Vocab(short_scores), qkit::Error);
  const phi::Vocab v(small_spm());
  CHECK_THROWS_AS(v.text(static_cast<Token>(v.size())), qkit::Error);
}

TEST_CASE("GPT-2 detokenization cleans spaces as the reference does", "[tokenizer][bpe]") {
  const phi::Tokenizer tok{phi::Vocab(small_gpt2())};
  // " ?" " !" " ." " ," lose the space; " 's" " 're" lose it; " 't" keeps it.
  CHECK(tok.decode(tok.encode("a , b . c ! d ?")) == "a, b. c! d?");
  CHECK(tok.decode(tok.encode("he 's we 're do 't")) == "he's we're do 't");
  CHECK(tok.decode(tok.encode("a ' b")) == "a'b");
}

TEST_CASE("vocabulary through a GGUF file: written and read back and errors name the file", "[tokenizer][gguf]") {
  const phi::VocabData d = phi::synthetic_vocab(1000);
  REQUIRE(d.tokens.size() == 1000);
  qkit::gguf::Writer w;
  w.set("general.name", "demo");
  phi::write_vocab(w, d);
  const std::vector<uint8_t> bytes = w.write_to_memory();
  const phi::Tokenizer tok =
      phi::load_tokenizer(qkit::gguf::File::from_memory(bytes.data(), bytes.size(), "demo.gguf"));
  const phi::Vocab& v = tok.vocab();
  REQUIRE(v.size() == d.tokens.size());
  for (Token t = 0; t < static_cast<Token>(v.size()); ++t) REQUIRE(v.text(t) == d.tokens[size_t(t)]);
  CHECK(v.eos() == id_of(v, "<|endoftext|>"));
  CHECK(v.is_eog(id_of(v, "<|end|>")));
  // Whole words from the synthetic word list come out as single pieces.
  const std::vector<Token> ids = tok.encode("The quick brown fox");
  const std::string sp = "\xE2\x96\x81";
  CHECK(ids == std::vector<Token>{1, id_of(v, sp + "The"), id_of(v, sp + "quick"), id_of(v, sp + "brown"),
                                  id_of(v, sp + "fox")});
  CHECK(tok.decode(tok.encode("Zebra-like x\xC3\xA9!", {false, false})) == "Zebra-like x\xC3\xA9!");
  CHECK(phi::detect_chat_format(v) == phi::ChatFormat::Phi3);

  // Errors carry the file name and the offending value.
  qkit::gguf::Writer bad = w;
  bad.set("tokenizer.ggml.model", "bert");
  const std::vector<uint8_t> b1 = bad.write_to_memory();
  CHECK_THROWS_WITH(phi::load_tokenizer(qkit::gguf::File::from_memory(b1.data(), b1.size(), "bad.gguf")),
                    Catch::Contains("bad.gguf") && Catch::Contains("'bert'"));
  qkit::gguf::Writer none;
  none.set("general.architecture", "phi3");
  const std::vector<uint8_t> b2 = none.write_to_memory();
  CHECK_THROWS_WITH(phi::load_tokenizer(qkit::gguf::File::from_memory(b2.data(), b2.size(), "none.gguf")),
                    Catch::Contains("none.gguf") && Catch::Contains("tokenizer.ggml.model"));
  // Integer scores (some converters) are accepted.
  qkit::gguf::Writer iscores = w;
  iscores.set("tokenizer.ggml.scores", std::vector<int32_t>(d.tokens.size(), 0));
  const std::vector<uint8_t> b3 = iscores.write_to_memory();
  CHECK_NOTHROW(phi::load_tokenizer(qkit::gguf::File::from_memory(b3.data(), b3.size(), "iscores.gguf")));
}

// ---------------------------------------------------------------------------
// Golden: the reference engine's vocab test vectors

namespace {

void check_vocab_vectors(const std::string& name) {
  const std::string path = qkit::test::golden_path("vocab/" + name);
  const std::string inp = qkit::test::golden_path("vocab/" + name + ".inp");
  const std::string out = qkit::test::golden_path("vocab/" + name + ".out");
  const phi::Tokenizer tok = phi::load_tokenizer(qkit::gguf::File::open(path));
  const std::vector<VocabCase> cases = load_vocab_cases(inp, out);
  REQUIRE(cases.size() >= 40);
  size_t exact = 0;
  for (const VocabCase& c : cases) {
    // The reference's test: no BOS/EOS, special tokens not parsed.
    const std::vector<Token> got = tok.encode(c.text, {false, false});
    INFO("text: '" << c.text << "'\nexpected:" << show(c.ids) << "\ngot:     " << show(got));
    CHECK(got == c.ids);
    exact += got == c.ids;
  }
  std::printf("%s: %zu/%zu texts tokenized exactly\n", name.c_str(), exact, cases.size());
}

// Pieces joined without the clean-up passes, as UTF-8 text.
std::string join_pieces(const phi::Tokenizer& tok, const std::vector<Token>& ids) {
  std::string s;
  for (Token t : ids) s += tok.piece(t);
  return s;
}

}  // namespace

TEST_CASE("Phi-3 SentencePiece vocab: every reference vector exact", "[tokenizer][golden]") {
  check_vocab_vectors("ggml-vocab-phi-3.gguf");
}

TEST_CASE("GPT-2 byte-level BPE vocab: every reference vector exact", "[tokenizer][golden]") {
  check_vocab_vectors("ggml-vocab-gpt-2.gguf");
}

TEST_CASE("detokenization round-trips the reference texts", "[tokenizer][golden]") {
  for (const char* name : {"ggml-vocab-phi-3.gguf", "ggml-vocab-gpt-2.gguf"}) {
    const std::string base = std::string("vocab/") + name;
    const phi::Tokenizer tok = phi::load_tokenizer(qkit::gguf::File::open(qkit::test::golden_path(base)));
    const auto cases = load_vocab_cases(qkit::test::golden_path(base + ".inp"), qkit::test::golden_path(base + ".out"));
    for (const VocabCase& c : cases) {
      INFO(name << " text: '" << c.text << "'");
      if (tok.vocab().kind() == phi::VocabKind::Spm) {
        // decode() drops the space encode() prefixed: the text comes back exactly.
        CHECK(tok.decode(c.ids) == c.text);
        // With BOS first, the reference keeps the prefixed space (BOS takes
        // the "first token" slot whose leading space is dropped).
        const std::string spaced = c.text.empty() ? "" : " " + c.text;
        CHECK(tok.decode(tok.encode(c.text)) == spaced);
        CHECK(tok.decode(tok.encode(c.text), {true, false}) == spaced);
      } else {
        // Byte-level BPE loses nothing; decode() then only applies the
        // reference's space clean-up, which leaves texts without " ?", " !",
        // " .", " ," or " '" unchanged.
        CHECK(join_pieces(tok, c.ids) == c.text);
        bool cleanable = false;
        for (const char* s : {" ?", " !", " .", " ,", " '"}) cleanable |= c.text.find(s) != std::string::npos;
        if (!cleanable) CHECK(tok.decode(c.ids) == c.text);
      }
    }
  }
}

TEST_CASE("random text: no failures and lossless round trips and every token printable", "[tokenizer][golden]") {
  std::mt19937 rng(1234);
  // Code points from several scripts, spaces, controls, specials' characters.
  const std::vector<uint32_t> pool = {' ', ' ', '\n', '\t', 'a', 'Z', '0', '9', '\'', '<', '|', '>', '.', 0xC4, 0xBD,
                                      0x43D, 0x1780, 0x17B6, 0x6211, 0x2003, 0x3000, 0x1F999, 0xFF5E, 0x200D, 0x85};
  const auto random_text = [&](bool raw_bytes) {
    std::string s;
    const size_t n = rng() % 40;
    for (size_t i = 0; i < n; ++i) {
      if (raw_bytes) s.push_back(static_cast<char>(rng() % 256));
      else phi::unicode::append_utf8(s, pool[rng() % pool.size()]);
    }
    return s;
  };
  for (const char* name : {"ggml-vocab-phi-3.gguf", "ggml-vocab-gpt-2.gguf"}) {
    const phi::Tokenizer tok =
        phi::load_tokenizer(qkit::gguf::File::open(qkit::test::golden_path(std::string("vocab/") + name)));
    for (Token t = 0; t < static_cast<Token>(tok.vocab().size()); ++t) (void)tok.piece(t, true);
    for (int iter = 0; iter < 2000; ++iter) {
      const std::string s = random_text(iter % 2 == 1);
      INFO(name << " iteration " << iter);
      const std::vector<Token> ids = tok.encode(s, {false, false});
      for (Token t : ids) REQUIRE(tok.vocab().valid(t));
      (void)tok.encode(s + "<|end|><|user|>" + s, {true, true});
      if (tok.vocab().kind() == phi::VocabKind::Spm) {
        // Byte fallback loses nothing in valid UTF-8. (In malformed text a lead
        // byte can swallow part of an escaped "▁", which then prints as "▁",
        // as in the reference.)
        if (iter % 2 == 0) CHECK(tok.decode(ids) == s);
      } else {
        std::string normalized;  // malformed bytes read as U+FFFD
        for (uint32_t c : phi::unicode::decode(s)) phi::unicode::append_utf8(normalized, c);
        CHECK(join_pieces(tok, ids) == normalized);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Golden: the prompt tokens stored with each tiny model

namespace {

std::vector<Token> logits_prompt_tokens(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) qkit::fail("cannot open ", path);
  int32_t head[3];
  f.read(reinterpret_cast<char*>(head), sizeof head);
  if (!f || head[1] <= 0 || head[1] > 100000) qkit::fail(path, ": bad header");
  std::vector<Token> ids(static_cast<size_t>(head[1]));
  f.read(reinterpret_cast<char*>(ids.data()), static_cast<std::streamsize>(ids.size() * sizeof(Token)));
  if (!f) qkit::fail(path, ": truncated prompt tokens");
  return ids;
}

}  // namespace

TEST_CASE("each model's tokenizer reproduces the reference prompt tokens", "[tokenizer][golden]") {
  const std::string prompt = slurp(qkit::test::golden_path("models/PROMPT.txt"));
  for (const char* model : {"phi3-tiny-f16", "phi3-tiny-Q8_0", "phi3-tiny-Q4_0", "phi3-tiny-Q4_K_M", "phi4-tiny-f16",
                            "phi4-tiny-Q4_K_M", "phi2-tiny-Q8_0"}) {
    const std::string base = std::string("models/") + model;
    const phi::Tokenizer tok = phi::load_tokenizer(qkit::gguf::File::open(qkit::test::golden_path(base + ".gguf")));
    const std::vector<Token> expect = logits_prompt_tokens(qkit::test::golden_path(base + ".logits"));
    const std::vector<Token> got = tok.encode(prompt);  // default: model's BOS rule, specials parsed
    INFO(model << "\nexpected:" << show(expect) << "\ngot:     " << show(got));
    CHECK(got == expect);
    std::printf("%s: %zu prompt tokens %s\n", model, got.size(), got == expect ? "exact" : "DIFFER");
  }
}

TEST_CASE("Phi-3 chat format tokenizes to the control tokens and stops at EOS and end", "[tokenizer][chat][golden]") {
  const phi::Tokenizer tok =
      phi::load_tokenizer(qkit::gguf::File::open(qkit::test::golden_path("models/phi4-tiny-f16.gguf")));
  const phi::Vocab& v = tok.vocab();
  REQUIRE(phi::detect_chat_format(v) == phi::ChatFormat::Phi3);
  const std::string text = phi::format_chat(phi::ChatFormat::Phi3, {{"system", "Be brief."}, {"user", "Hi"}});
  CHECK(text == "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\n");
  const std::vector<Token> ids = tok.encode(text);
  const Token sys = id_of(v, "<|system|>"), user = id_of(v, "<|user|>"), end = id_of(v, "<|end|>"),
              asst = id_of(v, "<|assistant|>");
  REQUIRE(ids.size() > 6);
  CHECK(ids[0] == v.bos());
  CHECK(ids[1] == sys);
  CHECK(std::count(ids.begin(), ids.end(), end) == 2);
  CHECK(std::count(ids.begin(), ids.end(), user) == 1);
  CHECK(std::find(ids.begin(), ids.end(), asst) != ids.end());
  // Rendered back: the space prefixed to the text after each special token
  // (as in the reference's phi4 prompt tokens: <|user|> "▁" <0x0A>) shows.
  CHECK(tok.decode(ids, {true, true}) ==
        "<|system|> \nBe brief.<|end|> \n<|user|> \nHi<|end|> \n<|assistant|> \n");
  // Stop at EOS (<|endoftext|>) and <|end|>.
  const std::vector<Token> stops = phi::stop_tokens(v);
  CHECK(std::find(stops.begin(), stops.end(), v.eos()) != stops.end());
  CHECK(std::find(stops.begin(), stops.end(), end) != stops.end());
  CHECK(v.eos() == id_of(v, "<|endoftext|>"));
  CHECK(phi::next_user_turn(phi::ChatFormat::Phi3, "Again", true) == "<|end|>\n<|user|>\nAgain<|end|>\n<|assistant|>\n");

  const phi::Tokenizer gpt2 =
      phi::load_tokenizer(qkit::gguf::File::open(qkit::test::golden_path("models/phi2-tiny-Q8_0.gguf")));
  CHECK(phi::detect_chat_format(gpt2.vocab()) == phi::ChatFormat::Phi2);
  CHECK(phi::format_chat(phi::ChatFormat::Phi2, {{"user", "Hi"}}) == "Instruct: Hi\nOutput:");
  CHECK(gpt2.vocab().is_eog(gpt2.vocab().eos()));
}
