// The Python module `dlc` (docs/python.md): a Keras-shaped API over the same pieces the
// command line uses -- frontend::load_model (dlc JSON, Keras JSON, ONNX), the JIT runner,
// tools::train (the loop of `dlc train`), tools::evaluate_dataset, frontend's weights
// files and pipeline::emit_cpp. Errors are dlc.Error carrying dlc's located message.
// Training releases the GIL; Ctrl-C stops it after the current batch (the trainer's
// SIGINT handler) and raises KeyboardInterrupt.
#include "codegen/cpp/emit.h"
#include "frontend/dataset.h"
#include "frontend/files.h"
#include "frontend/model.h"
#include "frontend/summary.h"
#include "frontend/weights.h"
#include "ir/error.h"
#include "pipeline/pipeline.h"
#include "pipeline/runner.h"
#include "tools/summary_table.h"
#include "tools/train_data.h"
#include "tools/trainer.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <filesystem>
#include <optional>

namespace py = pybind11;
using namespace dlc;

namespace {

// A numpy array as dlc's reader gives an NPY file's: float values and the stored dtype,
// so that 8-bit images are scaled to [0, 1] and integer labels read as labels, exactly as
// `dlc train --data x.npy,y.npy` reads them.
dlc_rt::Array array_of(const py::array& a, const char* what) {
  py::dtype t = a.dtype();
  std::string dtype;
  char kind = t.kind();
  size_t size = size_t(t.itemsize());
  if (kind == 'f') dtype = size == 8 ? "f64" : "f32";
  else if (kind == 'u' && size == 1) dtype = "u8";
  else if (kind == 'b') dtype = "bool";
  else if (kind == 'i') dtype = size == 1 ? "i8" : size == 4 ? "i32" : "i64";
  else throw Error(fmt::format("{}: numpy dtype {} (dlc reads float, uint8, int and bool arrays)", what,
                               std::string(py::str(t))));
  auto f = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
  if (!f) throw Error(fmt::format("{}: cannot be read as float32", what));
  dlc_rt::Array out;
  out.dtype = dtype;
  out.shape.assign(f.shape(), f.shape() + f.ndim());
  out.data.assign(f.data(), f.data() + f.size());
  return out;
}

class Model {
public:
  Model(const std::string& path, const py::object& training) : path_(path), m_(frontend::load_model(path)) {
    if (training.is_none()) return;
    std::string text;
    if (py::isinstance<py::str>(training)) {
      m_ = frontend::with_training(std::move(m_), frontend::load_json_file(training.cast<std::string>()));
      return;
    }
    text = py::module_::import("json").attr("dumps")(training).cast<std::string>();
    m_ = frontend::with_training(std::move(m_), frontend::parse_json_text(text, "training="));
  }

  std::string name() const { return m_.name; }

  std::string summary(bool print) const {
    std::string s = tools::summary_table(frontend::summarize(frontend::build_model(m_, 1)));
    if (print) py::print(s, py::arg("end") = "");
    return s;
  }

  // Keras's fit: x, y arrays (a validation split of the last fraction, before shuffling);
  // returns an object with .history (a dict of per-epoch lists, Keras's History.history)
  // and .epoch. callbacks: objects with on_epoch_end(epoch, logs) or callables
  // f(epoch, logs); one returning True (or setting model.stop_training) stops the run.
  py::object fit(const py::array& x, const py::array& y, std::optional<int64_t> epochs, std::optional<int64_t> batch_size,
                 double validation_split, const py::object& validation_data, const py::list& callbacks, uint64_t seed,
                 int verbose) {
    if (!m_.training.has_loss)
      throw Error(fmt::format("model '{}' has no loss: give one with dlc.load(path, training={{\"loss\": ...}})", m_.name));
    frontend::DataSplits data;
    data.train = frontend::dataset_of_arrays("x", array_of(x, "x"), "x", array_of(y, "y"), "y", integer_input());
    if (!validation_data.is_none()) {
      if (validation_split != 0)
        throw Error("fit: give validation_split or validation_data, not both");
      if (!py::isinstance<py::tuple>(validation_data) || py::len(validation_data) != 2)
        throw Error("fit: validation_data is a tuple (x_val, y_val)");
      auto pair = validation_data.cast<py::tuple>();
      data.val = frontend::dataset_of_arrays("validation_data", array_of(pair[0].cast<py::array>(), "validation_data[0]"),
                                             "validation_data[0]", array_of(pair[1].cast<py::array>(), "validation_data[1]"),
                                             "validation_data[1]", integer_input());
    } else {
      frontend::split_validation(data, validation_split);
    }
    if (verbose < 0 || verbose > 2) throw Error(fmt::format("fit: verbose is 0, 1 or 2, got {}", verbose));
    int64_t batch = batch_size.value_or(m_.training.batch_size);
    if (batch < 1) throw Error(fmt::format("batch_size: expected a positive integer, got {}", batch));
    tools::TrainOptions o;
    o.model_path = path_;
    o.epochs = epochs.value_or(m_.training.epochs);
    if (o.epochs < 1) throw Error(fmt::format("epochs: expected a positive integer, got {}", o.epochs));
    o.seed = seed;
    o.quiet = verbose == 0;
    o.initial_values = current_values();
    stop_training = false;
    std::string history = "{}";
    std::optional<py::error_already_set> failure;
    o.on_epoch_end = [&](const std::string& json) {
      py::gil_scoped_acquire gil;
      history = json;
      try {
        py::dict h = py::module_::import("json").attr("loads")(json);
        py::dict logs;
        for (auto [k, v] : h)
          if (k.cast<std::string>() != "epoch" && k.cast<std::string>() != "time") logs[k] = v.cast<py::list>()[py::len(v) - 1];
        int64_t epoch = py::len(h["epoch"]) - 1;
        for (const py::handle& cb : callbacks) {
          py::object r = py::hasattr(cb, "on_epoch_end") ? cb.attr("on_epoch_end")(epoch, logs) : cb(epoch, logs);
          if (!r.is_none() && r.cast<bool>()) stop_training = true;
        }
      } catch (py::error_already_set& e) {
        failure = std::move(e); // raised once the trainer has stopped
        return true;
      }
      return bool(stop_training);
    };
    runner_ = pipeline::make_runner("jit", m_, batch);
    int rc = 0;
    {
      py::gil_scoped_release release;
      rc = tools::train(*runner_, m_, data, o);
    }
    values_ = runner_->values();
    if (failure) throw std::move(*failure);
    if (rc == 130) {
      PyErr_SetNone(PyExc_KeyboardInterrupt);
      throw py::error_already_set();
    }
    py::dict h = py::module_::import("json").attr("loads")(history);
    py::list epochs_done;
    if (h.contains("epoch"))
      for (const py::handle& e : h["epoch"]) epochs_done.append(e.cast<int64_t>() - 1);
    return py::module_::import("types").attr("SimpleNamespace")(py::arg("history") = h, py::arg("epoch") = epochs_done);
  }

