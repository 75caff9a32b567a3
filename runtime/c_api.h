// The runtime kernels as extern "C" functions with plain parameters: what generated code
// calls. The LLVM JIT registers these very addresses (codegen/llvm/runtime_symbols.cpp)
// and emitted C++ calls them by the same names, so both backends run the same kernel code
// and agree bit for bit wherever they call it. passes/steps.h names them in its Call
// steps with their arguments in declaration order.
//
// Conventions: every integer parameter is int64_t (flags are 0/1, activations are
// DLC_RT_ACT_* values), every real is float, tensors are row-major float arrays (sparse
// labels: int32_t). `n` is the batch of this call. `ws` is a workspace, 64-byte aligned,
// that the caller owns: dlc_rt_gemm_workspace_floats() floats for a matmul, and for a
// convolution dlc_rt::conv2d_workspace_floats(its geometry) (runtime/kernels/conv2d.h):
// nothing here allocates. Scalar results (losses) are written through a pointer so that every
// function returns void.
#pragma once

#include "runtime/kernels/augment.h"
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/loss.h"
#include "runtime/kernels/reduce.h"

#include <cstdint>

#define DLC_RT_CONV_GEOM                                                                        \
  int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t f, int64_t sh,  \
      int64_t sw, int64_t pt, int64_t pb, int64_t pl, int64_t pr
// The geometry of random_affine (dlc_rt::AffineGeom): kind, fill_mode and interpolation are
// dlc_rt::AffineKind, FillMode and Interpolation values; `stream` the node's RNG stream.
#define DLC_RT_AFFINE_GEOM                                                                      \
  int64_t n, int64_t h, int64_t w, int64_t c, int64_t oh, int64_t ow, int64_t kind, float h_lower,  \
      float h_upper, float w_lower, float w_upper, int64_t fill_mode, float fill_value,            \
      int64_t interpolation, int64_t stream
#define DLC_RT_POOL_GEOM                                                                        \
  int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,  \
      int64_t pt, int64_t pb, int64_t pl, int64_t pr

// The activations a matmul or convolution can apply to its results (dlc_rt::Act).
constexpr int64_t DLC_RT_ACT_NONE = 0, DLC_RT_ACT_RELU = 1, DLC_RT_ACT_SIGMOID = 2, DLC_RT_ACT_TANH = 3,
                  DLC_RT_ACT_LEAKY_RELU = 4;
static_assert(DLC_RT_ACT_RELU == int64_t(dlc_rt::Act::relu) && DLC_RT_ACT_SIGMOID == int64_t(dlc_rt::Act::sigmoid) &&
                  DLC_RT_ACT_TANH == int64_t(dlc_rt::Act::tanh) &&
                  DLC_RT_ACT_LEAKY_RELU == int64_t(dlc_rt::Act::leaky_relu),
              "DLC_RT_ACT_* are dlc_rt::Act");

namespace dlc_rt::c_api_detail {
inline GemmOptions with_workspace(float* ws) {
  GemmOptions o;
  o.workspace = ws;
  return o;
}
inline Epilogue epilogue(const float* bias, int64_t act, float slope) {
  Epilogue e;
  e.bias = bias;
  e.act = Act(int(act));
  e.slope = slope;
  return e;
}
} // namespace dlc_rt::c_api_detail

