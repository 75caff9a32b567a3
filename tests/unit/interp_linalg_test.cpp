// Reference kernels of matmul and transpose (ir/interp/eval_linalg.cpp).
#include "interp_test_helpers.h"

using namespace dlc::ir;
using namespace dlc::ir::testing;

namespace {
Attrs transposes(bool ta, bool tb) { return {{"transpose_a", ta}, {"transpose_b", tb}}; }
} // namespace

TEST_CASE("interp: matmul with every transpose flag") {
  // A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]]:
  // C = [[1*7+2*9+3*11, 1*8+2*10+3*12], [4*7+5*9+6*11, 4*8+5*10+6*12]] = [[58,64],[139,154]].
  Tensor a = f32_tensor({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor at = f32_tensor({3, 2}, {1, 4, 2, 5, 3, 6}); // Aᵀ as stored
  Tensor b = f32_tensor({3, 2}, {7, 8, 9, 10, 11, 12});
  Tensor bt = f32_tensor({2, 3}, {7, 9, 11, 8, 10, 12}); // Bᵀ as stored
  std::vector<double> c = {58, 64, 139, 154};
  check_tensor(run_op("matmul", {a, b}), {2, 2}, c);
  check_tensor(run_op("matmul", {at, b}, transposes(true, false)), {2, 2}, c);
  check_tensor(run_op("matmul", {a, bt}, transposes(false, true)), {2, 2}, c);
  check_tensor(run_op("matmul", {at, bt}, transposes(true, true)), {2, 2}, c);
}

TEST_CASE("interp: matmul with M, N and K all different") {
  // [1,2] · [[1,2,3],[4,5,6]] = [1+8, 2+10, 3+12] = [9,12,15].
  Tensor a = f32_tensor({1, 2}, {1, 2});
  Tensor at = f32_tensor({2, 1}, {1, 2});
  Tensor b = f32_tensor({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor bt = f32_tensor({3, 2}, {1, 4, 2, 5, 3, 6});
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      CAPTURE(ta);
      CAPTURE(tb);
      check_tensor(run_op("matmul", {ta ? at : a, tb ? bt : b}, transposes(ta, tb)), {1, 3}, {9, 12, 15});
    }
  // Aᵀ·A for A = [[1,2],[3,4],[5,6]] (3x2): [[1+9+25, 2+12+30], [.., 4+16+36]] = [[35,44],[44,56]].
  Tensor x = f32_tensor({3, 2}, {1, 2, 3, 4, 5, 6});
  check_tensor(run_op("matmul", {x, x}, transposes(true, false)), {2, 2}, {35, 44, 44, 56});
  // A·Aᵀ: [[5,11,17],[11,25,39],[17,39,61]].
  check_tensor(run_op("matmul", {x, x}, transposes(false, true)), {3, 3},
               {5, 11, 17, 11, 25, 39, 17, 39, 61});
}

TEST_CASE("interp: matmul type errors name the node and both shapes") {
  Tensor a = f32_tensor({2, 3}, std::vector<double>(6));
  CHECK(error_of([&] { run_op("matmul", {a, f32_tensor({2, 2}, std::vector<double>(4))}); }) ==
        "node 'n' (matmul): inner dimensions differ: [2,3] · [2,2]");
  CHECK(error_of([&] { run_op("matmul", {a, f32_tensor({3, 2}, std::vector<double>(6))}, transposes(true, false)); }) ==
        "node 'n' (matmul): inner dimensions differ: [2,3]ᵀ · [3,2]");
  CHECK(contains(error_of([&] { run_op("matmul", {a, f32_tensor({3}, {1, 2, 3})}); }),
                 "node 'n' (matmul): operand 1 must have rank 2, got f32[3]"));
  CHECK(contains(error_of([&] { run_op("matmul", {a, a}, {{"transpose_a", int64_t(1)}}); }),
                 "attribute 'transpose_a' should be bool, is int"));
}

TEST_CASE("interp: transpose permutes axes") {
  check_tensor(run_op("transpose", {f32_tensor({2, 3}, {1, 2, 3, 4, 5, 6})}, {{"perm", std::vector<int64_t>{1, 0}}}),
               {3, 2}, {1, 4, 2, 5, 3, 6});
  // x[b][c][a] = 12b + 4c + a over [2,3,4]; perm [2,0,1] gives y[a][b][c] = x[b][c][a].
  std::vector<double> x(24);
  for (int i = 0; i < 24; i++) x[size_t(i)] = i;
  check_tensor(run_op("transpose", {f32_tensor({2, 3, 4}, x)}, {{"perm", std::vector<int64_t>{2, 0, 1}}}),
               {4, 2, 3}, {0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23});
  CHECK(contains(error_of([] {
                   run_op("transpose", {f32_tensor({2, 2}, {1, 2, 3, 4})}, {{"perm", std::vector<int64_t>{0, 0}}});
                 }),
                 "perm must be a permutation of 0..1"));
}
