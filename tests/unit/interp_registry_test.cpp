// The interpreter covers the whole op table: every op found by name has a kernel.
#include "interp_test_helpers.h"

using namespace dlc::ir;

TEST_CASE("interp: every op in the table has a reference kernel") {
  std::vector<std::string> names = op_names();
  CHECK(names.size() >= 40); // the ops of issue 2 at least
  for (const std::string& name : names) {
    CAPTURE(name);
    CHECK(find_eval(name) != nullptr);
  }
  CHECK(find_eval("no_such_op") == nullptr);
}

TEST_CASE("interp: a graph whose bindings are missing or mistyped is an error") {
  Graph g;
  ValueId x = g.add_input("x", {DType::f32, {2}});
  ValueId w = g.add_param("w", {DType::f32, {2}}, {});
  g.add_output("y", g.add("add", {x, w}));
  Bindings b;
  b["x"] = testing::f32_tensor({2}, {1, 2});
  CHECK(testing::error_of([&] { evaluate(g, b); }) == "no value given for param 'w'");
  b["w"] = testing::f32_tensor({3}, {1, 2, 3});
  CHECK(testing::error_of([&] { evaluate(g, b); }) == "param 'w' expects f32[2], got f32[3]");
  b["w"] = testing::f32_tensor({2}, {10, 20});
  testing::check_tensor(run_outputs(g, b)[0].second, {2}, {11, 22});
}

TEST_CASE("interp: tensors from braced lists, float and double vectors") {
  TensorType t{DType::f32, {2}};
  CHECK(Tensor(t, {1, 2.5}).data == std::vector<double>{1, 2.5});
  CHECK(Tensor(t, std::vector<float>{1.5f, 2}).data == std::vector<double>{1.5, 2});
  CHECK(Tensor(t).data == std::vector<double>{0, 0});
}
