// qkit/quant/k_search.hpp — the scale searches only the K-quants use,
// numerically identical to ggml's make_qkx2_quants / make_q3_quants /
// make_qp_quants, plus the packing of the K-quants' 6-bit sub-block scales.
//
// Bit-exactness needs every float expression evaluated in the reference's
// order and precision, each product rounded before it is added: the
// reference library is built without FMA contraction. Compilers contract
// a*b+c into one fused multiply-add when the target has one (g++ does so
// across statements on aarch64 even in -std=c++17 mode; clang within an
// expression whenever FMA is enabled), so every product that feeds an
// addition goes through fp_barrier(). Do not "simplify" the algebra.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "qkit/quant/codec.hpp"
#include "qkit/quant/search.hpp"

// GCC: no fused multiply-add anywhere below (see codec.hpp); clang contracts
// only within an expression, which fp_barrier() prevents.
QKIT_SCALAR_REF_BEGIN

namespace qkit::quant {

// fp_barrier (codec.hpp) keeps products unfused with later additions.

// nearest_int(a * b) with the product rounded to float first, as the
// reference computes it: nearest_int adds a constant, so a*b inside it is a
// fusable multiply-add.
inline int nearest_int_mul(float a, float b) { return nearest_int(fp_barrier(a * b)); }

// Asymmetric search used by the K-quants without importance weights:
// x ~ scale * L + min with L in [0, nmax], min <= 0. Starts from the
// min/max range, then tries inverse scales (rmin + rdelta*is + nmax)/(max - min)
// for is = 0..nstep, solving the weighted least-squares (scale, min) for each
// assignment and keeping the lowest weighted error (|diff| if use_mad, else
// diff^2). Returns the scale; *the_min = -min.
inline float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                              uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = fp_barrier(sum_w * x[0]);
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += fp_barrier(w * x[i]);
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::memset(L, 0, static_cast<size_t>(n));
    *the_min = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearest_int_mul(iscale, (x[i] - min));
    L[i] = static_cast<uint8_t>(l < 0 ? 0 : (l > nmax ? nmax : l));
    float diff = fp_barrier(scale * L[i]) + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_error += fp_barrier(weights[i] * diff);
  }
  if (nstep < 1) {
    *the_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + fp_barrier(rdelta * is) + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int_mul(iscale, (x[i] - min));
      l = l < 0 ? 0 : (l > nmax ? nmax : l);
      Laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += fp_barrier(w * l);
      sum_l2 += fp_barrier(w * l * l);
      sum_xl += fp_barrier(w * l * x[i]);
    }
    const float D = fp_barrier(sum_w * sum_l2) - fp_barrier(sum_l * sum_l);
    if (D > 0) {
      float this_scale = (fp_barrier(sum_w * sum_xl) - fp_barrier(sum_x * sum_l)) / D;
      float this_min = (fp_barrier(sum_l2 * sum_x) - fp_barrier(sum_l * sum_xl)) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = fp_barrier(this_scale * Laux[i]) + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        cur_error += fp_barrier(weights[i] * diff);
      }
      if (cur_error < best_error) {
        std::memcpy(L, Laux, static_cast<size_t>(n));
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// Symmetric search of Q3_K without importance weights: L in [-nmax, nmax-1]
// (stored biased by +nmax). With do_rmse, refines single quants for up to 5
// rounds while the x^2-weighted least-squares fit improves.
inline float make_q3_quants(int n, int nmax, const float* x, int8_t* L, bool do_rmse) {
  float max;
  if (!signed_max_or_zero(n, x, L, max)) return 0.f;
  auto clamp_l = [nmax](int l) { return l < -nmax ? -nmax : (l > nmax - 1 ? nmax - 1 : l); };
  const float iscale = -nmax / max;
  if (do_rmse) {
    float sumlx = 0;
    float suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_l(nearest_int_mul(iscale, x[i]));
      L[i] = static_cast<int8_t>(l);
      const float w = x[i] * x[i];
      sumlx += fp_barrier(w * x[i] * l);
      suml2 += fp_barrier(w * l * l);
    }
    for (int itry = 0; itry < 5; ++itry) {
      int n_changed = 0;
      for (int i = 0; i < n; ++i) {
        const float w = x[i] * x[i];
        float slx = sumlx - fp_barrier(w * x[i] * L[i]);
        if (slx > 0) {
          float sl2 = suml2 - fp_barrier(w * L[i] * L[i]);
          const int new_l = clamp_l(nearest_int(x[i] * sl2 / slx));
          if (new_l != L[i]) {
            slx += fp_barrier(w * x[i] * new_l);
            sl2 += fp_barrier(w * new_l * new_l);
            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
              L[i] = static_cast<int8_t>(new_l);
              sumlx = slx;
              suml2 = sl2;
              ++n_changed;
            }
          }
        }
      }
      if (!n_changed) break;
    }
    for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(clamp_l(nearest_int_mul(iscale, x[i])) + nmax);
  return 1 / iscale;
}

