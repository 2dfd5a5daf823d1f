// qkit/kernels/tables_fwd.hpp — the types of dispatch tables.
#pragma once

#include <array>
#include <cstddef>

#include "qkit/cpu/dispatch.hpp"
#include "qkit/quant/format.hpp"

namespace qkit::kernels {

// One slot per Highway dynamic target (see cpu/dispatch.hpp).
template <typename Fn>
using TargetTable = std::array<Fn, cpu::kTableSize>;

// One TargetTable per format, in QKIT_FORMATS order.
template <typename Fn>
using FormatTable = std::array<TargetTable<Fn>, kFormatCount>;

template <size_t I>
inline constexpr Format kFormatAt = kFormatInfo[I].format;

}  // namespace qkit::kernels
