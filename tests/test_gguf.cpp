// GGUF reader and writer: the real files from the reference engine, a
// writer -> reader round trip, and a table of hostile files, each of which
// must raise qkit::Error with a message that names the problem and where.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "qkit/gguf/reader.hpp"
#include "qkit/gguf/writer.hpp"
#include "support/golden.hpp"

using namespace qkit;
using namespace qkit::gguf;
using Catch::Matchers::Contains;

namespace {

// Builds GGUF bytes field by field, so hostile files can say exactly what
// they break.
struct Bytes {
  std::vector<uint8_t> b;
  template <typename T>
  Bytes& put(T v) {
    const size_t at = b.size();
    b.resize(at + sizeof(T));
    std::memcpy(b.data() + at, &v, sizeof(T));
    return *this;
  }
  Bytes& str(const std::string& s) {
    put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return put<uint32_t>(kMagic).put<uint32_t>(version).put<uint64_t>(n_tensors).put<uint64_t>(n_kv);
  }
  Bytes& kv_u32(const std::string& k, uint32_t v) { return str(k).put<uint32_t>(4).put<uint32_t>(v); }
  Bytes& tensor(const std::string& name, std::vector<int64_t> ne, uint32_t type, uint64_t offset) {
    str(name).put<uint32_t>(static_cast<uint32_t>(ne.size()));
    for (int64_t d : ne) put<int64_t>(d);
    return put<uint32_t>(type).put<uint64_t>(offset);
  }
  Bytes& pad_to(size_t align) {
    while (b.size() % align) b.push_back(0);
    return *this;
  }
  Bytes& zeros(size_t n) {
    b.resize(b.size() + n, 0);
    return *this;
  }
};

File parse(const std::vector<uint8_t>& b) { return File::from_memory(b.data(), b.size()); }

// A small valid file with every value type, a nested array and two tensors.
Writer small_writer(std::vector<uint8_t>& t0, std::vector<uint8_t>& t1) {
  Writer w;
  w.set("general.architecture", "test");
  w.set("u8", uint8_t{200});
  w.set("i8", int8_t{-100});
  w.set("u16", uint16_t{60000});
  w.set("i16", int16_t{-30000});
  w.set("u32", uint32_t{4000000000u});
  w.set("i32", int32_t{-2000000000});
  w.set("f32", 1.5f);
  w.set("b", true);
  w.set("s", std::string("hello"));
  w.set("u64", uint64_t{1} << 40);
  w.set("i64", -(int64_t{1} << 40));
  w.set("f64", 0.1);
  w.set("a_str", std::vector<std::string>{"a", "", "ccc"});
  w.set("a_f32", std::vector<float>{1.f, -2.f, 3.5f});
  w.set("a_i32", std::vector<int32_t>{-1, 2, 3});
  w.set("a_bool", std::vector<bool>{true, false, true});
  // [[1, 2], [3]] of uint16, encoded by hand.
  Bytes nested;
  nested.put<uint32_t>(9).put<uint64_t>(2);
  nested.put<uint32_t>(2).put<uint64_t>(2).put<uint16_t>(1).put<uint16_t>(2);
  nested.put<uint32_t>(2).put<uint64_t>(1).put<uint16_t>(3);
  w.set_raw("nested", ValueType::ARRAY, nested.b.data(), nested.b.size());
  t0.resize(2 * 18 * 3);
  t1.resize(8 * 4);
  for (size_t i = 0; i < t0.size(); ++i) t0[i] = static_cast<uint8_t>(i * 7 + 1);
  for (size_t i = 0; i < t1.size(); ++i) t1[i] = static_cast<uint8_t>(255 - i);
  w.add_tensor("w.q4", Format::Q4_0, {64, 3}, t0.data());
  w.add_tensor("v.f32", Format::F32, {8}, t1.data());
  return w;
}

std::vector<uint8_t> small_file() {
  std::vector<uint8_t> t0, t1;
  return small_writer(t0, t1).write_to_memory();
}

}  // namespace

