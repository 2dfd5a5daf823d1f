// qkit/quant/registry.hpp — the codecs by runtime Format: one table entry
// per QKIT_FORMATS line, generated from Codec<F> (no second list to keep in
// sync), and the public row / matrix API on top of it.
//
//   quantize_row(f, src, dst, n, imatrix)   weights -> blocks (bit-exact with ggml)
//   quantize_act_row_ref(f, src, dst, n)    activation rule (Q8_0/Q8_1/Q8_K, floats)
//   dequantize_row_ref(f, src, dst, n)      scalar reference dequantization
//   validate_row(f, data, nbytes)           throws naming the bad block
//   quantize(f, src, dst, rows, cols, imatrix, n_threads)   rows over threads
//   vec_dot_ref(f, x, y, n)                 reference dot with the pair format
//
// Every function checks its arguments (n a multiple of the block size, ...)
// and throws qkit::Error; the per-format code behind it assumes they hold.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "qkit/base/checked.hpp"
#include "qkit/base/error.hpp"
#include "qkit/quant/codec.hpp"
#include "qkit/quant/float.hpp"
#include "qkit/quant/format.hpp"
#include "qkit/quant/iq4.hpp"
#include "qkit/quant/k_quants.hpp"
#include "qkit/quant/legacy.hpp"
#include "qkit/quant/mxfp4.hpp"
#include "qkit/quant/ternary.hpp"
#include "qkit/quant/vec_dot_ref.hpp"

