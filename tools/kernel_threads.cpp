#include "tools/kernel_threads.h"

#include "runtime/kernels/gemm.h"
#include "runtime/thread_pool.h"

#include <thread>

namespace dlc::tools {

const char* const kThreadsHelp = "threads for the compiled kernels (default: every core; results do not depend on it)";

KernelThreads::KernelThreads(const Args& a) {
  int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  threads_ = int(a.get_int("--threads", cores, 1, 1024));
  if (threads_ > 1) {
    pool_ = std::make_unique<dlc_rt::ThreadPool>(threads_);
    dlc_rt::reserve_thread_workspaces(*pool_); // no allocation while programs run
    dlc_rt::default_kernel_pool() = pool_.get();
  }
}

KernelThreads::~KernelThreads() {
  if (pool_) dlc_rt::default_kernel_pool() = nullptr;
}

} // namespace dlc::tools
