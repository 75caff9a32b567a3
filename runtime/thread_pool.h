// A persistent thread pool with a static split of work.
//
// The caller is thread 0 and works too; size() - 1 workers wait for jobs. parallel_for(n,
// fn) runs fn(i) for every task i in [0, n), thread t taking the contiguous block
// split_range(n, size(), t): which thread runs which task depends only on n and the
// thread count, never on timing, so a kernel that writes disjoint outputs per task (or
// reduces per-thread partials in thread order) gives the same bits on every run.
//
// Waiting workers spin for a short while (jobs of a training step arrive microseconds
// apart; waking a sleeping thread costs tens of microseconds), then sleep on a condition
// variable so that an idle pool costs nothing. No OpenMP: its spinning was measured to
// fight other threads for this machine's cores.
//
// A task must not call parallel_for on the same pool from inside a task: such a nested
// call runs its tasks inline on the calling thread. An exception thrown by a task is
// rethrown by parallel_for after every thread has finished (the first one, if several).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define DLC_RT_SPIN_PAUSE() _mm_pause()
#else
#define DLC_RT_SPIN_PAUSE() std::this_thread::yield()
#endif

namespace dlc_rt {

struct TaskRange {
  int64_t begin, end;
};

// Block `part` of [0, n) split into `parts` contiguous blocks whose sizes differ by at
// most one (the first n % parts blocks take one more).
inline TaskRange split_range(int64_t n, int parts, int part) {
  int64_t base = n / parts, extra = n % parts;
  int64_t begin = part * base + std::min<int64_t>(part, extra);
  return {begin, begin + base + (part < extra ? 1 : 0)};
}

// A reusable barrier for the `threads` tasks of one parallel_for with one task per thread
// (see ThreadPool::runs_in_parallel). Waiters spin briefly, then yield their core: on a
// machine shared with other processes the last thread may be descheduled.
class SpinBarrier {
public:
  explicit SpinBarrier(int threads) : threads_(threads) {}
  void wait() {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) == threads_ - 1) {
      arrived_.store(0, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_acq_rel);
      return;
    }
    for (int i = 0; generation_.load(std::memory_order_acquire) == gen; i++) {
      if (i < 4000) DLC_RT_SPIN_PAUSE();
      else std::this_thread::yield();
    }
  }

private:
  const int threads_;
  std::atomic<int> arrived_{0};
  std::atomic<uint64_t> generation_{0};
};

class ThreadPool {
public:
  // threads: total threads including the caller (at least 1). spin_us: how long an idle
  // worker (and the caller waiting for workers) spins before sleeping.
  explicit ThreadPool(int threads = 1, int spin_us = 50)
      : size_(std::max(threads, 1)), spin_(std::chrono::microseconds(spin_us)) {
    for (int t = 1; t < size_; t++) workers_.emplace_back([this, t] { worker_loop(t); });
  }

  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_.store(true, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return size_; }

  // Whether parallel_for called here runs its tasks on size() threads at once (false
  // inside a task, where nested calls run inline): tasks that wait for each other (a
  // SpinBarrier) may only be started when this holds.
  bool runs_in_parallel() const { return size_ > 1 && !in_task(); }

  template <class F> void parallel_for(int64_t n_tasks, F&& fn) {
    if (n_tasks <= 0) return;
    if (size_ == 1 || in_task()) {
      for (int64_t i = 0; i < n_tasks; i++) fn(i);
      return;
    }
    struct Job {
      F* fn;
      int64_t n;
      int threads;
      static void call(void* self, int t) {
        auto* job = static_cast<Job*>(self);
        TaskRange r = split_range(job->n, job->threads, t);
        for (int64_t i = r.begin; i < r.end; i++) (*job->fn)(i);
      }
    } job{&fn, n_tasks, size_};
    run_job(&Job::call, &job);
  }

private:
  using JobFn = void (*)(void*, int);

  static bool& in_task() {
    thread_local bool flag = false;
    return flag;
  }

  // Runs job(ctx, t) on every thread t and returns when all have finished.
  void run_job(JobFn fn, void* ctx) {
    std::lock_guard<std::mutex> one_job_at_a_time(call_mu_);
    error_ = nullptr;
    job_fn_ = fn;
    job_ctx_ = ctx;
    remaining_.store(size_ - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mu_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    run_part(0);
    wait_until([this] { return remaining_.load(std::memory_order_acquire) == 0; }, done_);
    if (error_) std::rethrow_exception(error_);
  }

  void run_part(int t) {
    in_task() = true;
    try {
      job_fn_(job_ctx_, t);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
    }
    in_task() = false;
  }

  // Spins on `ready` for spin_, then sleeps on `cv` (notified under mu_).
  template <class Pred> void wait_until(Pred ready, std::condition_variable& cv) {
    auto deadline = std::chrono::steady_clock::now() + spin_;
    for (int i = 0; !ready(); i++) {
      DLC_RT_SPIN_PAUSE();
      if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) {
        std::unique_lock<std::mutex> lock(mu_);
        cv.wait(lock, [&] { return ready() || stop_; });
        return;
      }
    }
  }

  void worker_loop(int t) {
    uint64_t seen = 0;
    for (;;) {
      wait_until([&] { return generation_.load(std::memory_order_acquire) != seen; }, wake_);
      if (stop_.load(std::memory_order_acquire)) return;
      seen = generation_.load(std::memory_order_acquire);
      run_part(t);
      if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mu_); // the caller may be between check and sleep
        done_.notify_one();
      }
    }
  }

  const int size_;
  const std::chrono::microseconds spin_;
  std::vector<std::thread> workers_;
  std::mutex call_mu_; // one parallel_for at a time per pool
  std::mutex mu_;      // guards sleeping and error_
  std::condition_variable wake_, done_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> remaining_{0};
  JobFn job_fn_ = nullptr;
  void* job_ctx_ = nullptr;
  std::exception_ptr error_;
  std::atomic<bool> stop_{false}; // set under mu_ so that sleepers see it
};

} // namespace dlc_rt
