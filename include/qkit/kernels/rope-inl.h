// qkit/kernels/rope-inl.h — per-target rotary position embedding, applied
// in place with per-token cos/sin tables built by rope.hpp.
//
// Table layout per token: 2 * n_rot floats, C[n_rot] then S[n_rot], where
// element j of the rotated part becomes x[j] * C[j] + x[partner(j)] * S[j]:
//   normal (adjacent pairs, GPT-J):  partner(2i) = 2i+1, partner(2i+1) = 2i,
//       C[2i] = C[2i+1] = cos_i, S[2i] = -sin_i, S[2i+1] = sin_i;
//   NeoX (rotate halves):            partner(i) = i + n_rot/2 and back,
//       C[i] = C[i+h] = cos_i,       S[i] = -sin_i, S[i+h] = sin_i.
// Expanding the table once per token (shared by all heads) turns both
// styles into plain multiply-adds.
#if defined(QKIT_KERNELS_ROPE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QKIT_KERNELS_ROPE_INL_H_
#undef QKIT_KERNELS_ROPE_INL_H_
#else
#define QKIT_KERNELS_ROPE_INL_H_
#endif

#include "hwy/highway.h"
#include "qkit/kernels/common-inl.h"

HWY_BEFORE_NAMESPACE();
namespace qkit::kernels::HWY_NAMESPACE {

inline void RopeNeoxHead(float* HWY_RESTRICT x, size_t n_rot, const float* HWY_RESTRICT c,
                         const float* HWY_RESTRICT s) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const size_t h = n_rot / 2;
  size_t i = 0;
  for (; i + N <= h; i += N) {
    const auto lo = hn::LoadU(d, x + i), hi = hn::LoadU(d, x + h + i);
    const auto vc = hn::LoadU(d, c + i), vs = hn::LoadU(d, s + h + i);  // +sin_i
    hn::StoreU(hn::NegMulAdd(hi, vs, hn::Mul(lo, vc)), d, x + i);
    hn::StoreU(hn::MulAdd(lo, vs, hn::Mul(hi, vc)), d, x + h + i);
  }
  for (; i < h; ++i) {
    const float lo = x[i], hi = x[h + i];
    x[i] = lo * c[i] + hi * s[i];
    x[h + i] = hi * c[h + i] + lo * s[h + i];
  }
}

inline void RopeNormalHead(float* HWY_RESTRICT x, size_t n_rot, const float* HWY_RESTRICT c,
                           const float* HWY_RESTRICT s) {
  size_t i = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);  // even on every SIMD target
  for (; i + N <= n_rot; i += N) {
    const auto v = hn::LoadU(d, x + i);
    const auto swapped = hn::Reverse2(d, v);  // (x1, x0, x3, x2, ...)
    hn::StoreU(hn::MulAdd(swapped, hn::LoadU(d, s + i), hn::Mul(v, hn::LoadU(d, c + i))), d, x + i);
  }
#endif
  for (; i < n_rot; i += 2) {
    const float x0 = x[i], x1 = x[i + 1];
    x[i] = x0 * c[i] + x1 * s[i];
    x[i + 1] = x1 * c[i + 1] + x0 * s[i + 1];
  }
}

// x: [n_tokens][n_head][head_dim]; the first n_rot dims of every head are
// rotated with that token's table, the rest are left as they are.
inline void RopeApply(float* x, size_t n_tokens, size_t n_head, size_t head_dim, size_t n_rot, bool neox,
                      const float* tables) {
  for (size_t t = 0; t < n_tokens; ++t) {
    const float* c = tables + t * 2 * n_rot;
    const float* s = c + n_rot;
    for (size_t h = 0; h < n_head; ++h) {
      float* xh = x + (t * n_head + h) * head_dim;
      if (neox) {
        RopeNeoxHead(xh, n_rot, c, s);
      } else {
        RopeNormalHead(xh, n_rot, c, s);
      }
    }
  }
}

}  // namespace qkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
