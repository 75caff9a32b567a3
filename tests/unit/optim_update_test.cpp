// Every optimizer and regulariser: three steps on w (2x3) and b (3) with given gradients
// (graph inputs) match PyTorch, or the papers' definitions where PyTorch differs
// (tests/fixtures/optim/make_fixtures.py says which and why).
#include "frontend/model.h"
#include "ir/interp/interpreter.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/training.h"
#include "tests/fixtures/optim/optim_cases.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace dlc;

namespace {

ir::TensorType f32(ir::Shape s) { return ir::TensorType{ir::DType::f32, std::move(s)}; }

ir::OptimizerSpec spec_of(const optim_fixture::Case& c) {
  ir::OptimizerSpec o;
  o.type = c.type;
  for (auto& [k, v] : c.hyper) o.hyper[k] = v;
  o.hyper["lr"] = c.lrs[0];
  o.weight_decay = c.weight_decay;
  o.decoupled_weight_decay = c.decoupled;
  o.clip_norm = c.clip_norm;
  o.clip_value = c.clip_value;
  return o;
}

// w and b as params, their gradients and lr as inputs, then the optimizer.
struct Problem {
  ir::Graph g;
  ir::ValueId w, b;

  explicit Problem(const ir::OptimizerSpec& opt) {
    w = g.add_param("w", f32({2, 3}), {});
    b = g.add_param("b", f32({3}), {});
    ir::ValueId gw = g.add_input("grad.w", f32({2, 3}));
    ir::ValueId gb = g.add_input("grad.b", f32({3}));
    ir::ValueId lr = g.add_input("lr", f32({}));
    passes::append_optimizer(g, opt, {{w, gw}, {b, gb}}, lr);
    ir::verify(g);
  }

  ir::Bindings initial() const {
    ir::Bindings v = ir::init_params(g, 0);
    v["w"] = ir::Tensor(f32({2, 3}), optim_fixture::kW0);
    v["b"] = ir::Tensor(f32({3}), optim_fixture::kB0);
    return v;
  }

  void step(ir::Bindings& v, int k, double lr) const {
    v["grad.w"] = ir::Tensor(f32({2, 3}), optim_fixture::kGradW[size_t(k)]);
    v["grad.b"] = ir::Tensor(f32({3}), optim_fixture::kGradB[size_t(k)]);
    v["lr"] = ir::Tensor(f32({}), std::vector<double>{lr});
    ir::apply_updates(g, ir::evaluate(g, v), v);
  }
};

// f32 arithmetic in PyTorch and in the interpreter's rounding differ by a few ulps, more
// where a step cancels most of a value.
void check_close(const std::string& what, const ir::Tensor& got, const std::vector<double>& want) {
  REQUIRE(got.numel() == int64_t(want.size()));
  for (size_t i = 0; i < want.size(); i++) {
    INFO(what << "[" << i << "]: got " << got[int64_t(i)] << ", want " << want[i]);
    CHECK(std::fabs(got[int64_t(i)] - want[i]) <= 2e-6 + 1e-5 * std::fabs(want[i]));
  }
}

} // namespace

TEST_CASE("optim: three steps of every optimizer and regulariser match the fixture") {
  for (const optim_fixture::Case& c : optim_fixture::kCases) {
    INFO("case " << c.name << " (expected values from " << c.source << ")");
    Problem p(spec_of(c));
    ir::Bindings v = p.initial();
    for (int k = 0; k < 3; k++) {
      p.step(v, k, c.lrs[size_t(k)]);
      check_close(c.name + ": w after step " + std::to_string(k + 1), v["w"], c.w[size_t(k)]);
      check_close(c.name + ": b after step " + std::to_string(k + 1), v["b"], c.b[size_t(k)]);
    }
  }
}

