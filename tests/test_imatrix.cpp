// Importance-matrix files in the reference engine's formats (GGUF with
// <name>.in_sum2 / <name>.counts tensors, and the legacy .dat), written here
// field by field as the reference's imatrix tool writes them, then loaded.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "qkit/gguf/imatrix.hpp"
#include "qkit/gguf/writer.hpp"
#include <unistd.h>

// One name per process: ctest runs this program for several emulated CPUs at
// once, and a file truncated under another process's mapping is a SIGBUS.
static std::string unique_path(const std::string& name) {
  return std::to_string(::getpid()) + "-" + name;
}


using namespace qkit;
using namespace qkit::gguf;
using Catch::Matchers::Contains;

namespace {

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

struct Entry {
  std::string name;
  int64_t ne0, nmat;
  std::vector<float> sums, counts;
};

// As the reference's save_imatrix: metadata, then per entry (sorted names)
// in_sum2 [ne0, nmat] and counts [1, nmat], both f32.
Writer imatrix_writer(const std::vector<Entry>& entries) {
  Writer w;
  w.set("general.type", "imatrix");
  w.set("imatrix.datasets", std::vector<std::string>{"calib.txt"});
  w.set("imatrix.chunk_count", uint32_t{100});
  w.set("imatrix.chunk_size", uint32_t{512});
  for (const Entry& e : entries) {
    w.add_tensor(e.name + ".in_sum2", Format::F32, {e.ne0, e.nmat}, f32_bytes(e.sums));
    w.add_tensor(e.name + ".counts", Format::F32, {1, e.nmat}, f32_bytes(e.counts));
  }
  return w;
}

std::vector<Entry> sample_entries() {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(0.f, 100.f);
  std::vector<Entry> es = {{"blk.0.attn_qkv.weight", 64, 1, {}, {51200}},
                           {"blk.0.ffn_down.weight", 128, 1, {}, {51200}},
                           {"blk.0.ffn_down_exps.weight", 32, 3, {}, {100, 0, 7}}};
  for (Entry& e : es) {
    e.sums.resize(static_cast<size_t>(e.ne0 * e.nmat));
    for (float& s : e.sums) s = u(rng) * 1000.f;
  }
  return es;
}

}  // namespace

TEST_CASE("GGUF imatrix: weights are in_sum2 / counts per matrix, 1 where a count is 0", "[gguf][imatrix]") {
  const std::vector<Entry> es = sample_entries();
  const std::string path = unique_path("test_imatrix.gguf");
  imatrix_writer(es).write(path);
  const Imatrix im = Imatrix::load(path);
  std::remove(path.c_str());
  CHECK(!im.legacy());
  CHECK(im.size() == es.size());
  CHECK(im.datasets() == std::vector<std::string>{"calib.txt"});
  CHECK(im.chunk_count() == 100);
  CHECK(im.chunk_size() == 512);
  for (const Entry& e : es) {
    INFO(e.name);
    const ImatrixEntry* got = im.find(e.name);
    REQUIRE(got);
    CHECK(got->n_per_row == e.ne0);
    CHECK(got->n_mat == e.nmat);
    for (int64_t j = 0; j < e.nmat; ++j) {
      for (int64_t i = 0; i < e.ne0; ++i) {
        const float c = e.counts[static_cast<size_t>(j)];
        const float want = c > 0 ? e.sums[static_cast<size_t>(j * e.ne0 + i)] / c : 1.0f;
        REQUIRE(got->matrix(j)[i] == want);
      }
    }
  }
  CHECK(im.find("output.weight") == nullptr);
  CHECK(im.weights_for("output.weight", 64) == nullptr);
  CHECK(im.weights_for("blk.0.attn_qkv.weight", 64) == im.find("blk.0.attn_qkv.weight")->weights.data());
  CHECK_THROWS_WITH(im.weights_for("blk.0.attn_qkv.weight", 96), Contains("64 values per row") && Contains("96"));
}

