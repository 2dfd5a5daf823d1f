// qkit/kernels/instantiate.hpp — compiles every kernel for every target and
// defines the dispatch tables. Included by tables.hpp (header-only default)
// or, with QKIT_KERNELS_EXTERN, by exactly one TU of the program.
#pragma once

#include "qkit/base/config.hpp"
#include "qkit/cpu/dispatch.hpp"
#include "qkit/kernels/entry_points.hpp"
#include "qkit/kernels/tables_fwd.hpp"

#include <utility>

#if defined(HIGHWAY_HWY_FOREACH_TARGET_H_)
#error "qkit kernels need this TU's Highway target pass; define QKIT_KERNELS_EXTERN here (see tables.hpp)"
#endif

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "qkit/kernels/all-inl.h"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "qkit/kernels/all-inl.h"

#if defined(QKIT_KERNELS_EXTERN)
#define QKIT_TABLE_LINKAGE extern
#else
#define QKIT_TABLE_LINKAGE inline
#endif

namespace qkit::kernels {

#define QKIT_X(name, Fn, Impl, Var)                                                   \
  QKIT_TABLE_LINKAGE const TargetTable<Fn> name##_table = QKIT_TARGET_TABLE(Impl);    \
  QKIT_TABLE_LINKAGE const TargetTable<VariantFn> name##_variant = QKIT_TARGET_TABLE(Var);
QKIT_ENTRY_POINTS(QKIT_X)
#undef QKIT_X

// One row per format, in QKIT_FORMATS order: Impl<Format> for every target.
#define QKIT_X(name, Fn, Impl, Var)                                                             \
  namespace detail {                                                                             \
  template <size_t... I>                                                                         \
  constexpr FormatTable<Fn> name##_make(std::index_sequence<I...>) {                             \
    return {{TargetTable<Fn>QKIT_TARGET_TABLE(Impl<kFormatAt<I>>)...}};                          \
  }                                                                                              \
  template <size_t... I>                                                                         \
  constexpr FormatTable<VariantFn> name##_make_variant(std::index_sequence<I...>) {              \
    return {{TargetTable<VariantFn>QKIT_TARGET_TABLE(Var<kFormatAt<I>>)...}};                    \
  }                                                                                              \
  }                                                                                              \
  QKIT_TABLE_LINKAGE const FormatTable<Fn> name##_table =                                        \
      detail::name##_make(std::make_index_sequence<kFormatCount>{});                             \
  QKIT_TABLE_LINKAGE const FormatTable<VariantFn> name##_variant =                               \
      detail::name##_make_variant(std::make_index_sequence<kFormatCount>{});
QKIT_FORMAT_ENTRY_POINTS(QKIT_X)
#undef QKIT_X

}  // namespace qkit::kernels