TEST_CASE("optim: state is named <param>.<slot> and updated once per step") {
  ir::OptimizerSpec adam;
  adam.type = "nadam";
  adam.hyper = {{"lr", 0.002}, {"beta1", 0.9}, {"beta2", 0.999}, {"epsilon", 1e-8}, {"momentum_decay", 0.004}};
  Problem p(adam);
  std::vector<std::string> states;
  for (ir::ValueId s : p.g.states()) states.push_back(p.g.value(s).name);
  CHECK(states == std::vector<std::string>{"opt.step", "opt.mu_product", "w.m", "w.v", "b.m", "b.v"});
  CHECK(p.g.updates().size() == 2 + 2 + 4);
  std::string text = ir::print_graph(p.g);
  CHECK(text.find("update %w.m <- %w.m.new") != std::string::npos);
  // The per-step scalars are computed once for every parameter, then read by each update.
  CHECK(text.find("%w.new, %w.m.new, %w.v.new = nadam_update(%w, %grad.w, %w.m, %w.v, %lr, "
                  "%opt.grad_coef, %opt.momentum_coef, %opt.bias_correction2)") != std::string::npos);
  CHECK(text.find("%opt.grad_coef = nadam_grad_coef(%opt.step.new, %opt.mu_product.new)") != std::string::npos);
  CHECK(text.find("%opt.bias_correction2 = bias_correction(%opt.step.new) {beta=0.999}") != std::string::npos);

  ir::Bindings v = p.initial();
  CHECK(v["opt.mu_product"][0] == 1.0);
  for (int k = 0; k < 3; k++) p.step(v, k, 0.002);
  CHECK(v["opt.step"][0] == 3.0);
  double mu_product = 1;
  for (int t = 1; t <= 3; t++) mu_product *= 0.9 * (1 - 0.5 * std::pow(0.96, t * 0.004));
  CHECK(v["opt.mu_product"][0] == doctest::Approx(mu_product).epsilon(1e-6));
}

TEST_CASE("optim: a checkpoint of params and state resumes a run exactly") {
  for (const char* type : {"adam", "nadam", "adadelta", "nesterov"}) {
    INFO(type);
    const optim_fixture::Case* c = nullptr;
    for (auto& k : optim_fixture::kCases)
      if (k.name == type) c = &k;
    REQUIRE(c);
    Problem straight(spec_of(*c));
    ir::Bindings a = straight.initial();
    for (int k = 0; k < 3; k++) straight.step(a, k, 0.01);

    Problem first(spec_of(*c));
    ir::Bindings b = first.initial();
    first.step(b, 0, 0.01);
    Problem resumed(spec_of(*c)); // a fresh graph, given only the persistent values
    ir::Bindings checkpoint;
    for (ir::ValueId id : resumed.g.params()) checkpoint[resumed.g.value(id).name] = b[resumed.g.value(id).name];
    for (ir::ValueId id : resumed.g.states()) checkpoint[resumed.g.value(id).name] = b[resumed.g.value(id).name];
    for (int k = 1; k < 3; k++) resumed.step(checkpoint, k, 0.01);
    CHECK(checkpoint["w"].data == a["w"].data);
    CHECK(checkpoint["b"].data == a["b"].data);
  }
}

TEST_CASE("optim: global-norm clipping follows clip_grad_norm_ exactly") {
  // ||(3, 4)|| = 5 > clip 1: the gradient becomes (3, 4) / (5 + 1e-6); sgd with lr 1.
  ir::OptimizerSpec sgd;
  sgd.type = "sgd";
  sgd.clip_norm = 1;
  ir::Graph g;
  ir::ValueId w = g.add_param("w", f32({2}), {});
  ir::ValueId gw = g.add_input("grad.w", f32({2}));
  ir::ValueId lr = g.add_input("lr", f32({}));
  passes::append_optimizer(g, sgd, {{w, gw}}, lr);
  ir::Bindings v = {{"w", ir::Tensor(f32({2}), std::vector<double>{0, 0})},
                    {"grad.w", ir::Tensor(f32({2}), std::vector<double>{3, 4})},
                    {"lr", ir::Tensor(f32({}), std::vector<double>{1})}};
  auto env = ir::evaluate(g, v);
  CHECK(env[size_t(g.find("opt.grad_norm"))][0] == 5.0);
  CHECK(env[size_t(g.find("w.new"))][0] == doctest::Approx(-3 / (5 + 1e-6)).epsilon(1e-7));
  CHECK(env[size_t(g.find("w.new"))][1] == doctest::Approx(-4 / (5 + 1e-6)).epsilon(1e-7));
}

TEST_CASE("optim: a parameter without a gradient is left alone") {
  ir::OptimizerSpec sgd;
  sgd.type = "momentum";
  sgd.hyper = {{"momentum", 0.9}};
  ir::Graph g;
  ir::ValueId w = g.add_param("w", f32({2}), {});
  ir::ValueId lr = g.add_input("lr", f32({}));
  passes::append_optimizer(g, sgd, {{w, ir::kNoValue}}, lr);
  CHECK(g.updates().empty());
  CHECK(g.states().empty());
}

