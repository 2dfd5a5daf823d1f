// examples/quantize/quantize_model.hpp — rewrites a GGUF model with its
// weights in another format or mix, as the reference engine's quantize tool
// does, so the output loads in either engine.
//
// Every tensor is read from the mapped input, converted to f32 (from F32,
// F16, BF16, or any quantized format: requantizing loses quality and is
// reported) and quantized by qkit's reference-exact codecs, a few rows at a
// time on each of n threads, and streamed to the output one tensor at a
// time: tensor i + 1 is converted (its input read ahead) while tensor i is
// written, so memory stays at about two output tensors. Metadata is kept; general.file_type and
// general.quantization_version are set last, as the reference does.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <exception>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "qkit/base/aligned.hpp"
#include "qkit/gguf/imatrix.hpp"
#include "qkit/gguf/reader.hpp"
#include "qkit/gguf/writer.hpp"
#include "qkit/kernels/convert.hpp"
#include "qkit/quant/registry.hpp"
#include "quantize/mix.hpp"

namespace qkit::quantize_tool {

// The reference's GGML_QNT_VERSION: the K-quant/legacy block layouts qkit writes.
inline constexpr uint32_t kQuantizationVersion = 2;

struct Options {
  Target target{FileType::MOSTLY_Q8_0, Format::Q8_0, false};
  const gguf::Imatrix* imatrix = nullptr;
  int n_threads = 1;
  // Called after each tensor: (index from 1, count, name, from, to, bytes in, bytes out).
  std::function<void(size_t, size_t, const std::string&, Format, Format, uint64_t, uint64_t)> progress;
};

struct TensorPlan {
  const gguf::TensorInfo* info;
  Format out;
};

struct Report {
  size_t n_tensors = 0, n_requantized = 0, n_imatrix = 0;
  int n_fallback = 0;
  uint64_t bytes_in = 0, bytes_out = 0, n_elements = 0;
  double seconds = 0, quantize_seconds = 0;
  std::map<std::string, int> formats;  // output format name -> tensor count
};

inline bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

inline ModelShape model_shape(const gguf::File& in) {
  ModelShape s;
  const std::string arch = in.get_or<std::string>("general.architecture", "");
  if (!arch.empty()) {
    s.n_layer = static_cast<int>(in.get_or<uint32_t>(arch + ".block_count", 0));
    const uint32_t heads = in.get_or<uint32_t>(arch + ".attention.head_count", 1);
    const uint32_t kv = in.get_or<uint32_t>(arch + ".attention.head_count_kv", heads);
    s.n_gqa = kv ? static_cast<int>(heads / kv) : 1;
  }
  for (const auto& t : in.tensors()) {
    const Role r = role_of(t.name);
    if (r == Role::Output) s.tied_output = false;
    if (r == Role::AttnV || r == Role::AttnQkv) ++s.n_attention_v;
  }
  return s;
}

// The output format of every tensor, in the reference's visiting order.
inline std::vector<TensorPlan> plan(const gguf::File& in, const Options& opt, int* n_fallback = nullptr) {
  std::vector<const gguf::TensorInfo*> order;
  for (const auto& t : in.tensors()) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(),
                   [](const gguf::TensorInfo* a, const gguf::TensorInfo* b) { return tensor_order_less(a->name, b->name); });
  TypeSelector sel(opt.target, model_shape(in), opt.imatrix != nullptr);
  std::vector<TensorPlan> out;
  for (const auto* t : order) out.push_back({t, sel.choose(t->name, t->ne, t->format)});
  if (n_fallback) *n_fallback = sel.n_fallback();
  return out;
}

// Converts `n` values of any readable format to f32.
inline void to_f32(Format f, const uint8_t* src, float* dst, uint64_t n) {
  switch (f) {
    case Format::F32: std::memcpy(dst, src, n * 4); return;
    case Format::F16: f16_to_f32(reinterpret_cast<const f16*>(src), dst, n); return;
    case Format::BF16: bf16_to_f32(reinterpret_cast<const bf16*>(src), dst, n); return;
    default: dequantize_row_ref(f, src, dst, static_cast<int64_t>(n)); return;
  }
}

