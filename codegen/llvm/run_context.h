// What a compiled program's entry point receives: `void dlc_run_<name>(RunContext*)`.
// The module builder reads these fields by their offsets, so the layout is fixed here
// and checked by static_asserts; the host fills one per call (no allocation).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dlc::codegen {

struct RunContext {
  uint8_t* regions[3];  // passes::Region order: constants, state, arena (64-byte aligned)
  uint64_t seed;        // dropout masks
  uint64_t step;        // dropout masks: steps taken before this one
  int64_t n;            // samples in this call, 1 .. the compiled batch
  uint32_t training;    // 1: dropout active
  uint32_t reserved;
};

static_assert(offsetof(RunContext, regions) == 0);
static_assert(offsetof(RunContext, seed) == 24);
static_assert(offsetof(RunContext, step) == 32);
static_assert(offsetof(RunContext, n) == 40);
static_assert(offsetof(RunContext, training) == 48);
static_assert(sizeof(RunContext) == 56);

using RunFn = void (*)(const RunContext*);

} // namespace dlc::codegen
