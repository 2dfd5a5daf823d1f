// Tensor views: shapes and strides, row access and slicing, dequantization
// through the views against the reference engine's golden vectors, the
// type-erased AnyTensor visit, owning storage, and views over GGUF files.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "qkit/gguf/view.hpp"
#include "qkit/tensor/owned.hpp"
#include "support/golden.hpp"

using namespace qkit;
using Catch::Matchers::Contains;

namespace {
uint64_t golden_row_bytes(uint32_t type, uint32_t n) {
  return row_bytes(format_from_gguf_type(type), n);
}
bool same_bits(const float* a, const float* b, size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }
}  // namespace

TEST_CASE("shapes count rows in GGUF order and reject bad dims", "[tensor]") {
  const Shape s{64, 3, 2};
  CHECK(s.n_dims() == 3);
  CHECK(s.cols() == 64);
  CHECK(s.rows() == 6);
  CHECK(s.ne(3) == 1);
  CHECK(s.n_elements() == 384);
  CHECK(s.str() == "[64, 3, 2]");
  CHECK(s == Shape{64, 3, 2, 1});
  CHECK_THROWS_WITH(Shape({1, 2, 3, 4, 5}), Contains("1 to 4 dims"));
  CHECK_THROWS_WITH(Shape({4, -2}), Contains("ne[1] = -2"));
  CHECK_THROWS_WITH(Shape({int64_t{1} << 40, int64_t{1} << 40}), Contains("overflow"));
  CHECK_THROWS_WITH(require_same_shape(Shape{4, 3}, Shape{4, 2}, "add"), Contains("[4, 3]") && Contains("[4, 2]"));
}

TEST_CASE("Tensor<T> rows, element access, strides, slices and reshape", "[tensor]") {
  std::vector<float> v(4 * 3 * 2);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  const Tensor<float> t(v.data(), Shape{4, 3, 2});
  CHECK(t.rows() == 6);
  CHECK(t.cols() == 4);
  CHECK(t.row_bytes() == 16);
  CHECK(t.is_contiguous());
  for (int64_t r = 0; r < 6; ++r) CHECK(t.row(r) == v.data() + r * 4);
  CHECK(t(1, 2, 1) == v[1 + 2 * 4 + 1 * 12]);
  t(0, 0, 0) = -1.f;
  CHECK(v[0] == -1.f);

  const Tensor<const float> c = t;  // read-only conversion
  const Tensor<const float> s = c.slice_rows(2, 3);
  CHECK(s.shape() == Shape{4, 3});
  CHECK(s.row(0) == v.data() + 8);
  CHECK(s.row(2) == v.data() + 16);
  CHECK_THROWS_WITH(c.slice_rows(4, 3), Contains("rows [4, 7) out of range") && Contains("[4, 3, 2]"));

  // A strided view: the left 2 columns of a 4 x 6 matrix.
  const Tensor<const float> left(v.data(), Shape{2, 6}, 16, 96, 96);
  CHECK(!left.is_contiguous());
  CHECK(left.row(3)[1] == v[3 * 4 + 1]);
  std::vector<float> packed(12);
  left.to_f32(packed.data());
  for (int r = 0; r < 6; ++r) {
    CHECK(packed[r * 2] == v[r * 4]);
    CHECK(packed[r * 2 + 1] == v[r * 4 + 1]);
  }
  CHECK_THROWS_WITH(left.reshape(Shape{12}), Contains("not contiguous"));
  CHECK_THROWS_WITH(c.reshape(Shape{5, 5}), Contains("[4, 3, 2]") && Contains("[5, 5]"));
  CHECK(c.reshape(Shape{8, 3}).row(1) == v.data() + 8);
  CHECK_THROWS_WITH(Tensor<const float>(v.data(), Shape{4, 2}, 8, 16, 16), Contains("shorter than a row"));
}

