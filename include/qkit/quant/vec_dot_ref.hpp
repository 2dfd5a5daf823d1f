// qkit/quant/vec_dot_ref.hpp — a scalar reference for the dot product of a
// weight row (format F) with an activation row in F's pair format, as the
// reference engine's vec_dot computes it, but summed in double so it does
// not depend on summation order.
//
// Generic rule: dequantize both rows with their reference codecs and sum the
// products in double. For the integer formats paired with Q8_0 / Q8_K this
// equals the reference's integer block dot sum_b d_x*d_y*sum(q_x*q_y)
// exactly (every dequantized value is exact in float). Q4_1 and Q5_1 pair
// with Q8_1 and, as the reference does, take the min term from the stored
// s = d_y * sum(q_y) rather than from the quants, so they have their own
// block dot here. Kernel tests compare their results with this.
#pragma once

#include <cstdint>
#include <vector>

#include "qkit/quant/codec.hpp"
#include "qkit/quant/legacy.hpp"

namespace qkit::quant {

template <Format F>
double vec_dot_ref(const void* x, const void* y, int64_t n) {
  constexpr Format P = kFormatInfo[format_index(F)].pair;
  std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
  Codec<F>::dequantize_row(x, a.data(), n);
  Codec<P>::dequantize_row(y, b.data(), n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(a[static_cast<size_t>(i)]) * b[static_cast<size_t>(i)];
  return sum;
}

namespace detail {
// sum_b d_x*d_y*sum(q_x*q_y) + m_x*s_y for the formats with a min.
template <typename Block, typename QuantAt>
double vec_dot_affine_q8_1(const void* x, const void* y, int64_t n, QuantAt quant_at) {
  const auto* bx = static_cast<const Block*>(x);
  const auto* by = static_cast<const BlockQ8_1*>(y);
  double sum = 0;
  for (int64_t i = 0; i < n / 32; ++i) {
    int64_t sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += quant_at(bx[i], j) * by[i].qs[j];
    sum += static_cast<double>(half_to_float(bx[i].d)) * half_to_float(by[i].d) * static_cast<double>(sumi) +
           static_cast<double>(half_to_float(bx[i].m)) * half_to_float(by[i].s);
  }
  return sum;
}
}  // namespace detail

template <>
inline double vec_dot_ref<Format::Q4_1>(const void* x, const void* y, int64_t n) {
  return detail::vec_dot_affine_q8_1<BlockQ4_1>(x, y, n, [](const BlockQ4_1& b, int j) {
    return j < 16 ? (b.qs[j] & 0x0f) : (b.qs[j - 16] >> 4);
  });
}

template <>
inline double vec_dot_ref<Format::Q5_1>(const void* x, const void* y, int64_t n) {
  return detail::vec_dot_affine_q8_1<BlockQ5_1>(x, y, n, [](const BlockQ5_1& b, int j) {
    const int lo = j < 16 ? (b.qs[j] & 0x0f) : (b.qs[j - 16] >> 4);
    return lo | (q5_high_bit(b.qh, j) << 4);
  });
}

}  // namespace qkit::quant
