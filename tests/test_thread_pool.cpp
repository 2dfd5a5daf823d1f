// qkit::ThreadPool: coverage of every index exactly once, static partition on
// grain edges, exceptions, nesting, and many back-to-back calls.
#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "qkit/thread/pool.hpp"

using qkit::ThreadPool;

TEST_CASE("parallel_for covers every index once, chunks on grain edges", "[thread]") {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    REQUIRE(pool.size() == threads);
    for (int64_t n : {0, 1, 7, 64, 1000, 1003}) {
      for (int64_t grain : {1, 4, 16}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n + 10));
        for (auto& h : hits) h = 0;
        std::mutex mu;
        std::vector<std::pair<int64_t, int64_t>> chunks;
        pool.parallel_for(10, 10 + n, grain, [&](int64_t lo, int64_t hi) {
          for (int64_t i = lo; i < hi; ++i) hits[static_cast<size_t>(i)]++;
          std::lock_guard<std::mutex> lk(mu);
          chunks.push_back({lo, hi});
        });
        INFO("threads " << threads << " n " << n << " grain " << grain);
        for (int64_t i = 0; i < 10; ++i) REQUIRE(hits[static_cast<size_t>(i)] == 0);
        for (int64_t i = 10; i < 10 + n; ++i) REQUIRE(hits[static_cast<size_t>(i)] == 1);
        REQUIRE(static_cast<int>(chunks.size()) <= threads);
        for (auto& c : chunks) {
          REQUIRE((c.first - 10) % grain == 0);
          REQUIRE((c.second == 10 + n || (c.second - 10) % grain == 0));
        }
      }
    }
  }
}

TEST_CASE("run uses every thread, the caller as thread 0", "[thread]") {
  ThreadPool pool(3);
  std::vector<std::thread::id> ids(3);
  std::atomic<int> count{0}, wrong_n{0};
  // Catch's assertions are not thread-safe: record, check afterwards.
  pool.run([&](int t, int n) {
    if (n != 3) wrong_n++;
    ids[static_cast<size_t>(t)] = std::this_thread::get_id();
    count++;
  });
  REQUIRE(count == 3);
  REQUIRE(wrong_n == 0);
  REQUIRE(ids[0] == std::this_thread::get_id());
  REQUIRE(std::set<std::thread::id>(ids.begin(), ids.end()).size() == 3);
}

TEST_CASE("exceptions reach the caller; the pool stays usable", "[thread]") {
  ThreadPool pool(2);
  REQUIRE_THROWS_AS(pool.parallel_for(0, 100, 1,
                                      [&](int64_t lo, int64_t) {
                                        if (lo > 0) throw std::runtime_error("worker failed");
                                      }),
                    std::runtime_error);
  std::atomic<int64_t> sum{0};
  pool.parallel_for(0, 100, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) sum += i;
  });
  REQUIRE(sum == 4950);
}

TEST_CASE("nested calls run inline; many small calls in a row", "[thread]") {
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  pool.parallel_for(0, 4, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      pool.parallel_for(0, 10, 1, [&](int64_t a, int64_t b) { sum += b - a; });
  });
  REQUIRE(sum == 40);
  // Workers go to sleep between bursts and must wake up every time.
  int64_t total = 0;
  for (int rep = 0; rep < 20000; ++rep) {
    std::atomic<int64_t> s{0};
    pool.parallel_for(0, 8, 1, [&](int64_t lo, int64_t hi) { s += hi - lo; });
    total += s;
    if (rep % 5000 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(total == 8 * 20000);
}