TEST_CASE("legacy .dat imatrix: weights are values / ncall", "[gguf][imatrix]") {
  std::vector<uint8_t> b;
  auto put = [&](const void* p, size_t n) { b.insert(b.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n); };
  auto i32 = [&](int32_t v) { put(&v, 4); };
  const std::vector<float> v0 = {10.f, 20.f, 30.f, 40.f};
  const std::vector<float> v1 = {1.f, 2.f};
  i32(2);
  i32(5); put("a.bcd", 5); i32(10); i32(4); put(v0.data(), 16);
  i32(1); put("z", 1); i32(0); i32(2); put(v1.data(), 8);
  i32(42);
  i32(9); put("calib.txt", 9);
  const std::string path = unique_path("test_imatrix.dat");
  {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }
  const Imatrix im = Imatrix::load(path);
  std::remove(path.c_str());
  CHECK(im.legacy());
  CHECK(im.chunk_count() == 42);
  CHECK(im.datasets() == std::vector<std::string>{"calib.txt"});
  REQUIRE(im.find("a.bcd"));
  CHECK(im.find("a.bcd")->weights == std::vector<float>{1.f, 2.f, 3.f, 4.f});
  CHECK(im.find("z")->weights == v1);  // ncall 0: values as they are

  // Truncated anywhere inside the entries: an error with the offset.
  const size_t entries_end = b.size() - 4 - 4 - 9;
  for (size_t n = 0; n < entries_end; ++n) {
    INFO("truncated to " << n);
    CHECK_THROWS_WITH(Imatrix::from_legacy(b.data(), n, "dat"), Contains("byte offset"));
  }
  std::vector<uint8_t> huge = b;
  const int32_t big = 1 << 30;
  std::memcpy(huge.data() + 4 + 4 + 5 + 4, &big, 4);  // entry 0's value count
  CHECK_THROWS_WITH(Imatrix::from_legacy(huge.data(), huge.size(), "dat"),
                    Contains("entry 'a.bcd'") && Contains("value count of 1073741824"));
}

TEST_CASE("malformed GGUF imatrix files are rejected naming the entry", "[gguf][imatrix]") {
  const std::vector<float> s(32, 1.f);
  {
    Writer w;
    w.add_tensor("x.weight.in_sum2", Format::F32, {32, 1}, f32_bytes(s));
    const auto bytes = w.write_to_memory();
    CHECK_THROWS_WITH(Imatrix::from_gguf(File::from_memory(bytes.data(), bytes.size())),
                      Contains("'x.weight'") && Contains("no x.weight.counts"));
  }
  {
    Writer w;
    w.add_tensor("x.weight.counts", Format::F32, {1, 1}, f32_bytes({1.f}));
    const auto bytes = w.write_to_memory();
    CHECK_THROWS_WITH(Imatrix::from_gguf(File::from_memory(bytes.data(), bytes.size())),
                      Contains("'x.weight' has counts but no in_sum2"));
  }
  {
    Writer w;
    w.add_tensor("x.weight.in_sum2", Format::F32, {16, 2}, f32_bytes(s));
    w.add_tensor("x.weight.counts", Format::F32, {1, 3}, f32_bytes({1.f, 2.f, 3.f}));
    const auto bytes = w.write_to_memory();
    CHECK_THROWS_WITH(Imatrix::from_gguf(File::from_memory(bytes.data(), bytes.size())),
                      Contains("in_sum2 [16, 2] does not match counts [1, 3]"));
  }
  {
    Writer w;
    std::vector<float> bad = s;
    bad[5] = NAN;
    w.add_tensor("x.weight.in_sum2", Format::F32, {32, 1}, f32_bytes(bad));
    w.add_tensor("x.weight.counts", Format::F32, {1, 1}, f32_bytes({1.f}));
    const auto bytes = w.write_to_memory();
    CHECK_THROWS_WITH(Imatrix::from_gguf(File::from_memory(bytes.data(), bytes.size())),
                      Contains("in_sum2[0][5] is nan"));
  }
  {
    Writer w;
    w.set("general.type", "model");
    const auto bytes = w.write_to_memory();
    CHECK_THROWS_WITH(Imatrix::from_gguf(File::from_memory(bytes.data(), bytes.size())), Contains("not 'imatrix'"));
  }
  {
    Writer w;
    w.add_tensor("x.weight.in_sum2", Format::F16, {32, 1}, std::vector<uint8_t>(64));
    w.add_tensor("x.weight.counts", Format::F32, {1, 1}, f32_bytes({1.f}));
    const auto bytes = w.write_to_memory();
    CHECK_THROWS_WITH(Imatrix::from_gguf(File::from_memory(bytes.data(), bytes.size())), Contains("must be f32"));
  }
}
