// The gradient-rule table and the helpers rules share.
#include "passes/autodiff/grad_rule.h"

#include <map>
#include <mutex>

namespace dlc::passes::autodiff {

namespace {
std::map<std::string, GradFn>& rules() {
  static std::map<std::string, GradFn> r;
  return r;
}
} // namespace

void register_grad(const std::string& op, GradFn fn) { rules()[op] = std::move(fn); }

const GradFn* find_grad(const std::string& op) {
  static std::once_flag once;
  std::call_once(once, [] {
    register_elementwise_grads();
    register_linalg_grads();
    register_window_grads();
    register_shape_grads();
    register_reduction_grads();
    register_loss_grads();
    register_embedding_grads();
    register_loop_grads();
  });
  auto it = rules().find(op);
  return it == rules().end() ? nullptr : &it->second;
}

ir::ValueId GradCtx::emit(const std::string& op, std::vector<ir::ValueId> operands, ir::Attrs attrs) {
  return g.add(op, std::move(operands), std::move(attrs), node.name + ".grad");
}

ir::ValueId GradCtx::unbroadcast(ir::ValueId grad, int i) {
  const ir::Shape& want = shape(x(i));
  if (shape(grad) == want) return grad;
  return emit("reduce_to_shape", {grad}, {{"shape", want.dims}});
}

} // namespace dlc::passes::autodiff
