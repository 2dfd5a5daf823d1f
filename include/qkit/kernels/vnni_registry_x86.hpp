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

#include "qkit/base/aligned.hpp"
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

// From this many activation columns on, GGUF rows of a format with an
// interleaved kernel are interleaved 16 at a time on the fly (see
// KernelPair::rows_as_groups); below it the rows kernels run.
inline constexpr int64_t kRowsAsGroupsMinColumns = 16;

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
    } else if (Interleaved != nullptr && a.act->n >= kRowsAsGroupsMinColumns) {
      rows_as_groups(a, r0, r1, c0, c1);
    } else {
      Rows(a, r0, r1, c0, c1);
    }
  }

  // A prompt on GGUF rows: each 16 rows are interleaved into a thread-local
  // group (interleave_rows) and the interleaved kernel runs on it. The rows
  // kernels tile one row against a few columns (Q4_0 / Q8_0 / IQ4_NL at
  // 15-18% of the int8 peak for N = 512, Q4_K / Q6_K 30-34%), the
  // interleaved ones sixteen rows (64-73%); a group costs one copy of its
  // rows per 64-column block. Row ranges start on multiples of 16 (the
  // thread split's grain), so every row lands in the same lane of the same
  // group whatever the thread count.
  static void rows_as_groups(const MatmulArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    static thread_local AlignedBuffer<uint8_t> group;
    const FormatInfo& fi = kFormatInfo[format_index(a.format)];
    const int64_t nb = a.cols / fi.block_size;
    const size_t group_bytes = static_cast<size_t>(nb) * fi.block_bytes * 16;
    group.ensure(group_bytes);
    for (int64_t r = r0; r < r1; r += 16) {
      const int valid = static_cast<int>(r1 - r < 16 ? r1 - r : 16);
      interleave_rows(a.format, a.w + static_cast<size_t>(r) * a.row_stride, a.row_stride, valid, nb, group.data());
      MatmulArgs g = a;
      g.w = group.data();
      g.layout = WeightLayout::kInterleaved16;
      g.rows = valid;
      g.row_stride = group_bytes;
      g.y = a.y + r;
      g.row_begin = 0;
      g.row_end = valid;
      Interleaved(g, 0, valid, c0, c1);
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
