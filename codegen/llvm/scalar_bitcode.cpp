// Compiled by clang++-19 to LLVM bitcode when dlc is built (CMakeLists.txt: not part of
// the dlc library): the scalar formulas of runtime/kernels/scalar.h as external
// definitions, which the JIT links into its modules and inlines (scalar_ops.h). Built
// with -fno-math-errno, so that libm calls are known to have no side effects and loops
// around them still vectorise, and without FP contraction, so that the JIT computes the
// bits emitted C++ does.
#define DLC_SCALAR
#include "runtime/kernels/scalar.h"
