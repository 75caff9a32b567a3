// The text of `dlc summary`: a table like Keras's model.summary(), then the totals.
#pragma once

#include "frontend/summary.h"

#include <string>

namespace dlc::tools {

std::string summary_table(const frontend::ModelSummary& s);

} // namespace dlc::tools
