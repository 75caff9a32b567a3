// Reference kernels of reduce_sum/mean/max, softmax and log_softmax
// (ir/interp/eval_reduction.cpp).
#include "interp_test_helpers.h"

#include <cmath>

using namespace dlc::ir;
using namespace dlc::ir::testing;

namespace {
using Ints = std::vector<int64_t>;
// x = [[1,2,3],[4,5,6]]
Tensor x23() { return f32_tensor({2, 3}, {1, 2, 3, 4, 5, 6}); }
Attrs axes(Ints a, bool keep = false) { return {{"axes", a}, {"keepdims", keep}}; }
} // namespace

TEST_CASE("interp: reduce_sum over axes, with and without keepdims") {
  check_tensor(run_op("reduce_sum", {x23()}), {}, {21});
  check_tensor(run_op("reduce_sum", {x23()}, axes({0})), {3}, {5, 7, 9});
  check_tensor(run_op("reduce_sum", {x23()}, axes({1})), {2}, {6, 15});
  check_tensor(run_op("reduce_sum", {x23()}, axes({-1}, true)), {2, 1}, {6, 15});
  check_tensor(run_op("reduce_sum", {x23()}, axes({0, 1}, true)), {1, 1}, {21});
  check_tensor(run_op("reduce_sum", {x23()}, axes({})), {2, 3}, x23().data); // nothing reduced
  // [2,2,2] = 1..8 over axes 0 and 2: index 1 = 0 -> 1+2+5+6 = 14, index 1 = 1 -> 3+4+7+8 = 22.
  Tensor x3 = f32_tensor({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  check_tensor(run_op("reduce_sum", {x3}, axes({0, 2})), {2}, {14, 22});
  check_tensor(run_op("reduce_sum", {x3}, axes({2, 0}, true)), {1, 2, 1}, {14, 22});
}

TEST_CASE("interp: reduce_mean and reduce_max") {
  check_tensor(run_op("reduce_mean", {x23()}), {}, {3.5});
  check_tensor(run_op("reduce_mean", {x23()}, axes({0})), {3}, {2.5, 3.5, 4.5});
  check_tensor(run_op("reduce_mean", {x23()}, axes({1}, true)), {2, 1}, {2, 5});
  check_tensor(run_op("reduce_max", {x23()}, axes({1})), {2}, {3, 6});
  check_tensor(run_op("reduce_max", {x23()}, axes({0}, true)), {1, 3}, {4, 5, 6});
  // All negative: the max is not the 0 an accumulator might start from.
  check_tensor(run_op("reduce_max", {f32_tensor({3}, {-5, -1, -3})}), {}, {-1});
}

TEST_CASE("interp: reduction type errors") {
  CHECK(error_of([] { run_op("reduce_sum", {x23()}, axes({1, -1})); }) ==
        "node 'n' (reduce_sum): axis -1 is listed twice");
  CHECK(error_of([] { run_op("reduce_max", {x23()}, axes({2})); }) ==
        "node 'n' (reduce_max): axis 2 is out of range for rank 2");
}

TEST_CASE("interp: softmax and log_softmax along the last axis") {
  // e^(x - 3) = [e^-2, e^-1, 1], sum 1.503215: [0.090031, 0.244728, 0.665241];
  // log_softmax = x - 3 - log(1.503215) = [-2.407606, -1.407606, -0.407606].
  std::vector<double> p = {0.09003057317038046, 0.24472847105479764, 0.6652409557748218};
  std::vector<double> lp = {-2.40760596444438, -1.4076059644443804, -0.40760596444438046};
  check_tensor(run_op("softmax", {f32_tensor({1, 3}, {1, 2, 3})}), {1, 3}, p);
  check_tensor(run_op("log_softmax", {f32_tensor({1, 3}, {1, 2, 3})}), {1, 3}, lp);
  // Shifting by 1000 changes nothing: the max is subtracted before exp (no overflow).
  check_tensor(run_op("softmax", {f32_tensor({1, 3}, {1000, 1001, 1002})}), {1, 3}, p);
  check_tensor(run_op("log_softmax", {f32_tensor({1, 3}, {1000, 1001, 1002})}), {1, 3}, lp);
  check_tensor(run_op("softmax", {f32_tensor({1, 3}, {-1000, -1001, -1002})}), {1, 3},
               {0.6652409557748218, 0.24472847105479764, 0.09003057317038046});
  // Far apart: softmax underflows to exactly 0, log_softmax stays finite.
  check_tensor(run_op("softmax", {f32_tensor({2}, {0, -1000})}), {2}, {1, 0});
  check_tensor(run_op("log_softmax", {f32_tensor({2}, {0, -1000})}), {2}, {0, -1000});
}

TEST_CASE("interp: softmax along axis 0") {
  // Columns [1,1] -> [0.5,0.5] and [1,3] -> [1/(1+e^2), e^2/(1+e^2)] = [0.119203, 0.880797].
  check_tensor(run_op("softmax", {f32_tensor({2, 2}, {1, 1, 1, 3})}, {{"axis", int64_t(0)}}), {2, 2},
               {0.5, 0.11920292202211755, 0.5, 0.8807970779778823});
  // The middle axis of [2,2,2]: pairs (x[i][0][k], x[i][1][k]) differ by 0 or ln 3.
  double l3 = std::log(3.0);
  check_tensor(run_op("softmax", {f32_tensor({2, 2, 2}, {0, 0, 0, l3, 0, l3, 0, 0})}, {{"axis", int64_t(1)}}),
               {2, 2, 2}, {0.5, 0.25, 0.5, 0.75, 0.5, 0.75, 0.5, 0.25});
  CHECK(contains(error_of([] { run_op("softmax", {x23()}, {{"axis", int64_t(2)}}); }),
                 "node 'n' (softmax): axis 2 is out of range for rank 2"));
}
