// What LLVM knows about the host CPU: its name and features. The JIT compiles for it;
// `dlc version` prints it so a user can see which vector width kernels will use.
#pragma once

#include <string>
#include <vector>

namespace dlc::codegen {

struct HostInfo {
  std::string llvm_version; // "19.1.x"
  std::string cpu;          // "sapphirerapids"
  std::string triple;       // "x86_64-pc-linux-gnu"
  std::vector<std::string> vector_features; // the enabled SIMD features: avx2, avx512f, ...
};

HostInfo host_info();

} // namespace dlc::codegen
