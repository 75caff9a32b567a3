// The error line a model file gets, for the bad-input tests of layers.
#pragma once

#include "frontend/model.h"

#include <string>

namespace dlc::test_cpp {

// Loads {"input_shape": shape, "layers": [layers]} as "m.json": the error's text, or
// "(no error)".
inline std::string model_error(const std::string& layers, const std::string& shape) {
  try {
    frontend::load_model_text(R"({"input_shape": )" + shape + R"(, "layers": [)" + layers + "]}", "m.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace dlc::test_cpp
