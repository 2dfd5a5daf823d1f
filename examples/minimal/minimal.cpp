// The shortest complete qkit program: quantize a random weight matrix to
// Q4_0, multiply it with a vector on the best SIMD target of this CPU, and
// compare with the f32 product.
#include <qkit/qkit.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

int main() {
  const int64_t rows = 256, cols = 1024;  // cols: a multiple of Q4_0's 32-value blocks

  std::mt19937 rng(42);
  std::normal_distribution<float> normal;
  std::vector<float> w(rows * cols), x(cols);
  for (float& v : w) v = normal(rng);
  for (float& v : x) v = normal(rng);

  // Quantize (bit-identical to llama.cpp's Q4_0) and view the result as a matrix.
  std::vector<uint8_t> q4(qkit::row_bytes(qkit::Format::Q4_0, cols) * rows);
  qkit::quantize(qkit::Format::Q4_0, w.data(), q4.data(), rows, cols);
  const qkit::WeightView W{qkit::Format::Q4_0, q4.data(), rows, cols};

  std::vector<float> y(rows);
  qkit::gemv(W, x.data(), y.data());  // y = W x, dispatched at run time

  double err2 = 0, ref2 = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double ref = 0;
    for (int64_t c = 0; c < cols; ++c) ref += double(w[r * cols + c]) * x[c];
    err2 += (y[r] - ref) * (y[r] - ref);
    ref2 += ref * ref;
  }
  const double rel = std::sqrt(err2 / ref2);
  std::printf("target: %s, kernel: %s\n", qkit::cpu::target_name(qkit::cpu::chosen_target()),
              qkit::matmul_variant(qkit::Format::Q4_0));
  std::printf("Q4_0 GEMV %lldx%lld: relative RMS error vs f32 = %.4f\n", (long long)rows, (long long)cols, rel);
  return rel < 0.2 ? 0 : 1;  // 4-bit weights: a few percent, never more than this
}
