// Every function generated code may call, with its address in this binary. The runtime
// kernels are compiled into dlc (runtime/c_api.h is header-only: taking the addresses
// here instantiates them), so the JIT runs the very code emitted C++ compiles.
// tests/unit/codegen_jit_backend_test.cpp checks that every function c_api.h declares is
// listed.
#include "codegen/llvm/runtime_symbols.h"

#include "runtime/c_api.h"

#include <cmath>
#include <cstring>

namespace dlc::codegen {

namespace {

template <typename F> void* addr(F* f) { return reinterpret_cast<void*>(f); }

} // namespace

const std::vector<std::pair<std::string, void*>>& runtime_symbols() {
#define DLC_SYM(f) {#f, addr(&f)}
  static const std::vector<std::pair<std::string, void*>> symbols = {
      DLC_SYM(dlc_rt_gemm_workspace_floats),
      DLC_SYM(dlc_rt_enable_ftz),
      DLC_SYM(dlc_rt_parallel_for),
      DLC_SYM(dlc_rt_matmul),
      DLC_SYM(dlc_rt_matmul_bias_act),
      DLC_SYM(dlc_rt_matmul_bias_leaky_relu),
      DLC_SYM(dlc_rt_conv2d_forward),
      DLC_SYM(dlc_rt_conv2d_forward_bias_act),
      DLC_SYM(dlc_rt_conv2d_forward_bias_leaky_relu),
      DLC_SYM(dlc_rt_conv2d_backward_input),
      DLC_SYM(dlc_rt_conv2d_backward_filter),
      DLC_SYM(dlc_rt_depthwise_conv2d_forward),
      DLC_SYM(dlc_rt_depthwise_conv2d_forward_bias_act),
      DLC_SYM(dlc_rt_depthwise_conv2d_forward_bias_leaky_relu),
      DLC_SYM(dlc_rt_depthwise_conv2d_backward_input),
      DLC_SYM(dlc_rt_depthwise_conv2d_backward_filter),
      DLC_SYM(dlc_rt_max_pool2d_forward),
      DLC_SYM(dlc_rt_max_pool2d_backward),
      DLC_SYM(dlc_rt_avg_pool2d_forward),
      DLC_SYM(dlc_rt_avg_pool2d_backward),
      DLC_SYM(dlc_rt_reduce_sum),
      DLC_SYM(dlc_rt_reduce_mean),
      DLC_SYM(dlc_rt_reduce_max),
      DLC_SYM(dlc_rt_reduce_max_grad),
      DLC_SYM(dlc_rt_reduce_mean_grad),
      DLC_SYM(dlc_rt_softmax),
      DLC_SYM(dlc_rt_log_softmax),
      DLC_SYM(dlc_rt_softmax_grad),
      DLC_SYM(dlc_rt_log_softmax_grad),
      DLC_SYM(dlc_rt_prelu_slope_grad),
      DLC_SYM(dlc_rt_slice_grad),
      DLC_SYM(dlc_rt_reverse),
      DLC_SYM(dlc_rt_softmax_xent),
      DLC_SYM(dlc_rt_softmax_xent_grad),
      DLC_SYM(dlc_rt_sparse_softmax_xent),
      DLC_SYM(dlc_rt_sparse_softmax_xent_grad),
      DLC_SYM(dlc_rt_mse),
      DLC_SYM(dlc_rt_mse_grad),
      DLC_SYM(dlc_rt_bce),
      DLC_SYM(dlc_rt_bce_grad),
      DLC_SYM(dlc_rt_sigmoid_bce),
      DLC_SYM(dlc_rt_sigmoid_bce_grad),
      DLC_SYM(dlc_rt_random_affine_forward),
      DLC_SYM(dlc_rt_random_affine_backward),
      DLC_SYM(dlc_rt_embedding_lookup),
      DLC_SYM(dlc_rt_embedding_grad),
      DLC_SYM(dlc_rt_one_hot),
      // What LLVM lowers math intrinsics and memory idioms to (the C library's own, as
      // emitted C++ calls them through std::exp(float) and friends).
      {"expf", addr<float(float)>(&::expf)},
      {"logf", addr<float(float)>(&::logf)},
      {"tanhf", addr<float(float)>(&::tanhf)},
      {"log1pf", addr<float(float)>(&::log1pf)},
      {"powf", addr<float(float, float)>(&::powf)},
      {"erff", addr<float(float)>(&::erff)},
      {"expm1f", addr<float(float)>(&::expm1f)},
      {"exp", addr<double(double)>(&::exp)},
      {"log", addr<double(double)>(&::log)},
      {"tanh", addr<double(double)>(&::tanh)},
      {"pow", addr<double(double, double)>(&::pow)},
      {"memcpy", addr<void*(void*, const void*, size_t)>(&::memcpy)},
      {"memmove", addr<void*(void*, const void*, size_t)>(&::memmove)},
      {"memset", addr<void*(void*, int, size_t)>(&::memset)},
  };
#undef DLC_SYM
  return symbols;
}

} // namespace dlc::codegen
