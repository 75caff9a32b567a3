// dlc gradcheck: every parameter's analytic gradient against central finite differences
// (passes/gradcheck.h), on random data drawn from a seed.
#include "frontend/model.h"
#include "passes/gradcheck.h"
#include "tools/commands.h"

#include <cstdio>
#include <limits>

namespace dlc::tools {

namespace {

int run_gradcheck(const Args& a) {
  const std::string& path = a.positional[0];
  frontend::Model m = frontend::load_model(path);
  passes::GradCheckOptions opt;
  opt.seed = uint64_t(a.get_int("--seed", 0, 0, std::numeric_limits<int64_t>::max()));
  opt.eval.seed = opt.seed;
  opt.tol = a.get_double("--tol", opt.tol);
  if (!(opt.tol > 0)) throw Error(fmt::format("--tol: expected a positive number, got {}", a.get("--tol")));
  opt.budget = a.get_double("--budget", opt.budget / 1e9) * 1e9;
  if (!(opt.budget >= 0)) throw Error(fmt::format("--budget: expected a number >= 0, got {}", a.get("--budget")));
  int64_t batch = a.get_int("--batch", 2, 1, 1 << 16);
  frontend::BuiltModel bm = frontend::build_model(m, batch);
  passes::GradCheckResult r;
  try {
    r = passes::check_model_gradients(bm.graph, m.training, opt);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what()); // the model cannot train: say which file
  }

  std::printf("gradcheck of '%s': batch %lld, seed %llu, loss %.6g\n", m.name.c_str(), (long long)batch,
              (unsigned long long)opt.seed, r.loss);
  std::printf("%-28s %-18s %-30s %s\n", "parameter", "shape", "entries checked", "worst rel. error");
  for (auto& v : r.values) {
    std::string checked = fmt::format("{}/{}", v.checked, v.type.shape.numel());
    if (v.skipped) checked += fmt::format(" ({} at a kink)", v.skipped);
    if (v.over_budget) checked += fmt::format(" ({} over budget)", v.over_budget);
    std::string worst = v.checked ? fmt::format("{:.3g}", v.worst) : "-";
    std::printf("%-28s %-18s %-30s %s\n", v.name.c_str(), v.type.str().c_str(), checked.c_str(), worst.c_str());
  }
  if (const passes::ValueCheck* f = r.first_failure(opt.tol)) {
    std::fflush(stdout);
    throw Error(fmt::format("{}: gradcheck failed: {} has relative error {:.3g} > tolerance {:.3g} at entry {} "
                            "(analytic {:.9g}, numeric {:.9g})",
                            path, f->name, f->worst, opt.tol, f->worst_index, f->analytic, f->numeric));
  }
  int64_t unprobed = 0;
  for (auto& v : r.values) unprobed += v.over_budget;
  if (unprobed)
    std::printf("note: %lld sampled entries were not probed within the budget of %.3g billion multiply-adds "
                "(--budget)\n", (long long)unprobed, opt.budget / 1e9);
  std::printf("ok: every gradient checked is within %.3g (worst %.3g)\n", opt.tol, r.worst());
  return 0;
}

} // namespace

std::vector<Command> gradcheck_commands() {
  return {{"gradcheck", "dlc gradcheck MODEL.json [--seed S] [--tol T] [--batch N] [--budget G]",
           "Compare every parameter's gradient with central finite differences; exit 1 beyond the tolerance.",
           {{"--seed", "S", "seed of the random inputs, targets and parameters (default 0)"},
            {"--tol", "T", "largest accepted relative error (default 1e-4)"},
            {"--batch", "N", "batch size (default 2)"},
            {"--budget", "G", "billions of multiply-adds the finite differences may spend; the cheapest "
                              "parameters go first (default 10)"}},
           1,
           run_gradcheck}};
}

} // namespace dlc::tools
