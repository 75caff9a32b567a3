// Fusion: groups the graph's nodes into kernels (passes/kernel.h). Rules, in order
// (docs/compiler-passes.md):
//   - reshape and flatten are views of their operand's memory: no kernel;
//   - a slice (non-batch axis) read only by element-wise nodes of its shape is a strided
//     load in its first reader's kernel; readers of slices of one value with one shape
//     may join a kernel already reading such a slice (an LSTM's gates: one kernel);
//   - softmax, log_softmax, the losses and their gradients over the same logits or
//     prediction share one kernel (one pass over each row: prediction, loss, gradient);
//   - every other op that is not element-wise anchors a kernel of its own;
//   - an element-wise op joins the kernel that produces one of its operands when its
//     result has that kernel's iteration space, it reads values of that kernel at the
//     same element, and no other operand depends on that kernel (no cycle): element-wise
//     chains become one kernel, bias add and activation become the epilogue of a matmul
//     or conv, an activation gradient the epilogue of the matmul producing its upstream
//     gradient, an optimizer update the epilogue of the kernel producing the gradient;
//   - otherwise it starts an element-wise kernel.
// Then each graph update is given a writer: the kernel computing the new value writes
// the target's memory in place, or (when that is unsafe) a copy kernel is appended.
#pragma once

#include "passes/program.h"

namespace dlc::passes {

void fuse(Program& p);

// Fills a kernel's inputs, outputs, body, stores, in-place pairs, kind and name from its
// nodes (`kernel_of`: node -> kernel id, -1 for views). Used by fuse.
void finish_kernel(const ir::Graph& g, const std::vector<int>& kernel_of, Kernel& k);

// Decides each update's writer (appending copy kernels where needed). Used by fuse.
void place_updates(Program& p);

// Checks that fusion covered every non-view node exactly once and that kernel inputs and
// outputs are consistent; throws dlc::Error naming the first problem.
void verify_kernels(const Program& p);

} // namespace dlc::passes
