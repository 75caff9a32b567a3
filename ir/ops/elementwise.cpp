// Element-wise ops: activations, broadcasting arithmetic, bias_add, prelu, dropout.
#include "ir/ops/common.h"
#include "runtime/kernels/common.h" // dlc_rt::Act

namespace dlc::ir::ops {

namespace {

InferFn broadcast_binary() {
  return [](const InferContext& c) {
    if (c.in[0].dtype != c.in[1].dtype)
      c.fail("operand types differ: {} and {}", c.in[0].str(), c.in[1].str());
    Shape out;
    if (!broadcast_shapes(c.in[0].shape, c.in[1].shape, out))
      c.fail("shapes {} and {} do not broadcast", c.in[0].shape.str(), c.in[1].shape.str());
    return std::vector<TensorType>{TensorType{c.in[0].dtype, out}};
  };
}

} // namespace

OpDef& body(OpDef def, ScalarForm form) {
  OpDef& d = register_op(std::move(def));
  d.scalar = std::move(form);
  d.batch = batch_elementwise();
  return d;
}

void register_elementwise_ops() {
  using dlc_rt::Act;
  // The unary ops, and the activation a GEMM or convolution epilogue can apply for them.
  const std::pair<const char*, Act> unary[] = {
      {"sigmoid", Act::sigmoid}, {"tanh", Act::tanh}, {"relu", Act::relu}, {"softplus", Act::none},
      {"exp", Act::none},        {"log", Act::none},  {"neg", Act::none},  {"sqrt", Act::none},
      {"square", Act::none},     {"abs", Act::none},  {"sign", Act::none}};
  for (auto [name, act] : unary)
    body({name, std::string("element-wise ") + name, 1, 1, {}, unary_float()}).epilogue_act = int(act);

  body({"leaky_relu", "x if x > 0 else alpha*x", 1, 1, {{"alpha", AttrKind::Float}}, unary_float()},
       {{{"alpha"}}})
      .epilogue_act = int(Act::leaky_relu);
  // y = x * scale + offset, the affine map passes use for constants folded into kernels.
  body({"scale", "x*scale + offset", 1, 1, {{"scale", AttrKind::Float}, {"offset", AttrKind::Float, false}},
        unary_float()},
       {{{"scale"}, {"offset"}}});

  for (const char* name : {"add", "sub", "mul", "div", "maximum", "minimum"})
    body({name, std::string("broadcasting ") + name, 2, 2, {}, broadcast_binary()});

  body({"bias_add", "x[..., c] + b[c]", 2, 2, {}, [](const InferContext& c) {
          c.expect_float(0);
          c.expect_min_rank(0, 1);
          c.expect_rank(1, 1);
          int64_t ch = c.in[0].shape[c.in[0].shape.rank() - 1];
          if (c.in[1].shape[0] != ch)
            c.fail("bias has {} elements, the last axis of {} has {}", c.in[1].shape[0], c.in[0].str(), ch);
          return std::vector<TensorType>{c.in[0]};
        }});

  body({"prelu", "x if x > 0 else slope[c]*x, slope learned per channel (last axis)", 2, 2, {},
        [](const InferContext& c) {
          c.expect_float(0);
          c.expect_min_rank(0, 1);
          c.expect_rank(1, 1);
          int64_t ch = c.in[0].shape[c.in[0].shape.rank() - 1];
          if (c.in[1].shape[0] != ch)
            c.fail("slope has {} elements, the last axis of {} has {}", c.in[1].shape[0], c.in[0].str(), ch);
          return std::vector<TensorType>{c.in[0]};
        }});

  // Inverted dropout: at training time y = x * mask / (1 - rate), mask ~ Bernoulli(1 - rate)
  // drawn from the counter-based RNG keyed by (seed, step, stream, element); the identity
  // at inference.
  ScalarForm dropout{{{"rate", ScalarType::f64}, {"stream", ScalarType::i64}}};
  dropout.random = true;
  body({"dropout", "inverted dropout (identity at inference)", 1, 1,
        {{"rate", AttrKind::Float}, {"stream", AttrKind::Int}},
        [](const InferContext& c) {
          c.expect_float(0);
          double r = c.attrs.get_float("rate");
          if (!(r >= 0 && r < 1)) c.fail("rate must be in [0, 1), got {}", r);
          return std::vector<TensorType>{c.in[0]};
        }},
       dropout);
}

} // namespace dlc::ir::ops