TEST_CASE("reads every golden model and vocab file, and rewrites each byte for byte", "[gguf]") {
  const std::vector<std::string> names = {
      "models/phi3-tiny-f16.gguf",    "models/phi3-tiny-Q8_0.gguf",   "models/phi3-tiny-Q4_0.gguf",
      "models/phi3-tiny-Q4_K_M.gguf", "models/phi4-tiny-f16.gguf",    "models/phi4-tiny-Q4_K_M.gguf",
      "models/phi2-tiny-Q8_0.gguf",   "vocab/ggml-vocab-phi-3.gguf", "vocab/ggml-vocab-gpt-2.gguf"};
  for (const std::string& name : names) {
    const std::string path = test::golden_path(name);
    INFO(path);
    const File f = File::open(path);
    CHECK(f.version() == 3);
    const std::string arch = f.get<std::string>("general.architecture");
    const auto tokens = f.get_array<std::string>("tokenizer.ggml.tokens");
    REQUIRE(!tokens.empty());
    if (f.has("tokenizer.ggml.scores")) CHECK(f.get_array<float>("tokenizer.ggml.scores").size() == tokens.size());
    if (f.has("tokenizer.ggml.token_type")) {
      CHECK(f.get_array<int32_t>("tokenizer.ggml.token_type").size() == tokens.size());
    }
    if (name.rfind("models/", 0) == 0) {
      REQUIRE(!f.tensors().empty());
      // The embedding's row count is the vocabulary the metadata lists.
      const TensorInfo& embd = f.tensor("token_embd.weight");
      CHECK(embd.ne.size() == 2);
      CHECK(static_cast<size_t>(embd.ne[1]) == tokens.size());
      CHECK(static_cast<int64_t>(f.get<uint32_t>(arch + ".embedding_length")) == embd.ne[0]);
      // Every block's norm is present.
      const uint32_t n_layer = f.get<uint32_t>(arch + ".block_count");
      for (uint32_t l = 0; l < n_layer; ++l) CHECK(f.find_tensor("blk." + std::to_string(l) + ".attn_norm.weight"));
      for (const TensorInfo& t : f.tensors()) {
        CHECK(t.offset % f.alignment() == 0);
        CHECK(f.data_offset() + t.offset + t.nbytes <= f.file_size());
        CHECK(t.nbytes == t.rows() * row_bytes(t.format, static_cast<uint64_t>(t.cols())));
      }
    }
    // Copy every key and tensor through the writer: the reference engine's
    // layout is reproduced exactly.
    Writer w;
    w.copy_all_from(f);
    for (const TensorInfo& t : f.tensors()) w.add_tensor(t.name, t.format, t.ne, f.tensor_data(t));
    const std::vector<uint8_t> again = w.write_to_memory();
    REQUIRE(again.size() == f.file_size());
    CHECK(std::memcmp(again.data(), f.data(), again.size()) == 0);
  }
}

TEST_CASE("typed getters convert losslessly and name key and types on mismatch", "[gguf]") {
  const std::vector<uint8_t> bytes = small_file();
  const File f = parse(bytes);
  CHECK(f.get<uint8_t>("u8") == 200);
  CHECK(f.get<int32_t>("u8") == 200);      // widening
  CHECK(f.get<uint64_t>("u32") == 4000000000u);
  CHECK(f.get<int64_t>("i32") == -2000000000);
  CHECK(f.get<int32_t>("u16") == 60000);
  CHECK(f.get<float>("f32") == 1.5f);
  CHECK(f.get<double>("f32") == 1.5);
  CHECK(f.get<double>("f64") == 0.1);
  CHECK(f.get<bool>("b"));
  CHECK(f.get<std::string>("s") == "hello");
  CHECK(f.get_or<uint32_t>("missing", 7u) == 7u);
  CHECK(f.type("nested") == ValueType::ARRAY);
  CHECK(f.array_type("nested") == ValueType::ARRAY);
  CHECK(f.describe("nested") == "[[1, 2], [3]]");
  CHECK(f.describe("a_str") == "[\"a\", \"\", \"ccc\"]");

  CHECK_THROWS_WITH(f.get<int32_t>("u32"), Contains("'u32'") && Contains("4000000000") && Contains("int32"));
  CHECK_THROWS_WITH(f.get<uint32_t>("i8"), Contains("-100") && Contains("uint32"));
  CHECK_THROWS_WITH(f.get<uint32_t>("s"), Contains("key 's'") && Contains("wanted uint32") && Contains("stored as string"));
  CHECK_THROWS_WITH(f.get<float>("f64"), Contains("wanted float32") && Contains("stored as float64"));
  CHECK_THROWS_WITH(f.get<bool>("u8"), Contains("wanted bool") && Contains("stored as uint8"));
  CHECK_THROWS_WITH(f.get<std::string>("a_str"), Contains("stored as array of string"));
  CHECK_THROWS_WITH(f.get_array<float>("a_str"), Contains("wanted array of float32") && Contains("array of string"));
  CHECK_THROWS_WITH(f.get_array<int32_t>("nested"), Contains("array of array"));
  CHECK_THROWS_WITH(f.get<int>("nope"), Contains("key 'nope' not found"));
  CHECK_THROWS_WITH(f.type("nope"), Contains("'nope'"));
  CHECK_THROWS_WITH(f.get_or<std::string>("u8", "x"), Contains("stored as uint8"));  // present: no silent fallback
  CHECK_THROWS_WITH(f.tensor("nope"), Contains("no tensor named 'nope'"));
  CHECK(f.find_tensor("nope") == nullptr);
  CHECK_THROWS_WITH(f.get_array<uint8_t>("a_i32"), Contains("element 0") && Contains("-1"));
}

