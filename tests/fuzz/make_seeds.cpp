// fuzz_gguf_seeds OUTDIR [GOLDEN_DIR]: writes the fuzzer's seed corpus.
//
// Seeds are generated, not committed: small files from qkit's writer that
// cover every value type, nested arrays, every tensor format and several
// alignments; each golden model/vocab file shrunk (arrays cut to 16
// elements, tensors cut to one or two blocks per row, real names, formats
// and metadata kept); and the first 16 KiB of each golden file as is.
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "qkit/gguf/reader.hpp"
#include "qkit/gguf/writer.hpp"

namespace fs = std::filesystem;
using namespace qkit;
using namespace qkit::gguf;

namespace {

void save(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) fail("cannot write ", path.string());
}

std::vector<uint8_t> pattern(size_t n, unsigned seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 131 + seed * 17) ^ (i >> 3));
  return v;
}

void writer_seeds(const fs::path& out) {
  {
    Writer w;
    w.set("general.architecture", "seed");
    w.set("u8", uint8_t{1});
    w.set("i8", int8_t{-1});
    w.set("u16", uint16_t{2});
    w.set("i16", int16_t{-2});
    w.set("u32", uint32_t{3});
    w.set("i32", int32_t{-3});
    w.set("f32", 0.5f);
    w.set("b", true);
    w.set("s", "text");
    w.set("u64", uint64_t{4});
    w.set("i64", int64_t{-4});
    w.set("f64", 0.25);
    w.set("strs", std::vector<std::string>{"a", "bc", ""});
    w.set("floats", std::vector<float>{1, 2, 3});
    w.set("ints", std::vector<int32_t>{1, -2, 3});
    // [[1, 2], ["x"]]
    std::vector<uint8_t> nested;
    auto put = [&](const void* p, size_t n) {
      nested.insert(nested.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
    };
    const uint32_t t_arr = 9, t_u8 = 0, t_str = 8;
    const uint64_t two = 2, one = 1;
    const uint8_t a = 1, b = 2;
    put(&t_arr, 4); put(&two, 8);
    put(&t_u8, 4); put(&two, 8); put(&a, 1); put(&b, 1);
    put(&t_str, 4); put(&one, 8); put(&one, 8); put("x", 1);
    w.set_raw("nested", ValueType::ARRAY, nested.data(), nested.size());
    save(out / "writer-metadata.gguf", w.write_to_memory());
  }
  for (uint32_t align : {0u, 1u, 64u}) {
    Writer w;
    if (align) w.set_alignment(align);
    w.set("general.name", "formats");
    unsigned seed = 0;
    std::vector<std::vector<uint8_t>> keep;
    for (const FormatInfo& fi : kFormatInfo) {
      const std::vector<int64_t> ne = {static_cast<int64_t>(fi.block_size) * 2, 2};
      keep.push_back(pattern(static_cast<size_t>(row_bytes(fi.format, static_cast<uint64_t>(ne[0]))) * 2, ++seed));
      w.add_tensor(std::string("t.") + fi.name, fi.format, ne, keep.back().data());
    }
    w.add_tensor("empty", Format::F32, {0}, nullptr);
    w.add_tensor("batched", Format::F16, {4, 3, 2, 2}, pattern(4 * 3 * 2 * 2 * 2, 99));
    save(out / ("writer-formats-" + std::to_string(align) + ".gguf"), w.write_to_memory());
  }
  save(out / "writer-empty.gguf", Writer().write_to_memory());
}

// A value's encoding with arrays cut to their first `keep` elements.
std::vector<uint8_t> shrink_value(const RawValue& r, uint64_t keep) {
  if (r.type != ValueType::ARRAY) return std::vector<uint8_t>(r.data, r.data + r.size);
  uint32_t et;
  uint64_t count;
  std::memcpy(&et, r.data, 4);
  std::memcpy(&count, r.data + 4, 8);
  if (count <= keep) return std::vector<uint8_t>(r.data, r.data + r.size);
  const auto e = static_cast<ValueType>(et);
  size_t pos = 12;
  for (uint64_t i = 0; i < keep; ++i) {
    if (e == ValueType::STRING) {
      uint64_t len;
      std::memcpy(&len, r.data + pos, 8);
      pos += 8 + static_cast<size_t>(len);
    } else if (value_type_size(e)) {
      pos += value_type_size(e);
    } else {
      return std::vector<uint8_t>(r.data, r.data + r.size);  // nested: keep whole
    }
  }
  std::vector<uint8_t> v(r.data, r.data + pos);
  std::memcpy(v.data() + 4, &keep, 8);
  return v;
}

void golden_seeds(const fs::path& out, const fs::path& golden) {
  for (const char* sub : {"models", "vocab"}) {
    const fs::path dir = golden / sub;
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() != ".gguf") continue;
      const std::string stem = entry.path().stem().string();
      const File f = File::open(entry.path().string());
      Writer w;
      for (const std::string& k : f.keys()) {
        const std::vector<uint8_t> v = shrink_value(f.raw(k), 16);
        w.set_raw(k, f.type(k), v.data(), v.size());
      }
      for (const TensorInfo& t : f.tensors()) {
        if (t.ne.empty()) continue;
        std::vector<int64_t> ne = t.ne;
        ne[0] = format_info(t.format).block_size * (ne[0] >= 2 * static_cast<int64_t>(format_info(t.format).block_size) ? 2 : 1);
        for (size_t d = 1; d < ne.size(); ++d) ne[d] = ne[d] > 1 ? 2 : ne[d];
        uint64_t n = row_bytes(t.format, static_cast<uint64_t>(ne[0]));
        for (size_t d = 1; d < ne.size(); ++d) n *= static_cast<uint64_t>(ne[d]);
        const uint8_t* src = f.tensor_data(t);
        w.add_tensor(t.name, t.format, ne, std::vector<uint8_t>(src, src + std::min<uint64_t>(n, t.nbytes)));
      }
      save(out / ("golden-shrunk-" + stem + ".gguf"), w.write_to_memory());
      const size_t head = std::min<size_t>(f.file_size(), 16 * 1024);
      save(out / ("golden-head-" + stem + ".gguf"), std::vector<uint8_t>(f.data(), f.data() + head));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s OUTDIR [GOLDEN_DIR]\n", argv[0]);
    return 2;
  }
  try {
    const fs::path out = argv[1];
    fs::create_directories(out);
    writer_seeds(out);
    if (argc == 3 && fs::is_directory(argv[2])) {
      golden_seeds(out, argv[2]);
    } else {
      std::printf("no golden dir: seeds from the writer only\n");
    }
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(out)) n += e.is_regular_file();
    std::printf("%zu seed files in %s\n", n, out.string().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
