// qkit/kernels/registry.hpp — the list of dispatched entry points with the
// variant each resolves to on the current target (for qkit-info, tests and
// benchmarks), generated from entry_points.hpp.
#pragma once

#include <string>
#include <vector>

#include "qkit/kernels/tables.hpp"

namespace qkit::kernels {

struct EntryPointInfo {
  std::string name;     // e.g. "dot_f32" or "gemv[q4_0]"
  std::string variant;  // e.g. "AVX3_DL" or "AVX3_DL+vnni"
};

// Every entry point (format-indexed ones once per format) and its current variant.
inline std::vector<EntryPointInfo> entry_points() {
  std::vector<EntryPointInfo> out;
  const size_t t = cpu::dispatch_index();
#define QKIT_X(entry, Fn, Impl, Var) out.push_back({#entry, entry##_variant[t]()});
  QKIT_ENTRY_POINTS(QKIT_X)
#undef QKIT_X
// (The macro parameter is `entry`, not `name`: it would replace FormatInfo::name.)
#define QKIT_X(entry, Fn, Impl, Var)                                                     \
  for (size_t f = 0; f < kFormatCount; ++f) {                                            \
    const char* v = entry##_variant[f][t]();                                             \
    if (v) out.push_back({std::string(#entry) + "[" + kFormatInfo[f].name + "]", v});    \
  }
  QKIT_FORMAT_ENTRY_POINTS(QKIT_X)
#undef QKIT_X
  return out;
}

}  // namespace qkit::kernels
