// dlc version: the tool's version, the LLVM it links and what it knows of the host CPU.
#include "codegen/llvm/host.h"
#include "ir/error.h"
#include "tools/commands.h"

#include <cstdio>

namespace dlc::tools {

static int run_version(const Args&) {
  codegen::HostInfo h = codegen::host_info();
  std::printf("dlc 0.1.0\nLLVM %s\nhost: %s (%s)\nvector features: %s\n", h.llvm_version.c_str(),
              h.cpu.c_str(), h.triple.c_str(), join_names(h.vector_features).c_str());
  return 0;
}

std::vector<Command> info_commands() {
  return {{"version", "dlc version", "Print the version, the LLVM version and the host CPU's features.",
           {}, 0, run_version}};
}

} // namespace dlc::tools
