// The functions generated code may call, by name, with their addresses in this binary:
// runtime/c_api.h's wrappers over the runtime kernels and the few libm functions LLVM
// lowers math intrinsics to. LLVM-free.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace dlc::codegen {

const std::vector<std::pair<std::string, void*>>& runtime_symbols();

} // namespace dlc::codegen