namespace qkit {

struct CodecFns {
  void (*quantize_row)(const float* x, void* dst, int64_t n, const float* imatrix);
  void (*quantize_act_row)(const float* x, void* dst, int64_t n);  // nullptr: not an activation format
  void (*dequantize_row)(const void* src, float* y, int64_t n);
  void (*validate_blocks)(const void* src, size_t n_blocks);
  double (*vec_dot)(const void* x, const void* y, int64_t n);
  bool has_quantizer;
};

namespace quant::detail {

template <typename C, typename = void>
struct HasActRow : std::false_type {};
template <typename C>
struct HasActRow<C, std::void_t<decltype(&C::quantize_act_row)>> : std::true_type {};

// Codec<F>::kHasQuantizer if declared, else true.
template <typename C, typename = void>
struct HasQuantizer : std::true_type {};
template <typename C>
struct HasQuantizer<C, std::void_t<decltype(C::kHasQuantizer)>> : std::bool_constant<C::kHasQuantizer> {};

// Formats whose Codec is not defined in this build get an empty entry, and
// the API reports "no codec" for them.
template <typename C, typename = void>
struct IsDefined : std::false_type {};
template <typename C>
struct IsDefined<C, std::void_t<decltype(sizeof(C))>> : std::true_type {};

template <Format F>
constexpr CodecFns make_codec_fns() {
  using C = Codec<F>;
  if constexpr (!IsDefined<C>::value) {
    return CodecFns{nullptr, nullptr, nullptr, nullptr, nullptr, false};
  } else {
  CodecFns fns{&C::quantize_row, nullptr, &C::dequantize_row, &C::validate_blocks, nullptr,
               HasQuantizer<C>::value};
  if constexpr (IsDefined<Codec<kFormatInfo[format_index(F)].pair>>::value) fns.vec_dot = &vec_dot_ref<F>;
  if constexpr (HasActRow<C>::value) fns.quantize_act_row = &C::quantize_act_row;
  return fns;
  }
}

}  // namespace quant::detail

inline constexpr CodecFns kCodecs[kFormatCount] = {
#define QKIT_X(E, id, name, bs, bb, pair) quant::detail::make_codec_fns<Format::E>(),
    QKIT_FORMATS(QKIT_X)
#undef QKIT_X
};

// True when this build has a codec for f (every format, once all family
// headers are in); the functions below throw for formats without one.
inline bool format_has_codec(Format f) { return kCodecs[format_index(format_info(f).format)].dequantize_row != nullptr; }

inline const CodecFns& codec_fns(Format f) {
  require(format_has_codec(f), "qkit has no codec for ", format_name(f), " in this build");
  return kCodecs[format_index(f)];
}

inline bool format_has_quantizer(Format f) { return format_has_codec(f) && codec_fns(f).has_quantizer; }
inline bool format_is_activation(Format f) { return format_has_codec(f) && codec_fns(f).quantize_act_row != nullptr; }

namespace quant::detail {
inline void check_row(const FormatInfo& fi, const char* what, const void* a, const void* b, int64_t n) {
  require(n >= 0, what, "(", fi.name, "): negative length ", n);
  require(n % fi.block_size == 0, what, "(", fi.name, "): row of ", n, " values is not a multiple of the block size ",
          fi.block_size);
  require(n == 0 || (a && b), what, "(", fi.name, "): null pointer");
}
}  // namespace quant::detail

inline void quantize_row(Format f, const float* src, void* dst, int64_t n, const float* imatrix = nullptr) {
  const FormatInfo& fi = format_info(f);
  quant::detail::check_row(fi, "quantize_row", src, dst, n);
  require(format_has_quantizer(f), "quantize_row: qkit has no quantizer for ", fi.name);
  codec_fns(f).quantize_row(src, dst, n, imatrix);
}

inline void quantize_act_row_ref(Format f, const float* src, void* dst, int64_t n) {
  const FormatInfo& fi = format_info(f);
  quant::detail::check_row(fi, "quantize_act_row_ref", src, dst, n);
  require(format_is_activation(f), "quantize_act_row_ref: ", fi.name, " is not an activation format");
  codec_fns(f).quantize_act_row(src, dst, n);
}

inline void dequantize_row_ref(Format f, const void* src, float* dst, int64_t n) {
  const FormatInfo& fi = format_info(f);
  quant::detail::check_row(fi, "dequantize_row_ref", src, dst, n);
  codec_fns(f).dequantize_row(src, dst, n);
}

inline void validate_row(Format f, const void* data, size_t nbytes) {
  const FormatInfo& fi = format_info(f);
  require(nbytes % fi.block_bytes == 0, "validate_row(", fi.name, "): ", nbytes,
          " bytes is not a whole number of ", fi.block_bytes, "-byte blocks");
  require(nbytes == 0 || data, "validate_row(", fi.name, "): null pointer");
  codec_fns(f).validate_blocks(data, nbytes / fi.block_bytes);
}

// Reference dot of a row of format f with a row of its pair format.
inline double vec_dot_ref(Format f, const void* x, const void* y, int64_t n) {
  const FormatInfo& fi = format_info(f);
  quant::detail::check_row(fi, "vec_dot_ref", x, y, n);
  require(n % format_info(fi.pair).block_size == 0, "vec_dot_ref(", fi.name, "): ", n,
          " is not a multiple of the pair format's block size");
  const auto fn = codec_fns(f).vec_dot;
  require(fn != nullptr, "vec_dot_ref(", fi.name, "): no codec for its pair format ", format_name(fi.pair));
  return fn(x, y, n);
}

// Quantizes a rows x cols matrix (row-major f32) into dst (rows * row_bytes
// bytes), splitting rows over n_threads std::threads; the output does not
// depend on n_threads. Returns the bytes written. An error in a row is
// rethrown naming the row.
inline size_t quantize(Format f, const float* src, void* dst, int64_t rows, int64_t cols,
                       const float* imatrix = nullptr, int n_threads = 1) {
  const FormatInfo& fi = format_info(f);
  require(rows >= 0 && cols >= 0, "quantize(", fi.name, "): negative shape ", rows, " x ", cols);
  require(n_threads >= 1, "quantize(", fi.name, "): n_threads must be >= 1, got ", n_threads);
  require(format_has_quantizer(f), "quantize: qkit has no quantizer for ", fi.name);
  const size_t rb = checked_size(row_bytes(f, static_cast<uint64_t>(cols)), "quantize row");
  const size_t total = checked_size(checked_mul(rb, static_cast<uint64_t>(rows), "quantize output"), "quantize output");
  checked_mul(static_cast<uint64_t>(rows), static_cast<uint64_t>(cols), "quantize input");
  if (rows == 0 || cols == 0) return total;
  require(src && dst, "quantize(", fi.name, "): null pointer");
  const auto fn = codec_fns(f).quantize_row;
  auto* out = static_cast<unsigned char*>(dst);

  std::exception_ptr first_error;
  int64_t first_row = -1;
  std::mutex mu;
  auto run = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      try {
        fn(src + r * cols, out + static_cast<size_t>(r) * rb, cols, imatrix);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_row < 0 || r < first_row) {
          first_row = r;
          first_error = std::current_exception();
        }
        return;
      }
    }
  };
  const int64_t nt = std::min<int64_t>(n_threads, rows);
  if (nt <= 1) {
    run(0, rows);
  } else {
    std::vector<std::thread> pool;
    pool.reserve(static_cast<size_t>(nt));
    for (int64_t t = 0; t < nt; ++t) pool.emplace_back(run, rows * t / nt, rows * (t + 1) / nt);
    for (auto& th : pool) th.join();
  }
  if (first_error) {
    try {
      std::rethrow_exception(first_error);
    } catch (const Error& e) {
      fail("quantize(", fi.name, ") row ", first_row, ": ", e.what());
    }
  }
  return total;
}

}  // namespace qkit
