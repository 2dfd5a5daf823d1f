// qkit/thread/pool.hpp — qkit::ThreadPool: persistent workers for the
// kernels' parallel loops.
//
// What it offers:
//  * parallel_for(begin, end, grain, fn): splits [begin, end) into one
//    contiguous chunk per thread, chunk edges on multiples of `grain` from
//    `begin`, and calls fn(lo, hi) once per non-empty chunk. Partitioning is
//    static, so a kernel that partitions its OUTPUT rows this way gives the
//    same bits for any thread count (no reduction is ever split).
//  * run(fn): fn(thread_index, n_threads) on every thread.
//  * The calling thread takes chunk 0; workers spin briefly, then sleep on a
//    condition variable, so a decode loop issuing thousands of small calls
//    pays no wake-up latency while an idle pool costs no CPU.
//  * No allocation per call: the job is a pointer to the caller's callable.
//
// Preconditions: calls from several threads are serialised; a call made
// from inside a job (nested) runs inline on the calling thread. An exception
// thrown by fn on any thread is rethrown to the caller (the first one wins).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "qkit/base/error.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define QKIT_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define QKIT_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define QKIT_CPU_RELAX() ((void)0)
#endif

namespace qkit {

class ThreadPool {
 public:
  // n_threads counts the caller; 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(int n_threads = 0) {
    if (n_threads <= 0) n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    require(n_threads <= 4096, "ThreadPool: ", n_threads, " threads requested (at most 4096)");
    n_threads_ = n_threads;
    workers_.reserve(static_cast<size_t>(n_threads - 1));
    for (int t = 1; t < n_threads; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lk(sleep_mu_);
      stop_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    sleep_cv_.notify_all();
    for (auto& w : workers_) w.join();
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // fn(thread_index, n_threads) on every thread of the pool, the caller
  // being thread 0. Returns when all are done.
  template <typename Fn>
  void run(Fn&& fn) {
    using F = std::remove_reference_t<Fn>;
    if (n_threads_ == 1 || in_job()) {
      fn(0, 1);
      return;
    }
    std::lock_guard<std::mutex> call(call_mu_);
    job_ctx_ = const_cast<void*>(static_cast<const void*>(&fn));
    job_fn_ = [](void* ctx, int t, int n) { (*static_cast<F*>(ctx))(t, n); };
    error_ = nullptr;
    pending_.store(n_threads_ - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lk(sleep_mu_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    if (sleepers_.load(std::memory_order_relaxed) > 0) sleep_cv_.notify_all();
    execute(0);
    // Jobs are short (one matmul); spin, then yield so an oversubscribed
    // machine still makes progress.
    for (uint32_t spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
      if (spins < kSpinIterations) {
        QKIT_CPU_RELAX();
      } else {
        std::this_thread::yield();
      }
    }
    if (error_) std::rethrow_exception(error_);
  }

  // fn(lo, hi) over a static partition of [begin, end) into size() chunks
  // whose edges are begin + multiples of grain.
  template <typename Fn>
  void parallel_for(int64_t begin, int64_t end, int64_t grain, Fn&& fn) {
    if (end <= begin) return;
    if (grain < 1) grain = 1;
    const int64_t units = (end - begin + grain - 1) / grain;
    const int64_t n = std::min<int64_t>(units, n_threads_);
    if (n <= 1 || in_job()) {
      fn(begin, end);
      return;
    }
    run([&](int t, int) {
      if (t >= n) return;
      // Balanced split of `units` into n parts: the first (units % n) get one more.
      const int64_t q = units / n, r = units % n;
      const int64_t u0 = t * q + std::min<int64_t>(t, r);
      const int64_t u1 = u0 + q + (t < r ? 1 : 0);
      const int64_t lo = begin + u0 * grain;
      const int64_t hi = std::min(end, begin + u1 * grain);
      if (lo < hi) fn(lo, hi);
    });
  }

 private:
  static constexpr uint32_t kSpinIterations = 1u << 14;

  static bool& in_job() {
    thread_local bool flag = false;
    return flag;
  }

  void execute(int t) {
    in_job() = true;
    try {
      job_fn_(job_ctx_, t, n_threads_);
    } catch (...) {
      std::lock_guard<std::mutex> lk(error_mu_);
      if (!error_) error_ = std::current_exception();
    }
    in_job() = false;
  }

  void worker_loop(int t) {
    uint64_t seen = 0;
    for (;;) {
      uint64_t g = generation_.load(std::memory_order_acquire);
      for (uint32_t spins = 0; g == seen && spins < kSpinIterations; ++spins) {
        QKIT_CPU_RELAX();
        g = generation_.load(std::memory_order_acquire);
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lk(sleep_mu_);
        sleepers_.fetch_add(1, std::memory_order_relaxed);
        sleep_cv_.wait(lk, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
        g = generation_.load(std::memory_order_acquire);
      }
      seen = g;
      if (stop_) return;
      execute(t);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  int n_threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex call_mu_;  // one parallel call at a time
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> sleepers_{0};
  bool stop_ = false;  // written under sleep_mu_ before the last generation bump
  void* job_ctx_ = nullptr;
  void (*job_fn_)(void*, int, int) = nullptr;
  std::mutex error_mu_;
  std::exception_ptr error_;
};

}  // namespace qkit
