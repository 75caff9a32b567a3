// Data sources of `dlc train`: IDX directories (gzip or not), NPY pairs, validation
// splits, pixel scaling, text windows, and the checks that data fits the model (token
// ids, sequence labels).
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
  // Samples without targets: the error says what --data expects, not "no such directory".
  CHECK_THROWS_WITH(load_data(dir.file("x.npy"), 0), doctest::Contains("NPY data needs its targets too: --data "));
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

namespace {

// Token models over windows of 3: per position ([3, C] output) or after the window ([C]).
Model window_model(bool per_position, int64_t classes) {
  std::string layers = per_position ? R"({"type": "dense", "units": C, "activation": "softmax"})"
                                    : R"({"type": "flatten"}, {"type": "dense", "units": C, "activation": "softmax"})";
  layers.replace(layers.find('C'), 1, std::to_string(classes));
  return load_model_text(R"({"input_shape": [3], "layers": [{"type": "embedding", "input_dim": 12, "output_dim": 2}, )" +
                             layers + "]}",
                         "m.json");
}

} // namespace

TEST_CASE("text:FILE: sorted distinct bytes are the vocabulary; windows of T with the next characters") {
  TempDir dir;
  write_file_atomic(dir.file("t.txt"), "cabdefghijk"); // ids: c=2 a=0 b=1 d=3 ... k=10
  Model per = window_model(true, 12);
  DataSplits s = load_data("text:" + dir.file("t.txt"), 0, &per);
  // 11 bytes: windows at 0, 3, 6 (each needs T + 1 bytes); the last is the test split.
  CHECK(s.train.n == 2);
  CHECK(s.test.n == 1);
  CHECK(s.train.sequence_labels);
  CHECK(s.train.x == std::vector<float>{2, 0, 1, 3, 4, 5});
  CHECK(s.train.y == std::vector<float>{0, 1, 3, 4, 5, 6});
  CHECK(s.test.x == std::vector<float>{6, 7, 8});
  CHECK(s.test.y == std::vector<float>{7, 8, 9});
  Model one = window_model(false, 12);
  DataSplits t = load_data("text:" + dir.file("t.txt"), 0, &one);
  CHECK_FALSE(t.train.sequence_labels);
  CHECK(t.train.has_labels());
  CHECK(t.train.y == std::vector<float>{3, 6});
  CHECK(t.test.y == std::vector<float>{9});
  TextCorpus c = load_text(dir.file("t.txt"), 0);
  CHECK(c.vocabulary == "abcdefghijk");
  CHECK(c.id_of('d') == 3);
  CHECK(c.id_of('z') == -1);
  Model small = window_model(true, 10);
  CHECK_THROWS_WITH(load_data("text:" + dir.file("t.txt"), 0, &small),
                    doctest::Contains("t.txt: 11 distinct characters, more than the 10 classes of the model's output"));
  CHECK_THROWS_WITH(load_data("text:" + dir.file("t.txt"), 0), doctest::Contains("text data needs a model"));
}

TEST_CASE("token ids and sequence labels are checked against the model") {
  Dataset d;
  d.name = "d";
  d.n = 2;
  d.x_shape = {3};
  d.x = {0, 1, 2, 3, 4, 5};
  d.y_shape = {3};
  d.sequence_labels = true;
  d.y = {0, 1, 2, 2, 1, 0};
  InputSpec in{"input", dlc::ir::DType::f32, dlc::ir::Shape{3}};
  dlc::ir::TensorType out{dlc::ir::DType::f32, dlc::ir::Shape{1, 3, 3}};
  check_fits_model(d, in, out, "sparse_categorical_crossentropy", 6);
  CHECK_THROWS_WITH(check_fits_model(d, in, out, "sparse_categorical_crossentropy", 5),
                    "d: token id 5 of sample 1 at position 2 is outside the model's vocabulary of 5 tokens (ids 0 to 4)");
  CHECK_THROWS_WITH(check_fits_model(d, in, {dlc::ir::DType::f32, dlc::ir::Shape{1, 3, 2}}, "sparse_categorical_crossentropy"),
                    "d: label 2 of sample 0 at position 2 is outside the 2 classes of the model's output");
  CHECK_THROWS_WITH(check_fits_model(d, in, {dlc::ir::DType::f32, dlc::ir::Shape{1, 4, 3}}, "sparse_categorical_crossentropy"),
                    "d: targets are class ids at 3 positions, the model's output is [4,3] per sample (expected [3, classes])");
  d.x[1] = 0.5f;
  CHECK_THROWS_WITH(check_fits_model(d, in, out, "sparse_categorical_crossentropy", 6),
                    "d: token id 0.5 of sample 0 at position 1 is not an integer");
  Model m = window_model(true, 3);
  CHECK(token_vocabulary(build_model(m, 1).graph, "input") == 12);
  CHECK(token_vocabulary(build_model(load_model_text(R"({"input_shape": [2], "layers": [{"type": "dense", "units": 1}]})", "m.json"), 1).graph,
                         "input") == 0);
}