// Quantizes non-negative values (the sub-block scales or mins of a
// super-block) to L in [0, nmax] with weights quant_weights: the best of 9
// inverse scales (0.1*is + nmax)/max, then up to 5 rounds of single-quant
// refinement of the weighted least-squares fit. Returns the scale.
inline float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* quant_weights) {
  float max = 0;
  for (int i = 0; i < n; ++i) max = max > x[i] ? max : x[i];
  if (max < kGroupMaxEps) {
    std::memset(L, 0, static_cast<size_t>(n));
    return 0.f;
  }
  float iscale = nmax / max;
  // As the reference: not clamped here (values are >= 0 by construction).
  for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(nearest_int_mul(iscale, x[i]));
  const float scale = 1 / iscale;
  float best_mse = 0;
  for (int i = 0; i < n; ++i) {
    const float diff = x[i] - fp_barrier(scale * L[i]);
    best_mse += fp_barrier(quant_weights[i] * diff * diff);
  }
  for (int is = -4; is <= 4; ++is) {
    if (is == 0) continue;
    const float iscale_is = (fp_barrier(0.1f * is) + nmax) / max;
    const float scale_is = 1 / iscale_is;
    float mse = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int_mul(iscale_is, x[i]);
      l = l < nmax ? l : nmax;
      const float diff = x[i] - fp_barrier(scale_is * l);
      mse += fp_barrier(quant_weights[i] * diff * diff);
    }
    if (mse < best_mse) {
      best_mse = mse;
      iscale = iscale_is;
    }
  }
  float sumlx = 0;
  float suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearest_int_mul(iscale, x[i]);
    l = l < nmax ? l : nmax;
    L[i] = static_cast<uint8_t>(l);
    const float w = quant_weights[i];
    sumlx += fp_barrier(w * x[i] * l);
    suml2 += fp_barrier(w * l * l);
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = quant_weights[i];
      float slx = sumlx - fp_barrier(w * x[i] * L[i]);
      float sl2 = suml2 - fp_barrier(w * L[i] * L[i]);
      if (slx > 0 && sl2 > 0) {
        int new_l = nearest_int(x[i] * sl2 / slx);
        new_l = new_l < nmax ? new_l : nmax;
        if (new_l != L[i]) {
          slx += fp_barrier(w * x[i] * new_l);
          sl2 += fp_barrier(w * new_l * new_l);
          if (slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<uint8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (!n_changed) break;
  }
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// --- 6-bit scale + 6-bit min pairs of Q4_K / Q5_K (12 bytes for 8 sub-blocks):
// bytes 0-3: scale j (low 6 bits) | scale j+4 high 2 bits << 6
// bytes 4-7: min j   (low 6 bits) | min j+4 high 2 bits << 6
// bytes 8-11: scale j+4 low 4 bits | min j+4 low 4 bits << 4
inline void get_scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
  }
}

// Packs 8 (scale, min) pairs, each <= 63, into the 12-byte layout above.
inline void set_scales_mins_k4(const uint8_t* ls, const uint8_t* lm, uint8_t* q) {
  for (int j = 0; j < 4; ++j) {
    q[j] = ls[j];
    q[j + 4] = lm[j];
  }
  for (int j = 4; j < 8; ++j) {
    q[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
    q[j - 4] = static_cast<uint8_t>(q[j - 4] | ((ls[j] >> 4) << 6));
    q[j] = static_cast<uint8_t>(q[j] | ((lm[j] >> 4) << 6));
  }
}

// --- 16 biased 6-bit scales of Q3_K (value + 32 in [0, 63]) in 12 bytes:
// bytes 0-7 hold the low nibbles (scale j in byte j%8, high nibble if j >= 8),
// bytes 8-11 the high 2 bits (scale j in byte 8 + j%4 at bit 2*(j/4)).
inline void set_scales_q3k(const int* l, uint8_t* q) {
  std::memset(q, 0, 12);
  for (int j = 0; j < 16; ++j) {
    if (j < 8) {
      q[j] = static_cast<uint8_t>(l[j] & 0xF);
    } else {
      q[j - 8] = static_cast<uint8_t>(q[j - 8] | ((l[j] & 0xF) << 4));
    }
    q[j % 4 + 8] = static_cast<uint8_t>(q[j % 4 + 8] | ((l[j] >> 4) << (2 * (j / 4))));
  }
}

// Signed scale of sub-block j (-32..31).
inline int get_scale_q3k(const uint8_t* q, int j) {
  const int lo = j < 8 ? q[j] & 0xF : q[j - 8] >> 4;
  return (lo | (((q[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
}

}  // namespace qkit::quant

QKIT_SCALAR_REF_END
