// qkit-quantize IN.gguf OUT.gguf TYPE [--imatrix FILE] [-t N] [--pure]
//
// Rewrites a GGUF model with its weights quantized to TYPE: a file type of
// the reference engine (Q4_K_M, Q4_K_S, Q5_K_M, Q6_K, Q8_0, Q4_0, IQ4_NL,
// ...: its per-tensor rules decide which tensors get more bits) or any qkit
// weight format (every quantizable tensor gets it). See mix.hpp.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "quantize/quantize_model.hpp"

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: qkit-quantize IN.gguf OUT.gguf TYPE [--imatrix FILE] [-t THREADS] [--pure]\n"
               "  TYPE: a file type (F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K_S Q3_K_M Q3_K_L\n"
               "        Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K IQ4_NL IQ4_XS TQ1_0 TQ2_0) or any weight format\n"
               "        (q3_K, q4_K, q5_K, mxfp4, ...: applied to every quantizable tensor)\n"
               "  --imatrix FILE  importance matrix in the reference engine's GGUF imatrix format\n"
               "  -t THREADS      quantizer threads (default: all cores)\n"
               "  --pure          no mix rules: every quantizable tensor gets TYPE's base format\n");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace qkit;
  std::vector<std::string> pos;
  std::string imatrix_path;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool pure = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* opt) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "qkit-quantize: %s needs a value\n", opt);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else if (a == "--imatrix") {
      imatrix_path = value("--imatrix");
    } else if (a == "-t" || a == "--threads") {
      const std::string v = value("-t");
      char* end = nullptr;
      const long t = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end || t < 1 || t > 1024) {
        std::fprintf(stderr, "qkit-quantize: -t takes a thread count from 1 to 1024, got '%s'\n", v.c_str());
        return 2;
      }
      threads = static_cast<int>(t);
    } else if (a == "--pure") {
      pure = true;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "qkit-quantize: unknown option %s\n", a.c_str());
      usage(stderr);
      return 2;
    } else {
      pos.push_back(a);
    }
  }
  if (pos.size() != 3) {
    usage(stderr);
    return 2;
  }
  try {
    quantize_tool::Options opt;
    opt.target = quantize_tool::parse_target(pos[2], pure);
    opt.n_threads = threads;
    gguf::Imatrix imatrix;
    if (!imatrix_path.empty()) {
      imatrix = gguf::Imatrix::load(imatrix_path);
      opt.imatrix = &imatrix;
      std::printf("imatrix: %zu entries from %s\n", imatrix.size(), imatrix_path.c_str());
    }
    const bool tty = ::isatty(STDOUT_FILENO);
    const auto start = std::chrono::steady_clock::now();
    opt.progress = [&](size_t i, size_t n, const std::string& name, Format from, Format to, uint64_t in_b,
                       uint64_t out_b) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      (void)in_b;
      static uint64_t done_out = 0;
      done_out += out_b;
      if (tty) {
        std::printf("\r\033[K[%zu/%zu] %-32s %6s -> %-6s  %.0f MB/s written", i, n, name.c_str(), format_name(from),
                    format_name(to), s > 0 ? done_out / s * 1e-6 : 0.0);
        if (i == n) std::printf("\n");
        std::fflush(stdout);
      } else {
        std::printf("[%zu/%zu] %-32s %6s -> %s\n", i, n, name.c_str(), format_name(from), format_name(to));
      }
    };
    const quantize_tool::Report r = quantize_tool::quantize_model(pos[0], pos[1], opt);
    std::printf("tensors     : %zu (", r.n_tensors);
    bool first = true;
    for (const auto& [fmt, count] : r.formats) {
      std::printf("%s%s: %d", first ? "" : ", ", fmt.c_str(), count);
      first = false;
    }
    std::printf(")\n");
    const double bpw_in = r.n_elements ? r.bytes_in * 8.0 / r.n_elements : 0;
    const double bpw_out = r.n_elements ? r.bytes_out * 8.0 / r.n_elements : 0;
    std::printf("size        : %.2f MiB (%.2f bits/weight) -> %.2f MiB (%.2f bits/weight)\n", r.bytes_in / 1048576.0,
                bpw_in, r.bytes_out / 1048576.0, bpw_out);
    std::printf("time        : %.2f s total, %.2f s converting+quantizing (%.0f MB/s of input, %d threads)\n",
                r.seconds, r.quantize_seconds, r.quantize_seconds > 0 ? r.bytes_in / r.quantize_seconds * 1e-6 : 0.0,
                threads);
    if (r.n_fallback) std::printf("note        : %d tensor(s) took a fallback format (row length)\n", r.n_fallback);
    if (r.n_requantized)
      std::printf("warning     : %zu tensor(s) were requantized from an already quantized format\n", r.n_requantized);
    if (opt.imatrix) std::printf("imatrix     : used for %zu tensor(s)\n", r.n_imatrix);
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "qkit-quantize: %s\n", e.what());
    return 1;
  }
}
