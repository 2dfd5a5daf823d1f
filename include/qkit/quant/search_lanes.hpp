// qkit/quant/search_lanes.hpp — the reference scale searches of search.hpp
// and k_search.hpp run on eight independent groups at once (sub-blocks of a
// super-block, or consecutive 32-value blocks), one group per vector lane.
//
// Each function is bit-identical to eight calls of its scalar original: a
// lane performs exactly the scalar operations in the scalar order (see
// lanes.hpp; tests/test_quant_fast.cpp checks every one against the scalar
// search, and the golden tests check the codecs). Why: the scalar searches
// are chains of dependent float additions, bound by add latency one group at
// a time; eight groups side by side keep each group's order and fill the
// vector unit. Two 4-lane vectors are interleaved so their chains overlap.
// Without vector extensions (QKIT_QUANT_LANES 0) they call the scalar search.
#pragma once

#include <cstdint>
#include <cstring>

#include "qkit/quant/codec.hpp"
#include "qkit/quant/k_search.hpp"
#include "qkit/quant/lanes.hpp"
#include "qkit/quant/search.hpp"

QKIT_SCALAR_REF_BEGIN
namespace qkit::quant {

// Eight independent make_qx_quants(n, nmax, x, L, 1, w) calls at once
// (group k: x, w and L at offset k*stride, n <= 32; w must be given: the
// importance weights, or x*x rounded as rmse_type 1 computes it), returning
// the scales in scales[k]. Bit-identical to the scalar calls: each vector
// lane runs one group through the scalar operations in the same order (see
// lanes.hpp), two 4-lane vectors side by side so their sums overlap. Groups
// the scalar code returns early (all |x| < kGroupMaxEps) are overwritten
// with its early result at the end.
inline void make_qx_quants_x8(int n, int nmax, const float* x, const float* w, int stride, int8_t* L,
                              float* scales) {
  QKIT_NO_CONTRACT
#if QKIT_QUANT_LANES
  using namespace lanes;
  constexpr int G = 2;  // vectors of 4 groups
  F4 xv[32][G] = {}, wv[32][G] = {};  // zeroed: n <= 32 is not visible to the compiler
  I4 lbest[32][G];
  for (int i = 0; i < n; ++i) {
    for (int g = 0; g < G; ++g) {
      const float* xg = x + 4 * g * stride + i;
      const float* wg = w + 4 * g * stride + i;
      xv[i][g] = F4{xg[0], xg[stride], xg[2 * stride], xg[3 * stride]};
      wv[i][g] = F4{wg[0], wg[stride], wg[2 * stride], wg[3 * stride]};
    }
  }
  const F4 zero = splat(0.f);
  F4 max[G], amax[G], scale[G], best[G];
  I4 flat[G];
  for (int g = 0; g < G; ++g) {
    amax[g] = max[g] = zero;
    for (int i = 0; i < n; ++i) {
      const F4 ax = abs(xv[i][g]);
      const I4 bigger = ax > amax[g];
      amax[g] = select(bigger, ax, amax[g]);
      max[g] = select(bigger, xv[i][g], max[g]);
    }
    flat[g] = amax[g] < splat(kGroupMaxEps);
  }
  // One fit per inverse scale: quants (unbiased) and the two weighted sums.
  auto fit = [&](const F4* iscale, I4 (*lq)[G], F4* sumlx, F4* suml2) {
    for (int g = 0; g < G; ++g) sumlx[g] = suml2[g] = zero;
    for (int i = 0; i < n; ++i) {
      for (int g = 0; g < G; ++g) {
        const I4 l = clamp(nearest_int(barrier(iscale[g] * xv[i][g])), -nmax, nmax - 1);
        lq[i][g] = l;
        const F4 fl = to_float(l);
        sumlx[g] += barrier(wv[i][g] * xv[i][g] * fl);
        suml2[g] += barrier(wv[i][g] * fl * fl);
      }
    }
  };
  F4 iscale[G], sumlx[G], suml2[G];
  for (int g = 0; g < G; ++g) iscale[g] = splat(static_cast<float>(-nmax)) / max[g];
  fit(iscale, lbest, sumlx, suml2);
  for (int g = 0; g < G; ++g) {
    scale[g] = select(suml2[g] != zero, sumlx[g] / suml2[g], zero);
    best[g] = scale[g] * sumlx[g];
  }
  I4 lcur[32][G];
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    const F4 numer = splat(-(static_cast<float>(nmax) + product(0.1f, static_cast<float>(is))));
    for (int g = 0; g < G; ++g) iscale[g] = numer / max[g];
    fit(iscale, lcur, sumlx, suml2);
    for (int g = 0; g < G; ++g) {
      const I4 better = (suml2[g] > zero) & (sumlx[g] * sumlx[g] > best[g] * suml2[g]);
      if (!(better[0] | better[1] | better[2] | better[3])) continue;
      for (int i = 0; i < n; ++i) lbest[i][g] = select(better, lcur[i][g], lbest[i][g]);
      const F4 new_scale = sumlx[g] / suml2[g];
      scale[g] = select(better, new_scale, scale[g]);
      best[g] = select(better, new_scale * sumlx[g], best[g]);
    }
  }
  for (int k = 0; k < 4 * G; ++k) {
    const int g = k / 4, lane = k % 4;
    int8_t* Lk = L + k * stride;
    if (flat[g][lane]) {
      std::memset(Lk, 0, static_cast<size_t>(n));
      scales[k] = 0.f;
    } else {
      for (int i = 0; i < n; ++i) Lk[i] = static_cast<int8_t>(lbest[i][g][lane] + nmax);
      scales[k] = scale[g][lane];
    }
  }
#else
  for (int k = 0; k < 8; ++k) scales[k] = make_qx_quants(n, nmax, x + k * stride, L + k * stride, 1, w + k * stride);
#endif
}

