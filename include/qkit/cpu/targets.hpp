// qkit/cpu/targets.hpp — which Highway target qkit's kernels run on, and how
// tests, benchmarks and users force another one.
//
// The *target mask* holds Highway target bits (HWY_AVX3_DL, HWY_NEON, ...):
// detected from cpu::features() once, then narrowed by the environment
// variable QKIT_TARGETS or by set_target_mask(). The best target in the mask
// runs. The *fast-path mask* holds qkit's own bits for raw instructions a
// Highway target does not imply (AVX-512 VNNI and BF16 inside AVX3_DL, sdot
// and smmla inside NEON/SVE); kernels test them at their entry point.
//
// QKIT_TARGETS: comma-separated target names, best one wins among those the
// CPU supports, e.g. "avx2", "scalar", "sve2_128"; "-vnni", "-bf16",
// "-dotprod", "-i8mm" switch a fast path off. A target the CPU cannot run is
// an error (qkit::Error on first use), never a silent fallback.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "qkit/base/config.hpp"
#include "qkit/base/error.hpp"
#include "qkit/cpu/features.hpp"
#include "hwy/targets.h"

namespace qkit::cpu {

// Raw-instruction fast paths, tested by kernels on top of the Highway target.
enum FastPath : uint32_t {
  kFastVnni = 1u << 0,     // AVX-512 VNNI vpdpbusd (AVX3/AVX3_DL)
  kFastBf16 = 1u << 1,     // AVX-512 BF16 vdpbf16ps
  kFastDotprod = 1u << 2,  // Arm sdot/udot
  kFastI8mm = 1u << 3,     // Arm smmla
  kFastAll = 0xffu,
};

// The fallback that is always compiled in: SCALAR or EMU128 on x86 (per
// compiler), NEON on aarch64 (the baseline there).
inline constexpr int64_t kFallbackTarget = HWY_STATIC_TARGET;

// The Highway target bits this CPU can run (and that qkit compiles).
inline int64_t detected_targets() {
  const Features& f = features();
  int64_t m = kFallbackTarget;
#if defined(QKIT_ARCH_X86)
  const bool sse4 = f.ssse3 && f.sse41 && f.sse42 && f.pclmul && f.aes;
  const bool avx2 = sse4 && f.avx && f.avx2 && f.fma && f.f16c && f.bmi1 && f.bmi2 && f.lzcnt && f.movbe;
  const bool avx3 = avx2 && f.avx512f && f.avx512vl && f.avx512dq && f.avx512bw;
  const bool avx3_dl = avx3 && f.avx512vnni && f.vpclmulqdq && f.avx512vbmi && f.avx512vbmi2 && f.vaes &&
                       f.avx512vpopcntdq && f.avx512bitalg;
  if (sse4) m |= HWY_SSE4;
  if (avx2) m |= HWY_AVX2;
  if (avx3) m |= HWY_AVX3;
  if (avx3_dl) m |= HWY_AVX3_DL;
#elif defined(QKIT_ARCH_ARM64)
  // Highway compiles SVE2 with +sve2-aes and non-static NEON with +crypto.
  if (f.asimd && f.arm_aes) m |= HWY_NEON;
  if (f.sve) m |= HWY_SVE;
  if (f.sve && f.sve2 && f.sve2_aes) m |= HWY_SVE2;
  if (f.sve && f.sve_bits == 256) m |= HWY_SVE_256;
  if (f.sve && f.sve2 && f.sve2_aes && f.sve_bits == 128) m |= HWY_SVE2_128;
#endif
  return m & (HWY_TARGETS | kFallbackTarget);
}

inline uint32_t detected_fast_paths() {
  const Features& f = features();
  uint32_t m = 0;
  if (f.avx512vnni) m |= kFastVnni;
  if (f.avx512bf16) m |= kFastBf16;
  if (f.dotprod) m |= kFastDotprod;
  if (f.i8mm) m |= kFastI8mm;
  return m;
}

// Upper-case Highway name of one target bit ("AVX3_DL", "SVE2_128").
inline const char* target_name(int64_t target) { return hwy::TargetName(target); }

// One target by name, case-insensitive; 0 when unknown. "scalar", "emu128"
// and "fallback" all mean the compiled-in fallback.
inline int64_t target_from_name(const std::string& name) {
  std::string n;
  for (char c : name) n += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  if (n == "SCALAR" || n == "EMU128" || n == "FALLBACK") return kFallbackTarget;
  for (int64_t t = HWY_TARGETS | kFallbackTarget; t != 0; t &= t - 1) {
    const int64_t bit = t & -t;
    if (n == target_name(bit)) return bit;
  }
  return 0;
}

inline uint32_t fast_path_from_name(const std::string& name) {
  if (name == "vnni") return kFastVnni;
  if (name == "bf16") return kFastBf16;
  if (name == "dotprod") return kFastDotprod;
  if (name == "i8mm") return kFastI8mm;
  return 0;
}

struct Selection {
  int64_t targets;
  uint32_t fast_paths;
};

// Parses a QKIT_TARGETS-style list against what the CPU supports.
inline Selection parse_selection(const std::string& spec) {
  Selection sel{0, detected_fast_paths()};
  const int64_t supported = detected_targets();
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t end = spec.find(',', pos);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) continue;
    if (item[0] == '-') {
      const uint32_t fp = fast_path_from_name(item.substr(1));
      require(fp != 0, "QKIT_TARGETS: unknown fast path '", item.substr(1), "' (known: vnni, bf16, dotprod, i8mm)");
      sel.fast_paths &= ~fp;
      continue;
    }
    const int64_t t = target_from_name(item);
    require(t != 0, "QKIT_TARGETS: unknown target '", item, "'");
    require((supported & t) != 0, "QKIT_TARGETS: target ", target_name(t), " is not supported by this CPU");
    sel.targets |= t;
  }
  if (sel.targets == 0) sel.targets = supported;  // only fast paths were named
  return sel;
}

