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
#define QKIT_X(name, Fn, Impl, Var) out.push_back({#name, name##_variant[t]()});
  QKIT_ENTRY_POINTS(QKIT_X)
#undef QKIT_X
#define QKIT_X(name, Fn, Impl, Var)                                                      \
  for (size_t f = 0; f < kFormatCount; ++f) {                                            \
    const char* v = name##_variant[f][t]();                                              \
    if (v) out.push_back({std::string(#name) + "[" + kFormatInfo[f].name + "]", v});     \
  }
  QKIT_FORMAT_ENTRY_POINTS(QKIT_X)
#undef QKIT_X
  return out;
}

}  // namespace qkit::kernels
