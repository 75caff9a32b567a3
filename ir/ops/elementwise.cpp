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

// An activation whose derivative is a function of its input: the op `name` and the
// backward op `name`_grad(x, dy) = dy * name'(x), both element-wise with the attributes
// `attrs` (each with its default). Its gradient rule (passes/autodiff/grad_elementwise.cpp)
// emits the backward op.
static OpDef& activation(const std::string& name, const std::string& summary, std::vector<ScalarAttr> attrs = {}) {
  std::vector<AttrSpec> specs;
  for (const ScalarAttr& a : attrs) specs.push_back({a.name, a.type == ScalarType::i64 ? AttrKind::Int : AttrKind::Float, false});
  OpDef& grad = body({name + "_grad", "dy * " + name + "'(x)", 2, 2, specs,
                      [](const InferContext& c) {
                        c.expect_float(0);
                        if (c.in[1] != c.in[0]) c.fail("dy {} must have the type of x {}", c.in[1].str(), c.in[0].str());
                        return std::vector<TensorType>{c.in[0]};
                      }},
                     {attrs});
  grad.phase = Phase::backward;
  grad.example = example({f32_in({3, 4}, -3, 3), f32_in({3, 4})});
  OpDef& d = body({name, summary, 1, 1, specs, unary_float()}, {attrs});
  d.activation = true;
  d.grad_from_x = grad.name;
  d.example = example({f32_in({3, 4}, -3, 3)});
  return d;
}

OpDef& body(OpDef def, ScalarForm form) {
  OpDef& d = register_op(std::move(def));
  d.scalar = std::move(form);
  d.batch = batch_elementwise();
  return d;
}