namespace detail {

struct State {
  hwy::ChosenTarget chosen;  // Highway's table index logic (header code only)
  std::atomic<int64_t> targets{0};
  std::atomic<uint32_t> fast_paths{0};

  State() {
    Selection sel{detected_targets(), detected_fast_paths()};
    if (const char* env = std::getenv("QKIT_TARGETS")) sel = parse_selection(env);
    apply(sel);
  }
  void apply(const Selection& sel) {
    targets.store(sel.targets);
    fast_paths.store(sel.fast_paths & detected_fast_paths());
    chosen.Update(sel.targets);
  }
};

inline State& state() {
  static State s;
  return s;
}

}  // namespace detail

// The targets kernels may use now.
inline int64_t target_mask() { return detail::state().targets.load(std::memory_order_relaxed); }
inline uint32_t fast_path_mask() { return detail::state().fast_paths.load(std::memory_order_relaxed); }
inline bool has_fast_path(uint32_t fp) { return (fast_path_mask() & fp) == fp; }

// Restricts kernels to `targets` (Highway bits) and `fast_paths`; 0 targets
// restores the detected set. Throws for targets the CPU cannot run. Not meant
// to race with running kernels: set it between calls (tests, benchmarks).
inline void set_target_mask(int64_t targets, uint32_t fast_paths = kFastAll) {
  const int64_t supported = detected_targets();
  if (targets == 0) targets = supported;
  for (int64_t t = targets; t != 0; t &= t - 1) {
    const int64_t bit = t & -t;
    require((supported & bit) != 0, "set_target_mask: target ", target_name(bit),
            " is not supported by this CPU (supported: ", [&] {
              std::string s;
              for (int64_t u = supported; u != 0; u &= u - 1) s += std::string(s.empty() ? "" : " ") + target_name(u & -u);
              return s;
            }(), ")");
  }
  detail::state().apply(Selection{targets, fast_paths});
}

// Best target in the current mask: the one kernels run.
inline int64_t chosen_target() {
  const int64_t m = target_mask();
  // Highway orders better targets at lower bits, except the fallback, which
  // may sit anywhere (SCALAR is the top bit); prefer any non-fallback bit.
  const int64_t non_fallback = m & ~kFallbackTarget;
  return non_fallback ? (non_fallback & -non_fallback) : kFallbackTarget;
}

// Index into a dispatch table built with QKIT_TARGET_TABLE.
inline size_t dispatch_index() { return detail::state().chosen.GetIndex(); }

// Every target this CPU supports, best first (for tests and benchmarks).
inline std::vector<int64_t> supported_targets() {
  std::vector<int64_t> out;
  const int64_t s = detected_targets();
  for (int64_t t = s & ~kFallbackTarget; t != 0; t &= t - 1) out.push_back(t & -t);
  out.push_back(kFallbackTarget);
  return out;
}

// Runs a scope with a forced target and restores the previous selection.
class ScopedTarget {
 public:
  explicit ScopedTarget(int64_t target, uint32_t fast_paths = kFastAll)
      : saved_{target_mask(), fast_path_mask()} {
    set_target_mask(target, fast_paths);
  }
  ~ScopedTarget() { detail::state().apply(saved_); }
  ScopedTarget(const ScopedTarget&) = delete;
  ScopedTarget& operator=(const ScopedTarget&) = delete;

 private:
  Selection saved_;
};

}  // namespace qkit::cpu
