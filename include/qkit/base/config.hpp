// qkit/base/config.hpp — version and the Highway configuration every qkit
// translation unit must agree on.
//
// Highway's per-target code and qkit's dispatch tables are laid out from
// HWY_TARGETS, so these macros must be identical in every TU that includes
// qkit; include qkit (or this header) before any Highway header.
#pragma once

#define QKIT_VERSION_MAJOR 0
#define QKIT_VERSION_MINOR 1
#define QKIT_VERSION_PATCH 0
#define QKIT_VERSION_STRING "0.1.0"

#if defined(HWY_HIGHWAY_INCLUDED) && !defined(HWY_WANT_AVX3_DL)
#error "qkit: include qkit before Highway, or define HWY_WANT_AVX3_DL yourself"
#endif

// AVX3_DL (Ice Lake and later, Zen 4/5) carries VNNI and VBMI; Highway 1.0.3
// only compiles it on request. Requesting it also avoids 1.0.3's
// "-march=native best baseline" error.
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL
#endif

// SSSE3 adds compile time and no speed over the SSE4 path every x86-64 CPU
// from 2008 on has; the portable fallback covers anything older.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3)
#endif

#if defined(__GNUC__) || defined(__clang__)
#define QKIT_RESTRICT __restrict__
#define QKIT_LIKELY(x) __builtin_expect(!!(x), 1)
#define QKIT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define QKIT_RESTRICT
#define QKIT_LIKELY(x) (x)
#define QKIT_UNLIKELY(x) (x)
#endif

// Debug-only checks for programmer errors inside hot paths; public entry
// points validate their arguments once and throw qkit::Error instead.
#ifndef NDEBUG
#include <cassert>
#define QKIT_DASSERT(cond) assert(cond)
#else
#define QKIT_DASSERT(cond) ((void)0)
#endif
