// Coverage generated from the op table: every registered op runs on its example
// (ir::OpDef::example) through the reference interpreter, the JIT and emitted C++, which
// must agree; every differentiable forward op's gradient (a weighted sum of its results,
// differentiated by passes/autodiff) is checked against central finite differences and
// runs through both compiled backends too. Nothing here names an op: a new op is covered
// by being registered, and one that lacks an example, a lowering, a gradient rule or a
// scalar formula fails here with its name.
#include "codegen_cpp_helpers.h"
#include "jit_test_helpers.h"
#include "frontend/model.h"
#include "passes/autodiff/grad_rule.h"
#include "passes/autodiff.h"
#include "passes/gradcheck.h"
#include "passes/pass_manager.h"

#include <random>

namespace dlc::test_cpp {

namespace {

// One op's subgraph in a graph that may hold many: its inputs (with the values they are
// bound to), its results and, when asked, its loss.
struct OpCase {
  std::string op;
  std::vector<ir::ValueId> inputs, results, float_inputs;
  ir::ValueId loss = ir::kNoValue;
};

ir::Tensor example_values(const ir::ExampleOperand& e, std::mt19937& rng) {
  ir::Tensor t(e.type);
  std::uniform_real_distribution<double> u(e.lo, e.hi);
  for (int64_t i = 0; i < t.numel(); i++) t[i] = e.integer ? std::floor(u(rng)) : u(rng);
  return t;
}

// Adds op `name` on its example to `g`, inputs named "<prefix>.in<k>"; with `loss`, also
// sum over results r of reduce_sum(y_r * c_r), constants c_r in [0.5, 1.5).
OpCase add_op(ir::Graph& g, ir::Bindings& b, const std::string& name, const std::string& prefix, bool loss,
              uint32_t seed) {
  std::mt19937 rng(seed);
  const ir::OpDef& def = ir::get_op(name);
  ir::OpExample ex = def.example_or_default();
  OpCase c{name, {}, {}, {}};
  for (size_t k = 0; k < ex.operands.size(); k++) {
    std::string in = fmt::format("{}.in{}", prefix, k);
    ir::ValueId v = g.add_input(in, ex.operands[k].type);
    b[in] = example_values(ex.operands[k], rng);
    c.inputs.push_back(v);
    if (ir::is_float(ex.operands[k].type.dtype) && !ex.operands[k].integer && !ex.operands[k].target)
      c.float_inputs.push_back(v);
  }
  c.results = g.add_node(name, c.inputs, ex.attrs, prefix, ex.make_body ? ex.make_body() : nullptr);
  for (size_t r = 0; r < c.results.size(); r++) g.add_output(fmt::format("{}.out{}", prefix, r), c.results[r]);
  if (!loss) return c;
  std::uniform_real_distribution<double> u(0.5, 1.5);
  for (size_t r = 0; r < c.results.size(); r++) {
    const ir::TensorType t = g.type(c.results[r]);
    std::vector<float> w(size_t(t.shape.numel()));
    for (float& x : w) x = float(u(rng));
    ir::ValueId weights = g.add_constant(fmt::format("{}.w{}", prefix, r), t, w);
    ir::ValueId term = g.add("reduce_sum", {g.add("mul", {c.results[r], weights})});
    c.loss = c.loss == ir::kNoValue ? term : g.add("add", {c.loss, term});
  }
  return c;
}

// Appends the gradients of each case's loss (summed: the cases are independent) with
// respect to its float inputs as outputs "<op>.d<k>".
void add_gradients(ir::Graph& g, std::vector<OpCase>& cases) {
  ir::ValueId total = ir::kNoValue;
  std::vector<ir::ValueId> wrt;
  for (OpCase& c : cases) {
    total = total == ir::kNoValue ? c.loss : g.add("add", {total, c.loss});
    wrt.insert(wrt.end(), c.float_inputs.begin(), c.float_inputs.end());
  }
  std::vector<ir::ValueId> grads = passes::differentiate(g, total, wrt);
  for (size_t i = 0; i < wrt.size(); i++)
    if (grads[i] != ir::kNoValue) g.add_output(g.value(wrt[i]).name + ".d", grads[i]);
}

bool differentiable(const ir::OpDef& d) { return d.phase == ir::Phase::forward && d.differentiable; }

// An op the compiled backends cannot run yet (ir::OpDef::not_compiled) is reported as
// skipped there, with the reason, after the interpreter has run its example.
bool skipped_when_compiled(const ir::OpDef& d, const char* backend) {
  if (d.not_compiled.empty()) return false;
  ir::Graph g;
  ir::Bindings b;
  add_op(g, b, d.name, d.name, false, 1);
  CHECK_NOTHROW(ir::run_outputs(g, b));
  MESSAGE("skipped under " << std::string(backend) << ": op '" << d.name << "': " << d.not_compiled);
  return true;
}

// The largest difference from the interpreter's value, relative to the interpreter's
// largest magnitude (at least 1e-3).
double difference(const std::vector<float>& got, const ir::Tensor& want) {
  double scale = 1e-3, worst = 0;
  for (int64_t i = 0; i < want.numel(); i++) scale = std::max(scale, std::fabs(want[i]));
  for (int64_t i = 0; i < want.numel(); i++) worst = std::max(worst, std::fabs(double(got[size_t(i)]) - want[i]));
  return worst / scale;
}

// Emitted C++ of `g` built with the test driver: every output, in graph order.
std::vector<std::vector<float>> run_cpp(const ir::Graph& g, const ir::Bindings& b, const std::string& tag) {
  passes::Program p = passes::compile(g);
  codegen::CppModel m;
  m.name = tag;
  m.infer = &p;
  codegen::CppOptions o;
  o.name = "net";
  codegen::CppFiles f = codegen::emit_cpp(m, nullptr, o);
  fs::path dir = work_dir(tag);
  write_text(dir / "net.cpp", f.source);
  write_text(dir / "net.h", f.header);
  write_text(dir / codegen::kRuntimeHeaderFile, f.runtime);
  std::vector<float> x;
  for (ir::ValueId v : g.inputs()) {
    std::vector<float> t = b.at(g.value(v).name).to_float();
    x.insert(x.end(), t.begin(), t.end());
  }
  write_floats(dir / "x.bin", x);
  std::string log;
  std::string cmd = "g++ -std=c++17 -O1 -Wall -Wextra -Werror -I '" + dir.string() + "' '" + DLC_SOURCE_DIR +
                    "/tests/fixtures/codegen/driver.cpp' '" + (dir / "net.cpp").string() + "' -o '" +
                    (dir / "driver").string() + "' && cd '" + dir.string() + "' && ./driver infer 0 1 x.bin y.bin";
  int rc = shell(cmd, log, dir);
  INFO(cmd, "\n", log.substr(0, 4000));
  REQUIRE(rc == 0);
  std::vector<float> y = read_floats(dir / "y.bin");
  std::vector<std::vector<float>> out;
  size_t at = 0;
  for (const auto& o2 : g.outputs()) {
    size_t n = size_t(g.type(o2.value).shape.numel());
    REQUIRE(at + n <= y.size());
    out.emplace_back(y.begin() + long(at), y.begin() + long(at + n));
    at += n;
  }
  fs::remove_all(dir);
  return out;
}

void check_outputs(const ir::Graph& g, const ir::Bindings& b, const std::vector<std::vector<float>>& got,
                   const char* backend) {
  auto want = ir::run_outputs(g, b);
  REQUIRE(want.size() == got.size());
  for (size_t i = 0; i < want.size(); i++) {
    CAPTURE(backend);
    CAPTURE(want[i].first);
    CHECK(difference(got[i], want[i].second) < 1e-4);
  }
}

} // namespace

TEST_CASE("op table: every op has an example, a reference kernel and, as a body op, its scalar formula") {
  for (const std::string& name : ir::op_names()) {
    CAPTURE(name);
    const ir::OpDef& d = ir::get_op(name);
    CHECK_NOTHROW(d.example_or_default());
    CHECK(ir::find_eval(name) != nullptr);
    if (differentiable(d)) CHECK(passes::autodiff::find_grad(name) != nullptr);
  }
  // What the frontend accepts by name is in the table.
  for (const std::string& a : frontend::activation_names())
    if (a != "linear") CHECK_MESSAGE(ir::find_op(frontend::activation_op(a)) != nullptr, "activation " << a);
}

TEST_CASE("op table: every op computes the interpreter's values under the JIT, each alone") {
  for (const std::string& name : ir::op_names()) {
    CAPTURE(name);
    if (skipped_when_compiled(ir::get_op(name), "the JIT")) continue;
    ir::Graph g;
    ir::Bindings b;
    add_op(g, b, name, name, false, 1);
    std::vector<std::vector<float>> got;
    try {
      got = run_jit(g, b);
    } catch (const Error& e) {
      FAIL_CHECK(name << ": " << e.what()); // e.g. no lowering: the op is named
      continue;
    }
    check_outputs(g, b, got, "jit");
  }
}

TEST_CASE("op table: every differentiable op's gradient against finite differences and under the JIT") {
  for (const std::string& name : ir::op_names()) {
    if (!differentiable(ir::get_op(name))) continue;
    CAPTURE(name);
    ir::Graph g;
    ir::Bindings b;
    std::vector<OpCase> cases = {add_op(g, b, name, name, true, 2)};
    passes::GradCheckOptions opt;
    opt.tol = 2e-4;
    passes::GradCheckResult r = passes::check_gradients(g, cases[0].loss, cases[0].float_inputs, b, opt);
    const passes::ValueCheck* bad = r.first_failure(opt.tol);
    CHECK_MESSAGE(bad == nullptr, (bad ? fmt::format("{}: analytic {} numeric {}", bad->name, bad->analytic, bad->numeric) : ""));
    if (!ir::get_op(name).not_compiled.empty()) {
      MESSAGE("gradient skipped under the JIT: op '" << name << "': " << ir::get_op(name).not_compiled);
      continue;
    }
    add_gradients(g, cases);
    std::vector<std::vector<float>> got;
    try {
      got = run_jit(g, b);
    } catch (const Error& e) {
      FAIL_CHECK(name << ": " << e.what());
      continue;
    }
    check_outputs(g, b, got, "jit");
  }
}

// One program for all ops (a g++ build per op would take minutes): any op the C++
// backend cannot compile fails it, named in the error.
TEST_CASE("op table: every op, and every differentiable op's gradient, in emitted C++") {
  ir::Graph g;
  ir::Bindings b;
  std::vector<OpCase> differentiable_cases;
  uint32_t seed = 3;
  for (const std::string& name : ir::op_names()) {
    if (skipped_when_compiled(ir::get_op(name), "emitted C++")) continue;
    bool d = differentiable(ir::get_op(name));
    OpCase c = add_op(g, b, name, name, d, seed++);
    if (d) differentiable_cases.push_back(c);
  }
  add_gradients(g, differentiable_cases);
  std::vector<std::vector<float>> got = run_cpp(g, b, "op_coverage");
  check_outputs(g, b, got, "c++");
}

} // namespace dlc::test_cpp
