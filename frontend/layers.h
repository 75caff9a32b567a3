// Layer builders: each layer type of the model format expands into IR ops here.
#pragma once

#include "frontend/json_reader.h"
#include "frontend/model.h"

#include <functional>

namespace dlc::frontend {

// A value a layer reads, with the name of the layer (or model input) that made it.
struct Producer {
  ir::ValueId value;
  std::string layer;
  // The value's mask (docs/recurrent.md, masking): f32 [batch, T], 1 at real steps and 0
  // at padding, from an embedding with mask_zero or a masking layer; kNoValue for none.
  ir::ValueId mask = ir::kNoValue;
};

struct LayerCtx {
  ir::Graph& g;
  const JsonRef& spec;
  LayerInfo& info;
  std::vector<Producer> inputs;

  // Valid until the graph grows: copy it before adding parameters or nodes.
  const ir::TensorType& in_type(size_t i = 0) const { return g.type(inputs[i].value); }
  ir::ValueId in(size_t i = 0) const { return inputs[i].value; }
  ir::ValueId in_mask(size_t i = 0) const { return inputs[i].mask; }
  // A layer that reads its inputs' masks or makes one sets this and info.mask (its
  // output's mask, kNoValue for none). Otherwise the model builder carries the inputs'
  // masks to the output of a layer that keeps the time axis (LayerDef::carries_mask) and
  // rejects a masked input anywhere else.
  bool mask_handled = false;

  // Adds a node named "<layer>.<suffix>".
  ir::ValueId op(const std::string& op, std::vector<ir::ValueId> operands, ir::Attrs attrs = {},
                 const std::string& suffix = "");
  // Fails when a parameter of this shape would exceed kMaxElements.
  void check_param_size(const std::string& suffix, const ir::Shape& shape) const;
  // Adds a parameter "<layer>.<suffix>" and records it on the layer; members
  // "<member>_regularizer" and "<member>_constraint" (member: the suffix when empty)
  // regularise and constrain it.
  ir::ValueId param(const std::string& suffix, ir::Shape shape, ir::Initializer init, const std::string& member = "");
  // Reads an initializer member (string or object) with a default kind.
  ir::Initializer initializer(const std::string& key, const std::string& dflt, int64_t fan_in,
                              int64_t fan_out) const;
  // Applies the activation named by member `key` (absent: linear).
  ir::ValueId activation(ir::ValueId x, const std::string& key = "activation");

  // "layer 'conv2d_1' (conv2d) needs ..., but layer 'dense_1' gives f32[1,500]"
  [[noreturn]] void fail_input(size_t i, const std::string& needs) const;
};

struct LayerDef {
  std::string type;
  std::vector<std::string> keys; // members besides type, name, inputs
  int min_inputs = 1;
  int max_inputs = 1; // -1: any
  std::function<ir::ValueId(LayerCtx&)> build;
  // Works position by position (dense, dropout, activations, ...), so a mask on its input
  // applies to its output unchanged (Keras's supports_masking).
  bool carries_mask = false;
};

const LayerDef* find_layer(const std::string& type);

// embedding and one_hot over token ids (layers_embedding.cpp).
std::vector<LayerDef> token_layers();

// simple_rnn, lstm, gru, time_distributed and repeat_vector (frontend/layers_recurrent.cpp).
std::vector<LayerDef> recurrent_layers();

// random_flip, random_translation, random_zoom, random_rotation, random_crop and
// random_contrast (frontend/layers_augment.cpp).
std::vector<LayerDef> augmentation_layers();

// The largest tensor a model may declare, in elements (with the batch axis): far beyond
// any real model, and small enough that element and byte counts (and their sums in
// `dlc summary`) never overflow int64.
constexpr int64_t kMaxElements = int64_t(1) << 48;

// The element count of `s`, or -1 when an extent is not positive or the count exceeds
// kMaxElements (computed without overflowing).
int64_t checked_numel(const ir::Shape& s);

// Applies an activation given as a JSON value (string or object) to x.
ir::ValueId apply_activation(LayerCtx& ctx, ir::ValueId x, const JsonRef& spec);

} // namespace dlc::frontend