// Rows [r0, r1) of a tensor (rows of ne[0] values, stacked matrices one
// after another) from `from` to `to`, a few rows at a time: the f32 copy
// stays in the core's cache, and the input pages are touched by the thread
// that converts them. Stacked matrices use their own imatrix slice.
inline void convert_rows(Format from, const uint8_t* src, Format to, uint8_t* dst, int64_t cols, int64_t rows_per_mat,
                         const gguf::ImatrixEntry* imat, int64_t r0, int64_t r1) {
  constexpr int64_t kChunkRows = 16;
  const size_t in_rb = static_cast<size_t>(row_bytes(from, static_cast<uint64_t>(cols)));
  const size_t out_rb = static_cast<size_t>(row_bytes(to, static_cast<uint64_t>(cols)));
  AlignedBuffer<float> f32;
  f32.ensure(static_cast<size_t>(kChunkRows * cols));
  for (int64_t r = r0; r < r1;) {
    const int64_t mat = r / rows_per_mat;
    const int64_t end = std::min({r + kChunkRows, r1, (mat + 1) * rows_per_mat});  // one matrix per chunk
    const uint64_t nv = static_cast<uint64_t>((end - r) * cols);
    to_f32(from, src + static_cast<size_t>(r) * in_rb, f32.data(), nv);
    uint8_t* out = dst + static_cast<size_t>(r) * out_rb;
    if (format_info(to).quantized()) {
      quantize(to, f32.data(), out, end - r, cols, imat ? imat->matrix(mat) : nullptr, 1);
    } else if (to == Format::F16) {
      f32_to_f16(f32.data(), reinterpret_cast<f16*>(out), nv);
    } else if (to == Format::BF16) {
      f32_to_bf16(f32.data(), reinterpret_cast<bf16*>(out), nv);
    } else {
      std::memcpy(out, f32.data(), nv * 4);
    }
    r = end;
  }
}

// A whole tensor to `to` on n_threads threads, each converting and
// quantizing its own share of the rows (outputs are partitioned, so the
// bytes do not depend on the thread count). The first error (lowest row
// range) is rethrown.
inline void convert_tensor(const gguf::TensorInfo& t, const uint8_t* src, Format to, const gguf::ImatrixEntry* imat,
                           uint8_t* dst, int n_threads) {
  if (t.ne.empty() || t.ne[0] <= 0) return;
  const int64_t cols = t.ne[0];
  const int64_t rows = static_cast<int64_t>(t.n_elements() / static_cast<uint64_t>(cols));
  const int64_t rows_per_mat = t.ne.size() > 1 ? t.ne[1] : 1;
  const int64_t nt = std::max<int64_t>(1, std::min<int64_t>(n_threads, rows));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(nt));
  auto work = [&](int64_t k) {
    try {
      convert_rows(t.format, src, to, dst, cols, rows_per_mat, imat, rows * k / nt, rows * (k + 1) / nt);
    } catch (...) {
      errors[static_cast<size_t>(k)] = std::current_exception();
    }
  };
  std::vector<std::thread> helpers;
  for (int64_t k = 1; k < nt; ++k) helpers.emplace_back(work, k);
  work(0);
  for (auto& h : helpers) h.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// One output tensor: where it comes from, what it becomes.
struct Job {
  const gguf::TensorInfo* info = nullptr;
  Format out = Format::F32;
  uint64_t out_bytes = 0;
  const gguf::ImatrixEntry* imat = nullptr;
  bool copies() const { return out == info->format; }  // written straight from the mapped input
};

// Converts the jobs in order, one ahead of the writer: take(i) waits for
// tensor i (converting it now if it was not started), starts the next
// tensor that needs converting into the other of two buffers, and returns
// i's bytes, which stay valid until the next take(). Errors of a conversion are rethrown by take().
// The next tensor's input is read ahead (File::prefetch) as it starts.
class Pipeline {
 public:
  Pipeline(const gguf::File& in, const std::vector<Job>& jobs, int n_threads)
      : in_(in), jobs_(jobs), n_threads_(n_threads) {}
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;
  ~Pipeline() {
    if (pending_.valid()) pending_.wait();  // never leave a worker writing into freed buffers
  }

  const uint8_t* take(size_t i) {
    if (!pending_.valid() || pending_index_ != i) start(i);
    busy_seconds_ += pending_.get();
    writing_slot_ = pending_slot_;
    for (size_t j = i + 1; j < jobs_.size(); ++j) {
      if (!jobs_[j].copies()) {
        start(j);
        break;
      }
    }
    return buffers_[writing_slot_].data();
  }
  // Seconds spent converting and quantizing (on the workers).
  double busy_seconds() const { return busy_seconds_; }

