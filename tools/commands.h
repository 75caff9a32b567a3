// The dlc commands; each file cmd_*.cpp defines one or a few.
#pragma once

#include "tools/args.h"

#include <vector>

namespace dlc::tools {

std::vector<Command> model_commands(); // check, summary, show (cmd_model.cpp)
std::vector<Command> run_commands();   // predict (cmd_predict.cpp)
std::vector<Command> info_commands();  // version (cmd_version.cpp)
std::vector<Command> gradcheck_commands(); // gradcheck (cmd_gradcheck.cpp)
std::vector<Command> plan_commands();      // plan (cmd_plan.cpp)
std::vector<Command> compile_commands();   // compile (cmd_compile.cpp)
std::vector<Command> train_commands();     // train, eval (cmd_train.cpp)
std::vector<Command> sample_commands();    // sample (cmd_sample.cpp)

} // namespace dlc::tools
