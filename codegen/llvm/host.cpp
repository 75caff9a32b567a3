#include "codegen/llvm/host.h"

#include <llvm/ADT/StringMap.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/TargetParser/Host.h>

#include <algorithm>

namespace dlc::codegen {

HostInfo host_info() {
  HostInfo h;
  h.llvm_version = LLVM_VERSION_STRING;
  h.cpu = llvm::sys::getHostCPUName().str();
  h.triple = llvm::sys::getProcessTriple();
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  for (const char* f : {"sse4.2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl",
                        "avx512vnni", "avx512bf16", "amx-tile", "amx-bf16", "amx-int8"}) {
    auto it = features.find(f);
    if (it != features.end() && it->second) h.vector_features.push_back(f);
  }
  return h;
}

} // namespace dlc::codegen
