// What a backend reads: the planned, lowered Program (passes/program.h, passes/steps.h,
// whose header comment is the contract), its names brought into dlc::codegen.
#pragma once

#include "passes/program.h"
#include "passes/steps.h"

namespace dlc::codegen {

using passes::Arg;
using passes::ArgKind;
using passes::Call;
using passes::Extent;
using passes::Index;
using passes::IndexTerm;
using passes::Kernel;
using passes::Loop;
using passes::LoopStore;
using passes::NamedValue;
using passes::Operand;
using passes::Program;
using passes::Repeat;
using passes::Ref;
using passes::RunValue;
using passes::ScalarArg;
using passes::ScalarExpr;
using passes::Step;
using passes::StepKind;

} // namespace dlc::codegen
