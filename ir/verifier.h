// Structural checks of a graph. Every message names the node or value at fault.
#pragma once

#include "ir/graph.h"

namespace dlc::ir {

// Throws dlc::Error on the first problem found.
void verify(const Graph& g);

} // namespace dlc::ir
