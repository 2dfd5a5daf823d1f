// tests/support/targets.hpp — run a check on every target this CPU supports.
#pragma once

#include <catch2/catch.hpp>

#include "qkit/cpu/targets.hpp"

namespace qkit::test {

// Calls fn() once per supported target (best first, then the fallback) with
// that target forced; Catch's INFO names the target in any failure.
template <typename Fn>
void for_each_target(Fn&& fn) {
  for (int64_t t : cpu::supported_targets()) {
    cpu::ScopedTarget scope(t);
    INFO("target " << cpu::target_name(t));
    fn(t);
  }
}

}  // namespace qkit::test
