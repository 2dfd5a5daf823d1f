#!/usr/bin/env bash
# Keeps the README's API tour true: extracts the C++ block after the
# "<!-- tour" marker and compiles it against qkit's headers.
# usage: check_tour.sh SOURCE_DIR WORK_DIR [CXX]
set -euo pipefail
src=$1 work=$2 cxx=${3:-g++}
mkdir -p "$work"
awk '/<!-- tour/ {on=1; next} on && /^```cpp/ {grab=1; next} grab && /^```/ {exit} grab {print}' \
  "$src/README.md" > "$work/tour.cpp"
[ -s "$work/tour.cpp" ] || { echo "FAIL: no tour block in README.md"; exit 1; }
# Header-only mode, as a user would build it; -fsyntax-only keeps it cheap.
"$cxx" -std=c++17 -fsyntax-only -Wall -Wextra -Werror -include cstdio -include vector -I"$src/include" "$work/tour.cpp"
echo "README tour compiles ($(wc -l < "$work/tour.cpp") lines)"
