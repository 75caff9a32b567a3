// dlc_runtime.h: the runtime headers emitted code needs, inlined into one file in
// dependency order (each once, `#pragma once` dropped), so that net.cpp builds with no
// include path: `c++ -std=c++17 -c net.cpp`. The header texts are embedded in dlc at
// build time (embed_runtime.cmake), so the bundle is the runtime dlc itself was built with.
#include "codegen/cpp/emit.h"

#include "ir/error.h"

#include <set>
#include <sstream>

namespace dlc::codegen {

// Generated from runtime/**/*.h (build directory, generated/runtime_sources.cpp).
const std::vector<std::pair<std::string, std::string>>& runtime_header_sources();

namespace {

const std::string& header_text(const std::string& path) {
  for (const auto& [name, text] : runtime_header_sources())
    if (name == path) return text;
  throw Error(fmt::format("C++ backend: runtime header '{}' is not embedded in dlc", path));
}

// The path of a `#include "runtime/..."` line, or "".
std::string runtime_include(const std::string& line) {
  size_t at = line.find_first_not_of(" \t");
  if (at == std::string::npos || line.compare(at, 8, "#include") != 0) return "";
  size_t open = line.find('"', at), close = open == std::string::npos ? open : line.find('"', open + 1);
  if (close == std::string::npos) return "";
  std::string path = line.substr(open + 1, close - open - 1);
  return path.rfind("runtime/", 0) == 0 ? path : "";
}

bool is_pragma_once(const std::string& line) {
  size_t at = line.find_first_not_of(" \t");
  return at != std::string::npos && line.compare(at, 12, "#pragma once") == 0;
}

void inline_header(const std::string& path, std::set<std::string>& done, std::string& out) {
  if (!done.insert(path).second) return;
  std::istringstream in(header_text(path));
  out += "// ---- " + path + "\n";
  for (std::string line; std::getline(in, line);) {
    std::string inc = runtime_include(line);
    if (!inc.empty()) inline_header(inc, done, out);
    else if (!is_pragma_once(line)) out += line + "\n";
  }
}

} // namespace

std::string runtime_bundle_text() {
  std::string out =
      "// dlc_runtime.h: the dlc runtime (kernels, RNG, initialisers, safetensors and IDX/NPY\n"
      "// readers) in one header, written by `dlc compile` beside the code it emits. C++17,\n"
      "// standard library only. Generated from dlc's runtime/ headers; do not edit.\n"
      "#ifndef DLC_RUNTIME_H_INCLUDED\n#define DLC_RUNTIME_H_INCLUDED\n\n";
  std::set<std::string> done;
  for (const char* root : {"runtime/c_api.h", "runtime/kernels/scalar.h", "runtime/init.h", "runtime/safetensors.h",
                           "runtime/idx.h", "runtime/npy.h", "runtime/schedule.h"})
    inline_header(root, done, out);
  return out + "\n#endif // DLC_RUNTIME_H_INCLUDED\n";
}

} // namespace dlc::codegen
