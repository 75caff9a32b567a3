// Shared by the harnesses: an exception other than the parser's documented error type is
// a finding. It is printed (type and message) and the process aborts, so that libFuzzer
// saves the input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>

namespace dlc_fuzz {

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz: %s\n", what.c_str());
  std::abort();
}

// Call inside `catch (...)` after the allowed types were caught.
[[noreturn]] inline void unexpected_exception() {
  try {
    throw;
  } catch (const std::exception& e) {
    fail(std::string("unexpected exception ") + typeid(e).name() + ": " + e.what());
  } catch (...) {
    fail("unexpected exception of a non-std type");
  }
}

} // namespace dlc_fuzz
