// The ORC JIT wrapper: compiles IR for the host at O3, with 512-bit vectors where the CPU
// has AVX-512, FMA contraction, calls into functions the dlc binary provides, and turns
// LLVM's errors into dlc::Error.
#include "codegen/llvm/jit.h"
#include "ir/error.h"

#include <doctest/doctest.h>

#include <vector>

namespace {

// y[i] = a * x[i] + y[i] over n elements, then y[0] += external(2.0).
const char* kSaxpy = R"(
declare float @dlc_test_external(float)

define void @saxpy(ptr noalias %x, ptr noalias %y, float %a, i64 %n) {
entry:
  %empty = icmp eq i64 %n, 0
  br i1 %empty, label %done, label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %px = getelementptr inbounds float, ptr %x, i64 %i
  %py = getelementptr inbounds float, ptr %y, i64 %i
  %xv = load float, ptr %px
  %yv = load float, ptr %py
  %m = fmul contract float %a, %xv
  %s = fadd contract float %m, %yv
  store float %s, ptr %py
  %next = add nuw i64 %i, 1
  %end = icmp eq i64 %next, %n
  br i1 %end, label %done, label %loop
done:
  %e = call float @dlc_test_external(float 2.0)
  %y0 = load float, ptr %y
  %y0e = fadd float %y0, %e
  store float %y0e, ptr %y
  ret void
}
)";

extern "C" float dlc_test_external(float v) { return v * 100.0f; }

} // namespace

TEST_CASE("the JIT compiles IR, calls runtime functions and vectorises for the host") {
  dlc::codegen::Jit jit;
  jit.define_symbol("dlc_test_external", reinterpret_cast<void*>(&dlc_test_external));
  jit.add_ir_text(kSaxpy, "saxpy");
  auto fn = reinterpret_cast<void (*)(const float*, float*, float, int64_t)>(jit.lookup("saxpy"));
  std::vector<float> x(1000), y(1000);
  for (int i = 0; i < 1000; i++) x[size_t(i)] = float(i), y[size_t(i)] = 1.0f;
  fn(x.data(), y.data(), 0.5f, 1000);
  CHECK(y[0] == doctest::Approx(1.0f + 200.0f));
  CHECK(y[999] == doctest::Approx(0.5f * 999 + 1.0f));
  const std::string& ir = jit.optimized_ir();
  if (jit.has_avx512()) CHECK(ir.find("\"prefer-vector-width\"=\"512\"") != std::string::npos);
  if (jit.has_avx512()) CHECK(ir.find("<16 x float>") != std::string::npos);
  CHECK(jit.compile_ms() > 0);
}

TEST_CASE("JIT errors become dlc::Error with a location") {
  dlc::codegen::Jit jit;
  CHECK_THROWS_WITH_AS(jit.add_ir_text("define void @f( {", "bad"), doctest::Contains("bad:1:"), dlc::Error);
  CHECK_THROWS_WITH_AS(jit.lookup("missing"), doctest::Contains("no function 'missing'"), dlc::Error);
}
