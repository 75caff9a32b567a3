#include "tools/args.h"

#include "ir/error.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace dlc::tools {

std::string Args::get(const std::string& flag, const std::string& dflt) const {
  auto it = values.find(flag);
  return it == values.end() ? dflt : it->second;
}

int64_t Args::get_int(const std::string& flag, int64_t dflt, int64_t min, int64_t max) const {
  auto it = values.find(flag);
  if (it == values.end()) return dflt;
  const std::string& s = it->second;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0)
    throw Error(fmt::format("{}: expected an integer, got '{}'", flag, s));
  if (v < min || v > max)
    throw Error(fmt::format("{}: expected an integer in [{}, {}], got {}", flag, min, max, v));
  return v;
}

double Args::get_double(const std::string& flag, double dflt) const {
  auto it = values.find(flag);
  if (it == values.end()) return dflt;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end != '\0')
    throw Error(fmt::format("{}: expected a number, got '{}'", flag, it->second));
  return v;
}

std::string help_text(const Command& cmd) {
  std::string s = fmt::format("usage: {}\n\n{}\n", cmd.usage, cmd.summary);
  if (!cmd.flags.empty()) s += "\noptions:\n";
  for (auto& f : cmd.flags) {
    std::string left = f.name + (f.metavar.empty() ? "" : " " + f.metavar);
    s += fmt::format("  {:<24} {}\n", left, f.help);
  }
  s += fmt::format("  {:<24} {}\n", "--help", "show this help");
  return s;
}

bool parse_args(const Command& cmd, int argc, char** argv, Args& out) {
  out.cmd = &cmd;
  std::vector<std::string> names;
  for (auto& f : cmd.flags) names.push_back(f.name);
  for (int i = 0; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(help_text(cmd).c_str(), stdout);
      return false;
    }
    if (a.size() > 1 && a[0] == '-') {
      std::string name = a, value;
      size_t eq = a.find('=');
      bool inline_value = a.rfind("--", 0) == 0 && eq != std::string::npos;
      if (inline_value) {
        name = a.substr(0, eq);
        value = a.substr(eq + 1);
      }
      const FlagSpec* spec = nullptr;
      for (auto& f : cmd.flags)
        if (f.name == name) spec = &f;
      if (!spec)
        throw Error(fmt::format("dlc {}: unknown option '{}'{}", cmd.name, name,
                                did_you_mean(name, names).empty() ? " (see --help)" : did_you_mean(name, names)));
      if (spec->metavar.empty()) {
        if (inline_value) throw Error(fmt::format("dlc {}: option {} takes no value", cmd.name, name));
      } else if (!inline_value) {
        if (i + 1 >= argc)
          throw Error(fmt::format("dlc {}: option {} needs a value ({})", cmd.name, name, spec->metavar));
        value = argv[++i];
      }
      out.values[name] = value;
      out.repeated[name].push_back(value);
      continue;
    }
    out.positional.push_back(a);
  }
  if (int(out.positional.size()) != cmd.positional)
    throw Error(fmt::format("dlc {}: expected {} argument{}, got {}; usage: {}", cmd.name, cmd.positional,
                            cmd.positional == 1 ? "" : "s", out.positional.size(), cmd.usage));
  return true;
}

} // namespace dlc::tools