TEST_CASE("f16 and bf16 tensors convert with the bit-exact scalar conversions", "[tensor]") {
  std::vector<f16> h(65536);
  std::vector<bf16> b(65536);
  for (uint32_t i = 0; i < 65536; ++i) {
    h[i].bits = static_cast<uint16_t>(i);
    b[i].bits = static_cast<uint16_t>(i);
  }
  std::vector<float> out(65536);
  Tensor<const f16>(h.data(), Shape{256, 256}).to_f32(out.data());
  for (uint32_t i = 0; i < 65536; ++i) {
    const float want = f16_to_f32(static_cast<uint16_t>(i));
    REQUIRE(std::memcmp(&out[i], &want, 4) == 0);
  }
  Tensor<const bf16>(b.data(), Shape{256, 256}).to_f32(out.data());
  for (uint32_t i = 0; i < 65536; ++i) {
    const float want = bf16_to_f32(static_cast<uint16_t>(i));
    REQUIRE(std::memcmp(&out[i], &want, 4) == 0);
  }
}

TEST_CASE("QTensor and AnyTensor dequantize golden blocks exactly as the reference engine", "[tensor]") {
  std::set<Format> tested;
  for (const FormatInfo& fi : kFormatInfo) {
    if (!format_has_codec(fi.format)) continue;
    const std::string rel = std::string("quant/") + fi.name + ".qkgv";
    if (!test::file_exists(test::golden_dir() + "/" + rel)) continue;
    const test::Qkgv g = test::load_qkgv(test::golden_path(rel), golden_row_bytes);
    if (!g.has_dequant) continue;
    INFO(fi.name);
    const AnyTensor any(fi.format, static_cast<const void*>(g.quantized.data()),
                        Shape{static_cast<int64_t>(g.n_per_row), static_cast<int64_t>(g.n_rows)});
    CHECK(any.rows() == g.n_rows);
    CHECK(any.row_bytes() == golden_row_bytes(g.type, g.n_per_row));
    std::vector<float> out(g.dequant.size());
    any.to_f32(out.data());
    CHECK(same_bits(out.data(), g.dequant.data(), out.size()));

    // visit hands the concrete type: a QTensor<F> whose static format is
    // the runtime one, or a Tensor<const T> for the float formats.
    std::vector<float> out2(out.size(), NAN);
    const Format seen = any.visit([&](auto t) {
      t.to_f32(out2.data());
      using V = decltype(t);
      if constexpr (std::is_same<V, Tensor<const float>>::value) return Format::F32;
      else if constexpr (std::is_same<V, Tensor<const f16>>::value) return Format::F16;
      else if constexpr (std::is_same<V, Tensor<const bf16>>::value) return Format::BF16;
      else return V::kFormat;
    });
    CHECK(seen == fi.format);
    CHECK(same_bits(out2.data(), g.dequant.data(), out.size()));

    // visit_format: QTensor<F> for every format; slices address the same rows.
    any.visit_format([&](auto q) {
      CHECK(q.format() == fi.format);
      const auto s = q.slice_rows(5, 7);
      std::vector<float> row(g.n_per_row);
      s.dequantize_row(6, row.data());
      CHECK(same_bits(row.data(), g.dequant.data() + 11 * g.n_per_row, g.n_per_row));
    });
    tested.insert(fi.format);
  }
  if (tested.empty()) QKIT_SKIP("no golden quant vectors with dequantized output");
  CHECK(tested.count(Format::Q4_0) == 1);
  CHECK(tested.count(Format::Q8_0) == 1);
}

TEST_CASE("quantize_tensor reproduces the reference quantizer and ignores thread count", "[tensor]") {
  for (const char* name : {"q4_0", "q8_0", "q5_1", "iq4_nl"}) {
    const Format f = format_from_name(name);
    if (!format_has_quantizer(f)) continue;
    INFO(name);
    const test::Qkgv g = test::load_qkgv(test::golden_path(std::string("quant/") + name + ".qkgv"), golden_row_bytes);
    const Tensor<const float> in(g.input.data(), Shape{static_cast<int64_t>(g.n_per_row), static_cast<int64_t>(g.n_rows)});
    for (int threads : {1, 2, 3}) {
      const OwnedAnyTensor q = quantize_tensor(in, f, nullptr, threads);
      REQUIRE(q.nbytes() == g.quantized.size());
      CHECK(std::memcmp(q.data(), g.quantized.data(), q.nbytes()) == 0);
    }
    // A strided source (every other row) goes row by row.
    const Tensor<const float> odd(g.input.data() + g.n_per_row, Shape{static_cast<int64_t>(g.n_per_row), 11},
                                  2 * g.n_per_row * sizeof(float), 22 * g.n_per_row * sizeof(float),
                                  22 * g.n_per_row * sizeof(float));
    const OwnedAnyTensor q = quantize_tensor(odd, f);
    const size_t rb = q.view().row_bytes();
    for (int r = 0; r < 11; ++r) CHECK(std::memcmp(q.data() + r * rb, g.quantized.data() + (2 * r + 1) * rb, rb) == 0);
    const OwnedTensor<float> back = to_f32(q.view());
    CHECK(back.shape() == Shape{static_cast<int64_t>(g.n_per_row), 11});
  }
}

