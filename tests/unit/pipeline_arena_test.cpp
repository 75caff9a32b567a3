// The memory report is the truth: for every example, training and inference, at batch 1
// and at the model's batch, the arena `dlc plan` reports (the planned Program) is what
// the emitted code allocates (NET_ARENA_BYTES, the shared arena of both programs: the
// larger) and what the JIT allocates, and it is within 1.05x of the lower bound, which
// counts every buffer the steps touch: values, temporaries and workspaces.
#include "codegen/jit_backend.h"
#include "pipeline/pipeline.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <regex>

namespace dlc {

namespace {

int64_t header_macro(const std::string& header, const std::string& macro) {
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("#define " + macro + " ([0-9]+)ull"))) return -1;
  return std::stoll(m[1].str());
}

} // namespace

TEST_CASE("the planned arena is what the emitted code and the JIT allocate, near its lower bound") {
  using passes::ProgramKind;
  using passes::Region;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(DLC_SOURCE_DIR) + "/examples")) {
    if (entry.path().extension() != ".json") continue;
    std::string name = entry.path().stem().string();
    if (name == "vgg16") continue; // 138 M parameters: compiled by codegen_cpp_build_test, too slow to plan 8 ways
    frontend::Model m = frontend::load_model(entry.path().string());
    for (int64_t batch : {int64_t(1), m.training.batch_size}) {
      CAPTURE(name);
      CAPTURE(batch);
      passes::Program infer = pipeline::compile(m, ProgramKind::inference, batch);
      int64_t arena = infer.arena_size();
      CHECK(double(arena) <= 1.05 * double(infer.lower_bound));
      codegen::CppOptions o;
      o.batch = batch;
      CHECK(header_macro(pipeline::emit_cpp(m, nullptr, o).header, "NET_ARENA_BYTES") == arena);
      codegen::JitModel jit(pipeline::jit_source(m, batch));
      CHECK(jit.allocated_bytes(ProgramKind::inference, Region::arena) == arena);
      if (!m.training.has_loss) continue;
      passes::Program train = pipeline::compile(m, ProgramKind::training, batch);
      CHECK(double(train.arena_size()) <= 1.05 * double(train.lower_bound));
      CHECK(jit.allocated_bytes(ProgramKind::training, Region::arena) == train.arena_size());
      CHECK(jit.allocated_bytes(ProgramKind::training, Region::state) == train.region_size[size_t(Region::state)]);
      o.train = true;
      CHECK(header_macro(pipeline::emit_cpp(m, nullptr, o).header, "NET_ARENA_BYTES") ==
            std::max(arena, train.arena_size()));
    }
  }
}

} // namespace dlc
