// The textual form of a graph: stable (same graph, same text) and readable; golden
// tests compare it.
#pragma once

#include "ir/graph.h"

#include <string>

namespace dlc::ir {

std::string print_graph(const Graph& g);

} // namespace dlc::ir