TEST_CASE("format and shape mismatches name both sides", "[tensor]") {
  std::vector<uint8_t> buf(18 * 4);
  const AnyTensor q(Format::Q4_0, static_cast<const void*>(buf.data()), Shape{64, 2});
  CHECK(q.nbytes() == buf.size());
  CHECK_THROWS_WITH(q.as<Format::Q8_0>(), Contains("expected format q8_0") && Contains("got q4_0") && Contains("[64, 2]"));
  CHECK_THROWS_WITH(q.as_dense<float>(), Contains("expected format f32"));
  CHECK(q.as<Format::Q4_0>().row(1) == buf.data() + 36);
  CHECK_THROWS_WITH(q.check_shape(Shape{64, 3}, "gemv weights"),
                    Contains("gemv weights") && Contains("[64, 2]") && Contains("[64, 3]"));
  CHECK_THROWS_WITH(AnyTensor(Format::Q4_0, static_cast<const void*>(buf.data()), Shape{48, 2}),
                    Contains("q4_0 tensor [48, 2]") && Contains("not a multiple of the block size 32"));
  CHECK_THROWS_WITH(QTensor<Format::Q4_K>(buf.data(), Shape{128}), Contains("q4_K tensor [128]"));
  CHECK_THROWS_WITH(q.mutable_data(), Contains("read-only"));
  const AnyTensor w(Format::Q4_0, static_cast<void*>(buf.data()), Shape{64, 2});
  CHECK(w.mutable_data() == buf.data());
  CHECK_THROWS_WITH(q.dequantize_row(2, nullptr), Contains("row 2 out of range"));
}

TEST_CASE("owned tensors are 64-byte aligned and hand out views", "[tensor]") {
  OwnedTensor<float> t(Shape{7, 5});
  CHECK(reinterpret_cast<uintptr_t>(t.data()) % 64 == 0);
  t.zero();
  t.view()(3, 2) = 2.5f;
  CHECK(t.row(2)[3] == 2.5f);
  const AnyTensor a = t.view();
  CHECK(a.format() == Format::F32);
  CHECK(a.writable());
  const AnyTensor ro = t.cview();
  CHECK(!ro.writable());
  OwnedAnyTensor q(Format::Q8_0, Shape{64, 3, 2});
  CHECK(q.nbytes() == 34 * 2 * 6);
  CHECK(reinterpret_cast<uintptr_t>(q.data()) % 64 == 0);
  CHECK(q.view().rows() == 6);
}

TEST_CASE("views over a GGUF file: requantizing the f16 model's rows gives the Q8_0 model's bytes", "[tensor][gguf]") {
  const gguf::File f16m = gguf::File::open(test::golden_path("models/phi3-tiny-f16.gguf"));
  const gguf::File q8m = gguf::File::open(test::golden_path("models/phi3-tiny-Q8_0.gguf"));
  int compared = 0;
  for (const gguf::TensorInfo& ti : q8m.tensors()) {
    if (ti.format != Format::Q8_0) continue;
    INFO(ti.name);
    const AnyTensor src = gguf::view(f16m, ti.name);
    const AnyTensor dst = gguf::view(q8m, ti);
    REQUIRE(src.shape() == dst.shape());
    CHECK(!dst.writable());
    std::vector<float> row(static_cast<size_t>(src.cols()));
    std::vector<uint8_t> q(dst.row_bytes());
    for (int64_t r = 0; r < src.rows(); r += 97) {
      src.dequantize_row(r, row.data());
      quantize_row(Format::Q8_0, row.data(), q.data(), src.cols());
      REQUIRE(std::memcmp(q.data(), dst.row(r), q.size()) == 0);
    }
    ++compared;
  }
  CHECK(compared >= 5);
  CHECK_THROWS_WITH(gguf::view(q8m, "nope.weight"), Contains("no tensor named 'nope.weight'"));
}