TEST_CASE("optim: bad optimizer specs are errors naming the problem") {
  ir::Graph g;
  ir::ValueId w = g.add_param("w", f32({2}), {});
  ir::ValueId gw = g.add_input("grad.w", f32({2}));
  ir::ValueId lr = g.add_input("lr", f32({}));
  ir::OptimizerSpec o;
  o.type = "adamm";
  CHECK_THROWS_WITH_AS(passes::append_optimizer(g, o, {{w, gw}}, lr), doctest::Contains("did you mean 'adam'"),
                       Error);
  o.type = "adam"; // no hyper-parameters filled in
  CHECK_THROWS_WITH_AS(passes::append_optimizer(g, o, {{w, gw}}, lr),
                       doctest::Contains("hyper-parameter 'beta1' is not set"), Error);
  o.type = "sgd";
  CHECK_THROWS_WITH_AS(passes::append_optimizer(g, o, {{w, gw}}, gw), doctest::Contains("f32[]"), Error);
  o.hyper = {{"rho", 1.5}, {"epsilon", 1e-8}};
  o.type = "rmsprop";
  CHECK_THROWS_WITH_AS(passes::append_optimizer(g, o, {{w, gw}}, lr), doctest::Contains("rho = 1.5 is out of range"),
                       Error);
}

TEST_CASE("optim: update ops check their operand types") {
  ir::Graph g;
  ir::ValueId w = g.add_param("w", f32({2}), {});
  ir::ValueId m = g.add_param("m", f32({3}), {});
  ir::ValueId lr = g.add_input("lr", f32({}));
  ir::Attrs a{{"beta1", 0.9}, {"beta2", 0.999}, {"epsilon", 1e-8}};
  // param, grad, m, v, lr, bias_correction1, bias_correction2, [grad_scale]
  CHECK_THROWS_WITH_AS(g.add_node("adam_update", {w, w, m, w, lr, lr, lr}, a, "u"),
                       doctest::Contains("operand 2 (m) must have the parameter's type f32[2]"), Error);
  CHECK_THROWS_WITH_AS(g.add_node("adam_update", {w, w, w, w, lr, w, lr}, a, "u"),
                       doctest::Contains("operand 5 (bias_correction1) must be f32[]"), Error);
  CHECK(g.add_node("adam_update", {w, w, w, w, lr, lr, lr, lr}, a, "u").size() == 3); // + grad_scale
}

TEST_CASE("optim: learning-rate schedules") {
  ir::OptimizerSpec o;
  o.hyper = {{"lr", 0.5}};
  auto lr = [&](const char* type, int64_t step, int64_t epoch) {
    o.schedule.type = type;
    return passes::scheduled_lr(o, step, epoch);
  };
  CHECK(lr("constant", 7, 3) == 0.5);
  CHECK(lr("inverse_sqrt", 7, 0) == 0.5);
  CHECK(lr("inverse_sqrt", 7, 3) == doctest::Approx(0.25)); // 0.5 / sqrt(4)
  o.schedule.gamma = 0.5;
  o.schedule.step_size = 2;
  CHECK(lr("step", 0, 1) == 0.5);
  CHECK(lr("step", 0, 2) == 0.25);
  CHECK(lr("step", 0, 5) == 0.125); // 0.5 * 0.5^floor(5/2)
  CHECK(lr("exponential", 0, 3) == 0.0625);
  o.schedule.unit = "step";
  CHECK(lr("exponential", 2, 9) == 0.125);
  CHECK(lr("step", 5, 0) == 0.125);
  CHECK(lr("inverse_sqrt", 8, 0) == doctest::Approx(0.5 / 3));
}