void register_elementwise_ops() {
  using dlc_rt::Act;
  // The unary ops, the activation a GEMM or convolution epilogue can apply for them, and
  // the lower end of their domain (for their examples).
  struct Unary {
    const char* name;
    Act act;
    double lo;
  };
  const Unary unary[] = {{"sigmoid", Act::sigmoid, -1}, {"tanh", Act::tanh, -1}, {"relu", Act::relu, -1},
                         {"softplus", Act::none, -1},   {"exp", Act::none, -1},   {"log", Act::none, 0.1},
                         {"neg", Act::none, -1},        {"sqrt", Act::none, 0.1}, {"square", Act::none, -1},
                         {"abs", Act::none, -1},        {"sign", Act::none, -1}};
  for (const Unary& u : unary) {
    OpDef& d = body({u.name, std::string("element-wise ") + u.name, 1, 1, {}, unary_float()});
    d.epilogue_act = int(u.act);
    d.example = example({f32_in({3, 4}, u.lo, 2)});
  }
  for (const char* name : {"sigmoid", "tanh", "relu", "softplus"}) registered_op(name).activation = true;

  // Activations whose derivative is computed from x, each with name_grad (docs/adding-an-op.md).
  activation("elu", "x if x > 0 else alpha (exp(x) - 1)", {{"alpha", ScalarType::f32, 1.0}});
  activation("selu", "scale (x if x > 0 else alpha (exp(x) - 1)), the self-normalising constants");
  activation("gelu", "x Phi(x) (approximate = 1: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))))",
             {{"approximate", ScalarType::i64, 0}});
  activation("silu", "x sigmoid(x) (swish)");
  activation("hard_sigmoid", "clamp(x / 6 + 1/2, 0, 1)");
  activation("mish", "x tanh(softplus(x))");
  activation("softsign", "x / (1 + |x|)");

  OpDef& leaky = body({"leaky_relu", "x if x > 0 else alpha*x", 1, 1, {{"alpha", AttrKind::Float}}, unary_float()},
                      {{{"alpha"}}});
  leaky.epilogue_act = int(Act::leaky_relu);
  leaky.activation = true;
  leaky.example = example({f32_in({3, 4})}, {{"alpha", 0.2}});
  // y = x * scale + offset, the affine map passes use for constants folded into kernels.
  body({"scale", "x*scale + offset", 1, 1, {{"scale", AttrKind::Float}, {"offset", AttrKind::Float, false}},
        unary_float()},
       {{{"scale"}, {"offset"}}})
      .example = example({f32_in({3, 4})}, {{"scale", 0.5}, {"offset", 0.25}});

  for (const char* name : {"add", "sub", "mul", "div", "maximum", "minimum"})
    body({name, std::string("broadcasting ") + name, 2, 2, {}, broadcast_binary()}).example =
        example({f32_in({3, 4}), f32_in({4}, 0.5, 2)}); // a broadcast row, away from 0 (div)

  body({"bias_add", "x[..., c] + b[c]", 2, 2, {}, [](const InferContext& c) {
          c.expect_float(0);
          c.expect_min_rank(0, 1);
          c.expect_rank(1, 1);
          int64_t ch = c.in[0].shape[c.in[0].shape.rank() - 1];
          if (c.in[1].shape[0] != ch)
            c.fail("bias has {} elements, the last axis of {} has {}", c.in[1].shape[0], c.in[0].str(), ch);
          return std::vector<TensorType>{c.in[0]};
        }})
      .example = example({f32_in({3, 4}), f32_in({4})});

  body({"prelu", "x if x > 0 else slope[c]*x, slope learned per channel (last axis)", 2, 2, {},
        [](const InferContext& c) {
          c.expect_float(0);
          c.expect_min_rank(0, 1);
          c.expect_rank(1, 1);
          int64_t ch = c.in[0].shape[c.in[0].shape.rank() - 1];
          if (c.in[1].shape[0] != ch)
            c.fail("slope has {} elements, the last axis of {} has {}", c.in[1].shape[0], c.in[0].str(), ch);
          return std::vector<TensorType>{c.in[0]};
        }})
      .example = example({f32_in({3, 4}), f32_in({4}, 0, 0.5)});

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
       dropout)
      .example = example({f32_in({3, 4})}, {{"rate", 0.25}, {"stream", int64_t(1)}});

  // The other regularising noises of Keras, drawn like dropout from (seed, stream << 32 +
  // step, key) and the identity at inference:
  //   gaussian_noise     x + stddev n                          (GaussianNoise)
  //   gaussian_dropout   x (1 + sqrt(rate / (1 - rate)) n)     (GaussianDropout)
  //   spatial_dropout    x m / (1 - rate), one m per sample and channel: key = sample *
  //                      channels + channel, sample = i / block (SpatialDropout2D)
  // n ~ N(0, 1) by Box-Muller (runtime/rng.h), m ~ Bernoulli(1 - rate).
  auto noise = [&](const char* name, const char* summary, const char* amount, bool fraction,
                   std::vector<ScalarAttr> extra) {
    ScalarForm f{{{amount, ScalarType::f64}, {"stream", ScalarType::i64}}};
    for (auto& e : extra) f.attrs.push_back(e);
    f.random = true;
    std::vector<AttrSpec> attrs = {{amount, AttrKind::Float}, {"stream", AttrKind::Int}};
    for (auto& e : extra) attrs.push_back({e.name, AttrKind::Int});
    std::string a = amount;
    return &body({name, summary, 1, 1, attrs,
                  [a, fraction](const InferContext& c) {
                    c.expect_float(0);
                    double r = c.attrs.get_float(a);
                    if (fraction ? !(r >= 0 && r < 1) : !(r >= 0)) c.fail("{} must be {}, got {}", a, fraction ? "in [0, 1)" : ">= 0", r);
                    for (const char* k : {"channels", "block"})
                      if (c.attrs.has(k) && c.attrs.get_int(k) <= 0) c.fail("{} must be positive", k);
                    return std::vector<TensorType>{c.in[0]};
                  }},
                 f);
  };
  noise("gaussian_noise", "x + stddev * N(0, 1) in training, x otherwise", "stddev", false, {})->example =
      example({f32_in({3, 4})}, {{"stddev", 0.5}, {"stream", int64_t(2)}});
  noise("gaussian_dropout", "x * N(1, rate / (1 - rate)) in training, x otherwise", "rate", true, {})->example =
      example({f32_in({3, 4})}, {{"rate", 0.3}, {"stream", int64_t(3)}});
  noise("spatial_dropout", "dropout of whole channels per sample in training, x otherwise", "rate", true,
        {{"channels", ScalarType::i64}, {"block", ScalarType::i64}})
      ->example = example({f32_in({2, 2, 3, 4})}, {{"rate", 0.5}, {"stream", int64_t(4)}, {"channels", int64_t(4)},
                                                  {"block", int64_t(24)}});

  // A random factor per group of `block` elements (per sample, for augmentation): u in
  // [lower, upper) drawn at key i / block in training, 1 otherwise. x gives only the
  // shape; the result does not depend on its values (no gradient).
  ScalarForm factor{{{"lower", ScalarType::f64}, {"upper", ScalarType::f64}, {"stream", ScalarType::i64},
                     {"block", ScalarType::i64}}};
  factor.random = true;
  body({"random_factor", "u ~ U[lower, upper) per block of elements in training, 1 otherwise", 1, 1,
        {{"lower", AttrKind::Float}, {"upper", AttrKind::Float}, {"stream", AttrKind::Int}, {"block", AttrKind::Int}},
        [](const InferContext& c) {
          c.expect_float(0);
          if (!(c.attrs.get_float("lower") <= c.attrs.get_float("upper"))) c.fail("lower must be <= upper");
          if (c.attrs.get_int("block") <= 0) c.fail("block must be positive");
          return std::vector<TensorType>{c.in[0]};
        }},
       factor)
      .example = example({f32_in({2, 6})}, {{"lower", 0.5}, {"upper", 1.5}, {"stream", int64_t(5)}, {"block", int64_t(6)}});

  // The value of the run's phase: `train` in a training step, `infer` otherwise (batch
  // normalisation's batch and running statistics). passes::specialize_phase replaces it
  // by one operand when a program's phase is known, so compiled programs normally never
  // run it; as a body op it reads the run's training flag like dropout.
  ScalarForm phase;
  phase.random = true;
  body({"phase_select", "train in a training step, infer otherwise", 2, 2, {},
        [](const InferContext& c) {
          c.expect_float(0);
          if (c.in[1] != c.in[0]) c.fail("operands must have one type, got {} and {}", c.in[0].str(), c.in[1].str());
          return std::vector<TensorType>{c.in[0]};
        }},
       phase)
      .example = example({f32_in({3, 4}), f32_in({3, 4})});
}

} // namespace dlc::ir::ops