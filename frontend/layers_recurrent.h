// The loop of a recurrent layer (frontend/layers_recurrent.cpp), shared by the layers
// simple_rnn, lstm and gru and by the bidirectional wrapper (layers_bidirectional.cpp).
#pragma once

#include "frontend/layers.h"

namespace dlc::frontend {

// What a recurrent layer's loop computes.
struct Recurrence {
  std::vector<ir::ValueId> states;      // the carried values after the last step: h (lstm: h, c)
  std::vector<std::string> state_names; // "h" (lstm: "h", "c")
  ir::ValueId sequence = ir::kNoValue;  // with return_sequences, every step's h [n, T, H], step t at index t
};

// Builds the loop of layer c, a simple_rnn, lstm or gru (c.info.type) whose members are
// c.spec, over the steps of c.in(0), from T-1 down to 0 when `backwards`; c's further
// inputs are its initial states.
Recurrence recurrence(LayerCtx& c, bool backwards);

// The mask of a recurrent layer's sequence output: its input's, reversed when the
// output's steps are (go_backwards); kNoValue when the input has none.
ir::ValueId sequence_mask(LayerCtx& c, bool reversed);

// The bidirectional wrapper (layers_bidirectional.cpp).
LayerDef bidirectional_layer();

} // namespace dlc::frontend