  // Loss and metrics on x, y: {"loss": ..., "accuracy": ...}.
  py::dict evaluate(const py::array& x, const py::array& y, std::optional<int64_t> batch_size) {
    if (!m_.training.has_loss) throw Error(fmt::format("model '{}' has no loss to evaluate", m_.name));
    frontend::Dataset d = frontend::dataset_of_arrays("x", array_of(x, "x"), "x", array_of(y, "y"), "y", integer_input());
    pipeline::Runner& r = runner(batch_size.value_or(m_.training.batch_size));
    std::vector<tools::TargetFormat> f = tools::target_formats(r, m_, d);
    tools::EvalResult e;
    {
      py::gil_scoped_release release;
      e = tools::evaluate_dataset(r, d, f, m_.training.metrics);
    }
    py::dict out;
    out["loss"] = e.loss;
    std::vector<std::string> names = tools::make_metrics(r, f, m_.training.metrics).names();
    for (size_t i = 0; i < names.size() && i < e.metrics.size(); i++) out[py::str(names[i])] = e.metrics[i];
    return out;
  }

  // The first output for a batch of inputs (NHWC images, as dlc takes them). A float32
  // C-contiguous array is read in place; the output array is written in place.
  py::array predict(const py::array& x, int64_t batch_size) {
    if (m_.inputs.size() != 1)
      throw Error(fmt::format("predict: model '{}' has {} inputs; predict drives single-input models", m_.name,
                              m_.inputs.size()));
    const frontend::InputSpec& in = m_.inputs[0];
    if (x.ndim() != in.shape.rank() + 1 || !std::equal(in.shape.dims.begin(), in.shape.dims.end(), x.shape() + 1))
      throw Error(fmt::format("predict: x has shape {}, input '{}' expects [n,{}]", shape_text(x), in.name,
                              in.shape.str().substr(1, in.shape.str().size() - 2)));
    int64_t n = x.shape(0);
    if (n == 0) throw Error("predict: x has no samples");
    // In place when the array already is what dlc reads (float32, C order); otherwise
    // converted as dlc reads an NPY file (8-bit images to [0, 1]).
    std::vector<float> converted;
    const float* px = nullptr;
    auto direct = py::array_t<float, py::array::c_style>::ensure(x);
    if (direct && x.dtype().is(py::dtype::of<float>())) {
      px = direct.data();
      frontend::check_finite("predict: x", std::vector<float>(px, px + direct.size()), direct.size() / n, "input");
    } else {
      converted = frontend::model_input_values("predict: x", array_of(x, "x"), in.dtype);
      px = converted.data();
    }
    pipeline::Runner& r = runner(std::min<int64_t>(n, batch_size));
    ir::TensorType ot = r.output_types()[0];
    std::vector<py::ssize_t> dims = {py::ssize_t(n)};
    for (int i = 1; i < ot.shape.rank(); i++) dims.push_back(py::ssize_t(ot.shape[i]));
    py::array_t<float> out(dims);
    float* po = out.mutable_data();
    {
      py::gil_scoped_release release;
      tools::infer_first_output(r, px, n, po);
    }
    return out;
  }

  void save_weights(const std::string& path) {
    frontend::save_weights(path, frontend::build_model(m_, 1).graph, current_values());
  }

