// tests/support/skip.hpp — an honest SKIP for Catch2 v2 (which has none).
//
// QKIT_SKIP(reason...) prints "SKIP: <reason>" and ends the test process with
// exit code 77, which ctest reports as skipped (SKIP_RETURN_CODE 77): a test
// that cannot run never counts as passed.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <sstream>

#define QKIT_SKIP(...)                                                \
  do {                                                                \
    std::ostringstream qkit_skip_os_;                                 \
    qkit_skip_os_ << __VA_ARGS__;                                     \
    std::printf("SKIP: %s\n", qkit_skip_os_.str().c_str());           \
    std::fflush(stdout);                                              \
    std::exit(77);                                                    \
  } while (0)
