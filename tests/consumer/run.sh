#!/usr/bin/env bash
# Install qkit from a build tree into a temporary prefix, then build and run a
# program against it two ways: CMake find_package(qkit) and pkg-config.
# Both compile with no -m flags; on a CPU with AVX-512 VNNI the program must
# run AVX3_DL code, and it must not link libhwy.
# usage: run.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
build=$1 src=$2 work=$3
rm -rf "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" > "$work.install.log" 2>&1 || { cat "$work.install.log"; exit 1; }
test -f "$prefix/share/cmake/qkit/qkitConfig.cmake"
test -f "$prefix/share/pkgconfig/qkit.pc"
test -f "$prefix/include/qkit/qkit.hpp"

expect_target() {  # the best target qkit can pick here, from the CPU flags
  if grep -q avx512vnni /proc/cpuinfo && grep -q avx512vbmi2 /proc/cpuinfo; then echo AVX3_DL; else echo ""; fi
}
check_program() {
  local exe=$1 out
  out=$("$exe")
  echo "$exe: $out"
  if ldd "$exe" | grep -q hwy; then echo "FAIL: $exe links libhwy"; exit 1; fi
  local want; want=$(expect_target)
  if [ -n "$want" ] && [[ "$out" != "target $want "* ]]; then echo "FAIL: expected target $want"; exit 1; fi
}

# 1. CMake package.
cmake -S "$src/tests/consumer/project" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$work/cmake-configure.log" 2>&1 || { cat "$work/cmake-configure.log"; exit 1; }
cmake --build "$work/cmake-build" > "$work/cmake-build.log" 2>&1 || { cat "$work/cmake-build.log"; exit 1; }
check_program "$work/cmake-build/consumer"

# 2. pkg-config, plain g++ -O2 with no -m flags.
export PKG_CONFIG_PATH="$prefix/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
flags=$(pkg-config --cflags --libs qkit)
case "$flags" in *-lhwy*) echo "FAIL: pkg-config asks to link libhwy: $flags"; exit 1;; esac
${CXX:-g++} -O2 "$src/tests/consumer/project/main.cpp" $flags -o "$work/pkgconfig-consumer"
check_program "$work/pkgconfig-consumer"
echo "consumer tests passed"
