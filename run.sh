#!/usr/bin/env bash
# Installs what is missing, builds qkit (Release) and runs the main program:
# qkit-phi on FILE with `./run.sh -m FILE [qkit-phi options]`, or on its
# built-in small random Phi-3-shaped model without -m. Until qkit-phi exists
# it prints qkit-info and this machine's limits.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh --run
cmake -S . -B build-run -DCMAKE_BUILD_TYPE=Release -DQKIT_BUILD_TESTS=OFF > build-run.configure.log 2>&1 ||
  { cat build-run.configure.log; exit 1; }
targets=(qkit-info bench_limits)
[ -d examples/phi ] && [ -f examples/phi/CMakeLists.txt ] && targets+=(qkit-phi)
for t in "${targets[@]}"; do
  cmake --build build-run --target "$t" -j "$(nproc)" > build-run.build.log 2>&1 ||
    { grep -m 20 -A8 error build-run.build.log; exit 1; }
done
if [ -x build-run/examples/phi/qkit-phi ]; then
  exec build-run/examples/phi/qkit-phi "$@"
fi
build-run/examples/info/qkit-info
build-run/bench/bench_limits
