// The clean-up passes. Each takes a graph and returns an equivalent one; none changes
// the graph's interface (inputs, params, state, outputs, updates). docs/compiler-passes.md
// lists their rules.
#pragma once

#include "ir/graph.h"

namespace dlc::passes {

// Algebraic simplification to one canonical form: identities vanish (x*1, x+0, reshape to
// the same shape...), arithmetic with a scalar constant becomes `scale`, scales compose,
// view chains collapse, commutative ops put a constant operand second.
ir::Graph canonicalize(const ir::Graph& g);

// Evaluates nodes whose operands are all constants (with the reference interpreter) and
// replaces them by constants, unless that would grow the constant data.
ir::Graph fold_constants(const ir::Graph& g);

// Common-subexpression elimination: identical constants and identical nodes (same op,
// operands and attributes) are computed once.
ir::Graph eliminate_common_subexpressions(const ir::Graph& g);

// Dead-code elimination: removes nodes and constants that no output or update needs.
ir::Graph eliminate_dead_code(const ir::Graph& g);

} // namespace dlc::passes
