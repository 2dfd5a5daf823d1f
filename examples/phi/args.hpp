// examples/phi/args.hpp — qkit-phi's command line.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "phi/sampler.hpp"
#include "qkit/base/error.hpp"

namespace phi {

inline const char* kUsage = R"(usage:
  qkit-phi -m FILE [-p PROMPT | -f FILE | --chat] [options]   generate text
  qkit-phi                                                     run a built-in random-weight demo model
  qkit-phi --bench -m FILE [-p 512] [-n 128] [-r 3] [-t N]     prompt / generation speed
  qkit-phi --make-model phi3-mini|demo --type TYPE OUT.gguf    write a random-weight Phi-3-shaped model

options:
  -m, --model FILE        GGUF model (phi3: Phi-3/3.5-mini, Phi-4-mini; phi2)
  -p, --prompt TEXT       prompt (special tokens such as <|user|> are recognised)
  -f, --file FILE         read the prompt from FILE
      --chat              interactive chat in the model's chat format (KV cache kept between turns)
  -n, --n-predict N       tokens to generate (default 128; -1: until a stop token or the context is full)
  -t, --threads N         threads (default: all hardware threads)
  -c, --ctx-size N        context length (default min(4096, the model's))
      --cache-type T      KV cache type: f32, f16 (default) or q8_0
      --temp T            temperature (default 0.8; 0: greedy)
      --top-k K           top-k (default 40; 0: off)
      --top-p P           top-p (default 0.95; 1: off)
      --seed S            sampler seed (default: from the clock)
      --dump-logits FILE  write the logits of every evaluated position (.logits layout; does not stop at EOS)
      --no-repack         keep Q4_0/Q8_0/IQ4_NL/Q4_K/Q6_K weights in the file's row layout (default: interleave at load)
      --ref-numerics      sum matmuls and round attention, RoPE, SwiGLU, GELU and norms as the reference engine does (scalar, no repacking: slow; for comparisons)
      --bench             benchmark: -p prompt tokens (pp), -n generated tokens (tg), -r repetitions
  -r, --repetitions N     benchmark repetitions (default 3)
      --type TYPE         --make-model quantization: a format (Q4_0, Q8_0, F16, ...) or mix (Q4_K_M, ...)
  -h, --help              this text
)";

struct Args {
  std::string model, prompt, prompt_file, dump_logits, make_model, make_type = "Q4_0", out;
  bool has_prompt = false, chat = false, bench = false, ref_numerics = false, no_repack = false;
  int64_t n_predict = 128, n_ctx = 0;
  int threads = 0, repetitions = 3;
  bool n_set = false, p_set = false, seed_set = false;
  std::string cache_type = "f16";
  SamplerParams sampler;
};

inline Args parse_args(int argc, char** argv) {
  Args a;
  std::vector<std::string> rest;
  for (int i = 1; i < argc; ++i) rest.emplace_back(argv[i]);
  size_t i = 0;
  auto value = [&](const std::string& opt) -> std::string {
    qkit::require(i + 1 < rest.size(), "option ", opt, " needs a value");
    return rest[++i];
  };
  auto integer = [&](const std::string& opt) -> int64_t {
    const std::string v = value(opt);
    char* end = nullptr;
    const long long x = std::strtoll(v.c_str(), &end, 10);
    qkit::require(!v.empty() && *end == '\0', "option ", opt, ": '", v, "' is not an integer");
    return x;
  };
  auto number = [&](const std::string& opt) -> float {
    const std::string v = value(opt);
    char* end = nullptr;
    const float x = std::strtof(v.c_str(), &end);
    qkit::require(!v.empty() && *end == '\0', "option ", opt, ": '", v, "' is not a number");
    return x;
  };
  for (; i < rest.size(); ++i) {
    const std::string& o = rest[i];
    if (o == "-m" || o == "--model") {
      a.model = value(o);
    } else if (o == "-p" || o == "--prompt") {
      a.prompt = value(o);
      a.has_prompt = a.p_set = true;
    } else if (o == "-f" || o == "--file") {
      a.prompt_file = value(o);
      a.has_prompt = true;
    } else if (o == "--chat") {
      a.chat = true;
    } else if (o == "-n" || o == "--n-predict") {
      a.n_predict = integer(o);
      a.n_set = true;
    } else if (o == "-t" || o == "--threads") {
      a.threads = static_cast<int>(integer(o));
      qkit::require(a.threads >= 1, "-t: need at least 1 thread");
    } else if (o == "-c" || o == "--ctx-size") {
      a.n_ctx = integer(o);
      qkit::require(a.n_ctx >= 1, "-c: the context must hold at least 1 token");
    } else if (o == "--cache-type") {
      a.cache_type = value(o);
    } else if (o == "--temp") {
      a.sampler.temp = number(o);
    } else if (o == "--top-k") {
      a.sampler.top_k = static_cast<int>(integer(o));
    } else if (o == "--top-p") {
      a.sampler.top_p = number(o);
    } else if (o == "--seed") {
      a.sampler.seed = static_cast<uint64_t>(integer(o));
      a.seed_set = true;
    } else if (o == "--dump-logits") {
      a.dump_logits = value(o);
    } else if (o == "--no-repack") {
      a.no_repack = true;
    } else if (o == "--ref-numerics") {
      a.ref_numerics = true;
    } else if (o == "--bench") {
      a.bench = true;
    } else if (o == "-r" || o == "--repetitions") {
      a.repetitions = static_cast<int>(integer(o));
      qkit::require(a.repetitions >= 1, "-r: need at least 1 repetition");
    } else if (o == "--make-model") {
      a.make_model = value(o);
    } else if (o == "--type") {
      a.make_type = value(o);
    } else if (o == "-h" || o == "--help") {
      a.make_model.clear();
      a.model = "-h";
      return a;
    } else if (!o.empty() && o[0] == '-') {
      qkit::fail("unknown option '", o, "' (qkit-phi --help lists them)");
    } else {
      qkit::require(a.out.empty(), "unexpected argument '", o, "'");
      a.out = o;
    }
  }
  qkit::require(a.out.empty() || !a.make_model.empty(), "unexpected argument '", a.out, "'");
  qkit::require(a.make_model.empty() || !a.out.empty(), "--make-model needs an output file name");
  qkit::require(!(a.chat && a.has_prompt), "--chat and -p/-f exclude each other");
  return a;
}

}  // namespace phi
