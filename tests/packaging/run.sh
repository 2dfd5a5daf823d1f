#!/usr/bin/env bash
# Replays what the Conan recipe and the vcpkg port do (neither tool can be
# installed on qkit's machines): configure and install qkit with exactly the
# options both pass (packaging/install-options.txt), in the layout each
# produces, then build and run the Conan test_package against that prefix.
# usage: run.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1 work=$2
rm -rf "$work"
mkdir -p "$work"
mapfile -t opts < "$src/packaging/install-options.txt"

for tool in conan vcpkg; do
  prefix=$work/$tool/package
  extra=()
  # The port's one extra option (its config folder convention), as in portfile.cmake.
  [ $tool = vcpkg ] && extra=(-DQKIT_INSTALL_CMAKEDIR=share/qkit)
  cmake -S "$src" -B "$work/$tool/build" -DCMAKE_BUILD_TYPE=Release "${opts[@]}" "${extra[@]}" \
    -DCMAKE_INSTALL_PREFIX="$prefix" > "$work/$tool.configure.log" 2>&1 || { cat "$work/$tool.configure.log"; exit 1; }
  cmake --install "$work/$tool/build" > "$work/$tool.install.log" 2>&1 || { cat "$work/$tool.install.log"; exit 1; }
  # Where each tool puts the license: Conan licenses/, vcpkg share/qkit/copyright.
  if [ $tool = conan ]; then
    mkdir -p "$prefix/licenses" && cp "$src/LICENSE" "$prefix/licenses/"
    test -f "$prefix/share/cmake/qkit/qkitConfig.cmake"  # the recipe's builddirs
  else
    cp "$src/LICENSE" "$prefix/share/qkit/copyright"
    test -f "$prefix/share/qkit/qkitConfig.cmake"  # vcpkg_cmake_config_fixup's CONFIG_PATH
  fi
  # No tests, benchmarks or examples may be installed with these options.
  if [ -d "$prefix/bin" ]; then echo "FAIL: $tool install has binaries: $(ls "$prefix/bin")"; exit 1; fi
  cmake -S "$src/packaging/conan/test_package" -B "$work/$tool/test" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=Release > "$work/$tool.test.log" 2>&1 || { cat "$work/$tool.test.log"; exit 1; }
  cmake --build "$work/$tool/test" >> "$work/$tool.test.log" 2>&1 || { cat "$work/$tool.test.log"; exit 1; }
  echo -n "$tool layout: "
  "$work/$tool/test/test_package"
done
echo "packaging tests passed"
