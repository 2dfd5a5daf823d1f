// qkit-info: what qkit sees on this machine — CPU features, the targets it
// can run, the chosen one (after QKIT_TARGETS), and for every dispatched
// entry point the variant it resolves to.
#include <cstdio>
#include <cstring>
#include <string>

#include "qkit/qkit.hpp"

int main(int argc, char** argv) {
  using namespace qkit;
  if (argc > 1 && (std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0)) {
    std::printf("usage: qkit-info\n  Prints CPU features, Highway targets and the kernel variant of every entry point.\n"
                "  QKIT_TARGETS=avx2 (or scalar, sve2_128, ..., -vnni, -bf16) forces a target.\n");
    return 0;
  }
  try {
    const cpu::Features& f = cpu::features();
    std::printf("qkit %s\n", QKIT_VERSION_STRING);
    std::printf("cpu features : %s\n", f.describe().c_str());
    std::string supported;
    for (int64_t t : cpu::supported_targets()) supported += std::string(supported.empty() ? "" : " ") + cpu::target_name(t);
    std::printf("targets      : %s\n", supported.c_str());
    std::string fast;
    const uint32_t fp = cpu::fast_path_mask();
    if (fp & cpu::kFastVnni) fast += " vnni";
    if (fp & cpu::kFastBf16) fast += " bf16";
    if (fp & cpu::kFastDotprod) fast += " dotprod";
    if (fp & cpu::kFastI8mm) fast += " i8mm";
    std::printf("chosen       : %s (fast paths:%s)\n", cpu::target_name(cpu::chosen_target()),
                fast.empty() ? " none" : fast.c_str());
    if (const char* env = std::getenv("QKIT_TARGETS")) std::printf("QKIT_TARGETS : %s\n", env);
    std::printf("entry points :\n");
    for (const auto& ep : kernels::entry_points()) std::printf("  %-28s %s\n", ep.name.c_str(), ep.variant.c_str());
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "qkit-info: %s\n", e.what());
    return 1;
  }
}
