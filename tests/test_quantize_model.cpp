// qkit-quantize's pipeline against the reference engine: quantizing the
// shared phi3-tiny F16 model must give the reference's own Q8_0, Q4_0 and
// Q4_K_M files' tensor types and bytes.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>

#include "quantize/quantize_model.hpp"
#include "support/golden.hpp"

using namespace qkit;

namespace {

std::string temp_path(const std::string& name) {
  return (std::getenv("TMPDIR") ? std::string(std::getenv("TMPDIR")) : std::string("/tmp")) + "/qkit-test-" +
         std::to_string(::getpid()) + "-" + name;
}

// Every tensor of `want` is in `got` with the same format, shape and bytes;
// and the metadata of `want` is in `got` with the same values.
void require_same_model(const gguf::File& got, const gguf::File& want) {
  REQUIRE(got.tensors().size() == want.tensors().size());
  size_t i = 0;
  for (const auto& w : want.tensors()) {
    INFO("tensor " << w.name);
    const gguf::TensorInfo* g = got.find_tensor(w.name);
    REQUIRE(g != nullptr);
    CHECK(g->name == got.tensors()[i++].name);  // the reference's tensor order
    REQUIRE(format_name(g->format) == std::string(format_name(w.format)));
    REQUIRE(g->ne == w.ne);
    REQUIRE(g->nbytes == w.nbytes);
    REQUIRE(std::memcmp(got.tensor_data(*g), want.tensor_data(w), w.nbytes) == 0);
  }
  for (const std::string& k : want.keys()) {
    INFO("key " << k);
    REQUIRE(got.has(k));
    REQUIRE(got.describe(k, 1u << 20) == want.describe(k, 1u << 20));
  }
}

void check_against_reference(const std::string& type, const std::string& reference_file) {
  const std::string src = test::golden_path("models/phi3-tiny-f16.gguf");
  const std::string ref = test::golden_path(reference_file);
  const std::string out = temp_path(type + ".gguf");
  // Each thread converts and quantizes its own rows: the bytes must not
  // depend on how many there are.
  for (int threads : {1, 3}) {
    INFO(threads << " threads");
    quantize_tool::Options opt;
    opt.target = quantize_tool::parse_target(type);
    opt.n_threads = threads;
    const auto report = quantize_tool::quantize_model(src, out, opt);
    CHECK(report.n_tensors == gguf::File::open(src).tensors().size());
    require_same_model(gguf::File::open(out), gguf::File::open(ref));
    std::remove(out.c_str());
  }
}

}  // namespace

TEST_CASE("quantize phi3-tiny F16 -> Q8_0 equals the reference's file", "[quantize][golden]") {
  check_against_reference("Q8_0", "models/phi3-tiny-Q8_0.gguf");
}

TEST_CASE("quantize phi3-tiny F16 -> Q4_0 equals the reference's file", "[quantize][golden]") {
  check_against_reference("Q4_0", "models/phi3-tiny-Q4_0.gguf");
}

TEST_CASE("quantize phi3-tiny F16 -> Q4_K_M: the reference's types per tensor and bytes", "[quantize][golden]") {
  check_against_reference("Q4_K_M", "models/phi3-tiny-Q4_K_M.gguf");
}

TEST_CASE("the Q4_K_M mix on phi4-tiny (GQA, tied embeddings) picks the reference's types", "[quantize][golden]") {
  const gguf::File src = gguf::File::open(test::golden_path("models/phi4-tiny-f16.gguf"));
  const gguf::File ref = gguf::File::open(test::golden_path("models/phi4-tiny-Q4_K_M.gguf"));
  quantize_tool::Options opt;
  opt.target = quantize_tool::parse_target("q4_k_m");
  for (const auto& p : quantize_tool::plan(src, opt)) {
    INFO("tensor " << p.info->name);
    REQUIRE(format_name(p.out) == std::string(format_name(ref.tensor(p.info->name).format)));
  }
}

TEST_CASE("mix rules: use_more_bits layers, output and fallbacks on Phi-3-mini shapes", "[quantize]") {
  // 32 layers, rows of 3072 (fit 256-blocks): the reference's Q4_K_M gives
  // ffn_down Q6_K in layers 0-3, 6, 9, ..., 28-31 and Q4_K elsewhere.
  quantize_tool::ModelShape shape;
  shape.n_layer = 32;
  shape.n_gqa = 1;
  shape.tied_output = false;
  shape.n_attention_v = 32;
  quantize_tool::TypeSelector sel(quantize_tool::parse_target("Q4_K_M"), shape, false);
  REQUIRE(sel.choose("output.weight", {3072, 32064}, Format::F16) == Format::Q6_K);
  REQUIRE(sel.choose("token_embd.weight", {3072, 32064}, Format::F16) == Format::Q4_K);
  REQUIRE(sel.choose("output_norm.weight", {3072}, Format::F32) == Format::F32);
  int q6 = 0;
  for (int l = 0; l < 32; ++l) {
    const Format f = sel.choose("blk." + std::to_string(l) + ".ffn_down.weight", {8192, 3072}, Format::F16);
    const bool more = l < 4 || l >= 28 || (l - 4) % 3 == 2;
    INFO("layer " << l);
    REQUIRE(f == (more ? Format::Q6_K : Format::Q4_K));
    q6 += f == Format::Q6_K;
  }
  REQUIRE(q6 == 16);
  // Rows of 96 fit no 256-block: Q4_K falls back to Q5_0; rows of 48 fit no
  // 32-block either: F16.
  quantize_tool::TypeSelector pure(quantize_tool::parse_target("q4_K"), shape, false);
  REQUIRE(pure.choose("blk.0.attn_output.weight", {96, 96}, Format::F16) == Format::Q5_0);
  REQUIRE(pure.choose("blk.0.attn_output.weight", {48, 48}, Format::F16) == Format::F16);
  quantize_tool::TypeSelector q8(quantize_tool::parse_target("Q8_0"), shape, false);
  REQUIRE_THROWS_AS(q8.choose("blk.0.attn_output.weight", {48, 48}, Format::F16), Error);
}

TEST_CASE("qkit-quantize refuses bad requests with clear errors", "[quantize]") {
  REQUIRE_THROWS_WITH(quantize_tool::parse_target("Q9_9"), Catch::Contains("unknown quantization type 'Q9_9'"));
  REQUIRE_THROWS_WITH(quantize_tool::parse_target("q8_K"), Catch::Contains("activation format"));
  const std::string src = test::golden_path("models/phi3-tiny-Q8_0.gguf");
  quantize_tool::Options opt;
  REQUIRE_THROWS_WITH(quantize_tool::quantize_model(src, src, opt), Catch::Contains("refusing to overwrite"));
}

TEST_CASE("requantizing a quantized model goes through f32 and keeps the reference's types", "[quantize][golden]") {
  const std::string src = test::golden_path("models/phi3-tiny-Q8_0.gguf");
  const std::string out = temp_path("requant.gguf");
  quantize_tool::Options opt;
  opt.target = quantize_tool::parse_target("Q4_0");
  const auto rep = quantize_tool::quantize_model(src, out, opt);
  CHECK(rep.n_requantized > 0);
  const gguf::File got = gguf::File::open(out);
  const gguf::File ref = gguf::File::open(test::golden_path("models/phi3-tiny-Q4_0.gguf"));
  for (const auto& t : ref.tensors()) REQUIRE(got.tensor(t.name).format == t.format);
  REQUIRE(got.get<uint32_t>("general.file_type") == 2u);
  std::remove(out.c_str());
}