  void load_weights(const std::string& path, bool partial) {
    frontend::WeightsReport report;
    ir::Bindings b = frontend::load_weights(path, frontend::build_model(m_, 1).graph, partial, &report);
    ir::Bindings v = current_values();
    for (auto& [k, t] : b) v[k] = t;
    values_ = v;
    if (runner_) runner_->set_values(values_);
  }

  // Standalone C++ (dlc compile): DIR/NAME.cpp, NAME.h and dlc_runtime.h, with the current
  // weights embedded; train=True adds the training step.
  std::vector<std::string> compile_cpp(const std::string& dir, bool train, const std::string& name) {
    codegen::CppOptions o;
    o.name = name;
    o.header_file = name + ".h";
    o.source_file = name + ".cpp";
    o.train = train;
    o.source = path_;
    if (train && !m_.training.has_loss)
      throw Error(fmt::format("compile_cpp(train=True): model '{}' has no loss to train", m_.name));
    ir::Bindings w = current_values();
    codegen::CppFiles f = pipeline::emit_cpp(m_, &w, o);
    std::filesystem::create_directories(dir);
    std::vector<std::string> written;
    for (auto [file, text] : {std::pair{o.source_file, &f.source}, {o.header_file, &f.header},
                              {std::string(codegen::kRuntimeHeaderFile), &f.runtime}}) {
      std::string p = (std::filesystem::path(dir) / file).string();
      frontend::write_file_atomic(p, *text);
      written.push_back(p);
    }
    return written;
  }

  bool stop_training = false;

private:
  std::string path_;
  frontend::Model m_;
  ir::Bindings values_; // the parameters; empty until first needed
  std::unique_ptr<pipeline::Runner> runner_;

  bool integer_input() const { return !m_.inputs.empty() && ir::is_integer(m_.inputs[0].dtype); }

  static std::string shape_text(const py::array& a) {
    std::string s = "[";
    for (py::ssize_t i = 0; i < a.ndim(); i++) s += (i ? "," : "") + std::to_string(a.shape(i));
    return s + "]";
  }

  // The parameters: after training or loading, those; else the file's own (ONNX), else
  // the initialisers at seed 0 (as `dlc predict` without --weights).
  ir::Bindings current_values() {
    if (values_.empty()) values_ = frontend::initial_values(m_, frontend::build_model(m_, 1).graph, 0);
    return values_;
  }

  pipeline::Runner& runner(int64_t batch) {
    if (batch < 1) throw Error(fmt::format("batch_size: expected a positive integer, got {}", batch));
    if (!runner_ || runner_->batch() != batch) {
      ir::Bindings v = current_values();
      runner_ = pipeline::make_runner("jit", m_, batch);
      runner_->init(0);
      runner_->set_values(v);
    }
    return *runner_;
  }
};

} // namespace

PYBIND11_MODULE(dlc, mod) {
  mod.doc() = "dlc, a deep-learning compiler: load a model (dlc JSON, Keras JSON or ONNX), train, evaluate, "
              "predict, and emit standalone C++ (docs/python.md).";
  static py::exception<Error> error(mod, "Error");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      error(e.what());
    }
  });
  py::class_<Model>(mod, "Model")
      .def_property_readonly("name", &Model::name)
      .def("summary", &Model::summary, py::arg("print") = true,
           "Print (and return) the layers, output shapes and parameters, as `dlc summary`.")
      .def("fit", &Model::fit, py::arg("x"), py::arg("y"), py::arg("epochs") = py::none(),
           py::arg("batch_size") = py::none(), py::arg("validation_split") = 0.0,
           py::arg("validation_data") = py::none(), py::arg("callbacks") = py::list(), py::arg("seed") = 0,
           py::arg("verbose") = 1, "Train on x, y; returns an object with .history (a dict of per-epoch lists).")
      .def("evaluate", &Model::evaluate, py::arg("x"), py::arg("y"), py::arg("batch_size") = py::none(),
           "The loss and metrics on x, y, as a dict.")
      .def("predict", &Model::predict, py::arg("x"), py::arg("batch_size") = 256,
           "The model's (first) output for x (NHWC images), as a numpy array.")
      .def("save_weights", &Model::save_weights, py::arg("path"), "Write the parameters (safetensors).")
      .def("load_weights", &Model::load_weights, py::arg("path"), py::arg("partial") = false,
           "Read parameters by name (safetensors, as dlc train -o writes).")
      .def("compile_cpp", &Model::compile_cpp, py::arg("dir"), py::arg("train") = false, py::arg("name") = "net",
           "Emit standalone C++ into dir (NAME.cpp, NAME.h, dlc_runtime.h) with the current weights; returns the paths.")
      .def_readwrite("stop_training", &Model::stop_training);
  mod.def(
      "load", [](const std::string& path, const py::object& training) { return new Model(path, training); },
      py::arg("path"), py::arg("training") = py::none(),
      "Load a model: dlc's JSON, Keras's model JSON or an ONNX file (with its weights). training: a dict (or a "
      "JSON file's path) of loss, optimizer, metrics, batch_size, epochs to use instead of the file's.");
}
