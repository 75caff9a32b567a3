// Training data for `dlc train` and `dlc eval`: Fashion-MNIST from the Debian package, a
// directory of IDX files (gzip or not), NPY arrays, or a text file cut into windows of
// characters (text:FILE, next-character prediction). Pixel scaling: 8-bit integer
// images (IDX u8, NPY uint8) are divided by 255 into [0, 1]; float data is used as is
// (model_input_values, the same conversion dlc predict applies).
#pragma once

#include "frontend/model.h"
#include "runtime/array.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dlc::frontend {

struct Dataset {
  // One array of a data set with several: a model input's samples, or the targets of the
  // loss on one output.
  struct Part {
    std::string name;            // the model input or output it is for
    std::vector<int64_t> shape;  // one sample's shape; empty for a class label
    bool sequence_labels = false; // integer [T]: a class id per position
    int64_t size() const;        // values per sample
    bool labels() const { return shape.empty() || sequence_labels; }
  };
  std::string name;             // where it came from, for messages: "fashion-mnist train"
  int64_t n = 0;                // samples
  std::vector<int64_t> x_shape; // one sample's shape
  std::vector<float> x;         // n * prod(x_shape)
  std::vector<int64_t> y_shape; // one target's shape; empty for class labels
  std::vector<float> y;         // n * prod(y_shape): class ids, or target values
  // y_shape [T] holds a class id per position (a many-to-many model's [T, C] output);
  // set for integer NPY targets of shape [n, T] and for text windows.
  bool sequence_labels = false;

  // Data named per model input and per trained output (--data NAME=FILE,...): each
  // sample's x row is its inputs one after another (the model's input order), its y row
  // the targets (the losses' order); x_shape and y_shape are then [row size]. Empty: one
  // part, described by x_shape (y_shape, sequence_labels).
  std::vector<Part> x_parts, y_parts;
  // The parts in effect (x_parts/y_parts, or the one part; the name empty then).
  std::vector<Part> inputs() const;
  std::vector<Part> targets() const;

  int64_t x_size() const;       // values per sample
  int64_t y_size() const;       // values per target (1 for class labels, T for sequence labels)
  bool has_labels() const { return y_shape.empty() || sequence_labels; }
  // Samples [begin, end) as a new data set.
  Dataset slice(int64_t begin, int64_t end, const std::string& name) const;
};

struct DataSplits {
  Dataset train, val, test; // val and test may be empty (n == 0)
};

// Model input from a data file's array, as every command reads it (dlc train, eval and
// predict): dlc_rt::to_input_values (8-bit images scaled to [0, 1], integer inputs kept as
// they are), and then every value must be finite (check_finite). `what` names the file.
std::vector<float> model_input_values(const std::string& what, dlc_rt::Array a, ir::DType input_dtype);

// NaN or infinity in data is bad data: an error naming `what`, the sample, the position and
// `kind` ("input", "target"), caught when the data is read instead of as a NaN loss later.
void check_finite(const std::string& what, const std::vector<float>& values, int64_t per_sample,
                  const char* kind);

// A data set of arrays as an NPY source reads them (dlc train --data x.npy,y.npy; the
// Python module's fit): x [n, ...sample] scaled as model_input_values, y class labels
// (integer [n] or [n, 1]), a label per position (integer [n, T]) or targets of any shape;
// `x_what`/`y_what` name them in errors.
Dataset dataset_of_arrays(const std::string& name, dlc_rt::Array x, const std::string& x_what, dlc_rt::Array y,
                          const std::string& y_what, bool integer_input);

// Moves the last `val_split` fraction of s.train (before shuffling) into s.val.
void split_validation(DataSplits& s, double val_split);

// Where Debian's dataset-fashion-mnist package puts the files.
constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// SOURCE: "fashion-mnist", a directory with train-images*/train-labels* (and t10k-* or
// test-* for the test split), "x.npy,y.npy[,x_test.npy,y_test.npy]", "text:FILE"
// (needs `model`: see load_text_windows), or named arrays (needs `model`):
// "NAME=TRAIN.npy[:TEST.npy],..." with one NAME per model input and per output the
// losses train (the targets), in any order. The validation split is the last `val_split`
// fraction of the training samples (before shuffling).
// `input_targets` (dlc train/eval --target input: autoencoders): each sample's target is
// its input, with the input's scaling (8-bit images in [0, 1]); NPY sources are then
// "x.npy" or "x.npy,x_test.npy", and an IDX source's labels are not used.
DataSplits load_data(const std::string& source, double val_split, const Model* model = nullptr,
                     bool input_targets = false);

// A text file as token ids: the vocabulary is the sorted distinct bytes of the file, a
// byte's id its place in it.
struct TextCorpus {
  std::string path;
  std::string vocabulary;   // sorted distinct bytes
  std::vector<float> ids;   // one id per byte of the file
  int64_t id_of(unsigned char c) const; // -1 when c is not in the vocabulary
};

// Reads FILE; an empty file is an error, and so is a vocabulary larger than `max_vocab`
// (the model's output classes) when it is positive.
TextCorpus load_text(const std::string& path, int64_t max_vocab);

// How a character model reads text: one input of T token ids, and an output of the next
// character at every position ([T, C], per_position) or after the window ([C]). Throws
// dlc::Error, prefixed with `what`, for other models.
struct TextModelShape {
  int64_t window = 0, classes = 0;
  bool per_position = false;
};
TextModelShape text_model_shape(const Model& model, const std::string& what);

// text:FILE for a model whose input is [T] token ids: windows x = ids[i, i+T) at every
// i = 0, T, 2T, ... (stride T: each character is a target once per epoch), targets the
// next characters y = ids[i+1, i+T+1) for an output [T, C], or the one next character
// ids[i+T] for an output [C]. The last tenth of the windows (the end of the file, at
// least one window) is the test split; a file too short for two windows is an error.
DataSplits load_text_windows(const std::string& path, const Model& model);

// The vocabulary size of the embedding or one_hot layer that reads model input `input`
// directly (0 when none does): its token ids must lie in [0, size).
int64_t token_vocabulary(const ir::Graph& forward, const std::string& input);

// Token ids (`per_sample` of them per sample) must be integers in [0, vocabulary); the
// error names `what`, the sample, the position and the vocabulary.
template <class T>
void check_token_ids(const std::string& what, const std::vector<T>& ids, int64_t per_sample, int64_t vocabulary);

// Checks that the data fits the model: each sample has the input's number of values (it
// is reshaped to the input's shape: 28x28 images feed a [784] or [28,28,1] input); token
// ids (when `vocabulary` > 0) are integers in [0, vocabulary); class labels lie in
// [0, classes) of the output (or are 0/1 for a one-unit sigmoid output); sequence labels
// [T] need an output [T, C]; target values have the output's shape. Errors name the data,
// the sample (and position) and both shapes or the bound.
void check_fits_model(const Dataset& d, const InputSpec& input, const ir::TensorType& output,
                      const std::string& loss, int64_t vocabulary = 0);

// The same for a data set with parts: part k of the inputs against model input k, part i
// of the targets against the output losses[i] reads (`outputs` its type).
void check_parts_fit_model(const Dataset& d, const Model& model, const std::vector<ir::TensorType>& outputs);

} // namespace dlc::frontend
