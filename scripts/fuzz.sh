#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS]: builds the GGUF parser's libFuzzer target with
# clang (ASan + UBSan), generates the seed corpus (qkit-written files and
# the golden files from QKIT_GOLDEN_DIR, shrunk and truncated) and fuzzes
# for SECONDS (default 60). Exits non-zero on any finding; the input that
# triggered it is left in $BUILD/tests/fuzz/fuzz-work/artifacts/.
# Environment: QKIT_GOLDEN_DIR (default ../shared/golden),
# QKIT_FUZZ_BUILD_DIR (default build-fuzz), QKIT_JOBS.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-${QKIT_FUZZ_SECONDS:-60}}
build=${QKIT_FUZZ_BUILD_DIR:-$root/build-fuzz}
golden=${QKIT_GOLDEN_DIR:-$root/../shared/golden}
jobs=${QKIT_JOBS:-$(nproc)}

if ! command -v clang++ > /dev/null; then
  echo "fuzz.sh: clang++ not found (libFuzzer needs clang)" >&2
  exit 1
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DQKIT_FUZZ=ON -DQKIT_BUILD_TESTS=ON -DQKIT_BUILD_BENCHMARKS=OFF -DQKIT_BUILD_EXAMPLES=OFF \
  -DQKIT_GOLDEN_DIR="$golden" > "$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
cmake --build "$build" --target fuzz_gguf fuzz_gguf_seeds -j "$jobs" > "$build.build.log" 2>&1 ||
  { tail -50 "$build.build.log"; exit 1; }

echo "fuzzing the GGUF reader for $seconds s"
cmake -DFUZZER="$build/tests/fuzz/fuzz_gguf" -DSEEDER="$build/tests/fuzz/fuzz_gguf_seeds" \
  -DWORK="$build/tests/fuzz/fuzz-work" -DGOLDEN="$golden" -DREGRESSIONS="$root/tests/data/gguf" \
  -DSECONDS="$seconds" -P "$root/tests/fuzz/run_fuzz.cmake"
echo "fuzz.sh: no findings in $seconds s"
