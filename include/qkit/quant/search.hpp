// qkit/quant/search.hpp — the scale searches the reference engine's
// importance-weighted quantizers share, numerically identical to ggml's
// make_qx_quants / make_qkx3_quants / best_index_int8.
//
// Bit-exactness depends on evaluating every float expression in the same
// order and precision as the reference, so these are written as plain scalar
// loops with the reference's operation order; do not "simplify" the algebra.
// Inputs must be finite (the public quantizers check before calling).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "qkit/quant/codec.hpp"

QKIT_SCALAR_REF_BEGIN
namespace qkit::quant {

// Groups whose largest magnitude is below this are treated as all zero.
inline constexpr float kGroupMaxEps = 1e-15f;

// The symmetric searches' start: max = the value of largest magnitude, with
// its sign (the first such value on ties). A group whose magnitudes are all
// below kGroupMaxEps gets all-zero quants and false.
inline bool signed_max_or_zero(int n, const float* x, int8_t* L, float& max) {
  float amax = 0;
  max = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::memset(L, 0, static_cast<size_t>(n));
    return false;
  }
  return true;
}

// Symmetric search: quantizes x[0..n) to integers in [-nmax, nmax-1], stored
// biased by +nmax in L, and returns the scale. The scale starts at -nmax/max
// (max: the signed value of largest magnitude, so its quant is -nmax exactly)
// and the weighted least-squares fit is kept over 18 perturbed inverse scales
// -(nmax + 0.1*is)/max, is in [-9, 9] \ {0}. Weights: qw if given, else by
// rmse_type (1: x^2, 2: 1, 3: |x|, other: sqrt|x|). rmse_type 0 skips the fit;
// a negative rmse_type returns early with the average of the first fit and 1/iscale.
inline float make_qx_quants(int n, int nmax, const float* x, int8_t* L, int rmse_type, const float* qw) {
  QKIT_NO_CONTRACT
  float max;
  if (!signed_max_or_zero(n, x, L, max)) return 0.f;
  auto clamp_l = [nmax](int l) { return l < -nmax ? -nmax : (l > nmax - 1 ? nmax - 1 : l); };
  float iscale = -nmax / max;
  if (rmse_type == 0) {
    for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(nmax + clamp_l(nearest_int_product(iscale, x[i])));
    return 1 / iscale;
  }
  bool return_early = false;
  if (rmse_type < 0) {
    rmse_type = -rmse_type;
    return_early = true;
  }
  auto weight = [&](int i) -> float {
    if (qw) return qw[i];
    switch (rmse_type) {
      case 1: return product(x[i], x[i]);
      case 2: return 1;
      case 3: return std::fabs(x[i]);
      default: return std::sqrt(std::fabs(x[i]));
    }
  };
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = clamp_l(nearest_int_product(iscale, x[i]));
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = weight(i);
    sumlx += product(w * x[i], static_cast<float>(l));
    suml2 += product(w * static_cast<float>(l), static_cast<float>(l));
  }
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  if (return_early) return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + product(0.1f, static_cast<float>(is))) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_l(nearest_int_product(iscale, x[i]));
      const float w = weight(i);
      sumlx += product(w * x[i], static_cast<float>(l));
      suml2 += product(w * static_cast<float>(l), static_cast<float>(l));
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(nmax + clamp_l(nearest_int_product(iscale, x[i])));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Asymmetric search: x ~ scale * L + min with L in [0, nmax] and min <= 0.
// Tries inverse scales (rmin + rdelta*is + nmax)/(max - min), is = 0..nstep,
// solving the weighted least-squares (scale, min) for each assignment, and
// keeps the one with the lowest weighted error (|diff| if use_mad, else
// diff^2). Weights default to x^2. Returns the scale; *the_min = -min.
inline float make_qkx3_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                              uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad) {
  QKIT_NO_CONTRACT
  auto weight = [&](int i) { return weights ? weights[i] : product(x[i], x[i]); };
  float min = x[0], max = x[0];
  float sum_w = weight(0);
  float sum_x = product(sum_w, x[0]);
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weight(i);
    sum_w += w;
    sum_x += product(w, x[i]);
  }
  if (min > 0) min = 0;
  if (max <= min) {
    std::memset(L, 0, static_cast<size_t>(n));
    *the_min = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_mad = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearest_int_product(iscale, x[i] - min);
    L[i] = static_cast<uint8_t>(l < 0 ? 0 : (l > nmax ? nmax : l));
    float diff = product(scale, L[i]) + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_mad += product(weight(i), diff);
  }
  if (nstep < 1) {
    *the_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + product(rdelta, static_cast<float>(is)) + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      // Clamp before rounding: v can be huge when the fitted min sits near max.
      const float v = product(iscale, x[i] - min);
      const int l = v > 0 ? nearest_int(v < nmax ? v : static_cast<float>(nmax)) : 0;
      Laux[i] = static_cast<uint8_t>(l);
      const float w = weight(i);
      const float fl = static_cast<float>(l);
      sum_l += product(w, fl);
      sum_l2 += product(w * fl, fl);
      sum_xl += product(w * fl, x[i]);
    }
    const float D = product(sum_w, sum_l2) - product(sum_l, sum_l);
    if (D > 0) {
      float this_scale = (product(sum_w, sum_xl) - product(sum_x, sum_l)) / D;
      float this_min = (product(sum_l2, sum_x) - product(sum_l, sum_xl)) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float mad = 0;
      for (int i = 0; i < n; ++i) {
        float diff = product(this_scale, Laux[i]) + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        mad += product(weight(i), diff);
      }
      if (mad < best_mad) {
        std::memcpy(L, Laux, static_cast<size_t>(n));
        best_mad = mad;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// Index of the level of a sorted table val[0..n) (n a power of two) nearest
// to x; a tie picks the upper level. Comparing x+x with val[j-1]+val[j]
// keeps both sides exact.
inline int best_index_int8(int n, const int8_t* val, float x) {
  const float x2 = product(x, 2.0f);  // exact doubling, never fused with x's own product
  int idx = 0;
  for (int step = n >> 1; step > 0; step >>= 1) {
    const int j = idx + step;
    idx = (x2 >= static_cast<float>(val[j - 1] + val[j])) ? j : idx;
  }
  return idx;
}

}  // namespace qkit::quant
QKIT_SCALAR_REF_END
