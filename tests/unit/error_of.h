// The message a bad-input test expects: what f throws.
#pragma once

#include "ir/error.h"

#include <string>

namespace dlc {

// The message of the dlc::Error thrown by f, or "(no error)".
template <typename F> std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace dlc