TEST_CASE("write then read gives identical metadata and tensor bytes", "[gguf]") {
  for (uint32_t align : {0u, 64u, 1u, 4096u}) {
    INFO("alignment " << align);
    std::mt19937 rng(align + 1);
    Writer w;
    w.set("general.name", "round trip");
    if (align) w.set_alignment(align);
    w.set("tokens", std::vector<std::string>{"<s>", "hello", std::string("\0x", 2)});
    w.set("scores", std::vector<float>{0.f, -1.25f, 3e38f});
    w.set("ids", std::vector<uint64_t>{0, ~uint64_t{0}});
    w.set("flag", false);
    // One tensor per format qkit knows, with tails in the batch dims.
    std::vector<std::vector<uint8_t>> data;
    for (const FormatInfo& fi : kFormatInfo) {
      const std::vector<int64_t> ne = {static_cast<int64_t>(fi.block_size) * 3, 5, 2};
      std::vector<uint8_t> d(static_cast<size_t>(row_bytes(fi.format, static_cast<uint64_t>(ne[0])) * 10));
      for (auto& x : d) x = static_cast<uint8_t>(rng());
      data.push_back(d);
    }
    for (size_t i = 0; i < kFormatCount; ++i) {
      const FormatInfo& fi = kFormatInfo[i];
      const std::vector<int64_t> ne = {static_cast<int64_t>(fi.block_size) * 3, 5, 2};
      if (i % 3 == 0) {
        w.add_tensor(std::string("t.") + fi.name, fi.format, ne, data[i].data());
      } else if (i % 3 == 1) {
        w.add_tensor(std::string("t.") + fi.name, fi.format, ne, data[i]);
      } else {
        const std::vector<uint8_t>* src = &data[i];
        w.add_tensor(std::string("t.") + fi.name, fi.format, ne, [src](Sink& s) {
          s.write(src->data(), 7);
          s.write(src->data() + 7, src->size() - 7);
        });
      }
    }
    w.add_tensor("empty", Format::F32, {0, 4}, nullptr);

    const std::string path = "test_gguf_roundtrip_" + std::to_string(align) + ".gguf";
    w.write(path);
    const File f = File::open(path);
    CHECK(f.alignment() == (align ? align : kDefaultAlignment));
    CHECK(f.data_offset() % f.alignment() == 0);
    CHECK(f.get<std::string>("general.name") == "round trip");
    CHECK(f.get_array<std::string>("tokens") == std::vector<std::string>{"<s>", "hello", std::string("\0x", 2)});
    CHECK(f.get_array<float>("scores") == std::vector<float>{0.f, -1.25f, 3e38f});
    CHECK(f.get_array<uint64_t>("ids") == std::vector<uint64_t>{0, ~uint64_t{0}});
    CHECK(f.get<bool>("flag") == false);
    REQUIRE(f.tensors().size() == kFormatCount + 1);
    for (size_t i = 0; i < kFormatCount; ++i) {
      const TensorInfo& t = f.tensors()[i];
      INFO(t.name);
      CHECK(t.name == std::string("t.") + kFormatInfo[i].name);
      CHECK(t.format == kFormatInfo[i].format);
      CHECK(t.ne == std::vector<int64_t>{static_cast<int64_t>(kFormatInfo[i].block_size) * 3, 5, 2});
      REQUIRE(t.nbytes == data[i].size());
      CHECK(t.offset % f.alignment() == 0);
      CHECK(std::memcmp(f.tensor_data(t), data[i].data(), data[i].size()) == 0);
    }
    CHECK(f.tensor("empty").nbytes == 0);
    // Metadata copied from the file encodes identically.
    Writer w2;
    w2.copy_all_from(f);
    for (const std::string& k : f.keys()) {
      const RawValue a = f.raw(k);
      CHECK(a.size > 0);
    }
    std::remove(path.c_str());
  }
}

