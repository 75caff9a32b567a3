// `--threads N` for the commands that run a model: one persistent pool, installed as the
// runtime's kernel pool (dlc_rt::default_kernel_pool) for as long as the command runs.
// GEMMs and convolutions split their output tiles across it; the split never changes the
// order of any sum, so results are the same bits for every thread count.
#pragma once

#include "tools/args.h"

#include <memory>

namespace dlc_rt {
class ThreadPool;
}

namespace dlc::tools {

class KernelThreads {
public:
  // Threads from `--threads N` (1..1024), default: every core of the machine.
  explicit KernelThreads(const Args& a);
  ~KernelThreads();
  KernelThreads(const KernelThreads&) = delete;
  KernelThreads& operator=(const KernelThreads&) = delete;
  int threads() const { return threads_; }

private:
  int threads_ = 1;
  std::unique_ptr<dlc_rt::ThreadPool> pool_;
};

// The `--threads` option's help line, shared by the commands that take it.
extern const char* const kThreadsHelp;

} // namespace dlc::tools
