// examples/phi/sampler.hpp — picks the next token from a row of logits.
//
//   temp <= 0: greedy (argmax; the lowest id wins a tie).
//   else: keep the top_k most likely tokens (top_k <= 0: all), divide the
//   logits by temp, softmax, keep the smallest prefix whose probability
//   reaches top_p (top_p >= 1: all), renormalise and draw with a seeded
//   std::mt19937_64, so a seed reproduces a run.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "qkit/base/error.hpp"

namespace phi {

struct SamplerParams {
  float temp = 0.8f;
  int top_k = 40;
  float top_p = 0.95f;
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& p) : p_(p), rng_(p.seed) {
    qkit::require(std::isfinite(p.temp), "temperature must be a number, got ", p.temp);
    qkit::require(p.top_p > 0.0f && p.top_p <= 1.0f, "top-p must be in (0, 1], got ", p.top_p);
  }

  int32_t sample(const float* logits, int64_t n) {
    qkit::require(n > 0, "sampler: empty logits");
    if (p_.temp <= 0.0f) return greedy(logits, n);
    // Candidates: the top_k ids by logit (stable: lower id first on ties).
    idx_.resize(static_cast<size_t>(n));
    std::iota(idx_.begin(), idx_.end(), 0);
    const size_t k = p_.top_k > 0 ? std::min<size_t>(static_cast<size_t>(p_.top_k), idx_.size()) : idx_.size();
    auto better = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
    std::partial_sort(idx_.begin(), idx_.begin() + static_cast<std::ptrdiff_t>(k), idx_.end(), better);
    idx_.resize(k);
    // Softmax over the candidates at temperature temp (max first: no overflow).
    prob_.resize(k);
    const float mx = logits[idx_[0]];
    double sum = 0;
    for (size_t i = 0; i < k; ++i) {
      prob_[i] = std::exp((logits[idx_[i]] - mx) / p_.temp);
      sum += prob_[i];
    }
    // Nucleus: the shortest prefix holding top_p of the mass.
    size_t keep = k;
    if (p_.top_p < 1.0f) {
      double cum = 0;
      for (size_t i = 0; i < k; ++i) {
        cum += prob_[i] / sum;
        if (cum >= p_.top_p) {
          keep = i + 1;
          break;
        }
      }
    }
    double kept = 0;
    for (size_t i = 0; i < keep; ++i) kept += prob_[i];
    std::uniform_real_distribution<double> u(0.0, kept);
    double r = u(rng_);
    for (size_t i = 0; i < keep; ++i) {
      r -= prob_[i];
      if (r < 0) return idx_[i];
    }
    return idx_[keep - 1];
  }

  static int32_t greedy(const float* logits, int64_t n) {
    return static_cast<int32_t>(std::max_element(logits, logits + n) - logits);
  }

 private:
  SamplerParams p_;
  std::mt19937_64 rng_;
  std::vector<int32_t> idx_;
  std::vector<float> prob_;
};

}  // namespace phi