TEST_CASE("writer rejects bad tensors and producers that write the wrong amount", "[gguf]") {
  Writer w;
  const std::vector<uint8_t> d(64);
  CHECK_THROWS_WITH(w.add_tensor("x", Format::Q4_0, {33}, d.data()), Contains("multiple of the q4_0 block size"));
  CHECK_THROWS_WITH(w.add_tensor(std::string(64, 'n'), Format::F32, {1}, d.data()), Contains("1 to 63 bytes"));
  CHECK_THROWS_WITH(w.add_tensor("x", Format::F32, {1, 1, 1, 1, 1}, d.data()), Contains("5 dimensions"));
  CHECK_THROWS_WITH(w.add_tensor("x", Format::F32, {3}, std::vector<uint8_t>(11)), Contains("needs 12 bytes, got 11"));
  CHECK_THROWS_WITH(w.set_alignment(48), Contains("power of two"));
  w.add_tensor("a", Format::F32, {4}, d.data());
  CHECK_THROWS_WITH(w.add_tensor("a", Format::F32, {4}, d.data()), Contains("duplicate tensor name 'a'"));
  w.add_tensor("short", Format::F32, {4}, [](Sink& s) { s.write("abc", 3); });
  CHECK_THROWS_WITH(w.write_to_memory(), Contains("'short' wrote 3 of its 16 bytes"));
  Writer w2;
  w2.add_tensor("long", Format::F32, {1}, [](Sink& s) { s.write("abcdefgh", 8); });
  CHECK_THROWS_WITH(w2.write_to_memory(), Contains("more than its 4 bytes"));
  // A failed write leaves no file behind.
  CHECK_THROWS(w.write("test_gguf_failed.gguf"));
  CHECK_FALSE(test::file_exists("test_gguf_failed.gguf"));
}

TEST_CASE("a file truncated at any byte is rejected with the offset", "[gguf][hostile]") {
  const std::vector<uint8_t> full = small_file();
  const File ok = parse(full);
  // Bytes past the last tensor's data are padding; cutting there is harmless.
  const TensorInfo& last = ok.tensors().back();
  const size_t needed = ok.data_offset() + last.offset + last.nbytes;
  for (size_t n = 0; n < full.size(); ++n) {
    INFO("truncated to " << n << " of " << full.size() << " bytes");
    if (n < needed) {
      CHECK_THROWS_MATCHES(File::from_memory(full.data(), n), Error,
                           Catch::Matchers::Predicate<Error>([](const Error& e) {
                             const std::string m = e.what();
                             return m.find("byte offset") != std::string::npos ||
                                    m.find("extends past the end") != std::string::npos;
                           }));
    } else {
      CHECK_NOTHROW(File::from_memory(full.data(), n));
    }
  }
}

