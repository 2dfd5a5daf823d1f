// examples/phi/logits_file.hpp — the `.logits` layout shared with the
// reference engine's dumps (see ../shared/golden/README.md), little-endian:
//
//   i32 n_vocab, i32 n_prompt, i32 n_gen,
//   i32 prompt_tokens[n_prompt], f32 logits[n_prompt][n_vocab],
//   i32 gen_tokens[n_gen],       f32 gen_logits[n_gen][n_vocab]
//
// gen_logits[i] are the logits after feeding gen_tokens[i].
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "qkit/base/error.hpp"

namespace phi {

struct LogitsDump {
  int32_t n_vocab = 0;
  std::vector<int32_t> prompt_tokens;
  std::vector<float> prompt_logits;  // prompt_tokens.size() x n_vocab
  std::vector<int32_t> gen_tokens;
  std::vector<float> gen_logits;  // gen_tokens.size() x n_vocab
};

inline LogitsDump read_logits(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  qkit::require(f != nullptr, "cannot open logits file '", path, "'");
  std::vector<uint8_t> buf;
  uint8_t chunk[1 << 16];
  size_t got;
  while ((got = std::fread(chunk, 1, sizeof chunk, f)) > 0) buf.insert(buf.end(), chunk, chunk + got);
  std::fclose(f);
  size_t pos = 0;
  auto take = [&](void* dst, uint64_t n, const char* what) {
    if (n > buf.size() - pos) qkit::fail(path, ": truncated in ", what, " at byte ", pos);
    std::memcpy(dst, buf.data() + pos, static_cast<size_t>(n));
    pos += static_cast<size_t>(n);
  };
  int32_t hdr[3];
  take(hdr, sizeof hdr, "header");
  qkit::require(hdr[0] > 0 && hdr[1] >= 0 && hdr[2] >= 0, path, ": bad header (n_vocab ", hdr[0], ", n_prompt ",
                hdr[1], ", n_gen ", hdr[2], ")");
  LogitsDump d;
  d.n_vocab = hdr[0];
  const uint64_t V = static_cast<uint64_t>(hdr[0]);
  d.prompt_tokens.resize(static_cast<size_t>(hdr[1]));
  take(d.prompt_tokens.data(), 4ull * static_cast<uint64_t>(hdr[1]), "prompt tokens");
  d.prompt_logits.resize(static_cast<size_t>(hdr[1]) * V);
  take(d.prompt_logits.data(), 4ull * static_cast<uint64_t>(hdr[1]) * V, "prompt logits");
  d.gen_tokens.resize(static_cast<size_t>(hdr[2]));
  take(d.gen_tokens.data(), 4ull * static_cast<uint64_t>(hdr[2]), "generated tokens");
  d.gen_logits.resize(static_cast<size_t>(hdr[2]) * V);
  take(d.gen_logits.data(), 4ull * static_cast<uint64_t>(hdr[2]) * V, "generated logits");
  qkit::require(pos == buf.size(), path, ": ", buf.size() - pos, " trailing bytes");
  return d;
}

inline void write_logits(const std::string& path, const LogitsDump& d) {
  const size_t V = static_cast<size_t>(d.n_vocab);
  qkit::require(d.prompt_logits.size() == d.prompt_tokens.size() * V && d.gen_logits.size() == d.gen_tokens.size() * V,
                "write_logits: logits do not match the token counts");
  std::FILE* f = std::fopen(path.c_str(), "wb");
  qkit::require(f != nullptr, "cannot create logits file '", path, "'");
  const int32_t hdr[3] = {d.n_vocab, static_cast<int32_t>(d.prompt_tokens.size()),
                          static_cast<int32_t>(d.gen_tokens.size())};
  bool ok = std::fwrite(hdr, sizeof hdr, 1, f) == 1;
  auto put = [&](const void* p, size_t bytes) { ok = ok && (bytes == 0 || std::fwrite(p, bytes, 1, f) == 1); };
  put(d.prompt_tokens.data(), d.prompt_tokens.size() * 4);
  put(d.prompt_logits.data(), d.prompt_logits.size() * 4);
  put(d.gen_tokens.data(), d.gen_tokens.size() * 4);
  put(d.gen_logits.data(), d.gen_logits.size() * 4);
  ok = (std::fclose(f) == 0) && ok;
  qkit::require(ok, "writing logits file '", path, "' failed");
}

}  // namespace phi
