// examples/phi/tokenizer/gguf_vocab.hpp — a Vocab from a GGUF file's metadata.
//
//   tokenizer.ggml.model            "llama" | "gpt2" (anything else: an error naming it)
//   tokenizer.ggml.pre              pre-tokenizer name (gpt2 vocabularies)
//   tokenizer.ggml.tokens           string[n]
//   tokenizer.ggml.scores           float32[n] (or int32[n]), optional
//   tokenizer.ggml.token_type       int32[n], optional
//   tokenizer.ggml.merges           string[] "left right", gpt2
//   tokenizer.ggml.{bos,eos,unknown,padding,eot}_token_id    optional
//   tokenizer.ggml.add_bos_token / add_eos_token / add_space_prefix   optional
//   general.name                    (the Phi-3 rstrip rule, see vocab.hpp)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "phi/tokenizer/tokenizer.hpp"
#include "phi/tokenizer/vocab.hpp"
#include "qkit/gguf/reader.hpp"
#include "qkit/gguf/writer.hpp"

namespace phi {

inline VocabData vocab_data_from_gguf(const qkit::gguf::File& f) {
  using qkit::gguf::ValueType;
  VocabData d;
  qkit::require(f.has("tokenizer.ggml.model"), f.source(), ": no tokenizer (key tokenizer.ggml.model is missing)");
  d.model = f.get<std::string>("tokenizer.ggml.model");
  d.pre = f.get_or<std::string>("tokenizer.ggml.pre", "");
  d.name = f.get_or<std::string>("general.name", "");
  qkit::require(f.has("tokenizer.ggml.tokens"), f.source(), ": key tokenizer.ggml.tokens is missing");
  d.tokens = f.get_array<std::string>("tokenizer.ggml.tokens");
  if (f.has("tokenizer.ggml.scores")) {
    if (f.type("tokenizer.ggml.scores") == ValueType::ARRAY && qkit::gguf::is_integer_type(f.array_type("tokenizer.ggml.scores"))) {
      for (int32_t s : f.get_array<int32_t>("tokenizer.ggml.scores")) d.scores.push_back(static_cast<float>(s));
    } else {
      d.scores = f.get_array<float>("tokenizer.ggml.scores");
    }
  }
  if (f.has("tokenizer.ggml.token_type")) d.types = f.get_array<int32_t>("tokenizer.ggml.token_type");
  if (f.has("tokenizer.ggml.merges")) d.merges = f.get_array<std::string>("tokenizer.ggml.merges");

  // Any integer type; a negative id (some converters write -1) means "none".
  const auto id = [&](const char* key) -> std::optional<uint32_t> {
    if (!f.has(key)) return std::nullopt;
    const int64_t v = f.get<int64_t>(key);
    if (v < 0 || v > 0x7FFFFFFF) return std::nullopt;
    return static_cast<uint32_t>(v);
  };
  const auto flag = [&](const char* key) -> std::optional<bool> {
    if (!f.has(key)) return std::nullopt;
    return f.get<bool>(key);
  };
  d.bos = id("tokenizer.ggml.bos_token_id");
  d.eos = id("tokenizer.ggml.eos_token_id");
  d.unk = id("tokenizer.ggml.unknown_token_id");
  d.pad = id("tokenizer.ggml.padding_token_id");
  d.eot = id("tokenizer.ggml.eot_token_id");
  d.add_bos = flag("tokenizer.ggml.add_bos_token");
  d.add_eos = flag("tokenizer.ggml.add_eos_token");
  d.add_space_prefix = flag("tokenizer.ggml.add_space_prefix");
  return d;
}

inline Vocab load_vocab(const qkit::gguf::File& f) {
  try {
    return Vocab(vocab_data_from_gguf(f));
  } catch (const qkit::Error& e) {
    const std::string msg = e.what();
    if (msg.rfind(f.source(), 0) == 0) throw;  // already names the file
    qkit::fail(f.source(), ": ", msg);
  }
}

inline Tokenizer load_tokenizer(const qkit::gguf::File& f) { return Tokenizer(load_vocab(f)); }

// The same keys written out (e.g. a synthetic vocabulary into a demo model);
// general.name is the model's to write.
inline void write_vocab(qkit::gguf::Writer& w, const VocabData& d) {
  w.set("tokenizer.ggml.model", d.model);
  if (!d.pre.empty()) w.set("tokenizer.ggml.pre", d.pre);
  w.set("tokenizer.ggml.tokens", d.tokens);
  if (!d.scores.empty()) w.set("tokenizer.ggml.scores", d.scores);
  if (!d.types.empty()) w.set("tokenizer.ggml.token_type", d.types);
  if (!d.merges.empty()) w.set("tokenizer.ggml.merges", d.merges);
  const auto id = [&](const char* key, const std::optional<uint32_t>& v) {
    if (v) w.set(key, *v);
  };
  id("tokenizer.ggml.bos_token_id", d.bos);
  id("tokenizer.ggml.eos_token_id", d.eos);
  id("tokenizer.ggml.unknown_token_id", d.unk);
  id("tokenizer.ggml.padding_token_id", d.pad);
  id("tokenizer.ggml.eot_token_id", d.eot);
  const auto flag = [&](const char* key, const std::optional<bool>& v) {
    if (v) w.set(key, *v);
  };
  flag("tokenizer.ggml.add_bos_token", d.add_bos);
  flag("tokenizer.ggml.add_eos_token", d.add_eos);
  flag("tokenizer.ggml.add_space_prefix", d.add_space_prefix);
}

}  // namespace phi
