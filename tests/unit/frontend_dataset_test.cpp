// Data sources of `dlc train`: IDX directories (gzip or not), NPY pairs, validation
// splits, pixel scaling, and the checks that data fits the model.
#include "frontend/dataset.h"
#include "frontend/files.h"
#include "runtime/npy.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <unistd.h>

using namespace dlc::frontend;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("dlc-dataset-" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

void write_npy(const std::string& path, std::vector<int64_t> shape, std::vector<float> data) {
  write_file_atomic(path, dlc_rt::npy_bytes(dlc_rt::Array{shape, data, "f32"}));
}

// An IDX u8 file: 4 images of 2x3 pixels, values 0, 51, 102, ... (byte i*51 % 256).
std::string idx_images() {
  std::string b = {0, 0, 0x08, 3, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 3};
  for (int i = 0; i < 24; i++) b += char(uint8_t((i * 51) % 256));
  return b;
}
std::string idx_labels(std::vector<uint8_t> labels) {
  std::string b = {0, 0, 0x08, 1, 0, 0, 0, char(labels.size())};
  for (auto l : labels) b += char(l);
  return b;
}

} // namespace

TEST_CASE("an IDX directory gives train and test splits with pixels scaled to [0, 1]") {
  TempDir dir;
  write_file_atomic(dir.file("train-images-idx3-ubyte"), idx_images());
  write_file_atomic(dir.file("train-labels-idx1-ubyte"), idx_labels({0, 1, 2, 1}));
  write_file_atomic(dir.file("t10k-images-idx3-ubyte"), idx_images());
  write_file_atomic(dir.file("t10k-labels-idx1-ubyte"), idx_labels({2, 2, 0, 1}));
  DataSplits s = load_data(dir.path.string(), 0.25);
  CHECK(s.train.n == 3);
  CHECK(s.val.n == 1); // the last quarter
  CHECK(s.test.n == 4);
  CHECK(s.train.x_shape == std::vector<int64_t>{2, 3});
  CHECK(s.train.has_labels());
  CHECK(s.train.x[1] == doctest::Approx(51.0 / 255));
  CHECK(s.val.y[0] == 1.0f);
  CHECK(s.val.x[0] == doctest::Approx(double((18 * 51) % 256) / 255));
  InputSpec in{"input", dlc::ir::DType::f32, dlc::ir::Shape{6}};
  check_fits_model(s.train, in, {dlc::ir::DType::f32, dlc::ir::Shape{1, 3}}, "categorical_crossentropy");
  CHECK_THROWS_WITH(check_fits_model(s.train, in, {dlc::ir::DType::f32, dlc::ir::Shape{1, 2}}, "categorical_crossentropy"),
                    doctest::Contains("label 2 of sample 2 is outside the 2 classes"));
  InputSpec wrong{"input", dlc::ir::DType::f32, dlc::ir::Shape{28, 28, 1}};
  CHECK_THROWS_WITH(check_fits_model(s.train, wrong, {dlc::ir::DType::f32, dlc::ir::Shape{1, 3}}, "mse"),
                    doctest::Contains("samples have shape [2,3] (6 values), the model's input 'input' is [28,28,1]"));
}

TEST_CASE("NPY pairs: float targets keep their shape, sample counts must agree") {
  TempDir dir;
  write_npy(dir.file("x.npy"), {2, 2}, {1, 2, 3, 4});
  write_npy(dir.file("y.npy"), {2, 1}, {0.5f, -0.5f});
  DataSplits s = load_data(dir.file("x.npy") + "," + dir.file("y.npy"), 0);
  CHECK(s.train.n == 2);
  CHECK_FALSE(s.train.has_labels());
  CHECK(s.train.y_shape == std::vector<int64_t>{1});
  CHECK(s.test.n == 0);
  write_npy(dir.file("y3.npy"), {3}, {0, 1, 0});
  CHECK_THROWS_WITH(load_data(dir.file("x.npy") + "," + dir.file("y3.npy"), 0),
                    doctest::Contains("2 samples, but"));
  CHECK_THROWS_WITH(load_data(dir.file("x.npy"), 0), doctest::Contains("no such directory"));
  CHECK_THROWS_WITH(load_data(dir.file("x.npy") + "," + dir.file("y.npy"), 1.5),
                    doctest::Contains("--val-split"));
}

TEST_CASE("a corrupt IDX file is a clear error naming the file") {
  TempDir dir;
  std::string bad = idx_images();
  bad.resize(20); // truncated
  write_file_atomic(dir.file("train-images-idx3-ubyte"), bad);
  write_file_atomic(dir.file("train-labels-idx1-ubyte"), idx_labels({0, 1, 2, 1}));
  CHECK_THROWS_WITH(load_data(dir.path.string(), 0), doctest::Contains("train-images-idx3-ubyte: "));
}
