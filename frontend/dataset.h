// Training data for `dlc train` and `dlc eval`: Fashion-MNIST from the Debian package, a
// directory of IDX files (gzip or not), or NPY arrays. Pixel scaling: 8-bit integer
// images (IDX u8, NPY uint8) are divided by 255 into [0, 1]; float data is used as is.
#pragma once

#include "frontend/model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dlc::frontend {

struct Dataset {
  std::string name;             // where it came from, for messages: "fashion-mnist train"
  int64_t n = 0;                // samples
  std::vector<int64_t> x_shape; // one sample's shape
  std::vector<float> x;         // n * prod(x_shape)
  std::vector<int64_t> y_shape; // one target's shape; empty for class labels
  std::vector<float> y;         // n * prod(y_shape): class ids, or target values

  int64_t x_size() const;       // values per sample
  int64_t y_size() const;       // values per target (1 for class labels)
  bool has_labels() const { return y_shape.empty(); }
  // Samples [begin, end) as a new data set.
  Dataset slice(int64_t begin, int64_t end, const std::string& name) const;
};

struct DataSplits {
  Dataset train, val, test; // val and test may be empty (n == 0)
};

// Where Debian's dataset-fashion-mnist package puts the files.
constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// SOURCE: "fashion-mnist", a directory with train-images*/train-labels* (and t10k-* or
// test-* for the test split), or "x.npy,y.npy[,x_test.npy,y_test.npy]". The validation
// split is the last `val_split` fraction of the training samples (before shuffling).
DataSplits load_data(const std::string& source, double val_split);

// Checks that the data fits the model: each sample has the input's number of values (it
// is reshaped to the input's shape: 28x28 images feed a [784] or [28,28,1] input); class
// labels lie in [0, classes) of the output (or are 0/1 for a one-unit sigmoid output);
// target values have the output's shape. Errors name the data and both shapes.
void check_fits_model(const Dataset& d, const InputSpec& input, const ir::TensorType& output,
                      const std::string& loss);

} // namespace dlc::frontend
