// The `lower` pass: every fused kernel spelled out as steps (passes/steps.h), before
// memory is planned, so that the planner places every byte the steps touch.
//
// It decides, per kernel: which values live in memory (a buffer per value that crosses
// kernels, in its region; views share their base's), where each anchor's result goes
// (straight into the output it is stored to when no input of the kernel shares that
// output's memory, else a temporary buffer), which bias/activation epilogue folds into a
// GEMM or convolution, the workspace its calls share (a buffer sized for the most any of
// them needs at the compiled batch), the element-wise loop that remains with its index
// arithmetic, and which long loops split across threads. Temporaries and workspaces live
// only while their kernel runs; memplan (passes/memplan.h) places them like any buffer.
// It also builds the program's interface (Program::interface) and finds the batch axis
// (batch_axis.cpp), throwing dlc::Error for a value that mixes samples.
#pragma once

#include "passes/program.h"

namespace dlc::passes {

void lower(Program& p);

// The listing of the steps (`dlc show --emit=lowered`); after memplan with the places.
std::string print_lowered(const Program& p);

} // namespace dlc::passes
