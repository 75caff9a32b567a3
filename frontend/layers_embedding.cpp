// The token-input layers: embedding (a learned vector per token id) and one_hot (1-of-N
// encoding). Their input holds token ids as f32 integers (tensors cross the Runner
// boundary as floats; f32 holds every integer below 2^24 exactly), shape [batch, ...];
// the output adds a last axis of output_dim (embedding) or depth (one_hot).
#include "frontend/layers.h"

namespace dlc::frontend {

namespace {

// Token ids: an f32 tensor with a batch axis.
void need_token_ids(LayerCtx& c) {
  if (c.in_type().dtype != ir::DType::f32 || c.in_type().shape.rank() < 2)
    c.fail_input(0, "token ids (f32 integers) of shape [batch, ...]");
}

ir::ValueId build_embedding(LayerCtx& c) {
  need_token_ids(c);
  int64_t vocab = c.spec.require("input_dim").as_positive_int();
  int64_t dim = c.spec.require("output_dim").as_positive_int();
  // Keras's default: uniform in [-0.05, 0.05] (runtime/init.h's uniform without a limit).
  ir::ValueId table = c.param("embeddings", {vocab, dim}, c.initializer("embeddings_initializer", "uniform", vocab, dim));
  // mask_zero (Keras): token id 0 is padding; the output carries the mask id != 0 (as
  // sign(|id|)), which recurrent layers, losses and metrics honour (docs/recurrent.md).
  if (auto mz = c.spec.get("mask_zero"); mz && mz->as_bool()) {
    if (c.in_type().shape.rank() != 2)
      mz->fail("layer '{}' (embedding): mask_zero masks the steps of a sequence of token ids [batch, T], but its "
               "input is {}",
               c.info.name, c.in_type().str());
    c.mask_handled = true;
    c.info.mask = c.op("sign", {c.op("abs", {c.in()}, {}, "abs_ids")}, {}, "mask");
  }
  return c.op("embedding_lookup", {c.in(), table});
}

ir::ValueId build_one_hot(LayerCtx& c) {
  need_token_ids(c);
  int64_t depth = c.spec.require("depth").as_positive_int();
  return c.op("one_hot", {c.in()}, {{"depth", depth}});
}

} // namespace

std::vector<LayerDef> token_layers() {
  return {{"embedding", {"input_dim", "output_dim", "embeddings_initializer", "mask_zero"}, 1, 1, build_embedding},
          {"one_hot", {"depth"}, 1, 1, build_one_hot}};
}

} // namespace dlc::frontend