TEST_CASE("hostile files raise qkit::Error naming the problem", "[gguf][hostile]") {
  struct Case {
    const char* what;
    std::vector<uint8_t> bytes;
    std::vector<std::string> expect;  // substrings of the message
  };
  const uint64_t huge = uint64_t{1} << 62;
  std::vector<Case> cases;
  auto add = [&](const char* what, Bytes b, std::vector<std::string> expect) {
    cases.push_back({what, std::move(b.b), std::move(expect)});
  };
  add("empty", Bytes{}, {"truncated", "magic", "byte offset 0"});
  add("bad magic", Bytes{}.put<uint32_t>(0x46554746).put<uint32_t>(3), {"not a GGUF file"});
  add("version 1", Bytes{}.header(0, 0, 1), {"version 1 is not supported", "byte offset 4"});
  add("version 4", Bytes{}.header(0, 0, 4), {"unsupported GGUF version 4"});
  add("big-endian", Bytes{}.header(0, 0, 0x03000000), {"big-endian"});
  add("huge kv count", Bytes{}.header(0, huge), {"metadata count of 4611686018427387904", "byte offset 16"});
  add("huge tensor count", Bytes{}.header(huge, 0), {"tensor count of 4611686018427387904", "byte offset 8"});
  add("key length past end", Bytes{}.header(0, 1).put<uint64_t>(~uint64_t{0}).zeros(16), {"key has length", "byte offset 24"});
  add("empty key", Bytes{}.header(0, 1).str("").put<uint32_t>(4).put<uint32_t>(1), {"key 0 is empty"});
  add("unknown value type", Bytes{}.header(0, 1).str("k").put<uint32_t>(13).put<uint32_t>(0),
      {"key 'k'", "invalid value type 13", "byte offset 33"});
  add("string value past end", Bytes{}.header(0, 1).str("k").put<uint32_t>(8).put<uint64_t>(100).zeros(10),
      {"key 'k'", "string value has length 100", "byte offset 37"});
  add("array count past end", Bytes{}.header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(huge),
      {"key 'k'", "array length of 4611686018427387904", "byte offset 37"});
  add("array count overflowing bytes",
      Bytes{}.header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(11).put<uint64_t>(uint64_t{1} << 61).zeros(64),
      {"array length", "remain"});
  add("string array count past end",
      Bytes{}.header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(1000).zeros(64),
      {"key 'k'", "array length of 1000"});
  add("bad array element type", Bytes{}.header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(77).put<uint64_t>(0),
      {"invalid element type 77"});
  {
    Bytes b;
    b.header(0, 1).str("deep").put<uint32_t>(9);
    for (int i = 0; i < 100; ++i) b.put<uint32_t>(9).put<uint64_t>(1);
    b.put<uint32_t>(0).put<uint64_t>(0);
    add("deeply nested arrays", b, {"key 'deep'", "nested deeper than 8"});
  }
  add("duplicate keys", Bytes{}.header(0, 2).kv_u32("a", 1).kv_u32("a", 2), {"duplicate key 'a'", "first at byte offset 24"});
  add("alignment not a power of two", Bytes{}.header(0, 1).kv_u32("general.alignment", 48), {"48 is not a power of two"});
  add("alignment zero", Bytes{}.header(0, 1).kv_u32("general.alignment", 0), {"0 is not a power of two"});
  add("alignment wrong type", Bytes{}.header(0, 1).str("general.alignment").put<uint32_t>(10).put<uint64_t>(32),
      {"general.alignment must be uint32", "uint64"});
  add("data section past the end",
      Bytes{}.header(1, 1).kv_u32("general.alignment", 1u << 30).tensor("t", {0}, 0, 0),
      {"tensor data would start at byte 1073741824", "past the end of the file"});
  add("too many dims", Bytes{}.header(1, 0).tensor("t", {1, 1, 1, 1, 1}, 0, 0), {"'t' has 5 dimensions"});
  add("negative dim", Bytes{}.header(1, 0).tensor("t", {4, -1}, 0, 0), {"'t' has negative dimension ne[1] = -1"});
  add("overflowing dims",
      Bytes{}.header(1, 0).tensor("t", {int64_t{1} << 32, int64_t{1} << 32, int64_t{1} << 32}, 0, 0),
      {"'t' shape", "too many elements"});
  add("product past int64", Bytes{}.header(1, 0).tensor("t", {int64_t{1} << 40, int64_t{1} << 30}, 0, 0),
      {"too many elements"});
  add("unknown tensor type", Bytes{}.header(1, 0).tensor("t", {32}, 99, 0),
      {"tensor 't'", "unsupported GGUF tensor type id 99"});
  add("removed q4_2 tensor type", Bytes{}.header(1, 0).tensor("t", {32}, 4, 0), {"unsupported GGUF tensor type id 4"});
  add("row not whole blocks", Bytes{}.header(1, 0).tensor("t", {33, 2}, 2, 0),
      {"'t' row length 33 is not a multiple of the q4_0 block size 32"});
  add("misaligned offset", Bytes{}.header(1, 0).tensor("t", {4}, 0, 4).pad_to(32).zeros(64),
      {"'t' offset 4 is not a multiple of the alignment 32"});
  add("offset past end", Bytes{}.header(1, 0).tensor("t", {4}, 0, uint64_t{1} << 40).pad_to(32).zeros(16),
      {"'t'", "extends past the end of the file"});
  add("offset + size overflows", Bytes{}.header(1, 0).tensor("t", {8}, 0, ~uint64_t{31}).pad_to(32).zeros(32),
      {"'t'", "extends past the end"});
  add("size past end", Bytes{}.header(1, 0).tensor("t", {1024}, 0, 0).pad_to(32).zeros(100),
      {"'t' (f32 [1024], 4096 bytes", "data section has 100 bytes"});
  add("tensor with huge byte count", Bytes{}.header(1, 0).tensor("t", {int64_t{1} << 40, int64_t{1} << 22}, 0, 0),
      {"tensor 't' f32 [1099511627776, 4194304] has more than 2^64 bytes", "byte offset 33"});
  add("overlapping tensors",
      Bytes{}.header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {16}, 0, 32).pad_to(32).zeros(128),
      {"'b' at data offset 32 overlaps tensor 'a'"});
  add("overlap hidden behind an empty tensor",
      Bytes{}.header(3, 0).tensor("a", {16}, 0, 0).tensor("z", {0}, 0, 32).tensor("b", {8}, 0, 32).pad_to(32).zeros(128),
      {"'b' at data offset 32 overlaps tensor 'a'"});
  add("duplicate tensor names",
      Bytes{}.header(2, 0).tensor("a", {8}, 0, 0).tensor("a", {8}, 0, 32).pad_to(32).zeros(64),
      {"duplicate tensor name 'a'"});
  add("tensor name too long", Bytes{}.header(1, 0).tensor(std::string(64, 'x'), {8}, 0, 0),
      {"name of 64 bytes is longer than 63"});
  add("empty tensor name", Bytes{}.header(1, 0).tensor("", {8}, 0, 0), {"tensor 0 has an empty name"});
  add("tensor name past end", Bytes{}.header(1, 0).put<uint64_t>(1000).zeros(30),
      {"tensor name has length 1000", "byte offset 24"});
  add("tensor info truncated", Bytes{}.header(1, 0).str("t").put<uint32_t>(2).put<int64_t>(4).zeros(5),
      {"tensor info 0", "truncated", "tensor dimension"});

  for (const Case& c : cases) {
    INFO(c.what);
    bool threw = false;
    try {
      parse(c.bytes);
    } catch (const Error& e) {
      threw = true;
      const std::string m = e.what();
      INFO("message: " << m);
      for (const std::string& s : c.expect) CHECK_THAT(m, Contains(s));
    }
    CHECK(threw);
  }
}

