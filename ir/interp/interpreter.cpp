#include "ir/interp/interpreter.h"

#include "runtime/init.h"

#include <fmt/format.h>
#include <mutex>

namespace dlc::ir {

void register_all_evals(); // eval_*.cpp, via eval_registry.cpp

namespace {
std::map<std::string, EvalFn>& evals() {
  static std::map<std::string, EvalFn> m;
  return m;
}
void ensure_evals() {
  static std::once_flag once;
  std::call_once(once, [] { register_all_evals(); });
}
} // namespace

void register_eval(const std::string& op, EvalFn fn) { evals()[op] = std::move(fn); }

const EvalFn* find_eval(const std::string& op) {
  ensure_evals();
  auto it = evals().find(op);
  return it == evals().end() ? nullptr : &it->second;
}

std::vector<Tensor> evaluate(const Graph& g, const Bindings& bindings, const EvalContext& ctx) {
  std::vector<Tensor> env(g.values().size());
  for (const Value& v : g.values()) {
    if (v.kind == ValueKind::result) continue;
    if (v.kind == ValueKind::constant) {
      env[size_t(v.id)] = Tensor(v.type, v.data);
      continue;
    }
    auto it = bindings.find(v.name);
    if (it == bindings.end())
      throw Error(fmt::format("no value given for {} '{}'", value_kind_name(v.kind), v.name));
    if (it->second.type != v.type)
      throw Error(fmt::format("{} '{}' expects {}, got {}", value_kind_name(v.kind), v.name,
                              v.type.str(), it->second.type.str()));
    env[size_t(v.id)] = it->second;
    if (ctx.precision == Precision::f32) env[size_t(v.id)].round_to_f32();
  }
  std::vector<const Tensor*> in;
  std::vector<Tensor> out;
  for (const Node& n : g.nodes()) {
    const EvalFn* fn = find_eval(n.op->name);
    if (!fn) throw Error(fmt::format("node '{}': the interpreter has no kernel for op {}", n.name, n.op->name));
    in.clear();
    for (ValueId o : n.operands) in.push_back(&env[size_t(o)]);
    out.clear();
    for (ValueId r : n.results) out.emplace_back(g.type(r));
    (*fn)(n, in, out, ctx);
    if (ctx.precision == Precision::f32)
      for (Tensor& t : out) t.round_to_f32();
    for (size_t i = 0; i < n.results.size(); i++) env[size_t(n.results[i])] = std::move(out[i]);
  }
  return env;
}

std::vector<std::pair<std::string, Tensor>> run_outputs(const Graph& g, const Bindings& bindings,
                                                        const EvalContext& ctx) {
  auto env = evaluate(g, bindings, ctx);
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& o : g.outputs()) out.emplace_back(o.name, env[size_t(o.value)]);
  return out;
}

Bindings init_params(const Graph& g, uint64_t seed) {
  Bindings b;
  auto fill = [&](ValueId id) {
    const Value& v = g.value(id);
    dlc_rt::InitKind kind;
    if (!dlc_rt::parse_init_kind(v.init.kind.c_str(), kind))
      throw Error(fmt::format("{} '{}': unknown initializer '{}'", value_kind_name(v.kind), v.name,
                              v.init.kind));
    std::vector<float> data(size_t(v.type.shape.numel()));
    dlc_rt::fill_init(kind, v.init.value, v.init.has_value, v.init.fan_in, v.init.fan_out, seed,
                      dlc_rt::name_hash(v.name.c_str()), data.data(), int64_t(data.size()));
    b[v.name] = Tensor(v.type, data);
  };
  for (ValueId p : g.params()) fill(p);
  for (ValueId s : g.states()) fill(s);
  return b;
}

void apply_updates(const Graph& g, const std::vector<Tensor>& values, Bindings& bindings) {
  for (auto& u : g.updates()) bindings[g.value(u.target).name] = values[size_t(u.value)];
}

} // namespace dlc::ir
