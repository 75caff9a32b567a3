// The persistent thread pool: every task runs exactly once, on the thread the static split
// names; results of a GEMM split by rows are bit-identical to the one-thread result.
#include "runtime/kernels/gemm.h"
#include "runtime/rng.h"
#include "runtime/thread_pool.h"

#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

TEST_CASE("split_range: contiguous blocks covering [0, n), sizes differing by at most one") {
  for (int parts : {1, 2, 3, 7})
    for (int64_t n : {0, 1, 5, 7, 100}) {
      int64_t next = 0;
      for (int p = 0; p < parts; p++) {
        auto r = dlc_rt::split_range(n, parts, p);
        CHECK(r.begin == next);
        CHECK((r.end - r.begin == n / parts || r.end - r.begin == n / parts + 1));
        next = r.end;
      }
      CHECK(next == n);
    }
  CHECK(dlc_rt::split_range(10, 3, 0).end == 4); // the first n % parts blocks are larger
  CHECK(dlc_rt::split_range(10, 3, 2).begin == 7);
}

TEST_CASE("thread pool: each task once, on the thread its static block names, every call") {
  for (int threads : {1, 2, 3}) {
    dlc_rt::ThreadPool pool(threads);
    CHECK(pool.size() == threads);
    const int64_t n = 37;
    std::vector<std::thread::id> first(n);
    for (int call = 0; call < 200; call++) {
      std::vector<std::atomic<int>> runs(n);
      std::vector<std::thread::id> who(n);
      pool.parallel_for(n, [&](int64_t i) {
        runs[size_t(i)]++;
        who[size_t(i)] = std::this_thread::get_id();
      });
      for (auto& r : runs) REQUIRE(r.load() == 1);
      if (call == 0) first = who;
      REQUIRE(who == first); // the same thread runs the same task on every call
    }
    // Tasks of one block share a thread; the caller runs block 0.
    for (int t = 0; t < threads; t++) {
      auto r = dlc_rt::split_range(n, threads, t);
      for (int64_t i = r.begin; i < r.end; i++) CHECK(first[size_t(i)] == first[size_t(r.begin)]);
    }
    CHECK(first[0] == std::this_thread::get_id());
    if (threads > 1) CHECK(first[n - 1] != std::this_thread::get_id());
  }
}

TEST_CASE("thread pool: workers that fell asleep wake for the next job") {
  dlc_rt::ThreadPool pool(2, /*spin_us=*/1);
  std::atomic<int64_t> sum{0};
  for (int call = 0; call < 3; call++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5)); // workers sleep by now
    pool.parallel_for(100, [&](int64_t i) { sum += i; });
  }
  CHECK(sum.load() == 3 * 4950);
}

TEST_CASE("thread pool: exceptions reach the caller, nested calls run inline") {
  dlc_rt::ThreadPool pool(2);
  CHECK_THROWS_AS(pool.parallel_for(10,
                                    [](int64_t i) {
                                      if (i == 9) throw std::runtime_error("task 9 failed");
                                    }),
                  std::runtime_error);
  std::atomic<int> inner{0};
  pool.parallel_for(4, [&](int64_t) { pool.parallel_for(3, [&](int64_t) { inner++; }); });
  CHECK(inner.load() == 12);
  pool.parallel_for(0, [](int64_t) { FAIL("no tasks"); });
}

TEST_CASE("thread pool: a GEMM split by rows gives the one-thread result bit for bit") {
  const int64_t m = 101, n = 45, k = 300;
  std::vector<float> a(m * k), b(k * n), one(m * n), split(m * n);
  for (size_t i = 0; i < a.size(); i++) a[i] = dlc_rt::rng_uniform(1, 1, i) - 0.5f;
  for (size_t i = 0; i < b.size(); i++) b[i] = dlc_rt::rng_uniform(1, 2, i) - 0.5f;
  dlc_rt::gemm(false, false, m, n, k, 1, a.data(), k, b.data(), n, 0, one.data(), n);
  dlc_rt::ThreadPool pool(2);
  const int64_t blocks = 4;
  pool.parallel_for(blocks, [&](int64_t t) {
    auto r = dlc_rt::split_range(m, blocks, int(t));
    dlc_rt::gemm(false, false, r.end - r.begin, n, k, 1, a.data() + r.begin * k, k, b.data(), n,
                 0, split.data() + r.begin * n, n);
  });
  CHECK(one == split);
}
