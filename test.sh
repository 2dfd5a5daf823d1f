#!/usr/bin/env bash
# Runs all of qkit's tests on a fresh Debian 12 machine:
#   1. x86-64 Release build: every test on every x86 target this CPU supports,
#      the install-consumer tests (CMake package, pkg-config);
#   2. the same tests under ASan + UBSan;
#   3. an aarch64 cross build run under qemu on six emulated CPUs
#      (NEON, dotprod, SVE 512, SVE2 128, SVE 256, SVE2 512); whole-model
#      test cases ([model]) on one of them (tests/CMakeLists.txt);
#   4. clang 14 compiling the headers (all kernels, all targets);
#   5. a bounded libFuzzer run of the GGUF parser (scripts/fuzz.sh).
# Environment: QKIT_JOBS (default: nproc), QKIT_GOLDEN_DIR (default
# ../shared/golden), QKIT_FUZZ_SECONDS (default 60), QKIT_SKIP_ARM=1,
# QKIT_SKIP_SANITIZE=1 to leave parts out while iterating.
set -uo pipefail
cd "$(dirname "$0")"
root=$PWD
jobs=${QKIT_JOBS:-$(nproc)}
golden=${QKIT_GOLDEN_DIR:-$root/../shared/golden}

bash scripts/setup.sh || exit 1

summary=()
failed=0
failed_steps=()
passed_total=0 failed_total=0 skipped_total=0

# step NAME COMMAND... : runs a step, records its outcome.
step() {
  local name=$1; shift
  echo
  echo "=== $name"
  local t0=$SECONDS
  if "$@"; then
    summary+=("PASS  $name ($((SECONDS - t0)) s)")
  else
    summary+=("FAIL  $name ($((SECONDS - t0)) s)")
    failed_steps+=("$name")
    failed=1
  fi
}

# ctest_in DIR [ARGS...]: runs ctest and adds its counts to the totals.
ctest_in() {
  local dir=$1; shift
  local log; log=$(mktemp)
  (cd "$dir" && ctest --output-on-failure -j "$jobs" "$@") 2>&1 | tee "$log" | grep -vE "^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* +Passed|^ +Start +[0-9]+: "
  local rc=${PIPESTATUS[0]}
  local total fail skip
  total=$(sed -nE 's/.*tests? failed out of ([0-9]+).*/\1/p' "$log" | tail -1)
  fail=$(sed -nE 's/.*tests passed, ([0-9]+) tests? failed out of.*/\1/p' "$log" | tail -1)
  skip=$(grep -cE "\*\*\*Skipped|Not Run" "$log" || true)
  rm -f "$log"
  total=${total:-0} fail=${fail:-0}
  passed_total=$((passed_total + total - fail - skip))
  failed_total=$((failed_total + fail))
  skipped_total=$((skipped_total + skip))
  return "$rc"
}

configure_build() {  # DIR [cmake args...]
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -DQKIT_GOLDEN_DIR="$golden" "$@" > "$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j "$jobs" > "$dir.build.log" 2>&1 || { grep -m 20 -B2 -A8 "error" "$dir.build.log"; return 1; }
}

x86() {
  configure_build build -DCMAKE_BUILD_TYPE=Release && ctest_in build
}
sanitize() {
  # Consumer tests install the package; they add nothing under sanitizers.
  configure_build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQKIT_SANITIZE=ON \
    -DQKIT_BUILD_BENCHMARKS=OFF -DQKIT_BUILD_EXAMPLES=OFF &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest_in build-asan -LE consumer
}
arm() {
  configure_build build-arm -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/aarch64-linux-gnu.cmake" -DQKIT_BUILD_BENCHMARKS=OFF &&
    ctest_in build-arm -L arm
}
clang_headers() {
  # Header-only mode: one TU includes everything and compiles every kernel
  # for every x86 target with clang.
  mkdir -p build-clang
  echo '#include <qkit/qkit.hpp>
int main() { return qkit::kernels::entry_points().empty(); }' > build-clang/all.cpp
  clang++ -std=c++17 -O1 -Wall -Wextra -Werror -I"$root/include" build-clang/all.cpp -o build-clang/all -pthread &&
    build-clang/all
}
fuzz() {
  if [ -x scripts/fuzz.sh ]; then QKIT_GOLDEN_DIR="$golden" scripts/fuzz.sh "${QKIT_FUZZ_SECONDS:-60}"; else
    echo "SKIP: scripts/fuzz.sh not present"; fi
}

step "x86-64 tests (every supported target) + install-consumer" x86
[ "${QKIT_SKIP_SANITIZE:-0}" = 1 ] || step "ASan + UBSan tests" sanitize
[ "${QKIT_SKIP_ARM:-0}" = 1 ] || step "aarch64 tests under qemu (6 CPUs)" arm
step "clang 14 compiles all headers and kernels" clang_headers
step "GGUF parser fuzzing" fuzz

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
echo "qkit: $passed_total passed, $failed_total failed, $skipped_total skipped"
# A step can fail before any test runs (a build error): say so, or the
# counts above would read as a clean run.
for s in "${failed_steps[@]}"; do echo "qkit: step failed: $s"; done
exit $failed
