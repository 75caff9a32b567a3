// The dlc command line. Thin: parses arguments and calls the library. Every error the
// library reports is printed on one line and exits 1.
#include "ir/error.h"
#include "tools/commands.h"

#include <cstdio>
#include <exception>

using namespace dlc::tools;

static std::vector<Command> all_commands() {
  std::vector<Command> all;
  for (auto& group : {model_commands(), run_commands(), info_commands(), gradcheck_commands(), plan_commands(),
                      train_commands(), sample_commands(), compile_commands()})
    all.insert(all.end(), group.begin(), group.end());
  return all;
}

static void print_usage(const std::vector<Command>& cmds) {
  std::printf("usage: dlc COMMAND [ARGS] (dlc COMMAND --help for its options)\n\ncommands:\n");
  for (auto& c : cmds) std::printf("  %-10s %s\n", c.name.c_str(), c.summary.c_str());
}

int main(int argc, char** argv) {
  auto cmds = all_commands();
  if (argc < 2) {
    print_usage(cmds);
    return 1;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(cmds);
    return 0;
  }
  const Command* cmd = nullptr;
  std::vector<std::string> names;
  for (auto& c : cmds) {
    names.push_back(c.name);
    if (c.name == name) cmd = &c;
  }
  try {
    if (!cmd)
      throw dlc::Error(fmt::format("unknown command '{}'{}", name,
                                   dlc::did_you_mean(name, names).empty()
                                       ? "; commands: " + dlc::join_names(names)
                                       : dlc::did_you_mean(name, names)));
    Args args;
    if (!parse_args(*cmd, argc - 2, argv + 2, args)) return 0;
    return cmd->run(args);
  } catch (const dlc::Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", dlc::one_line(e.what()).c_str());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: internal error: %s\n", dlc::one_line(e.what()).c_str());
    return 1;
  }
}
