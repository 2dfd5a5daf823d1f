// qkit/cpu/dispatch.hpp — the dispatch-table layout qkit uses with Highway
// 1.0.3 without linking libhwy.
//
// Highway's HWY_EXPORT/HWY_DYNAMIC_DISPATCH call hwy::GetChosenTarget(), which
// lives in libhwy. qkit builds the same table layout itself — slot 0 unused
// (Highway's lazy-init trampoline), one slot per dynamic target, the fallback
// last — and indexes it with a header-only hwy::ChosenTarget that
// qkit::cpu keeps (cpu::dispatch_index()). Tables are built once per entry
// point, not per inner loop; everything below an entry point is inlined for
// its target.
#pragma once

#include "qkit/cpu/targets.hpp"

namespace qkit::cpu {
inline constexpr size_t kTableSize = HWY_MAX_DYNAMIC_TARGETS + 2;
}  // namespace qkit::cpu

// Initializer of a dispatch table for per-target function FN (a name in
// qkit::<ns>::HWY_NAMESPACE, resolved from the enclosing namespace).
#define QKIT_TARGET_TABLE(FN) \
  { nullptr, HWY_CHOOSE_TARGET_LIST(FN), HWY_CHOOSE_FALLBACK(FN) }