 private:
  // Converts job i into the buffer the writer is not reading.
  void start(size_t i) {
    if (pending_.valid()) pending_.wait();
    const Job& job = jobs_[i];
    pending_slot_ = writing_slot_ ^ 1;
    AlignedBuffer<uint8_t>& buf = buffers_[pending_slot_];
    buf.ensure(job.out_bytes);
    in_.prefetch(*job.info);
    pending_index_ = i;
    pending_ = std::async(std::launch::async, [this, &job, &buf] {
      const auto t0 = std::chrono::steady_clock::now();
      convert_tensor(*job.info, in_.tensor_data(*job.info), job.out, job.imat, buf.data(), n_threads_);
      if (format_info(job.out).quantized()) validate_row(job.out, buf.data(), job.out_bytes);
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    });
  }

  const gguf::File& in_;
  const std::vector<Job>& jobs_;
  int n_threads_;
  AlignedBuffer<uint8_t> buffers_[2];  // one the writer reads, one a conversion fills
  std::future<double> pending_;        // declared after the buffers: destroyed (joined) first
  size_t pending_index_ = 0;
  int pending_slot_ = 0, writing_slot_ = 1;
  double busy_seconds_ = 0;
};

inline Report quantize_model(const std::string& in_path, const std::string& out_path, const Options& opt) {
  require(!same_file(in_path, out_path), "refusing to overwrite the input file ", in_path);
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const gguf::File in = gguf::File::open(in_path);
  Report rep;
  const std::vector<TensorPlan> tensors = plan(in, opt, &rep.n_fallback);

  gguf::Writer w;
  w.copy_all_from(in);
  for (const char* k : {"split.no", "split.count", "split.tensors.count"}) w.remove(k);
  // Set last (removed first), in the reference's order.
  w.remove("general.quantization_version");
  w.set("general.quantization_version", kQuantizationVersion);
  w.remove("general.file_type");
  w.set("general.file_type", static_cast<uint32_t>(opt.target.file_type));

  // What each tensor needs, then one pipeline that converts tensor i + 1 on
  // worker threads while the writer streams tensor i to the file.
  std::vector<Job> jobs(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const gguf::TensorInfo& t = *tensors[i].info;
    Job& job = jobs[i];
    job.info = &t;
    job.out = tensors[i].out;
    const uint64_t n = t.n_elements();
    job.out_bytes = t.ne.empty() ? 0 : row_bytes(job.out, static_cast<uint64_t>(t.ne[0])) * (n / t.ne[0]);
    rep.bytes_in += t.nbytes;
    rep.bytes_out += job.out_bytes;
    rep.n_elements += n;
    ++rep.formats[format_name(job.out)];
    ++rep.n_tensors;
    if (job.out != t.format && format_info(t.format).quantized()) ++rep.n_requantized;
    if (opt.imatrix && job.out != t.format && format_info(job.out).quantized()) {
      job.imat = opt.imatrix->find(t.name);
      if (job.imat) {
        const int64_t mats = t.ne.size() > 2 ? t.ne[2] : 1;
        require(job.imat->n_per_row == t.ne[0] && job.imat->n_mat == mats, "imatrix entry for '", t.name,
                "' holds ", job.imat->n_mat, " x ", job.imat->n_per_row, " weights, the tensor has ", mats, " x ",
                t.ne[0]);
        ++rep.n_imatrix;
      }
    }
  }
  Pipeline pipe(in, jobs, opt.n_threads);
  for (size_t i = 0; i < jobs.size(); ++i) {
    w.add_tensor(jobs[i].info->name, jobs[i].out, jobs[i].info->ne, [&, i](gguf::Sink& sink) {
      const Job& job = jobs[i];
      if (job.copies()) {
        sink.write(in.tensor_data(*job.info), job.info->nbytes);
      } else {
        sink.write(pipe.take(i), job.out_bytes);
      }
      if (opt.progress)
        opt.progress(i + 1, jobs.size(), job.info->name, job.info->format, job.out, job.info->nbytes, job.out_bytes);
    });
  }
  w.write(out_path);
  rep.quantize_seconds = pipe.busy_seconds();
  rep.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return rep;
}

}  // namespace qkit::quantize_tool
