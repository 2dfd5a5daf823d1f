// qkit/kernels/vnni_registry_x86.hpp — the one list of formats that have an
// AVX-512 VNNI integer kernel, and which function runs each weight layout.
//
// matmul-inl.h asks only this list: a format with a line here runs its
// kernel on AVX3 / AVX3_DL targets when cpu::has_fast_path(kFastVnni) holds
// (activations quantized to the format's pair format); every other format,
// or the same format elsewhere, takes the generic paths.
//
// Adding a kernel: write it in its own vnni_<name>_x86.hpp with the
// signature
//     void f(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1)
// (rows [r0, r1) x activation columns [c0, c1) of Y; for interleaved weights
// r0 is a multiple of 16), include it below and add one line. A kernel for
// WeightLayout::kInterleaved16 also needs the format in
// act_layout.hpp's has_interleaved_layout / interleave_block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qkit/kernels/act_layout.hpp"
#include "qkit/quant/format.hpp"

#include "qkit/kernels/vnni_gemv_rows_x86.hpp"
#include "qkit/kernels/vnni_k2_x86.hpp"
#include "qkit/kernels/vnni_k_panel_x86.hpp"
#include "qkit/kernels/vnni_k_x86.hpp"
#include "qkit/kernels/vnni_legacy_x86.hpp"
#include "qkit/kernels/vnni_repack_k_x86.hpp"
#include "qkit/kernels/vnni_repack_x86.hpp"
#include "qkit/kernels/vnni_x86.hpp"

#if defined(QKIT_HAVE_VNNI_X86)

namespace qkit::kernels::vnni {

using KernelFn = void (*)(const MatmulArgs&, int64_t, int64_t, int64_t, int64_t);

// No VNNI kernel unless a line below says so.
template <Format F>
struct Kernel {
  static constexpr bool kExists = false;
};

// Rows: kernel for GGUF row layout. Interleaved: kernel for kInterleaved16,
// or nullptr where the format has none (repack.hpp then keeps rows).
template <KernelFn Rows, KernelFn Interleaved>
struct KernelPair {
  static constexpr bool kExists = true;
  // (a run-time test: GCC under -fsanitize does not fold a template
  // pointer's comparison with nullptr in a constant expression)
  static bool has_interleaved() { return Interleaved != nullptr; }
  static void run(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    if (Interleaved != nullptr && a.layout == WeightLayout::kInterleaved16) {
      Interleaved(a, r0, r1, c0, c1);
    } else {
      Rows(a, r0, r1, c0, c1);
    }
  }
};

// clang-format off
template <> struct Kernel<Format::Q8_0>   : KernelPair<rows_gemv_q8_0_act<kKindQ8_0>, interleaved_q8_0_act<kKindQ8_0>> {};
template <> struct Kernel<Format::Q4_0>   : KernelPair<rows_gemv_q8_0_act<kKindQ4_0>, interleaved_q8_0_act<kKindQ4_0>> {};
template <> struct Kernel<Format::IQ4_NL> : KernelPair<rows_gemv_q8_0_act<kKindIQ4NL>,interleaved_q8_0_act<kKindIQ4NL>> {};
template <> struct Kernel<Format::Q4_K>   : KernelPair<rows_k<DecQ4K>,             interleaved_q4_k> {};
template <> struct Kernel<Format::Q6_K>   : KernelPair<rows_k<DecQ6K>,             interleaved_q6_k> {};
template <> struct Kernel<Format::Q5_K>   : KernelPair<rows_k_panel<DecQ5K>,       nullptr> {};
template <> struct Kernel<Format::Q3_K>   : KernelPair<rows_k_panel<DecQ3K>,       nullptr> {};
template <> struct Kernel<Format::Q2_K>   : KernelPair<rows_k_panel<DecQ2K>,       nullptr> {};
template <> struct Kernel<Format::TQ2_0>  : KernelPair<rows_k_panel<DecTQ2>,       nullptr> {};
template <> struct Kernel<Format::TQ1_0>  : KernelPair<rows_k_panel<DecTQ1>,       nullptr> {};
template <> struct Kernel<Format::Q4_1>   : KernelPair<rows_legacy<Format::Q4_1>,  nullptr> {};
template <> struct Kernel<Format::Q5_0>   : KernelPair<rows_legacy<Format::Q5_0>,  nullptr> {};
template <> struct Kernel<Format::Q5_1>   : KernelPair<rows_legacy<Format::Q5_1>,  nullptr> {};
template <> struct Kernel<Format::MXFP4>  : KernelPair<rows_legacy<Format::MXFP4>, nullptr> {};
template <> struct Kernel<Format::IQ4_XS> : KernelPair<rows_legacy<Format::IQ4_XS>, nullptr> {};
// clang-format on

}  // namespace qkit::kernels::vnni

#endif  // QKIT_HAVE_VNNI_X86
