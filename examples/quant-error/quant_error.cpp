// qkit-quant-error — measured round-trip error of every format that qkit can
// quantize, on gaussian rows, printed as the Markdown table in
// docs/formats.md.
//
// Each row x (N(0, 1), `--cols` values) is quantized with the scalar
// reference quantizer (quantize_row) and dequantized with the dispatched
// kernel (dequantize_row); per row, with e = dequantized - x:
//   RMSE / RMS   = sqrt(mean e^2) / sqrt(mean x^2)
//   max / RMS    = max |e| / sqrt(mean x^2)
//   wRMSE / wRMS = sqrt(sum w e^2 / sum w x^2), w the importance vector
// The table shows the mean over rows of the first and third, and the largest
// second. "with imatrix" quantizes with one importance vector for every row:
// w_j = exp(1.5 g_j), g_j ~ N(0, 1) (log-normal, like the spread of real
// imatrix columns). Formats whose quantizer has no importance path (their
// output is byte-identical with and without) show "=" there.
//
//   qkit-quant-error [--rows 64] [--cols 4096] [--seed 1]
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "qkit/cpu/targets.hpp"
#include "qkit/kernels/dequant.hpp"
#include "qkit/quant/registry.hpp"

namespace {

struct Errors {
  double rel_rmse = 0, rel_max = 0, rel_wrmse = 0;
};

Errors measure(qkit::Format f, const std::vector<float>& x, const std::vector<float>& w, int64_t rows, int64_t cols,
               const float* imatrix, std::vector<uint8_t>& q) {
  const size_t rb = qkit::row_bytes(f, uint64_t(cols));
  q.assign(rb * size_t(rows), 0);
  qkit::quantize(f, x.data(), q.data(), rows, cols, imatrix, 1);
  std::vector<float> y(static_cast<size_t>(cols));
  Errors e;
  for (int64_t r = 0; r < rows; ++r) {
    qkit::dequantize_row(f, q.data() + rb * size_t(r), y.data(), cols);
    const float* xr = x.data() + r * cols;
    double se = 0, sx = 0, swe = 0, swx = 0, mx = 0;
    for (int64_t j = 0; j < cols; ++j) {
      const double d = double(y[size_t(j)]) - double(xr[j]);
      se += d * d;
      sx += double(xr[j]) * xr[j];
      swe += w[size_t(j)] * d * d;
      swx += w[size_t(j)] * double(xr[j]) * xr[j];
      mx = std::fmax(mx, std::fabs(d));
    }
    const double rms = std::sqrt(sx / double(cols));
    e.rel_rmse += std::sqrt(se / double(cols)) / rms / double(rows);
    e.rel_wrmse += std::sqrt(swe / swx) / double(rows);
    e.rel_max = std::fmax(e.rel_max, mx / rms);
  }
  return e;
}

long arg_value(int& i, int argc, char** argv) {
  if (i + 1 >= argc) {
    std::fprintf(stderr, "qkit-quant-error: %s needs a value\n", argv[i]);
    std::exit(2);
  }
  return std::strtol(argv[++i], nullptr, 10);
}

}  // namespace

int main(int argc, char** argv) try {
  int64_t rows = 64, cols = 4096;
  uint32_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--rows") {
      rows = arg_value(i, argc, argv);
    } else if (a == "--cols") {
      cols = arg_value(i, argc, argv);
    } else if (a == "--seed") {
      seed = uint32_t(arg_value(i, argc, argv));
    } else {
      std::fprintf(stderr, "usage: qkit-quant-error [--rows N] [--cols N (multiple of 256)] [--seed S]\n");
      return 2;
    }
  }
  qkit::require(rows > 0 && cols > 0 && cols % 256 == 0, "--rows must be > 0 and --cols a positive multiple of 256");

  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(rows * cols));
  for (auto& v : x) v = gauss(rng);
  std::vector<float> imatrix(static_cast<size_t>(cols));
  for (auto& v : imatrix) v = std::exp(1.5f * gauss(rng));

  std::printf("Gaussian N(0,1) rows: %lld x %lld, seed %u, dequantized on %s.\n\n", (long long)rows,
              (long long)cols, seed, qkit::cpu::target_name(qkit::cpu::chosen_target()));
  std::printf("| format | bits/weight | RMSE/RMS | max/RMS | wRMSE/wRMS | with imatrix: RMSE/RMS | max/RMS | wRMSE/wRMS |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
  std::vector<uint8_t> q0, q1;
  for (const qkit::FormatInfo& fi : qkit::kFormatInfo) {
    if (!qkit::format_has_quantizer(fi.format)) continue;
    const double bpw = 8.0 * fi.block_bytes / fi.block_size;
    const Errors plain = measure(fi.format, x, imatrix, rows, cols, nullptr, q0);
    const Errors imat = measure(fi.format, x, imatrix, rows, cols, imatrix.data(), q1);
    std::printf("| %s | %.6g | %.3e | %.3e | %.3e |", fi.name, bpw, plain.rel_rmse, plain.rel_max, plain.rel_wrmse);
    if (q0 == q1) {
      std::printf(" = | = | = |\n");
    } else {
      std::printf(" %.3e | %.3e | %.3e |\n", imat.rel_rmse, imat.rel_max, imat.rel_wrmse);
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "qkit-quant-error: %s\n", e.what());
  return 1;
}