TEST_CASE("File::open reports missing and non-regular files", "[gguf]") {
  CHECK_THROWS_WITH(File::open("/nonexistent/x.gguf"), Contains("cannot open /nonexistent/x.gguf"));
  CHECK_THROWS_WITH(File::open("/"), Contains("not a regular file"));
}

TEST_CASE("regression inputs in tests/data/gguf parse or fail cleanly", "[gguf][hostile]") {
  // Inputs the fuzzer once flagged; each must parse, or throw qkit::Error,
  // and survive every getter (the fuzz harness's own checks).
  std::string dir = __FILE__;
  dir = dir.substr(0, dir.find_last_of('/')) + "/data/gguf";
  const std::vector<std::string> files = {"fuzz-float-key-read-as-integer.gguf"};
  for (const std::string& name : files) {
    INFO(name);
    const std::vector<uint8_t> bytes = test::read_file(dir + "/" + name);
    REQUIRE(!bytes.empty());
    try {
      const File f = parse(bytes);
      for (const std::string& k : f.keys()) {
        if (f.type(k) == ValueType::FLOAT32) {
          CHECK(std::isfinite(f.get<double>(k)));
          CHECK_THROWS_WITH(f.get<uint64_t>(k), Contains("wanted uint64") && Contains("stored as float32"));
        }
        CHECK(!f.describe(k).empty());
      }
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("byte offset") != std::string::npos);
    }
  }
}
