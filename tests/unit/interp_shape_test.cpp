// Reference kernels of the data-movement ops (ir/interp/eval_shape.cpp): flatten,
// reshape, concat, one_hot, maxout; slice and slice_grad (ir/interp/eval_grad.cpp).
#include "interp_test_helpers.h"

using namespace dlc::ir;
using namespace dlc::ir::testing;

namespace {
std::vector<double> iota(int n) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int i = 0; i < n; i++) v[size_t(i)] = i;
  return v;
}
} // namespace

TEST_CASE("interp: flatten and reshape keep the row-major element order") {
  check_tensor(run_op("flatten", {f32_tensor({2, 2, 3}, iota(12))}), {2, 6}, iota(12));
  check_tensor(run_op("flatten", {f32_tensor({3}, {1, 2, 3})}), {3, 1}, {1, 2, 3});
  check_tensor(run_op("reshape", {f32_tensor({2, 3}, iota(6))}, {{"shape", std::vector<int64_t>{3, 1, 2}}}),
               {3, 1, 2}, iota(6));
  CHECK(error_of([] { run_op("reshape", {f32_tensor({2, 3}, iota(6))}, {{"shape", std::vector<int64_t>{4}}}); }) ==
        "node 'n' (reshape): cannot reshape f32[2,3] (6 elements) to [4] (4 elements)");
  CHECK(contains(error_of([] {
                   run_op("reshape", {f32_tensor({2, 3}, iota(6))}, {{"shape", std::vector<int64_t>{-6}}});
                 }),
                 "non-positive extent"));
}

TEST_CASE("interp: concat along each axis") {
  // Axis 0: rows of a, then rows of b.
  check_tensor(run_op("concat", {f32_tensor({1, 2}, {1, 2}), f32_tensor({2, 2}, {3, 4, 5, 6})}, {{"axis", int64_t(0)}}),
               {3, 2}, {1, 2, 3, 4, 5, 6});
  // Axis 1: each row of a followed by the same row of b.
  check_tensor(run_op("concat", {f32_tensor({2, 1}, {1, 2}), f32_tensor({2, 2}, {10, 11, 20, 21})},
                      {{"axis", int64_t(1)}}),
               {2, 3}, {1, 10, 11, 2, 20, 21});
  // Axis -1 of rank 3, three operands: [2,1,2] ++ [2,1,1] ++ [2,1,1].
  check_tensor(run_op("concat", {f32_tensor({2, 1, 2}, {1, 2, 3, 4}), f32_tensor({2, 1, 1}, {9, 8}),
                                 f32_tensor({2, 1, 1}, {7, 6})},
                      {{"axis", int64_t(-1)}}),
               {2, 1, 4}, {1, 2, 9, 7, 3, 4, 8, 6});
  CHECK(error_of([] {
          run_op("concat", {f32_tensor({2, 1}, {1, 2}), f32_tensor({3, 1}, {1, 2, 3})}, {{"axis", int64_t(1)}});
        }) == "node 'n' (concat): operand 1 f32[3,1] does not fit operand 0 f32[2,1] along axis 1");
  CHECK(contains(error_of([] { run_op("concat", {f32_tensor({2}, {1, 2})}, {{"axis", int64_t(1)}}); }),
                 "axis 1 is out of range for rank 1"));
}

TEST_CASE("interp: one_hot") {
  check_tensor(run_op("one_hot", {i32_tensor({3}, {2, 0, 1})}, {{"depth", int64_t(3)}}), {3, 3},
               {0, 0, 1, 1, 0, 0, 0, 1, 0});
  check_tensor(run_op("one_hot", {i32_tensor({2, 2}, {0, 1, 1, 0})}, {{"depth", int64_t(2)}}), {2, 2, 2},
               {1, 0, 0, 1, 0, 1, 1, 0});
  // f32 indices (token ids of a model input) work the same.
  check_tensor(run_op("one_hot", {f32_tensor({2}, {1, 2})}, {{"depth", int64_t(3)}}), {2, 3}, {0, 1, 0, 0, 0, 1});
}

TEST_CASE("interp: one_hot rejects indices outside [0, depth)") {
  CHECK(error_of([] { run_op("one_hot", {i32_tensor({2}, {0, 3})}, {{"depth", int64_t(3)}}); }) ==
        "node 'n' (one_hot): index 3 at position 1 is outside [0, 3)");
  CHECK(contains(error_of([] { run_op("one_hot", {i32_tensor({1}, {-1})}, {{"depth", int64_t(3)}}); }),
                 "index -1 at position 0 is outside [0, 3)"));
  // Huge values are reported, not converted (a cast beyond int64 is undefined behaviour).
  CHECK(contains(error_of([] { run_op("one_hot", {i32_tensor({1}, {1e30})}, {{"depth", int64_t(3)}}); }),
                 "is outside [0, 3)"));
  CHECK(error_of([] { run_op("one_hot", {f32_tensor({2}, {1, 0.5})}, {{"depth", int64_t(3)}}); }) ==
        "node 'n' (one_hot): index 0.5 at position 1 is not an integer");
  CHECK(contains(error_of([] { run_op("one_hot", {i32_tensor({1}, {0})}, {{"depth", int64_t(0)}}); }),
                 "depth must be positive"));
}

TEST_CASE("interp: maxout takes the max of each group of k consecutive units") {
  Tensor x = f32_tensor({2, 4}, {1, 5, 3, 2, -1, -2, -3, -4});
  // k = 2: groups (1,5) (3,2) | (-1,-2) (-3,-4).
  check_tensor(run_op("maxout", {x}, {{"k", int64_t(2)}}), {2, 2}, {5, 3, -1, -3});
  check_tensor(run_op("maxout", {x}, {{"k", int64_t(4)}}), {2, 1}, {5, -1});
  check_tensor(run_op("maxout", {x}, {{"k", int64_t(1)}}), {2, 4}, x.data);
  CHECK(error_of([&] { run_op("maxout", {x}, {{"k", int64_t(3)}}); }) ==
        "node 'n' (maxout): group size 3 must be positive and divide the last axis (4)");
}

TEST_CASE("interp: slice and slice_grad (dy back in place, zeros elsewhere)") {
  // Columns [1, 3) of a [2, 4] matrix.
  Attrs cols{{"axis", int64_t(1)}, {"begin", int64_t(1)}, {"size", int64_t(2)}};
  check_tensor(run_op("slice", {f32_tensor({2, 4}, iota(8))}, cols), {2, 2}, {1, 2, 5, 6});
  check_tensor(run_op("slice_grad", {f32_tensor({2, 2}, {1, 2, 5, 6})},
                      {{"axis", int64_t(1)}, {"begin", int64_t(1)}, {"extent", int64_t(4)}}),
               {2, 4}, {0, 1, 2, 0, 0, 5, 6, 0});
  // The middle axis of [1, 3, 2]: step 2 of 3.
  check_tensor(run_op("slice_grad", {f32_tensor({1, 1, 2}, {7, 8})},
                      {{"axis", int64_t(1)}, {"begin", int64_t(2)}, {"extent", int64_t(3)}}),
               {1, 3, 2}, {0, 0, 0, 0, 7, 8});
  CHECK(error_of([] {
          run_op("slice_grad", {f32_tensor({2, 2}, iota(4))},
                 {{"axis", int64_t(1)}, {"begin", int64_t(3)}, {"extent", int64_t(4)}});
        }) == "node 'n' (slice_grad): dy's [3, 5) is outside an axis of 4 elements");
}
