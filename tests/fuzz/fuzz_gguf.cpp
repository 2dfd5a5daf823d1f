// libFuzzer target for the GGUF reader (and the imatrix loaders): parses the input as a whole file,
// then reads every key with every getter that could apply and touches the
// first and last byte of every tensor through a zero-copy view, so ASan
// sees any read the parser's checks should have prevented. qkit::Error is
// the only acceptable outcome for bad input; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <string>
#include <vector>

#include "qkit/gguf/imatrix.hpp"
#include "qkit/gguf/reader.hpp"
#include "qkit/gguf/view.hpp"
#include "qkit/gguf/writer.hpp"

namespace {

volatile uint64_t g_sink;  // keeps reads from being optimised away

// Folds a value into the sink without a float -> integer conversion (which
// is undefined for out-of-range values).
template <typename T>
uint64_t bits_of(T v) {
  if constexpr (std::is_floating_point<T>::value) {
    uint64_t u = 0;
    std::memcpy(&u, &v, sizeof(T));
    return u;
  } else {
    return static_cast<uint64_t>(v);
  }
}

template <typename T>
void try_get(const qkit::gguf::File& f, const std::string& key) {
  try {
    g_sink = g_sink + bits_of(f.get<T>(key));
  } catch (const qkit::Error&) {
  }
}

template <typename T>
void try_array(const qkit::gguf::File& f, const std::string& key) {
  try {
    g_sink = g_sink + f.get_array<T>(key).size();
  } catch (const qkit::Error&) {
  }
}

void touch(const qkit::gguf::File& f) {
  using qkit::gguf::ValueType;
  for (const std::string& key : f.keys()) {
    g_sink = g_sink + f.describe(key, 4).size() + static_cast<uint64_t>(f.type(key));
    try_get<int64_t>(f, key);
    try_get<uint8_t>(f, key);
    try_get<int32_t>(f, key);
    try_get<uint64_t>(f, key);
    try_get<float>(f, key);
    try_get<double>(f, key);
    try_get<bool>(f, key);
    try {
      g_sink = g_sink + f.get<std::string>(key).size();
    } catch (const qkit::Error&) {
    }
    if (f.type(key) == ValueType::ARRAY) {
      g_sink = g_sink + f.array_size(key) + static_cast<uint64_t>(f.array_type(key));
      try_array<std::string>(f, key);
      try_array<float>(f, key);
      try_array<int32_t>(f, key);
      try_array<uint32_t>(f, key);
      try_array<uint64_t>(f, key);
      try_array<double>(f, key);
      try_array<bool>(f, key);
    }
    const qkit::gguf::RawValue raw = f.raw(key);
    if (raw.size) g_sink = g_sink + raw.data[0] + raw.data[raw.size - 1];
  }
  for (const qkit::gguf::TensorInfo& t : f.tensors()) {
    const qkit::AnyTensor v = qkit::gguf::view(f, t);
    if (t.nbytes == 0) continue;
    const uint8_t* p = f.tensor_data(t);
    g_sink = g_sink + p[0] + p[t.nbytes - 1];
    if (v.rows() > 0) g_sink = g_sink + v.row(v.rows() - 1)[v.row_bytes() - 1];
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The imatrix loaders read the same untrusted bytes.
  try {
    g_sink = g_sink + qkit::gguf::Imatrix::from_legacy(data, size, "fuzz").size();
  } catch (const qkit::Error&) {
  }
  try {
    g_sink = g_sink + qkit::gguf::Imatrix::from_gguf(qkit::gguf::File::from_memory(data, size)).size();
  } catch (const qkit::Error&) {
  }
  try {
    const qkit::gguf::File f = qkit::gguf::File::from_memory(data, size);
    touch(f);
    // What parses must also survive a copy through the writer and back.
    qkit::gguf::Writer w;
    w.copy_all_from(f);
    for (const qkit::gguf::TensorInfo& t : f.tensors()) {
      if (t.ne.empty()) continue;  // the writer wants 1..4 dims
      w.add_tensor(t.name, t.format, t.ne, f.tensor_data(t));
    }
    const std::vector<uint8_t> again = w.write_to_memory();
    touch(qkit::gguf::File::from_memory(again.data(), again.size()));
  } catch (const qkit::Error&) {
  }
  return 0;
}
