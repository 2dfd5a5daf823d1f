// qkit/gguf/view.hpp — zero-copy tensor views over a GGUF file.
//
//   const gguf::File f = gguf::File::open("model.gguf");
//   AnyTensor w = gguf::view(f, "blk.0.attn_qkv.weight");
//   w.visit([&](auto t) { ... });
//
// The view points into the File's mapping: keep the File alive while the
// view is used. The reader has already checked that the tensor lies inside
// the file and that its rows are whole blocks.
#pragma once

#include <string_view>

#include "qkit/gguf/reader.hpp"
#include "qkit/tensor/any_tensor.hpp"

namespace qkit::gguf {

inline AnyTensor view(const File& f, const TensorInfo& t) {
  return AnyTensor(t.format, static_cast<const void*>(f.tensor_data(t)),
                   t.ne.empty() ? Shape{1} : Shape(t.ne));
}

inline AnyTensor view(const File& f, std::string_view name) { return view(f, f.tensor(name)); }

}  // namespace qkit::gguf
