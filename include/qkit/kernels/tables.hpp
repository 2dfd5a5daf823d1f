// qkit/kernels/tables.hpp — access to the dispatch tables of every entry
// point in entry_points.hpp.
//
// Two ways to build, both header-only:
//  * default: including any qkit kernel header compiles every kernel for
//    every target in this translation unit (tables are C++17 inline
//    variables, so any number of TUs may do it);
//  * QKIT_KERNELS_EXTERN defined everywhere: headers only declare the
//    tables, and exactly one TU of the program includes
//    "qkit/kernels/instantiate.hpp" to compile them once. qkit's own tests
//    and tools build this way to keep compile times down.
// A TU that runs its own Highway foreach_target pass cannot also compile
// qkit's kernels (one pass per TU): use QKIT_KERNELS_EXTERN there.
#pragma once

#include "qkit/cpu/dispatch.hpp"
#include "qkit/kernels/entry_points.hpp"
#include "qkit/kernels/tables_fwd.hpp"

#if defined(QKIT_KERNELS_EXTERN)
namespace qkit::kernels {
#define QKIT_X(name, Fn, Impl, Var)            \
  extern const TargetTable<Fn> name##_table;   \
  extern const TargetTable<VariantFn> name##_variant;
QKIT_ENTRY_POINTS(QKIT_X)
#undef QKIT_X
#define QKIT_X(name, Fn, Impl, Var)            \
  extern const FormatTable<Fn> name##_table;   \
  extern const FormatTable<VariantFn> name##_variant;
QKIT_FORMAT_ENTRY_POINTS(QKIT_X)
#undef QKIT_X
}  // namespace qkit::kernels
#else
#include "qkit/kernels/instantiate.hpp"
#endif

// The implementation of `name` for the current target.
#define QKIT_DISPATCH(name) (::qkit::kernels::name##_table[::qkit::cpu::dispatch_index()])
// ... and of a format-indexed entry point for format F.
#define QKIT_DISPATCH_FORMAT(name, F) \
  (::qkit::kernels::name##_table[::qkit::format_index(F)][::qkit::cpu::dispatch_index()])
