#!/usr/bin/env bash
# Installs the Debian packages qkit's build, tests and examples need, only
# those missing (so a prepared machine starts at once). Needs root or sudo
# when something is missing; runs `apt-get update` once, first.
#   scripts/setup.sh            everything (tests: Arm cross, qemu, clang, fuzzing)
#   scripts/setup.sh --run      only what ./run.sh needs
set -euo pipefail

run_pkgs=(cmake make g++ pkg-config libhwy-dev libbenchmark-dev)
test_pkgs=(catch2 clang libclang-rt-14-dev g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)

pkgs=("${run_pkgs[@]}")
[ "${1:-}" = "--run" ] || pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "qkit setup: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "qkit setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" > /tmp/qkit-apt.log 2>&1 || {
  tail -20 /tmp/qkit-apt.log >&2
  exit 1
}