// Eight independent make_qkx2_quants (kQkx3 false) or make_qkx3_quants
// (kQkx3 true) calls at once (group k: x, weights and L at offset k*stride,
// n <= 32 values; results in scales[k], the_mins[k]). The two searches
// differ only in when a group is flat (max == min / max <= min) and in the
// refinement quants (clamped after / before rounding).
template <bool kQkx3>
inline void make_qkx_quants_x8(int n, int nmax, const float* x, const float* weights, int stride, uint8_t* L,
                               float* scales, float* the_mins, float rmin, float rdelta, int nstep, bool use_mad) {
#if QKIT_QUANT_LANES
  using namespace lanes;
  constexpr int G = 2;  // vectors of 4 groups
  F4 xv[32][G] = {}, wv[32][G] = {};  // zeroed: n <= 32 is not visible to the compiler
  I4 lbest[32][G], lcur[32][G];
  for (int i = 0; i < n; ++i) {
    for (int g = 0; g < G; ++g) {
      const float* xg = x + 4 * g * stride + i;
      const float* wg = weights + 4 * g * stride + i;
      xv[i][g] = F4{xg[0], xg[stride], xg[2 * stride], xg[3 * stride]};
      wv[i][g] = F4{wg[0], wg[stride], wg[2 * stride], wg[3 * stride]};
    }
  }
  const F4 zero = splat(0.f);
  const F4 nmaxf = splat(static_cast<float>(nmax));
  F4 min[G], max[G], sum_w[G], sum_x[G], scale[G], best_error[G], flat_min[G];
  I4 flat[G];
  for (int g = 0; g < G; ++g) {
    min[g] = max[g] = xv[0][g];
    sum_w[g] = wv[0][g];
    sum_x[g] = barrier(sum_w[g] * xv[0][g]);
  }
  for (int i = 1; i < n; ++i) {
    for (int g = 0; g < G; ++g) {
      min[g] = select(xv[i][g] < min[g], xv[i][g], min[g]);
      max[g] = select(xv[i][g] > max[g], xv[i][g], max[g]);
      sum_w[g] += wv[i][g];
      sum_x[g] += barrier(wv[i][g] * xv[i][g]);
    }
  }
  for (int g = 0; g < G; ++g) {
    min[g] = select(min[g] > zero, zero, min[g]);
    flat[g] = kQkx3 ? max[g] <= min[g] : max[g] == min[g];
    flat_min[g] = min[g];
    const F4 iscale = nmaxf / (max[g] - min[g]);
    scale[g] = splat(1.f) / iscale;
    best_error[g] = zero;
    for (int i = 0; i < n; ++i) {
      const I4 l = clamp(nearest_int(barrier(iscale * (xv[i][g] - min[g]))), 0, nmax);
      lbest[i][g] = l;
      F4 diff = barrier(scale[g] * to_float(l)) + min[g] - xv[i][g];
      diff = use_mad ? abs(diff) : diff * diff;
      best_error[g] += barrier(wv[i][g] * diff);
    }
  }
  for (int is = 0; nstep >= 1 && is <= nstep; ++is) {
    const F4 numer = splat(rmin + fp_barrier(rdelta * static_cast<float>(is)) + static_cast<float>(nmax));
    F4 iscale[G], sum_l[G], sum_l2[G], sum_xl[G];
    for (int g = 0; g < G; ++g) {
      iscale[g] = numer / (max[g] - min[g]);  // min: the best fit's so far, as in the scalar loop
      sum_l[g] = sum_l2[g] = sum_xl[g] = zero;
    }
    for (int i = 0; i < n; ++i) {
      for (int g = 0; g < G; ++g) {
        I4 l;
        if (kQkx3) {
          // Clamped before rounding (v can be huge when the fitted min sits near max).
          const F4 v = barrier(iscale[g] * (xv[i][g] - min[g]));
          l = select(v > zero, nearest_int(select(v < nmaxf, v, nmaxf)), splat_i(0));
        } else {
          l = clamp(nearest_int(barrier(iscale[g] * (xv[i][g] - min[g]))), 0, nmax);
        }
        lcur[i][g] = l;
        const F4 fl = to_float(l);
        const F4 w = wv[i][g];
        sum_l[g] += barrier(w * fl);
        sum_l2[g] += barrier(w * fl * fl);
        sum_xl[g] += barrier(w * fl * xv[i][g]);
      }
    }
    F4 D[G], this_scale[G], this_min[G], cur_error[G];
    I4 d_pos[G];
    I4 any = splat_i(0);
    for (int g = 0; g < G; ++g) {
      D[g] = barrier(sum_w[g] * sum_l2[g]) - barrier(sum_l[g] * sum_l[g]);
      d_pos[g] = D[g] > zero;
      any |= d_pos[g];
    }
    if (!(any[0] | any[1] | any[2] | any[3])) continue;
    for (int g = 0; g < G; ++g) {
      this_scale[g] = (barrier(sum_w[g] * sum_xl[g]) - barrier(sum_x[g] * sum_l[g])) / D[g];
      this_min[g] = (barrier(sum_l2[g] * sum_x[g]) - barrier(sum_l[g] * sum_xl[g])) / D[g];
      const I4 min_pos = this_min[g] > zero;
      this_min[g] = select(min_pos, zero, this_min[g]);
      this_scale[g] = select(min_pos, sum_xl[g] / sum_l2[g], this_scale[g]);
      cur_error[g] = zero;
    }
    for (int i = 0; i < n; ++i) {
      for (int g = 0; g < G; ++g) {
        F4 diff = barrier(this_scale[g] * to_float(lcur[i][g])) + this_min[g] - xv[i][g];
        diff = use_mad ? abs(diff) : diff * diff;
        cur_error[g] += barrier(wv[i][g] * diff);
      }
    }
    for (int g = 0; g < G; ++g) {
      const I4 better = d_pos[g] & (cur_error[g] < best_error[g]);
      if (!(better[0] | better[1] | better[2] | better[3])) continue;
      for (int i = 0; i < n; ++i) lbest[i][g] = select(better, lcur[i][g], lbest[i][g]);
      best_error[g] = select(better, cur_error[g], best_error[g]);
      scale[g] = select(better, this_scale[g], scale[g]);
      min[g] = select(better, this_min[g], min[g]);
    }
  }
  for (int k = 0; k < 4 * G; ++k) {
    const int g = k / 4, lane = k % 4;
    uint8_t* Lk = L + k * stride;
    if (flat[g][lane]) {
      std::memset(Lk, 0, static_cast<size_t>(n));
      scales[k] = 0.f;
      the_mins[k] = -flat_min[g][lane];
    } else {
      for (int i = 0; i < n; ++i) Lk[i] = static_cast<uint8_t>(lbest[i][g][lane]);
      scales[k] = scale[g][lane];
      the_mins[k] = -min[g][lane];
    }
  }
#else
  uint8_t Laux[32];
  for (int k = 0; k < 8; ++k) {
    scales[k] = kQkx3 ? make_qkx3_quants(n, nmax, x + k * stride, weights + k * stride, L + k * stride, &the_mins[k],
                                         Laux, rmin, rdelta, nstep, use_mad)
                      : make_qkx2_quants(n, nmax, x + k * stride, weights + k * stride, L + k * stride, &the_mins[k],
                                         Laux, rmin, rdelta, nstep, use_mad);
  }
#endif
}

// make_qkx2_quants of 8 groups (K-quants without importance weights).
inline void make_qkx2_quants_x8(int n, int nmax, const float* x, const float* weights, int stride, uint8_t* L,
                                float* scales, float* the_mins, float rmin, float rdelta, int nstep, bool use_mad) {
  make_qkx_quants_x8<false>(n, nmax, x, weights, stride, L, scales, the_mins, rmin, rdelta, nstep, use_mad);
}

// make_qkx3_quants of 8 groups; weights must be given (the codecs always do).
inline void make_qkx3_quants_x8(int n, int nmax, const float* x, const float* weights, int stride, uint8_t* L,
                                float* scales, float* the_mins, float rmin, float rdelta, int nstep, bool use_mad) {
  make_qkx_quants_x8<true>(n, nmax, x, weights, stride, L, scales, the_mins, rmin, rdelta, nstep, use_mad);
}

}  // namespace qkit::quant
QKIT_SCALAR_REF_END