extern "C" {

inline int64_t dlc_rt_gemm_workspace_floats(void) { return dlc_rt::gemm_workspace_floats(); }

inline void dlc_rt_enable_ftz(void) { dlc_rt::enable_ftz(); }

// Runs fn(ctx, begin, end) over blocks of [0, count), one per thread of the kernel pool,
// each at least `grain` long (dlc_rt::parallel_range): the JIT's long element-wise loops.
inline void dlc_rt_parallel_for(void (*fn)(void*, int64_t, int64_t), void* ctx, int64_t count, int64_t grain) {
  dlc_rt::parallel_range(count, grain, [&](int64_t begin, int64_t end) { fn(ctx, begin, end); });
}

// C = op(A) op(B), A m x k (stored k x m when trans_a), B k x n (n x k when trans_b).
inline void dlc_rt_matmul(int64_t trans_a, int64_t trans_b, int64_t m, int64_t n, int64_t k, const float* a,
                          int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, float* ws) {
  using namespace dlc_rt::c_api_detail;
  dlc_rt::gemm(trans_a != 0, trans_b != 0, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc, {}, with_workspace(ws));
}

// C = act(op(A) op(B) + bias[col]); bias may be null; act is one of DLC_RT_ACT_NONE,
// _RELU, _SIGMOID, _TANH (leaky_relu has its own function: it takes a slope).
inline void dlc_rt_matmul_bias_act(int64_t trans_a, int64_t trans_b, int64_t m, int64_t n, int64_t k,
                                   const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                                   const float* bias, int64_t act, float* ws) {
  using namespace dlc_rt::c_api_detail;
  dlc_rt::gemm(trans_a != 0, trans_b != 0, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc, epilogue(bias, act, 0.0f),
               with_workspace(ws));
}

// C = leaky_relu(op(A) op(B) + bias[col]) with the given slope; bias may be null.
inline void dlc_rt_matmul_bias_leaky_relu(int64_t trans_a, int64_t trans_b, int64_t m, int64_t n, int64_t k,
                                          const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                                          int64_t ldc, const float* bias, float slope, float* ws) {
  using namespace dlc_rt::c_api_detail;
  dlc_rt::gemm(trans_a != 0, trans_b != 0, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc,
               epilogue(bias, DLC_RT_ACT_LEAKY_RELU, slope), with_workspace(ws));
}

// y = conv2d(x, w) (NHWC activations, HWIO filters).
inline void dlc_rt_conv2d_forward(DLC_RT_CONV_GEOM, const float* x, const float* wt, float* y, float* ws) {
  using namespace dlc_rt::c_api_detail;
  dlc_rt::Conv2dGeom g{n, h, w, c, kh, kw, f, sh, sw, pt, pb, pl, pr};
  dlc_rt::conv2d_forward(g, x, wt, y, {}, with_workspace(ws));
}

// y = act(conv2d(x, w) + bias[f]); bias may be null; act as for dlc_rt_matmul_bias_act.
inline void dlc_rt_conv2d_forward_bias_act(DLC_RT_CONV_GEOM, const float* x, const float* wt, float* y,
                                           const float* bias, int64_t act, float* ws) {
  using namespace dlc_rt::c_api_detail;
  dlc_rt::Conv2dGeom g{n, h, w, c, kh, kw, f, sh, sw, pt, pb, pl, pr};
  dlc_rt::conv2d_forward(g, x, wt, y, epilogue(bias, act, 0.0f), with_workspace(ws));
}

// y = leaky_relu(conv2d(x, w) + bias[f]) with the given slope; bias may be null.
inline void dlc_rt_conv2d_forward_bias_leaky_relu(DLC_RT_CONV_GEOM, const float* x, const float* wt, float* y,
                                                  const float* bias, float slope, float* ws) {
  using namespace dlc_rt::c_api_detail;
  dlc_rt::Conv2dGeom g{n, h, w, c, kh, kw, f, sh, sw, pt, pb, pl, pr};
  dlc_rt::conv2d_forward(g, x, wt, y, epilogue(bias, DLC_RT_ACT_LEAKY_RELU, slope), with_workspace(ws));
}

inline void dlc_rt_conv2d_backward_input(DLC_RT_CONV_GEOM, const float* dy, const float* wt, float* dx,
                                         float* ws) {
  dlc_rt::Conv2dGeom g{n, h, w, c, kh, kw, f, sh, sw, pt, pb, pl, pr};
  dlc_rt::conv2d_backward_input(g, dy, wt, dx, 0.0f, dlc_rt::c_api_detail::with_workspace(ws));
}

inline void dlc_rt_conv2d_backward_filter(DLC_RT_CONV_GEOM, const float* x, const float* dy, float* dw,
                                          float* ws) {
  dlc_rt::Conv2dGeom g{n, h, w, c, kh, kw, f, sh, sw, pt, pb, pl, pr};
  dlc_rt::conv2d_backward_filter(g, x, dy, dw, 0.0f, dlc_rt::c_api_detail::with_workspace(ws));
}

// y = depthwise_conv2d(x, w) (NHWC activations, filter [kh, kw, c, f] with f the depth
// multiplier; the output has c*f channels, runtime/kernels/depthwise_conv2d.h).
inline void dlc_rt_depthwise_conv2d_forward(DLC_RT_CONV_GEOM, const float* x, const float* wt, float* y) {
  dlc_rt::depthwise_conv2d_forward({n, h, w, c, kh, kw, f, sh, sw, pt, pb, pl, pr}, x, wt, y, {});
}

// y = act(depthwise_conv2d(x, w) + bias[c*f]); bias may be null; act as for dlc_rt_matmul_bias_act.
inline void dlc_rt_depthwise_conv2d_forward_bias_act(DLC_RT_CONV_GEOM, const float* x, const float* wt, float* y,
                                                     const float* bias, int64_t act) {
  dlc_rt::depthwise_conv2d_forward({n, h, w, c, kh, kw, f, sh, sw, pt, pb, pl, pr}, x, wt, y,
                                   dlc_rt::c_api_detail::epilogue(bias, act, 0.0f));
}

// y = leaky_relu(depthwise_conv2d(x, w) + bias[c*f]) with the given slope; bias may be null.
inline void dlc_rt_depthwise_conv2d_forward_bias_leaky_relu(DLC_RT_CONV_GEOM, const float* x, const float* wt,
                                                            float* y, const float* bias, float slope) {
  dlc_rt::depthwise_conv2d_forward({n, h, w, c, kh, kw, f, sh, sw, pt, pb, pl, pr}, x, wt, y,
                                   dlc_rt::c_api_detail::epilogue(bias, DLC_RT_ACT_LEAKY_RELU, slope));
}

inline void dlc_rt_depthwise_conv2d_backward_input(DLC_RT_CONV_GEOM, const float* dy, const float* wt, float* dx) {
  dlc_rt::depthwise_conv2d_backward_input({n, h, w, c, kh, kw, f, sh, sw, pt, pb, pl, pr}, dy, wt, dx);
}

inline void dlc_rt_depthwise_conv2d_backward_filter(DLC_RT_CONV_GEOM, const float* x, const float* dy, float* dw) {
  dlc_rt::depthwise_conv2d_backward_filter({n, h, w, c, kh, kw, f, sh, sw, pt, pb, pl, pr}, x, dy, dw);
}

inline void dlc_rt_max_pool2d_forward(DLC_RT_POOL_GEOM, const float* x, float* y) {
  dlc_rt::max_pool2d_forward({n, h, w, c, kh, kw, sh, sw, pt, pb, pl, pr}, x, y);
}
inline void dlc_rt_max_pool2d_backward(DLC_RT_POOL_GEOM, const float* x, const float* dy, float* dx) {
  dlc_rt::max_pool2d_backward({n, h, w, c, kh, kw, sh, sw, pt, pb, pl, pr}, x, dy, dx, 0.0f);
}
inline void dlc_rt_avg_pool2d_forward(DLC_RT_POOL_GEOM, const float* x, float* y) {
  dlc_rt::avg_pool2d_forward({n, h, w, c, kh, kw, sh, sw, pt, pb, pl, pr}, x, y);
}
inline void dlc_rt_avg_pool2d_backward(DLC_RT_POOL_GEOM, const float* dy, float* dx) {
  dlc_rt::avg_pool2d_backward({n, h, w, c, kh, kw, sh, sw, pt, pb, pl, pr}, dy, dx, 0.0f);
}

// Reductions over the middle axis of x viewed as [outer, len, inner]: y is [outer, inner].
inline void dlc_rt_reduce_sum(int64_t outer, int64_t len, int64_t inner, const float* x, float* y) {
  dlc_rt::reduce_lines(dlc_rt::Reduce::sum, outer, len, inner, x, y);
}
inline void dlc_rt_reduce_mean(int64_t outer, int64_t len, int64_t inner, const float* x, float* y) {
  dlc_rt::reduce_lines(dlc_rt::Reduce::mean, outer, len, inner, x, y);
}
inline void dlc_rt_reduce_max(int64_t outer, int64_t len, int64_t inner, const float* x, float* y) {
  dlc_rt::reduce_lines(dlc_rt::Reduce::max, outer, len, inner, x, y);
}

// dx = dy at the first maximum of each line of x, 0 elsewhere (reduce_max, maxout).
// dx = dy / len spread over each line (reduce_mean's gradient).
inline void dlc_rt_reduce_mean_grad(int64_t outer, int64_t len, int64_t inner, const float* dy, float* dx) {
  dlc_rt::mean_grad_lines(outer, len, inner, dy, dx);
}
inline void dlc_rt_reduce_max_grad(int64_t outer, int64_t len, int64_t inner, const float* x, const float* dy,
                                   float* dx) {
  dlc_rt::max_grad_lines(outer, len, inner, x, dy, dx);
}

// ds[j] = sum over rows of (x <= 0 ? x * dy : 0): prelu's slope gradient.
inline void dlc_rt_prelu_slope_grad(int64_t rows, int64_t c, const float* x, const float* dy, float* ds) {
  dlc_rt::prelu_slope_grad(rows, c, x, dy, ds);
}

// slice's gradient: dx viewed as [outer, len, inner] is zero except dx[:, begin:begin+size, :]
// = dy ([outer, size, inner]).
inline void dlc_rt_slice_grad(int64_t outer, int64_t len, int64_t begin, int64_t size, int64_t inner,
                              const float* dy, float* dx) {
  for (int64_t o = 0; o < outer; o++) {
    float* row = dx + o * len * inner;
    for (int64_t i = 0; i < len * inner; i++) row[i] = 0.0f;
    for (int64_t i = 0; i < size * inner; i++) row[begin * inner + i] = dy[(o * size) * inner + i];
  }
}

// y viewed as [outer, len, inner] is x with the middle axis reversed: y[o, t] = x[o, len-1-t].
inline void dlc_rt_reverse(int64_t outer, int64_t len, int64_t inner, const float* x, float* y) {
  for (int64_t o = 0; o < outer; o++)
    for (int64_t t = 0; t < len; t++) {
      const float* from = x + (o * len + len - 1 - t) * inner;
      float* to = y + (o * len + t) * inner;
      for (int64_t i = 0; i < inner; i++) to[i] = from[i];
    }
}

// (log_)softmax along the middle axis of [outer, len, inner], and their gradients from
// the forward output y.
inline void dlc_rt_softmax(int64_t outer, int64_t len, int64_t inner, const float* x, float* y) {
  dlc_rt::softmax_lines(false, outer, len, inner, x, y);
}
inline void dlc_rt_log_softmax(int64_t outer, int64_t len, int64_t inner, const float* x, float* y) {
  dlc_rt::softmax_lines(true, outer, len, inner, x, y);
}
inline void dlc_rt_softmax_grad(int64_t outer, int64_t len, int64_t inner, const float* y, const float* dy,
                                float* dx) {
  dlc_rt::softmax_grad_lines(false, outer, len, inner, y, dy, dx);
}
inline void dlc_rt_log_softmax_grad(int64_t outer, int64_t len, int64_t inner, const float* y,
                                    const float* dy, float* dx) {
  dlc_rt::softmax_grad_lines(true, outer, len, inner, y, dy, dx);
}

// Losses: the batch mean over n rows of c classes (cross-entropies) or over `count`
// elements (the others); gradients take the upstream scalar gradient by pointer.
inline void dlc_rt_softmax_xent(int64_t n, int64_t c, const float* z, const float* y, float* loss) {
  *loss = dlc_rt::softmax_cross_entropy_forward(n, c, z, y);
}
inline void dlc_rt_softmax_xent_grad(int64_t n, int64_t c, const float* z, const float* y,
                                     const float* dloss, float* dz) {
  dlc_rt::softmax_cross_entropy_backward(n, c, z, y, dz, *dloss);
}
inline void dlc_rt_sparse_softmax_xent(int64_t n, int64_t c, const float* z, const int32_t* labels,
                                       float* loss) {
  *loss = dlc_rt::sparse_softmax_cross_entropy_forward(n, c, z, labels);
}
inline void dlc_rt_sparse_softmax_xent_grad(int64_t n, int64_t c, const float* z, const int32_t* labels,
                                            const float* dloss, float* dz) {
  dlc_rt::sparse_softmax_cross_entropy_backward(n, c, z, labels, dz, *dloss);
}
inline void dlc_rt_mse(int64_t count, const float* p, const float* y, float* loss) {
  *loss = dlc_rt::mse_forward(count, p, y);
}
inline void dlc_rt_mse_grad(int64_t count, const float* p, const float* y, const float* dloss, float* dp) {
  dlc_rt::mse_backward(count, p, y, *dloss, dp);
}
inline void dlc_rt_bce(int64_t count, const float* p, const float* y, float* loss) {
  *loss = dlc_rt::bce_forward(count, p, y);
}
inline void dlc_rt_bce_grad(int64_t count, const float* p, const float* y, const float* dloss, float* dp) {
  dlc_rt::bce_backward(count, p, y, *dloss, dp);
}
inline void dlc_rt_sigmoid_bce(int64_t count, const float* z, const float* y, float* loss) {
  *loss = dlc_rt::sigmoid_bce_forward(count, z, y);
}
inline void dlc_rt_sigmoid_bce_grad(int64_t count, const float* z, const float* y, const float* dloss,
                                    float* dz) {
  dlc_rt::sigmoid_bce_backward(count, z, y, *dloss, dz);
}

// Token embeddings over f32 ids (runtime/kernels/embedding.h): `count` ids, a [vocab, dim]
// table. An id that is not an integer in [0, vocab) gives a zero row (lookup, one-hot) or
// is skipped (gradient); nothing outside the arrays is ever touched.
// Each sample's image through its own random affine map (dlc_rt::random_affine_forward),
// drawn from (seed, step); the identity (a crop: the centre window) when not training.
inline void dlc_rt_random_affine_forward(DLC_RT_AFFINE_GEOM, const float* x, float* y, uint64_t seed,
                                         uint64_t step, int64_t training) {
  dlc_rt::AffineGeom g{n, h, w, c, oh, ow, kind, h_lower, h_upper, w_lower, w_upper, fill_mode, fill_value,
                       interpolation};
  dlc_rt::random_affine_forward(g, x, y, seed, dlc_rt::rng_step_stream(stream, step), training != 0);
}
inline void dlc_rt_random_affine_backward(DLC_RT_AFFINE_GEOM, const float* dy, float* dx, uint64_t seed,
                                          uint64_t step, int64_t training) {
  dlc_rt::AffineGeom g{n, h, w, c, oh, ow, kind, h_lower, h_upper, w_lower, w_upper, fill_mode, fill_value,
                       interpolation};
  dlc_rt::random_affine_backward(g, dy, dx, seed, dlc_rt::rng_step_stream(stream, step), training != 0);
}

inline void dlc_rt_embedding_lookup(int64_t count, int64_t vocab, int64_t dim, const float* ids,
                                    const float* table, float* y) {
  dlc_rt::embedding_lookup(count, vocab, dim, ids, table, y);
}
inline void dlc_rt_embedding_grad(int64_t count, int64_t vocab, int64_t dim, const float* ids, const float* dy,
                                  float* dt) {
  dlc_rt::embedding_grad(count, vocab, dim, ids, dy, dt);
}
inline void dlc_rt_one_hot(int64_t count, int64_t depth, const float* ids, float* y) {
  dlc_rt::one_hot(count, depth, ids, y);
}

} // extern "C"

#undef DLC_RT_CONV_GEOM
#undef DLC_RT_POOL_GEOM
