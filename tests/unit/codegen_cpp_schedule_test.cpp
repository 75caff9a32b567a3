// Learning-rate schedules in emitted training code (issue #18): net_train_step follows the
// model's schedule as dlc's trainer does (passes::scheduled_lr; both evaluate
// runtime/schedule.h), per step and per epoch given to net_set_epoch, with warm-up; set_lr
// fixes the rate instead.
#include "codegen_cpp_helpers.h"
#include "passes/training.h"

#include <set>

namespace dlc::test_cpp {

TEST_CASE("emitted C++ follows the learning-rate schedule: per step, per epoch, warm-up, set_lr") {
  struct Case {
    const char* schedule;
    bool per_step;
  };
  for (Case c : {Case{R"({"type": "cosine", "decay_steps": 5, "alpha": 0.1, "restarts": true, "warmup": 2, "unit": "step"})", true},
                 Case{R"({"type": "piecewise", "boundaries": [0, 2], "values": [0.05, 0.02, 0.01]})", false},
                 Case{R"({"type": "inverse_time", "decay_rate": 0.5, "warmup": 1})", false}}) {
    CAPTURE(std::string(c.schedule));
    frontend::Model m = frontend::load_model_text(std::string(R"({"input_shape": [3], "layers": [{"type": "dense", "units": 2}],
        "loss": "mse", "batch_size": 2, "optimizer": {"type": "sgd", "lr": 0.1, "schedule": )") + c.schedule + "}}",
                                                  "schedule.json");
    codegen::CppOptions o;
    o.train = true;
    fs::path dir = work_dir("schedule");
    emit_files(dir, m, o);
    // 12 steps; the epoch advances every 3 steps; after them set_lr fixes the rate.
    write_text(dir / "main.cpp", R"(#include "net.h"
#include <cstdio>
int main() {
  net_ctx* c = net_create();
  float x[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}, t[4] = {0, 1, 1, 0};
  for (int s = 0; s < 12; s++) {
    net_set_epoch(c, s / 3);
    std::printf("%.9g\n", double(net_get_lr(c)));
    net_train_step(c, x, t, 2);
  }
  net_set_lr(c, 0.25f);
  std::printf("%.9g\n", double(net_get_lr(c)));
  net_destroy(c);
}
)");
    std::string log;
    std::string cmd = "cd '" + dir.string() + "' && g++ -std=c++17 -O1 -Wall -Wextra -Werror main.cpp net.cpp -o main && ./main";
    int rc = shell(cmd, log, dir);
    INFO(cmd, "\n", log.substr(0, 3000));
    REQUIRE(rc == 0);
    std::vector<double> got;
    for (size_t at = 0, end; (end = log.find('\n', at)) != std::string::npos; at = end + 1)
      got.push_back(std::stod(log.substr(at, end - at)));
    REQUIRE(got.size() == 13);
    std::set<float> distinct;
    for (int s = 0; s < 12; s++) {
      float want = float(passes::scheduled_lr(m.training.optimizer, s, s / 3));
      CHECK(float(got[size_t(s)]) == want);
      distinct.insert(want);
    }
    CHECK(distinct.size() >= 3); // the schedule really moves over these steps
    CHECK(got[12] == 0.25);
    fs::remove_all(dir);
  }
}

} // namespace dlc::test_cpp
