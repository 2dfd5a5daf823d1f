// qkit/cpu/features.hpp — what the CPU (and the OS) can run.
//
// x86: cpuid + xgetbv (the OS must save the ymm/zmm state for AVX/AVX-512 to
// count). aarch64: getauxval(AT_HWCAP/AT_HWCAP2) and the SVE vector length
// from prctl(PR_SVE_GET_VL). Detected once; cheap to call.
#pragma once

#include <cstdint>
#include <string>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#define QKIT_ARCH_X86 1
#include <cpuid.h>
#elif defined(__aarch64__)
#define QKIT_ARCH_ARM64 1
#include <sys/auxv.h>
#include <sys/prctl.h>
#endif

namespace qkit::cpu {

struct Features {
  // x86
  bool sse41 = false, sse42 = false, ssse3 = false, pclmul = false, aes = false;
  bool avx = false, avx2 = false, fma = false, f16c = false, bmi1 = false, bmi2 = false;
  bool lzcnt = false, movbe = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512cd = false;
  bool avx512vnni = false, avx512bf16 = false, avx512vbmi = false, avx512vbmi2 = false;
  bool avx512bitalg = false, avx512vpopcntdq = false, vpclmulqdq = false, vaes = false, gfni = false;
  bool avxvnni = false;
  // aarch64
  bool asimd = false, arm_aes = false, dotprod = false, i8mm = false, sve = false, sve2 = false;
  bool sve2_aes = false, arm_bf16 = false;
  unsigned sve_bits = 0;  // SVE vector length in bits, 0 without SVE

  std::string describe() const;
};

namespace detail {

#if defined(QKIT_ARCH_X86)
inline void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) { __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]); }

inline uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}
#endif

inline Features detect() {
  Features f;
#if defined(QKIT_ARCH_X86)
  unsigned r[4];
  cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  cpuid(1, 0, r);
  const unsigned c1 = r[2];
  auto bit = [](unsigned v, int b) { return ((v >> b) & 1u) != 0; };
  f.ssse3 = bit(c1, 9);
  f.fma = bit(c1, 12);
  f.sse41 = bit(c1, 19);
  f.sse42 = bit(c1, 20);
  f.movbe = bit(c1, 22);
  f.pclmul = bit(c1, 1);
  f.aes = bit(c1, 25);
  f.f16c = bit(c1, 29);
  const bool osxsave = bit(c1, 27);
  const uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  const bool os_ymm = (xcr0 & 0x6) == 0x6;     // SSE + AVX state
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;   // + opmask, ZMM_Hi256, Hi16_ZMM
  f.avx = bit(c1, 28) && os_ymm;
  f.fma = f.fma && f.avx;
  f.f16c = f.f16c && f.avx;
  cpuid(0x80000000u, 0, r);
  if (r[0] >= 0x80000001u) {
    cpuid(0x80000001u, 0, r);
    f.lzcnt = bit(r[2], 5);
  }
  if (max_leaf >= 7) {
    cpuid(7, 0, r);
    const unsigned b7 = r[1], c7 = r[2];
    f.bmi1 = bit(b7, 3);
    f.avx2 = bit(b7, 5) && f.avx;
    f.bmi2 = bit(b7, 8);
    f.avx512f = bit(b7, 16) && os_zmm;
    f.avx512dq = bit(b7, 17) && f.avx512f;
    f.avx512cd = bit(b7, 28) && f.avx512f;
    f.avx512bw = bit(b7, 30) && f.avx512f;
    f.avx512vl = bit(b7, 31) && f.avx512f;
    f.avx512vbmi = bit(c7, 1) && f.avx512f;
    f.avx512vbmi2 = bit(c7, 6) && f.avx512f;
    f.gfni = bit(c7, 8);
    f.vaes = bit(c7, 9) && f.avx;
    f.vpclmulqdq = bit(c7, 10) && f.avx;
    f.avx512vnni = bit(c7, 11) && f.avx512f;
    f.avx512bitalg = bit(c7, 12) && f.avx512f;
    f.avx512vpopcntdq = bit(c7, 14) && f.avx512f;
    if (r[0] >= 1) {
      cpuid(7, 1, r);
      f.avxvnni = bit(r[0], 4) && f.avx;
      f.avx512bf16 = bit(r[0], 5) && f.avx512f;
    }
  }
#elif defined(QKIT_ARCH_ARM64)
  const unsigned long hw = getauxval(AT_HWCAP);
  const unsigned long hw2 = getauxval(AT_HWCAP2);
  f.asimd = (hw & (1ul << 1)) != 0;     // HWCAP_ASIMD
  f.arm_aes = (hw & (1ul << 3)) != 0;   // HWCAP_AES
  f.dotprod = (hw & (1ul << 20)) != 0;  // HWCAP_ASIMDDP
  f.sve = (hw & (1ul << 22)) != 0;      // HWCAP_SVE
  f.sve2 = (hw2 & (1ul << 1)) != 0;     // HWCAP2_SVE2
  f.sve2_aes = (hw2 & (1ul << 2)) != 0; // HWCAP2_SVEAES
  f.i8mm = (hw2 & (1ul << 13)) != 0;    // HWCAP2_I8MM
  f.arm_bf16 = (hw2 & (1ul << 14)) != 0;  // HWCAP2_BF16
  if (f.sve) {
    const int vl = prctl(51 /* PR_SVE_GET_VL */);
    if (vl > 0) f.sve_bits = static_cast<unsigned>(vl & 0xffff) * 8;  // PR_SVE_VL_LEN_MASK, bytes
  }
#endif
  return f;
}

}  // namespace detail

// The features of the CPU this process runs on (detected once).
inline const Features& features() {
  static const Features f = detail::detect();
  return f;
}

inline std::string Features::describe() const {
  std::string s;
  auto add = [&s](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  add(sse41, "sse4.1");
  add(sse42, "sse4.2");
  add(avx, "avx");
  add(avx2, "avx2");
  add(fma, "fma");
  add(f16c, "f16c");
  add(avx512f, "avx512f");
  add(avx512bw, "avx512bw");
  add(avx512vl, "avx512vl");
  add(avx512dq, "avx512dq");
  add(avx512vnni, "avx512vnni");
  add(avx512bf16, "avx512bf16");
  add(avx512vbmi, "avx512vbmi");
  add(avx512vbmi2, "avx512vbmi2");
  add(avxvnni, "avxvnni");
  add(asimd, "asimd");
  add(dotprod, "dotprod");
  add(i8mm, "i8mm");
  add(arm_bf16, "bf16");
  add(sve, "sve");
  add(sve2, "sve2");
  if (sve_bits) s += " sve_bits=" + std::to_string(sve_bits);
  return s.empty() ? std::string("(none)") : s;
}

}  // namespace qkit::cpu
