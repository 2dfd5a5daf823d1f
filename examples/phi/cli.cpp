// qkit-phi — runs Phi GGUF models on qkit's kernels (see args.hpp for the
// command line and README.md for examples).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include "phi/args.hpp"
#include "phi/bench.hpp"
#include "phi/logits_file.hpp"
#include "phi/make_model.hpp"
#include "phi/model.hpp"
#include "phi/sampler.hpp"
#include "phi/tokenizer/chat.hpp"
#include "phi/tokenizer/gguf_vocab.hpp"
#include "qkit/cpu/targets.hpp"

namespace {

using phi::Args;

struct Timing {
  double prompt_s = 0, gen_s = 0;
  int64_t prompt_n = 0, gen_n = 0;
};

struct Session {
  phi::Model& model;
  const phi::Tokenizer& tok;
  phi::Sampler& sampler;
  Timing timing;
  phi::LogitsDump* dump = nullptr;
  std::vector<float> logits;  // of the last evaluated position
};

// Feeds `input` (one batch), then samples up to n_predict tokens (-1: no
// limit), printing each as it comes. Stops at a stop token (not fed, unless
// dumping logits) or when the context is full.
void generate(Session& s, const std::vector<int32_t>& input, int64_t n_predict) {
  phi::Model& m = s.model;
  const int64_t V = m.n_vocab();
  if (static_cast<int64_t>(input.size()) > m.n_ctx() - m.n_past()) {
    qkit::fail("the prompt has ", input.size(), " tokens but the context has room for ", m.n_ctx() - m.n_past(),
               " (of ", m.n_ctx(), "); raise -c or shorten the prompt");
  }
  s.logits.resize(static_cast<size_t>(V));
  double t0 = phi::now_s();
  if (s.dump) {
    std::vector<float> all(input.size() * static_cast<size_t>(V));
    m.eval(input.data(), static_cast<int64_t>(input.size()), all.data(), true);
    s.dump->prompt_tokens.insert(s.dump->prompt_tokens.end(), input.begin(), input.end());
    s.dump->prompt_logits.insert(s.dump->prompt_logits.end(), all.begin(), all.end());
    if (!input.empty()) std::copy(all.end() - V, all.end(), s.logits.begin());
  } else {
    m.eval(input.data(), static_cast<int64_t>(input.size()), s.logits.data());
  }
  s.timing.prompt_s += phi::now_s() - t0;
  s.timing.prompt_n += static_cast<int64_t>(input.size());

  t0 = phi::now_s();
  for (int64_t i = 0; n_predict < 0 || i < n_predict; ++i) {
    const int32_t t = s.sampler.sample(s.logits.data(), V);
    const bool stop = s.tok.vocab().is_eog(t);
    if (!stop) {
      const std::string piece = s.tok.piece(t);
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    }
    ++s.timing.gen_n;
    if (stop && !s.dump) break;
    if (m.n_past() >= m.n_ctx()) {
      std::fprintf(stderr, "\n[context full: %lld tokens]\n", static_cast<long long>(m.n_ctx()));
      break;
    }
    const bool last = n_predict >= 0 && i + 1 == n_predict;
    if (last && !s.dump) break;  // the last token need not be fed
    m.eval(&t, 1, s.logits.data());
    if (s.dump) {
      s.dump->gen_tokens.push_back(t);
      s.dump->gen_logits.insert(s.dump->gen_logits.end(), s.logits.begin(), s.logits.end());
    }
  }
  s.timing.gen_s += phi::now_s() - t0;
}

void print_timing(double load_s, const Timing& t) {
  auto rate = [](int64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; };
  std::fprintf(stderr,
               "\n\nload: %.0f ms | prompt: %lld tokens in %.2f s (%.1f tok/s) | generation: %lld tokens in %.2f s "
               "(%.1f tok/s)\n",
               load_s * 1e3, static_cast<long long>(t.prompt_n), t.prompt_s, rate(t.prompt_n, t.prompt_s),
               static_cast<long long>(t.gen_n), t.gen_s, rate(t.gen_n, t.gen_s));
}

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  qkit::require(static_cast<bool>(f), "cannot read prompt file '", path, "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void chat(Session& s, const Args& a) {
  const phi::ChatFormat fmt = phi::detect_chat_format(s.tok.vocab());
  std::fprintf(stderr, "chat (%s format): type a message, an empty line or Ctrl-D ends\n",
               fmt == phi::ChatFormat::Phi3 ? "Phi-3" : "Phi-2 QA");
  bool after_reply = false;
  std::string line;
  for (;;) {
    std::fprintf(stderr, "\n> ");
    if (!std::getline(std::cin, line) || line.empty()) break;
    phi::EncodeOptions eo;
    eo.add_special = !after_reply;  // BOS once, at the start of the conversation
    const std::vector<int32_t> in = s.tok.encode(phi::next_user_turn(fmt, line, after_reply), eo);
    generate(s, in, a.n_set ? a.n_predict : -1);
    after_reply = true;
  }
}

int run(const Args& a) {
  if (a.model == "-h") {
    std::fputs(phi::kUsage, stdout);
    return 0;
  }
  const int threads = a.threads > 0 ? a.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  if (!a.make_model.empty()) {
    const double t0 = phi::now_s();
    qkit::gguf::Writer w;
    phi::make_model(phi::model_spec(a.make_model), a.make_type, w, threads, [](size_t done, size_t total) {
      std::fprintf(stderr, "\rwriting tensor %zu / %zu", done, total);
    });
    w.write(a.out);
    struct stat st {};
    ::stat(a.out.c_str(), &st);
    std::fprintf(stderr, "\nwrote %s: %s %s, %.2f GiB in %.1f s\n", a.out.c_str(), a.make_model.c_str(),
                 a.make_type.c_str(), static_cast<double>(st.st_size) / (1024.0 * 1024 * 1024), phi::now_s() - t0);
    return 0;
  }

  phi::ModelOptions mo;
  mo.n_threads = threads;
  mo.cache_type = phi::kv_type_from_name(a.cache_type);
  mo.repack = !a.no_repack;
  mo.numerics = a.ref_numerics ? phi::Numerics::Reference : phi::Numerics::Fast;
  int64_t bench_p = 512, bench_n = a.n_set ? a.n_predict : 128;
  if (a.bench) {
    if (a.p_set) {
      char* end = nullptr;
      bench_p = std::strtoll(a.prompt.c_str(), &end, 10);
      qkit::require(*end == '\0' && bench_p >= 0, "--bench: -p takes a number of prompt tokens, got '", a.prompt, "'");
    }
    qkit::require(bench_n >= 0, "--bench: -n must be >= 0");
  }
  mo.n_ctx = a.n_ctx > 0 ? a.n_ctx : (a.bench ? std::max<int64_t>({bench_p, bench_n, 1}) : 0);

  // The model: a file, or the built-in demo built in memory.
  const double t_load = phi::now_s();
  std::vector<uint8_t> demo_bytes;
  std::unique_ptr<phi::Model> model;
  std::string name;
  if (a.model.empty()) {
    qkit::require(!a.bench, "--bench needs a model (-m FILE)");
    std::fprintf(stderr, "no model given (-m FILE): building a small random-weight Phi-3-shaped demo model; "
                         "its text is noise, its speed and plumbing are real\n");
    qkit::gguf::Writer w;
    phi::make_model(phi::model_spec("demo"), "Q8_0", w, threads);
    demo_bytes = w.write_to_memory();
    model = std::make_unique<phi::Model>(
        qkit::gguf::File::from_memory(demo_bytes.data(), demo_bytes.size(), "built-in demo model"), mo, false);
    name = "demo (random weights)";
  } else {
    struct stat st {};
    qkit::require(::stat(a.model.c_str(), &st) == 0, "model file '", a.model, "' not found");
    model = std::make_unique<phi::Model>(a.model, mo);
    name = a.model.substr(a.model.find_last_of('/') + 1);
  }
  phi::Model& m = *model;
  const double load_s = phi::now_s() - t_load;
  const phi::HParams& h = m.hparams();
  std::fprintf(stderr,
               "%s: %s, %lld layers, %lld heads (%lld kv) of %lld, n_embd %lld, n_ff %lld, vocab %lld; context %lld, "
               "%s KV cache (%.0f MB); %d threads; %s\n",
               name.c_str(), phi::arch_name(h.arch), static_cast<long long>(h.n_layer),
               static_cast<long long>(h.n_head), static_cast<long long>(h.n_head_kv),
               static_cast<long long>(h.head_dim), static_cast<long long>(h.n_embd), static_cast<long long>(h.n_ff),
               static_cast<long long>(h.n_vocab), static_cast<long long>(m.n_ctx()),
               qkit::kv_type_name(mo.cache_type), static_cast<double>(m.kv_cache().bytes()) / 1e6, threads,
               qkit::cpu::target_name(qkit::cpu::chosen_target()));

  if (a.bench) {
    phi::run_bench(m, name, bench_p, bench_n, a.repetitions, threads);
    return 0;
  }

  const phi::Tokenizer tok = phi::load_tokenizer(m.file());
  phi::SamplerParams sp = a.sampler;
  if (!a.seed_set) sp.seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  phi::Sampler sampler(sp);
  phi::LogitsDump dump;
  dump.n_vocab = static_cast<int32_t>(m.n_vocab());
  Session s{m, tok, sampler, {}, a.dump_logits.empty() ? nullptr : &dump, {}};

  if (a.chat) {
    chat(s, a);
  } else {
    std::string text = a.has_prompt ? (a.prompt_file.empty() ? a.prompt : read_text_file(a.prompt_file))
                                    : std::string("The quick brown fox");
    const std::vector<int32_t> in = tok.encode(text);
    if (static_cast<int64_t>(in.size()) <= m.n_ctx()) std::fputs(text.c_str(), stdout);
    generate(s, in, a.n_predict);
  }
  print_timing(load_s, s.timing);
  if (s.dump) {
    phi::write_logits(a.dump_logits, dump);
    std::fprintf(stderr, "wrote %zu prompt + %zu generated positions of logits to %s\n", dump.prompt_tokens.size(),
                 dump.gen_tokens.size(), a.dump_logits.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(phi::parse_args(argc, argv));
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "qkit-phi: error: %s\n", e.what());
    return 1;
  }
}
