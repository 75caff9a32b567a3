// Command-line parsing for the dlc tool: each command declares its flags; unknown flags
// and missing values are errors that suggest the nearest flag.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace dlc::tools {

struct FlagSpec {
  std::string name;    // "--batch", "-o"
  std::string metavar; // "N"; empty for a switch
  std::string help;
};

struct Args;

struct Command {
  std::string name;
  std::string usage;   // "dlc summary MODEL.json [--batch N]"
  std::string summary; // one line
  std::vector<FlagSpec> flags;
  int positional = 1;  // exact number of positional arguments
  std::function<int(const Args&)> run;
};

struct Args {
  const Command* cmd = nullptr;
  std::vector<std::string> positional;
  std::map<std::string, std::string> values; // flag -> value ("" for switches)
  std::map<std::string, std::vector<std::string>> repeated; // every value, in order

  bool has(const std::string& flag) const { return values.count(flag) != 0; }
  std::string get(const std::string& flag, const std::string& dflt = "") const;
  // Integer flag value in [min, max]; errors name the flag.
  int64_t get_int(const std::string& flag, int64_t dflt, int64_t min, int64_t max) const;
  double get_double(const std::string& flag, double dflt) const;
};

// Throws dlc::Error for unknown flags, missing values or a wrong number of arguments.
// Returns false (after printing help to stdout) when --help was given.
bool parse_args(const Command& cmd, int argc, char** argv, Args& out);
std::string help_text(const Command& cmd);

} // namespace dlc::tools
