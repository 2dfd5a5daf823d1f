// qkit-gguf-inspect FILE: prints a GGUF file's metadata (arrays abbreviated)
// and its tensor table (name, shape, format, bytes, offset).
#include <cinttypes>
#include <cstdio>
#include <exception>
#include <map>
#include <string>

#include "qkit/gguf/reader.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FILE.gguf\n", argv[0]);
    return 2;
  }
  try {
    const qkit::gguf::File f = qkit::gguf::File::open(argv[1]);
    std::printf("%s: GGUF v%u, %zu bytes, %zu metadata keys, %zu tensors, alignment %zu, data at byte %zu\n\n",
                argv[1], f.version(), f.file_size(), f.n_keys(), f.tensors().size(), f.alignment(), f.data_offset());
    std::printf("metadata:\n");
    for (const std::string& key : f.keys()) {
      std::string type = qkit::gguf::value_type_name(f.type(key));
      if (f.type(key) == qkit::gguf::ValueType::ARRAY) {
        type = std::string("array<") + qkit::gguf::value_type_name(f.array_type(key)) + ">[" +
               std::to_string(f.array_size(key)) + "]";
      }
      std::printf("  %-44s %-22s %s\n", key.c_str(), type.c_str(), f.describe(key, 6).c_str());
    }
    std::printf("\ntensors:\n  %-40s %-26s %-7s %12s %12s\n", "name", "shape", "format", "bytes", "offset");
    uint64_t total = 0, elements = 0;
    std::map<std::string, int> per_format;
    for (const qkit::gguf::TensorInfo& t : f.tensors()) {
      std::printf("  %-40s %-26s %-7s %12" PRIu64 " %12" PRIu64 "\n", t.name.c_str(),
                  qkit::gguf::shape_string(t.ne).c_str(), qkit::format_name(t.format), t.nbytes, t.offset);
      total += t.nbytes;
      elements += t.n_elements();
      ++per_format[qkit::format_name(t.format)];
    }
    std::printf("\n%zu tensors, %" PRIu64 " elements, %.2f MiB of tensor data", f.tensors().size(), elements,
                static_cast<double>(total) / (1024.0 * 1024.0));
    if (elements) std::printf(", %.3f bits per weight", 8.0 * static_cast<double>(total) / static_cast<double>(elements));
    std::printf("\n");
    for (const auto& [name, n] : per_format) std::printf("  %-7s %d tensors\n", name.c_str(), n);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