TEST_CASE("optim: inverse_time, cosine (with restarts), piecewise and warm-up, by hand") {
  ir::OptimizerSpec o;
  o.hyper = {{"lr", 0.5}};
  o.schedule.unit = "step";
  auto lr = [&](const char* type, int64_t t) {
    o.schedule.type = type;
    return passes::scheduled_lr(o, t, 0);
  };
  o.schedule.decay_rate = 0.5;
  o.schedule.decay_steps = 2;
  CHECK(lr("inverse_time", 0) == 0.5);
  CHECK(lr("inverse_time", 4) == doctest::Approx(0.25)); // 0.5 / (1 + 0.5 * 4 / 2)
  // Cosine over T = 4 with floor alpha = 0.2: 0.5 * (0.8 * (1 + cos(pi t / 4)) / 2 + 0.2).
  o.schedule.decay_steps = 4;
  o.schedule.alpha = 0.2;
  CHECK(lr("cosine", 0) == doctest::Approx(0.5));
  CHECK(lr("cosine", 2) == doctest::Approx(0.5 * (0.4 + 0.2))); // cos = 0
  CHECK(lr("cosine", 4) == doctest::Approx(0.1));               // the floor
  CHECK(lr("cosine", 9) == doctest::Approx(0.1));               // and stays there
  // With restarts, t_mul 2, m_mul 0.5: periods [0, 4) height 1, [4, 12) height 0.5.
  o.schedule.restarts = true;
  o.schedule.t_mul = 2;
  o.schedule.m_mul = 0.5;
  CHECK(lr("cosine", 4) == doctest::Approx(0.5 * (0.8 * 0.5 + 0.2)));       // restart, half height
  CHECK(lr("cosine", 8) == doctest::Approx(0.5 * (0.8 * 0.5 * 0.5 + 0.2))); // middle of the 2nd period
  CHECK(lr("cosine", 12) == doctest::Approx(0.5 * (0.8 * 0.25 + 0.2)));     // 3rd period, quarter height
  o.schedule.boundaries = {2, 5};
  o.schedule.values = {0.3, 0.2, 0.1};
  CHECK(lr("piecewise", 2) == 0.3); // t <= 2
  CHECK(lr("piecewise", 3) == 0.2);
  CHECK(lr("piecewise", 6) == 0.1);
  // Warm-up over 4 steps: 0.125, 0.25, 0.375, 0.5, then the schedule from its t = 0.
  o.schedule.warmup = 4;
  CHECK(lr("inverse_time", 0) == 0.125);
  CHECK(lr("inverse_time", 3) == 0.5);
  o.schedule.decay_steps = 2;
  CHECK(lr("inverse_time", 8) == doctest::Approx(0.25)); // t = 4 of the schedule
}

TEST_CASE("optim: schedules from the model file, and bad ones") {
  auto spec = [](const std::string& schedule) {
    return frontend::load_model_text(R"({"input_shape": [2], "layers": [{"type": "dense", "units": 1}], "loss": "mse",
        "optimizer": {"type": "sgd", "lr": 0.1, "schedule": )" + schedule + "}}", "m.json").training.optimizer.schedule;
  };
  auto error_of = [&](const std::string& schedule) {
    try {
      spec(schedule);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  ir::ScheduleSpec c = spec(R"({"type": "cosine", "decay_steps": 10, "alpha": 0.1, "restarts": true, "warmup": 2})");
  CHECK(c.decay_steps == 10);
  CHECK(c.alpha == 0.1);
  CHECK(c.restarts);
  CHECK(c.warmup == 2);
  CHECK(spec(R"({"type": "piecewise", "boundaries": [3, 6], "values": [0.1, 0.05, 0.01]})").values.size() == 3);
  CHECK(error_of(R"("cosine")").find("needs its period") != std::string::npos);
  CHECK(error_of(R"({"type": "piecewise", "boundaries": [3], "values": [0.1]})").find("expected 2 rates") !=
        std::string::npos);
  CHECK(error_of(R"({"type": "piecewise", "boundaries": [3, 2], "values": [0.1, 0.2, 0.3]})")
            .find("increasing order") != std::string::npos);
  CHECK(error_of(R"({"type": "cosine", "decay_steps": 5, "m_mul": 2})").find("height factor") != std::string::npos);
  CHECK(error_of(R"({"type": "inverse_time", "alpha": 0.1})").find("alpha") != std::string::npos);
  CHECK(error_of(R"({"type": "cosine", "decay_steps": 5, "t_mul": 0.5})").find("period factor >= 1") != std::string::npos);
  CHECK(error_of(R"({"type": "step", "warmup": -1})").find("expected a number of epochs (or steps) >= 0") !=
        std::string::npos);
  CHECK(error_of(R"({"type": "inverse_time", "decay_rate": 0})").find("decay_rate") != std::string::npos);
}
