// ONNX -> dlc model JSON and parameters (frontend/onnx_import.h, docs/onnx.md).
//
// The graph is walked once in its (topological) order. Every ONNX value is either a
// constant (initializers, Constant nodes, and the shape arithmetic PyTorch exports for
// `x.reshape(x.shape[0], -1)`, folded here with the batch extent kept symbolic) or a
// tensor that a dlc layer (or input) computes. A tensor remembers how dlc holds it:
//   cf    ONNX channels-first (NCHW / NCL), dlc channels-last (NHWC / NLC);
//   perm  a feature vector whose order differs from ONNX's (the flatten of an NHWC
//         image): dlc feature j is ONNX feature perm[j].
// Layers that read such tensors take their weights permuted accordingly (a dense layer's
// kernel rows, a batch normalisation's statistics), so the compiled graph has no
// transposes. An element-wise activation, and an Add of a constant, fold into the layer
// before them when nothing else reads that layer's output.
#include "frontend/onnx_import.h"

#include "ir/error.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <set>

namespace dlc::frontend {

namespace {

using ordered = nlohmann::ordered_json;

// The batch extent in a folded shape (Shape of a tensor whose batch axis is symbolic).
constexpr int64_t kBatch = INT64_MIN;
constexpr int64_t kMaxElements = int64_t(1) << 31; // per tensor of the file
constexpr int64_t kMaxSample = int64_t(1) << 26;   // per sample of an input

// Why a node cannot be imported; caught per node and listed.
struct Refusal {
  std::string why;
};

template <typename... A>
[[noreturn]] void refuse(fmt::format_string<A...> f, A&&... a) {
  throw Refusal{fmt::format(f, std::forward<A>(a)...)};
}

struct Const {
  std::vector<int64_t> dims;
  std::vector<double> v;
  bool integer = false;
  int64_t numel() const { return int64_t(v.size()); }
};

std::string dims_str(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); i++) s += (i ? ", " : "") + (d[i] == kBatch ? std::string("N") : std::to_string(d[i]));
  return s + "]";
}

// The product of extents, which a hostile file can make overflow: refused past 2^40.
int64_t product(const std::vector<int64_t>& d, size_t from = 0) {
  int64_t p = 1;
  for (size_t i = from; i < d.size(); i++) {
    if (d[i] < 0 || (d[i] > 0 && p > (int64_t(1) << 40) / d[i])) refuse("extents {} out of range", dims_str(d));
    p *= d[i];
  }
  return p;
}

// A constant's value as an integer (an extent, axis, index or pad); the batch marker
// passes through.
int64_t whole(double v) {
  if (v == double(kBatch)) return kBatch;
  if (!(std::abs(v) < double(int64_t(1) << 40)) || v != std::floor(v)) refuse("{} where an integer is expected", v);
  return int64_t(v);
}

// Attribute lists of extents (kernel sizes, strides, pads) within [lo, 2^20].
std::vector<int64_t> bounded(std::vector<int64_t> v, int64_t lo, const char* what) {
  for (int64_t x : v)
    if (x < lo || x > (int64_t(1) << 20)) refuse("{} {} out of range", what, dims_str(v));
  return v;
}

// A TensorProto's values (float, double, int32, int64; inline or raw little-endian data).
Const read_tensor(const onnx::TensorProto& t) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL) refuse("tensor '{}' keeps its data in an external file", t.name());
  Const c;
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || (d > 0 && n > kMaxElements / d)) refuse("tensor '{}' has dims out of range", t.name());
    c.dims.push_back(d);
    n *= d;
  }
  auto raw = [&](size_t width, auto decode) {
    if (t.raw_data().size() != size_t(n) * width)
      refuse("tensor '{}' has {} bytes of data for {} elements", t.name(), t.raw_data().size(), n);
    c.v.resize(size_t(n));
    for (int64_t i = 0; i < n; i++) c.v[size_t(i)] = decode(t.raw_data().data() + i * int64_t(width));
  };
  auto inline_ = [&](const auto& field) {
    if (int64_t(field.size()) != n) refuse("tensor '{}' has {} values for {} elements", t.name(), field.size(), n);
    c.v.assign(field.begin(), field.end());
  };
  switch (t.data_type()) {
  case onnx::TensorProto::FLOAT:
    if (t.has_raw_data()) raw(4, [](const char* p) { float f; std::memcpy(&f, p, 4); return double(f); });
    else inline_(t.float_data());
    break;
  case onnx::TensorProto::DOUBLE:
    if (t.has_raw_data()) raw(8, [](const char* p) { double f; std::memcpy(&f, p, 8); return f; });
    else inline_(t.double_data());
    break;
  case onnx::TensorProto::INT64:
    c.integer = true;
    if (t.has_raw_data()) raw(8, [](const char* p) { int64_t f; std::memcpy(&f, p, 8); return double(f); });
    else inline_(t.int64_data());
    break;
  case onnx::TensorProto::INT32:
    c.integer = true;
    if (t.has_raw_data()) raw(4, [](const char* p) { int32_t f; std::memcpy(&f, p, 4); return double(f); });
    else inline_(t.int32_data());
    break;
  default:
    refuse("tensor '{}' has element type {} (dlc reads float, double, int32 and int64)", t.name(),
           onnx::TensorProto::DataType_Name(onnx::TensorProto::DataType(t.data_type())));
  }
  for (double x : c.v)
    if (!std::isfinite(x)) refuse("tensor '{}' holds {}", t.name(), x);
  return c;
}

// c's values with its axes reordered: result axis k is c's axis order[k].
std::vector<double> transpose(const Const& c, const std::vector<int>& order) {
  size_t r = c.dims.size();
  std::vector<int64_t> out_dims(r), in_strides(r, 1);
  for (size_t k = r - 1; k-- > 0;) in_strides[k] = in_strides[k + 1] * c.dims[k + 1];
  for (size_t k = 0; k < r; k++) out_dims[k] = c.dims[size_t(order[k])];
  std::vector<double> out(c.v.size());
  std::vector<int64_t> idx(r, 0);
  for (size_t o = 0; o < out.size(); o++) {
    int64_t src = 0;
    for (size_t k = 0; k < r; k++) src += idx[k] * in_strides[size_t(order[k])];
    out[o] = c.v[size_t(src)];
    for (size_t k = r; k-- > 0;) {
      if (++idx[k] < out_dims[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

// The ONNX index of each element of a channels-first tensor of ONNX shape [C, s1, ...],
// in the order dlc holds it ([s1, ..., C]): what a flatten of it leaves in each feature.
std::vector<int64_t> channels_last_order(const std::vector<int64_t>& shape) {
  int64_t c = shape[0], spatial = product(shape, 1);
  if (c * spatial > kMaxSample) refuse("a tensor of {} elements per sample (dlc's limit: 2^26)", c * spatial);
  std::vector<int64_t> q(size_t(c * spatial));
  for (int64_t s = 0; s < spatial; s++)
    for (int64_t ch = 0; ch < c; ch++) q[size_t(s * c + ch)] = ch * spatial + s;
  return q;
}

bool identity(const std::vector<int64_t>& perm) {
  for (size_t i = 0; i < perm.size(); i++)
    if (perm[i] != int64_t(i)) return false;
  return true;
}

struct Val {
  bool known = true; // false below a node that could not be imported
  bool is_const = false;
  Const c;
  std::string ref;            // the dlc input or layer computing it
  std::vector<int64_t> shape; // ONNX shape, without the batch axis
  bool cf = false;
  std::vector<int64_t> perm;  // empty: ONNX's order
  bool integer = false;
  int layer = -1;             // the dlc layer whose output it is (folding)
  std::vector<int64_t> pads;  // a Pad's zeros not yet taken by a convolution (begin..., end...)
  // Recurrent layers (ONNX's LSTM/RNN are time-major, [T, N, F]; dlc's [N, T, F]):
  bool tm = false;            // ONNX sees the sequence time-major: the batch is its axis 1
  int64_t unit_axis = -1;     // an extent-1 ONNX axis dlc does not have (LSTM's num_directions)
  int gelu = 0;               // a step of PyTorch's gelu pattern (Importer::gelu_step)
  std::string gelu_x;         // ... and the ONNX value it is the gelu of
  int seq_layer = -1;         // the recurrent layer whose every-step output this is, read only
                              // on the way to a Gather of its last step
};

struct Importer {
  int64_t opset = 0;
  std::map<std::string, Val> vals;
  std::map<std::string, int> uses;
  std::set<std::string> graph_outputs;
  std::map<std::string, std::vector<std::string>> consumers; // value -> op types reading it
  ordered inputs = ordered::array(), layers = ordered::array(), outputs = ordered::array();
  OnnxModel out;
  std::set<std::string> names;
  std::map<std::string, int> counters;
  std::vector<std::string> problems;
  int64_t static_batch = -1;

  // ---- names ----------------------------------------------------------------------

  static std::string sanitize(const std::string& s) {
    std::string r;
    for (char ch : s) r += std::isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '/' ? ch : '_';
    return r;
  }

  std::string fresh(std::string base, const std::string& type) {
    static const std::set<std::string> reserved = {"target", "lr", "loss"};
    if (base.empty() || std::isdigit((unsigned char)base[0]) || base[0] == '/' || reserved.count(base))
      base = base.empty() ? "" : type + "_" + base;
    if (base.empty()) {
      do base = fmt::format("{}_{}", type, ++counters[type]);
      while (names.count(base));
    }
    std::string n = base;
    for (int k = 2; names.count(n); k++) n = fmt::format("{}_{}", base, k);
    names.insert(n);
    return n;
  }

  // "/layer1/0/conv1/Conv" (PyTorch's module path, then the op) -> "layer1/0/conv1".
  std::string layer_name(const onnx::NodeProto& n, const std::string& type) {
    std::string s = n.name();
    if (!s.empty() && s[0] == '/') s = s.substr(1);
    size_t slash = s.rfind('/');
    s = slash == std::string::npos ? "" : s.substr(0, slash);
    return fresh(sanitize(s), type);
  }

  // ---- values ---------------------------------------------------------------------

  const Val& in(const onnx::NodeProto& n, int i) {
    if (i >= n.input_size() || n.input(i).empty()) refuse("input {} is missing", i);
    return vals.at(n.input(i));
  }
  bool has_in(const onnx::NodeProto& n, int i) { return i < n.input_size() && !n.input(i).empty(); }

  const Const& cin(const onnx::NodeProto& n, int i, const char* what) {
    const Val& v = in(n, i);
    if (!v.is_const) refuse("its {} ('{}') is computed, not a constant", what, n.input(i));
    return v.c;
  }

  const Val& tin(const onnx::NodeProto& n, int i) {
    const Val& v = in(n, i);
    if (v.is_const) refuse("input '{}' is a constant (dlc computes layers of the model's inputs)", n.input(i));
    static const std::set<std::string> sequence_ops = {"LSTM", "RNN", "GRU", "Transpose", "Gather", "Squeeze"};
    if ((v.tm || v.unit_axis >= 0) && !sequence_ops.count(n.op_type()))
      refuse("reads '{}', a recurrent layer's time-major or per-direction output (dlc reads it after the Squeeze and "
             "Transpose that PyTorch exports)",
             n.input(i));
    if (v.gelu > 0) refuse("reads '{}', a step of gelu's pattern (x · 0.5 · (1 + erf(x / √2)))", n.input(i));
    if (!v.pads.empty() && n.op_type() != "Conv")
      refuse("reads the Pad '{}', which only a Conv after it can take", n.input(i));
    return v;
  }

  void set(const onnx::NodeProto& n, int i, Val v) {
    if (i < n.output_size() && !n.output(i).empty()) vals[n.output(i)] = std::move(v);
  }

  static Val constant(Const c) {
    Val v;
    v.is_const = true;
    v.integer = c.integer;
    v.c = std::move(c);
    return v;
  }

  bool sole_use(const std::string& value) { return uses[value] == 1 && !graph_outputs.count(value); }

  // ---- attributes -----------------------------------------------------------------

  static const onnx::AttributeProto* attr(const onnx::NodeProto& n, const char* name) {
    for (const auto& a : n.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  static int64_t attr_i(const onnx::NodeProto& n, const char* name, int64_t dflt) {
    const auto* a = attr(n, name);
    return a ? a->i() : dflt;
  }
  static double attr_f(const onnx::NodeProto& n, const char* name, double dflt) {
    const auto* a = attr(n, name);
    return a ? a->f() : dflt;
  }
  static std::string attr_s(const onnx::NodeProto& n, const char* name, const std::string& dflt) {
    const auto* a = attr(n, name);
    return a ? a->s() : dflt;
  }
  static std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const char* name, std::vector<int64_t> dflt) {
    const auto* a = attr(n, name);
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : dflt;
  }

  // Axis `a` of a tensor of `rank` axes (ONNX's, with the batch), as 0..rank-1.
  static int64_t axis(int64_t a, int64_t rank) {
    if (a < -rank || a >= rank) refuse("axis {} is out of range for rank {}", a, rank);
    return a < 0 ? a + rank : a;
  }

  // ---- layers and weights ---------------------------------------------------------

  int add_layer(const std::string& name, const std::string& type, ordered members, const std::vector<std::string>& ins) {
    ordered l = {{"name", name}, {"type", type}};
    l["inputs"] = ins.size() == 1 ? ordered(ins[0]) : ordered(ins);
    for (auto& [k, v] : members.items()) l[k] = v;
    layers.push_back(l);
    return int(layers.size()) - 1;
  }

  void weight(const std::string& name, std::vector<int64_t> dims, std::vector<double> data) {
    out.weights[name] = ir::Tensor(ir::TensorType{ir::DType::f32, ir::Shape(std::move(dims))}, std::move(data));
  }

  // A channel vector (bias, statistics) of `n` values in the order dlc holds x's features.
  static std::vector<double> channels(const Const& c, int64_t n, const Val& x, const char* what) {
    if (c.numel() != n && c.numel() != 1) refuse("{} has {} values for {} channels", what, c.numel(), n);
    std::vector<double> v = c.numel() == 1 ? std::vector<double>(size_t(n), c.v[0]) : c.v;
    if (!x.perm.empty()) {
      std::vector<double> p(v.size());
      for (size_t j = 0; j < p.size(); j++) p[j] = v[size_t(x.perm[j])];
      v = p;
    }
    return v;
  }

  // The channel count of a tensor in ONNX's axis 1 (features or image channels).
  static int64_t channel_count(const Val& x, const char* op) {
    if (x.shape.empty()) refuse("{} of a tensor without features", op);
    if (!x.cf && x.shape.size() != 1)
      refuse("{} over axis 1 of {} (a sequence or matrix, where dlc's layers act on the last axis)", op,
             dims_str(x.shape));
    return x.shape[0];
  }

  // ---- the node types -------------------------------------------------------------

  using Handler = std::function<void(Importer&, const onnx::NodeProto&)>;

  void activation(const onnx::NodeProto& n, const ordered& act) {
    const Val& x = tin(n, 0);
    apply_activation(n, x, sole_use(n.input(0)), act);
  }

  // The activation of x as n's output: folded into the layer computing x when nothing
  // else reads x (`foldable`), else a layer of its own.
  void apply_activation(const onnx::NodeProto& n, const Val& x, bool foldable, const ordered& act) {
    if (x.integer) refuse("an activation of integer ids");
    Val y = x;
    y.gelu = 0;
    static const std::set<std::string> take = {"dense", "conv2d", "conv1d", "depthwise_conv2d", "conv2d_transpose", "add"};
    if (x.layer >= 0 && foldable && take.count(layers[size_t(x.layer)]["type"].get<std::string>()) &&
        !layers[size_t(x.layer)].contains("activation")) {
      layers[size_t(x.layer)]["activation"] = act;
    } else {
      std::string name = layer_name(n, "activation");
      y.ref = name;
      y.layer = add_layer(name, "activation", {{"activation", act}}, {x.ref});
    }
    set(n, 0, y);
  }

  void softmax(const onnx::NodeProto& n, const char* name) {
    const Val& x = tin(n, 0);
    int64_t rank = int64_t(x.shape.size()) + 1;
    int64_t a = axis(attr_i(n, "axis", opset < 13 ? 1 : -1), rank);
    bool last = x.cf ? a == 1 : a == rank - 1;
    if (opset < 13 && a != rank - 1 && !(x.cf && a == 1 && rank == 2))
      refuse("{} before opset 13 over axes {}.. of a rank-{} tensor (dlc: the last axis)", n.op_type(), a, rank);
    if (!last) refuse("{} over axis {} of {} (dlc: the channels / last axis)", n.op_type(), a, dims_str(x.shape));
    activation(n, name);
  }

  void gemm(const onnx::NodeProto& n) {
    const Val& x = tin(n, 0);
    const Const& b = cin(n, 1, "weight B");
    if (attr_i(n, "transA", 0)) refuse("transA=1 (dlc's dense layer multiplies the input from the left)");
    if (x.cf || x.shape.size() != 1) refuse("input of shape {} (Gemm multiplies matrices [N, K])", dims_str(x.shape));
    if (b.dims.size() != 2) refuse("B has shape {}", dims_str(b.dims));
    bool tb = attr_i(n, "transB", 0);
    double alpha = attr_f(n, "alpha", 1.0), beta = attr_f(n, "beta", 1.0);
    int64_t k = tb ? b.dims[1] : b.dims[0], units = tb ? b.dims[0] : b.dims[1];
    if (k != x.shape[0]) refuse("B has shape {} for inputs of {} features", dims_str(b.dims), x.shape[0]);
    std::string name = layer_name(n, "dense");
    std::vector<double> kernel(size_t(k * units));
    for (int64_t i = 0; i < k; i++) {
      int64_t src = x.perm.empty() ? i : x.perm[size_t(i)]; // row i of dlc's kernel meets dlc feature i
      for (int64_t j = 0; j < units; j++)
        kernel[size_t(i * units + j)] = alpha * (tb ? b.v[size_t(j * k + src)] : b.v[size_t(src * units + j)]);
    }
    weight(name + ".kernel", {k, units}, kernel);
    bool bias = has_in(n, 2);
    if (bias) {
      Val plain;
      std::vector<double> c = channels(cin(n, 2, "bias C"), units, plain, "C");
      for (double& v : c) v *= beta;
      weight(name + ".bias", {units}, c);
    }
    Val y;
    y.ref = name;
    y.shape = {units};
    y.layer = add_layer(name, "dense", {{"units", units}, {"use_bias", bias}}, {x.ref});
    set(n, 0, y);
  }

  void matmul(const onnx::NodeProto& n) {
    const Val& x = tin(n, 0);
    if (!in(n, 1).is_const) refuse("both factors are computed (dlc's dense layer has a constant kernel)");
    const Const& b = cin(n, 1, "weight");
    if (x.cf || x.shape.empty()) refuse("input of shape {} (a dense layer acts on the last axis)", dims_str(x.shape));
    if (b.dims.size() != 2 || b.dims[0] != x.shape.back())
      refuse("weight of shape {} for inputs of {} features", dims_str(b.dims), x.shape.back());
    int64_t k = b.dims[0], units = b.dims[1];
    if (!x.perm.empty() && x.shape.size() != 1) refuse("a permuted input of rank > 2");
    std::string name = layer_name(n, "dense");
    std::vector<double> kernel(size_t(k * units));
    for (int64_t i = 0; i < k; i++)
      for (int64_t j = 0; j < units; j++)
        kernel[size_t(i * units + j)] = b.v[size_t((x.perm.empty() ? i : x.perm[size_t(i)]) * units + j)];
    weight(name + ".kernel", {k, units}, kernel);
    Val y;
    y.ref = name;
    y.shape = x.shape;
    y.shape.back() = units;
    y.layer = add_layer(name, "dense", {{"units", units}, {"use_bias", false}}, {x.ref});
    set(n, 0, y);
  }

  // Add, Sub, Mul, Div: shape arithmetic on constants, a residual Add of two tensors, or an
  // Add of a constant that the layer before takes into its bias.
  void arithmetic(const onnx::NodeProto& n) {
    const Val &a = in(n, 0), &b = in(n, 1);
    const std::string& op = n.op_type();
    if (a.is_const && b.is_const) {
      const Const &x = a.c, &y = b.c;
      if (x.numel() != y.numel() && x.numel() != 1 && y.numel() != 1)
        refuse("constants of shapes {} and {}", dims_str(x.dims), dims_str(y.dims));
      Const r = x.numel() >= y.numel() ? x : y;
      r.integer = x.integer && y.integer;
      for (int64_t i = 0; i < r.numel(); i++) {
        double p = x.v[size_t(x.numel() == 1 ? 0 : i)], q = y.v[size_t(y.numel() == 1 ? 0 : i)];
        if (p == double(kBatch) || q == double(kBatch)) refuse("arithmetic on the batch size, which dlc keeps symbolic");
        if ((op == "Div") && q == 0) refuse("a division by zero");
        double v = op == "Add" ? p + q : op == "Sub" ? p - q : op == "Mul" ? p * q : p / q;
        r.v[size_t(i)] = r.integer && op == "Div" ? std::floor(v) : v;
      }
      set(n, 0, constant(r));
      return;
    }
    if (gelu_step(n)) return;
    if (op != "Add") refuse("{} of a computed tensor (dlc's merging layers are add and concat)", op);
    if (!a.is_const && !b.is_const) {
      const Val &x = tin(n, 0), &y = tin(n, 1);
      if (x.shape != y.shape || x.cf != y.cf || x.perm != y.perm)
        refuse("tensors of shapes {} and {} (dlc's add takes equal shapes, no broadcasting)", dims_str(x.shape),
               dims_str(y.shape));
      std::string name = layer_name(n, "add");
      Val r = x;
      r.ref = name;
      r.layer = add_layer(name, "add", ordered::object(), {x.ref, y.ref});
      set(n, 0, r);
      return;
    }
    int ti = a.is_const ? 1 : 0;
    const Val& x = tin(n, ti);
    const Const& c = b.is_const ? b.c : a.c;
    static const std::set<std::string> biased = {"dense", "conv2d", "conv1d", "depthwise_conv2d", "conv2d_transpose"};
    if (x.layer < 0 || !sole_use(n.input(ti)) || !biased.count(layers[size_t(x.layer)]["type"].get<std::string>()) ||
        layers[size_t(x.layer)].contains("activation"))
      refuse("adds a constant to a tensor that no layer before it can take as its bias");
    ordered& l = layers[size_t(x.layer)];
    int64_t ch = x.cf ? x.shape[0] : x.shape.back();
    // One value per channel: ONNX broadcasts c's dims against [N, C, H, W] (cf) or
    // [N, ..., C] from the right; every extent but the channels' must be 1.
    size_t rank = x.shape.size() + 1, channel_axis = x.cf ? 1 : rank - 1;
    bool per_channel = c.dims.size() <= rank;
    for (size_t i = 0; per_channel && i < c.dims.size(); i++) {
      size_t at = rank - c.dims.size() + i;
      per_channel = c.dims[i] == 1 || (at == channel_axis && c.dims[i] == ch);
    }
    if (!per_channel) refuse("adds a constant of shape {} to {} (a bias has one value per channel)", dims_str(c.dims), dims_str(x.shape));
    std::string bias = l["name"].get<std::string>() + ".bias";
    std::vector<double> v = channels(c, ch, x, "the constant");
    if (l["use_bias"].get<bool>())
      for (size_t i = 0; i < v.size(); i++) v[i] += out.weights.at(bias).data[i];
    l["use_bias"] = true;
    weight(bias, {ch}, v);
    set(n, 0, x);
  }

  // PyTorch 1.13 exports gelu(x) (opset < 20 has no Gelu) as x · 0.5 · (1 + erf(x / √2)):
  // Div by √2, Erf, Add 1, Mul by x, Mul by 0.5 (the two Muls in either order). Each step
  // marks its output with the stage reached (Val::gelu); the last is dlc's gelu of x.
  bool gelu_step(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    auto scalar = [](const Val& v, double want) {
      return v.is_const && v.c.numel() == 1 && std::abs(v.c.v[0] - want) < 1e-4 * std::abs(want);
    };
    for (int i : {0, 1}) {
      const Val &a = in(n, i), &b = in(n, 1 - i);
      Val y = a;
      if (op == "Div" && i == 0 && !a.is_const && a.gelu == 0 && scalar(b, std::sqrt(2.0))) {
        y.gelu = 1;
        y.gelu_x = n.input(0);
      } else if (a.gelu == 2 && sole_use(n.input(i)) && op == "Add" && scalar(b, 1.0)) {
        y.gelu = 3;
      } else if (a.gelu == 3 && sole_use(n.input(i)) && op == "Mul" && n.input(1 - i) == a.gelu_x) {
        y.gelu = 4;
      } else if (a.gelu == 3 && sole_use(n.input(i)) && op == "Mul" && scalar(b, 0.5)) {
        y.gelu = 5; // 0.5 (1 + erf): x still to come
      } else if (((a.gelu == 4 && scalar(b, 0.5)) || (a.gelu == 5 && n.input(1 - i) == a.gelu_x)) &&
                 sole_use(n.input(i))) {
        apply_activation(n, vals.at(a.gelu_x), false, "gelu");
        return true;
      } else {
        continue;
      }
      set(n, 0, y);
      return true;
    }
    return false;
  }

  void erf(const onnx::NodeProto& n) {
    const Val& x = in(n, 0);
    if (x.gelu != 1 || !sole_use(n.input(0)))
      refuse("an Erf outside x · 0.5 · (1 + erf(x / √2)), PyTorch's export of gelu");
    Val y = x;
    y.gelu = 2;
    set(n, 0, y);
  }

  // Spatial padding of a Conv or pool: (begin..., end...) from pads/auto_pad, plus a Pad's.
  std::vector<int64_t> spatial_pads(const onnx::NodeProto& n, const Val& x, size_t dims, bool* same) {
    std::string ap = attr_s(n, "auto_pad", "NOTSET");
    *same = false;
    std::vector<int64_t> p = bounded(attr_ints(n, "pads", std::vector<int64_t>(2 * dims, 0)), 0, "pads");
    if (p.size() != 2 * dims) refuse("pads has {} values for {} spatial axes", p.size(), dims);
    if (ap == "SAME_UPPER") {
      *same = true; // TensorFlow's "same": the extra element at the end, as dlc's
      if (!x.pads.empty()) refuse("auto_pad SAME_UPPER after a Pad");
    } else if (ap != "NOTSET" && ap != "VALID") {
      refuse("auto_pad {} (dlc pads as SAME_UPPER or explicitly)", ap);
    }
    if (ap == "VALID") std::fill(p.begin(), p.end(), 0);
    if (!x.pads.empty())
      for (size_t i = 0; i < p.size(); i++) p[i] += x.pads[i];
    for (int64_t v : p)
      if (v < 0) refuse("negative padding");
    return p;
  }

  // dlc's padding member: [top, bottom, left, right] (2-D) or [before, after] (1-D).
  static ordered padding(const std::vector<int64_t>& p, bool same) {
    if (same) return "same";
    if (p.size() == 4) return ordered{p[0], p[2], p[1], p[3]};
    return ordered{p[0], p[1]};
  }

  static std::vector<int64_t> window_out(const std::vector<int64_t>& shape, const std::vector<int64_t>& k,
                                         const std::vector<int64_t>& s, const std::vector<int64_t>& p, bool same) {
    std::vector<int64_t> o;
    size_t d = k.size();
    for (size_t i = 0; i < d; i++) {
      int64_t in = shape[i + 1];
      int64_t v = same ? (in + s[i] - 1) / s[i] : (in + p[i] + p[i + d] - k[i]) / s[i] + 1;
      if (!same && in + p[i] + p[i + d] < k[i]) refuse("a window of {} over {} (padded) positions", k[i], in + p[i] + p[i + d]);
      o.push_back(v);
    }
    return o;
  }

  std::vector<int64_t> ones(size_t d) { return std::vector<int64_t>(d, 1); }

  void image_input(const Val& x, const char* op) {
    if (!x.cf || (x.shape.size() != 2 && x.shape.size() != 3))
      refuse("{} of a tensor of shape {} (dlc: [N, C, L] or [N, C, H, W] images)", op, dims_str(x.shape));
  }

  void conv(const onnx::NodeProto& n) {
    const Val& x = tin(n, 0);
    image_input(x, "Conv");
    const Const& w = cin(n, 1, "weight");
    size_t d = x.shape.size() - 1;
    if (w.dims.size() != d + 2) refuse("weight of shape {}", dims_str(w.dims));
    int64_t g = attr_i(n, "group", 1), c = x.shape[0], m = w.dims[0];
    std::vector<int64_t> k(w.dims.begin() + 2, w.dims.end());
    if (attr_ints(n, "dilations", ones(d)) != ones(d)) refuse("dilations other than 1");
    std::vector<int64_t> s = bounded(attr_ints(n, "strides", ones(d)), 1, "strides");
    if (s.size() != d) refuse("strides of {} values", s.size());
    bool same = false;
    std::vector<int64_t> p = spatial_pads(n, x, d, &same);
    std::vector<int64_t> o = window_out(x.shape, k, s, p, same);
    bool depthwise = g > 1 && g == c && w.dims[1] == 1 && m % c == 0 && d == 2;
    if (g != 1 && !depthwise)
      refuse("group {} with {} input channels (dlc: group 1, or depthwise: group = channels)", g, c);
    if (g == 1 && w.dims[1] != c) refuse("weight of shape {} for {} input channels", dims_str(w.dims), c);
    std::string type = depthwise ? "depthwise_conv2d" : d == 2 ? "conv2d" : "conv1d";
    std::string name = layer_name(n, type);
    ordered members = {{"kernel_size", d == 2 ? ordered(k) : ordered(k[0])},
                       {"strides", d == 2 ? ordered(s) : ordered(s[0])},
                       {"padding", padding(p, same)}};
    if (depthwise) {
      members["depth_multiplier"] = m / c;
      Const r = w; // [C*m, 1, kh, kw] -> [C, m, kh, kw] -> [kh, kw, C, m]
      r.dims = {c, m / c, k[0], k[1]};
      weight(name + ".depthwise_kernel", {k[0], k[1], c, m / c}, transpose(r, {2, 3, 0, 1}));
    } else {
      ordered f = {{"filters", m}};
      for (auto& [key, v] : members.items()) f[key] = v;
      members = f;
      if (d == 2) weight(name + ".kernel", {k[0], k[1], c, m}, transpose(w, {2, 3, 1, 0}));
      else weight(name + ".kernel", {k[0], c, m}, transpose(w, {2, 1, 0}));
    }
    bool bias = has_in(n, 2);
    if (bias) weight(name + ".bias", {m}, channels(cin(n, 2, "bias"), m, Val{}, "the bias"));
    members["use_bias"] = bias;
    Val y;
    y.ref = name;
    y.cf = true;
    y.shape = {m};
    y.shape.insert(y.shape.end(), o.begin(), o.end());
    y.layer = add_layer(name, type, members, {x.ref});
    set(n, 0, y);
  }

  void conv_transpose(const onnx::NodeProto& n) {
    const Val& x = tin(n, 0);
    image_input(x, "ConvTranspose");
    const Const& w = cin(n, 1, "weight");
    if (x.shape.size() != 3 || w.dims.size() != 4) refuse("weight of shape {} (dlc: 2-D ConvTranspose)", dims_str(w.dims));
    int64_t c = x.shape[0], m = w.dims[1];
    std::vector<int64_t> k = {w.dims[2], w.dims[3]}, s = bounded(attr_ints(n, "strides", ones(2)), 1, "strides");
    if (s.size() != 2) refuse("strides of {} values", s.size());
    if (attr_i(n, "group", 1) != 1) refuse("group other than 1");
    if (w.dims[0] != c) refuse("weight of shape {} for {} input channels", dims_str(w.dims), c);
    if (attr_ints(n, "dilations", ones(2)) != ones(2)) refuse("dilations other than 1");
    if (attr(n, "output_shape")) refuse("output_shape (dlc derives the output from strides and padding)");
    if (attr_ints(n, "output_padding", {0, 0}) != std::vector<int64_t>{0, 0}) refuse("output_padding other than 0");
    std::string ap = attr_s(n, "auto_pad", "NOTSET");
    std::vector<int64_t> p = bounded(attr_ints(n, "pads", {0, 0, 0, 0}), 0, "pads");
    if (p.size() != 4) refuse("pads of {} values", p.size());
    std::string pad;
    if (ap == "VALID" || (ap == "NOTSET" && p == std::vector<int64_t>{0, 0, 0, 0})) pad = "valid";
    else if (ap == "SAME_UPPER" ||
             (ap == "NOTSET" && p[0] == p[2] && p[1] == p[3] && k[0] - s[0] == 2 * p[0] && k[1] - s[1] == 2 * p[1]))
      pad = "same"; // cropping (k - s) / 2 at each end: dlc's "same" output h·s
    else refuse("pads {} (dlc's conv2d_transpose: none, or (kernel - stride) / 2 on each side)", dims_str(p));
    std::string name = layer_name(n, "conv2d_transpose");
    weight(name + ".kernel", {k[0], k[1], m, c}, transpose(w, {2, 3, 1, 0}));
    bool bias = has_in(n, 2);
    if (bias) weight(name + ".bias", {m}, channels(cin(n, 2, "bias"), m, Val{}, "the bias"));
    Val y;
    y.ref = name;
    y.cf = true;
    y.shape = {m, pad == "same" ? x.shape[1] * s[0] : (x.shape[1] - 1) * s[0] + k[0],
               pad == "same" ? x.shape[2] * s[1] : (x.shape[2] - 1) * s[1] + k[1]};
    y.layer = add_layer(name, "conv2d_transpose",
                        {{"filters", m}, {"kernel_size", k}, {"strides", s}, {"padding", pad}, {"use_bias", bias}}, {x.ref});
    set(n, 0, y);
  }

  void pool(const onnx::NodeProto& n) {
    const Val& x = tin(n, 0);
    bool max = n.op_type() == "MaxPool";
    image_input(x, n.op_type().c_str());
    size_t d = x.shape.size() - 1;
    std::vector<int64_t> k = bounded(attr_ints(n, "kernel_shape", {}), 1, "kernel_shape");
    if (k.size() != d) refuse("kernel_shape of {} values for {} spatial axes", k.size(), d);
    std::vector<int64_t> s = bounded(attr_ints(n, "strides", ones(d)), 1, "strides");
    if (s.size() != d) refuse("strides of {} values", s.size());
    if (attr_i(n, "ceil_mode", 0)) refuse("ceil_mode=1 (dlc rounds the output size down)");
    if (attr_ints(n, "dilations", ones(d)) != ones(d)) refuse("dilations other than 1");
    if (max && n.output_size() > 1 && !n.output(1).empty() && uses[n.output(1)] > 0) refuse("the Indices output is read");
    bool same = false;
    std::vector<int64_t> p = spatial_pads(n, x, d, &same);
    if (!max && attr_i(n, "count_include_pad", 0) && (same || std::any_of(p.begin(), p.end(), [](int64_t v) { return v; })))
      refuse("count_include_pad=1 with padding (dlc averages the real elements of a window)");
    std::vector<int64_t> o = window_out(x.shape, k, s, p, same);
    std::string type = std::string(max ? "max_pool" : "avg_pool") + (d == 2 ? "2d" : "1d");
    std::string name = layer_name(n, type);
    Val y;
    y.ref = name;
    y.cf = true;
    y.shape = {x.shape[0]};
    y.shape.insert(y.shape.end(), o.begin(), o.end());
    y.layer = add_layer(name, type,
                        {{"pool_size", d == 2 ? ordered(k) : ordered(k[0])},
                         {"strides", d == 2 ? ordered(s) : ordered(s[0])},
                         {"padding", padding(p, same)}},
                        {x.ref});
    set(n, 0, y);
  }

  // GlobalAveragePool, GlobalMaxPool, and ReduceMean/ReduceMax over every spatial axis.
  void global_pool(const onnx::NodeProto& n) {
    const Val& x = tin(n, 0);
    bool reduce = n.op_type().rfind("Reduce", 0) == 0, keep = !reduce || attr_i(n, "keepdims", 1);
    bool max = n.op_type() == "GlobalMaxPool" || n.op_type() == "ReduceMax";
    Val y;
    size_t d = x.shape.size() - 1;
    if (reduce) {
      std::vector<int64_t> axes = attr_ints(n, "axes", {}), want;
      for (int64_t& a : axes) a = axis(a, int64_t(x.shape.size()) + 1);
      std::sort(axes.begin(), axes.end());
      // Over a sequence's steps: [N, C, L] axis 2 (channels-first) or [N, L, C] axis 1.
      bool steps = !x.cf && x.shape.size() == 2 && axes == std::vector<int64_t>{1};
      for (size_t i = 2; i <= x.shape.size(); i++) want.push_back(int64_t(i));
      if (!steps && !(x.cf && axes == want))
        refuse("{} over axes {} of {} (dlc: every spatial axis, a global pooling)", n.op_type(), dims_str(axes),
               dims_str(x.shape));
      if (steps) { // the pooled tensor is the channels of a plain [L, C]
        d = 1;
        y.shape = keep ? std::vector<int64_t>{1, x.shape[1]} : std::vector<int64_t>{x.shape[1]};
      }
    } else {
      image_input(x, n.op_type().c_str());
    }
    if (y.shape.empty()) {
      image_input(x, n.op_type().c_str());
      y.cf = keep;
      y.shape = keep ? std::vector<int64_t>(d + 1, 1) : std::vector<int64_t>{};
      if (keep) y.shape[0] = x.shape[0];
      else y.shape = {x.shape[0]};
    }
    std::string type = std::string(max ? "global_max_pooling" : "global_average_pooling") + (d == 2 ? "2d" : "1d");
    y.ref = layer_name(n, type);
    y.layer = add_layer(y.ref, type, {{"keepdims", keep}}, {x.ref});
    set(n, 0, y);
  }

  // A Transpose that moves the channels between axis 1 and the last axis changes how
  // ONNX sees the tensor, not how dlc holds it: no layer.
  void transpose_node(const onnx::NodeProto& n) {
    const Val& x = tin(n, 0);
    int64_t r = int64_t(x.shape.size()) + 1;
    std::vector<int64_t> p = attr_ints(n, "perm", {}), to_cf = {0, r - 1}, to_last = {0};
    for (int64_t i = 1; i < r - 1; i++) to_cf.push_back(i);
    for (int64_t i = 2; i < r; i++) to_last.push_back(i);
    to_last.push_back(1);
    Val y = x;
    if (r == 3 && !x.cf && x.unit_axis < 0 && p == std::vector<int64_t>{1, 0, 2}) {
      y.tm = !x.tm; // between time-major and batch-major: the same sequence to dlc
      y.seq_layer = sole_use(n.input(0)) ? x.seq_layer : -1;
      set(n, 0, y);
      return;
    }
    if (x.tm) refuse("perm {} of a time-major sequence", dims_str(p));
    if (r >= 3 && !x.cf && x.perm.empty() && p == to_cf) {
      y.cf = true;
      y.shape.insert(y.shape.begin(), y.shape.back());
      y.shape.pop_back();
    } else if (r >= 3 && x.cf && p == to_last) {
      y.cf = false;
      y.shape.push_back(y.shape.front());
      y.shape.erase(y.shape.begin());
    } else {
      refuse("perm {} of {} (dlc's layers keep channels last; only a move of the channels between axis 1 and the "
             "last axis is read)",
             dims_str(p), dims_str(x.shape));
    }
    y.layer = -1; // the layer's output is now seen through the transpose
    set(n, 0, y);
  }

  // A flatten of everything but the batch axis; `n` names the layer.
  void flatten_to(const onnx::NodeProto& n, const Val& x) {
    Val y = x;
    int64_t f = product(x.shape);
    y.shape = {f};
    if (x.shape.size() == 1) { // already features: nothing to do
      set(n, 0, y);
      return;
    }
    if (x.cf) y.perm = channels_last_order(x.shape);
    if (identity(y.perm)) y.perm.clear();
    std::string name = layer_name(n, "flatten");
    y.ref = name;
    y.cf = false;
    y.layer = add_layer(name, "flatten", ordered::object(), {x.ref});
    set(n, 0, y);
  }

  void flatten(const onnx::NodeProto& n) {
    const Val& x = tin(n, 0);
    int64_t a = axis(attr_i(n, "axis", 1), int64_t(x.shape.size()) + 1);
    if (a != 1) refuse("axis {} (dlc flattens everything but the batch axis: axis 1)", a);
    flatten_to(n, x);
  }

  void reshape(const onnx::NodeProto& n) {
    if (in(n, 0).is_const) {
      Const c = in(n, 0).c;
      c.dims.clear();
      for (double v : cin(n, 1, "shape").v) c.dims.push_back(whole(v));
      if (c.dims.size() == 1 && c.dims[0] == -1) c.dims = {c.numel()};
      if (product(c.dims) != c.numel()) refuse("a constant of {} elements to shape {}", c.numel(), dims_str(c.dims));
      set(n, 0, constant(c));
      return;
    }
    const Val& x = tin(n, 0);
    if (attr_i(n, "allowzero", 0)) refuse("allowzero=1");
    std::vector<int64_t> t;
    for (double v : cin(n, 1, "shape").v) t.push_back(whole(v));
    if (t.empty()) refuse("a shape without the batch axis");
    int64_t numel = product(x.shape);
    if (!(t[0] == kBatch || t[0] == 0 || t[0] == -1 || (static_batch > 0 && t[0] == static_batch)))
      refuse("shape {} changes the batch axis (dlc keeps it)", dims_str(t));
    std::vector<int64_t> rest(t.begin() + 1, t.end());
    int64_t known = 1, infer = -1;
    for (size_t i = 0; i < rest.size(); i++) {
      if (rest[i] == 0 && i < x.shape.size()) rest[i] = x.shape[i];
      if (rest[i] == -1) {
        if (infer >= 0 || t[0] == -1) refuse("shape {} with more than one -1", dims_str(t));
        infer = int64_t(i);
      } else if (rest[i] <= 0) {
        refuse("shape {}", dims_str(t));
      } else {
        if (rest[i] > (int64_t(1) << 31) || known > (int64_t(1) << 31)) refuse("shape {} out of range", dims_str(t));
        known *= rest[i];
      }
    }
    if (infer >= 0) {
      if (numel % known) refuse("shape {} for {} elements per sample", dims_str(t), numel);
      rest[size_t(infer)] = numel / known;
    }
    if (product(rest) != numel) refuse("shape {} for {} elements per sample", dims_str(t), numel);
    if (rest.size() == 1) return flatten_to(n, x);
    if (x.cf || !x.perm.empty()) refuse("a reshape of a channels-first image into {} (only a flatten keeps to NHWC)", dims_str(t));
    std::string name = layer_name(n, "reshape");
    Val y = x;
    y.ref = name;
    y.shape = rest;
    if (x.shape.size() == 1 && (rest.size() == 3 || rest.size() == 2)) {
      // Features into an NCHW image (a generator's projection): the dense layer before
      // writes its outputs in NHWC order instead, so the reshape is dlc's [H, W, C].
      permute_producer_outputs(x, n.input(0), channels_last_order(rest));
      std::vector<int64_t> nhwc(rest.begin() + 1, rest.end());
      nhwc.push_back(rest[0]);
      y.cf = true;
      y.layer = add_layer(name, "reshape", {{"target_shape", nhwc}}, {x.ref});
    } else {
      y.layer = add_layer(name, "reshape", {{"target_shape", rest}}, {x.ref});
    }
    set(n, 0, y);
  }

  // Makes the dense layer computing x write ONNX feature q[j] at position j.
  void permute_producer_outputs(const Val& x, const std::string& value, const std::vector<int64_t>& q) {
    if (x.layer < 0 || !sole_use(value) || layers[size_t(x.layer)]["type"] != "dense")
      refuse("features reshaped into an image: dlc holds images NHWC, so the dense layer before must be the only "
             "reader (its outputs are reordered)");
    const std::string name = layers[size_t(x.layer)]["name"].get<std::string>();
    ir::Tensor& k = out.weights.at(name + ".kernel");
    int64_t rows = k.type.shape.dims[0], units = k.type.shape.dims[1];
    std::vector<double> nk(k.data.size());
    for (int64_t i = 0; i < rows; i++)
      for (int64_t j = 0; j < units; j++) nk[size_t(i * units + j)] = k.data[size_t(i * units + q[size_t(j)])];
    k.data = nk;
    if (auto it = out.weights.find(name + ".bias"); it != out.weights.end()) {
      std::vector<double> nb(it->second.data.size());
      for (int64_t j = 0; j < units; j++) nb[size_t(j)] = it->second.data[size_t(q[size_t(j)])];
      it->second.data = nb;
    }
  }

  void concat(const onnx::NodeProto& n) {
    bool all_const = true;
    for (int i = 0; i < n.input_size(); i++) all_const = all_const && in(n, i).is_const;
    if (all_const) { // shape arithmetic: 1-D constants end to end
      Const r;
      r.integer = true;
      for (int i = 0; i < n.input_size(); i++) {
        const Const& c = in(n, i).c;
        if (c.dims.size() > 1) refuse("a Concat of constants of rank {}", c.dims.size());
        r.v.insert(r.v.end(), c.v.begin(), c.v.end());
        r.integer = r.integer && c.integer;
      }
      r.dims = {r.numel()};
      set(n, 0, constant(r));
      return;
    }
    const Val& x0 = tin(n, 0);
    int64_t rank = int64_t(x0.shape.size()) + 1, a = axis(attr_i(n, "axis", 1), rank);
    if (a == 0) refuse("axis 0, the batch axis");
    if (x0.cf ? a != 1 : a != rank - 1)
      refuse("axis {} of {} (dlc concatenates channels / the last axis)", a, dims_str(x0.shape));
    Val y = x0;
    std::vector<std::string> refs;
    std::vector<int64_t> perm;
    int64_t total = 0;
    bool permuted = false;
    for (int i = 0; i < n.input_size(); i++) {
      const Val& x = tin(n, i);
      if (x.cf != x0.cf || x.shape.size() != x0.shape.size()) refuse("tensors of different layouts");
      int64_t extent = x.cf ? x.shape[0] : x.shape.back();
      for (int64_t j = 0; j < extent; j++) perm.push_back(total + (x.perm.empty() ? j : x.perm[size_t(j)]));
      permuted = permuted || !x.perm.empty();
      total += extent;
      refs.push_back(x.ref);
    }
    (x0.cf ? y.shape[0] : y.shape.back()) = total;
    y.perm = permuted && y.shape.size() == 1 ? perm : std::vector<int64_t>{};
    std::string name = layer_name(n, "concat");
    y.ref = name;
    y.layer = add_layer(name, "concat", {{"axis", -1}}, refs);
    set(n, 0, y);
  }

  void batch_norm(const onnx::NodeProto& n) {
    const Val& x = tin(n, 0);
    if (attr_i(n, "training_mode", 0)) refuse("training_mode=1 (the model is read for inference and fine-tuning)");
    for (int i = 1; i < n.output_size(); i++)
      if (!n.output(i).empty() && uses[n.output(i)] > 0) refuse("its running statistics outputs are read");
    int64_t c = channel_count(x, "BatchNormalization");
    std::string name = layer_name(n, "batch_normalization");
    const char* parts[] = {"gamma", "beta", "moving_mean", "moving_variance"};
    for (int i = 0; i < 4; i++) weight(name + "." + parts[i], {c}, channels(cin(n, i + 1, parts[i]), c, x, parts[i]));
    Val y = x;
    y.ref = name;
    y.layer = add_layer(name, "batch_normalization",
                        {{"momentum", attr_f(n, "momentum", 0.9)}, {"epsilon", attr_f(n, "epsilon", 1e-5)}}, {x.ref});
    set(n, 0, y);
  }

  void dropout(const onnx::NodeProto& n) {
    const Val& x = tin(n, 0);
    double rate = opset < 12 ? attr_f(n, "ratio", 0.5) : has_in(n, 1) ? cin(n, 1, "ratio").v.at(0) : 0.5;
    if (n.output_size() > 1 && !n.output(1).empty() && uses[n.output(1)] > 0) refuse("its mask output is read");
    if (!(rate >= 0 && rate < 1)) refuse("ratio {}", rate);
    std::string name = layer_name(n, "dropout");
    Val y = x;
    y.ref = name;
    y.layer = add_layer(name, "dropout", {{"rate", rate}}, {x.ref});
    set(n, 0, y);
  }

  void prelu(const onnx::NodeProto& n) {
    const Val& x = tin(n, 0);
    int64_t c = x.cf ? x.shape[0] : x.shape.back();
    const Const& slope = cin(n, 1, "slope");
    if (slope.numel() != c && slope.numel() != 1) refuse("a slope of shape {} for {} channels", dims_str(slope.dims), c);
    std::string name = layer_name(n, "activation");
    weight(name + ".slope", {c}, channels(slope, c, x, "the slope"));
    Val y = x;
    y.ref = name;
    y.layer = add_layer(name, "activation", {{"activation", "prelu"}}, {x.ref});
    set(n, 0, y);
  }

  void gather(const onnx::NodeProto& n) {
    const Val &d = in(n, 0), &i = in(n, 1);
    int64_t a = attr_i(n, "axis", 0);
    if (d.is_const && i.is_const) { // shape arithmetic: a 1-D constant's elements
      if (d.c.dims.size() != 1) refuse("a Gather from a constant of rank {}", d.c.dims.size());
      Const r = i.c;
      r.integer = d.c.integer;
      for (double& v : r.v) {
        int64_t k = whole(v) < 0 ? whole(v) + d.c.numel() : whole(v);
        if (k < 0 || k >= d.c.numel()) refuse("index {} out of {}", v, d.c.numel());
        v = d.c.v[size_t(k)];
      }
      set(n, 0, constant(r));
      return;
    }
    if (!d.is_const && i.is_const) return last_step(n, a);
    if (!d.is_const || a != 0 || d.c.dims.size() != 2)
      refuse("a Gather that is not an embedding lookup (constant table [V, D], axis 0)");
    const Val& ids = tin(n, 1);
    if (!ids.integer) refuse("an embedding lookup with float ids");
    std::string name = layer_name(n, "embedding");
    weight(name + ".embeddings", d.c.dims, d.c.v);
    Val y = ids;
    y.integer = false;
    y.ref = name;
    y.shape.push_back(d.c.dims[1]);
    y.layer = add_layer(name, "embedding", {{"input_dim", d.c.dims[0]}, {"output_dim", d.c.dims[1]}}, {ids.ref});
    set(n, 0, y);
  }

  // ---- recurrent layers -----------------------------------------------------------

  // LSTM, GRU and RNN (forward, one direction) as dlc's lstm, gru and simple_rnn. ONNX's
  // W [1, G·H, F], R [1, G·H, H] and two biases B [1, 2·G·H] become kernel [F, G·H],
  // recurrent_kernel [H, G·H] and one bias [G·H]. The LSTM's gates i, o, f, c are dlc's
  // (Keras's) i, f, u (= c), o; the GRU's z, r, h are dlc's. A GRU with
  // linear_before_reset=1 (PyTorch's) is dlc's reset_after, whose bias [2, 3H] keeps
  // the recurrent product's bias as row 1: it is scaled by the reset gate, so not summed.
  void recurrent(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    const Val& x = tin(n, 0);
    if (!x.tm || x.shape.size() != 2)
      refuse("input of shape {} (ONNX's {} reads [T, N, F], time-major: PyTorch exports a Transpose before it)",
             dims_str(x.shape), op);
    if (attr_s(n, "direction", "forward") != "forward")
      refuse("direction '{}' (dlc: forward; a bidirectional layer is not mapped yet)", attr_s(n, "direction", ""));
    if (attr(n, "clip")) refuse("clip");
    if (attr_i(n, "input_forget", 0)) refuse("input_forget=1");
    if (attr_i(n, "layout", 0)) refuse("layout=1");
    if (has_in(n, 4)) refuse("sequence_lens (dlc masks padded steps with a masking layer)");
    if (has_in(n, 7)) refuse("peepholes P");
    for (int i : {5, 6})
      if (has_in(n, i)) {
        const Const& s = cin(n, i, "initial state");
        if (std::any_of(s.v.begin(), s.v.end(), [](double v) { return v != 0; }))
          refuse("a non-zero constant initial state");
      }
    bool lstm = op == "LSTM", gru = op == "GRU", reset_after = gru && attr_i(n, "linear_before_reset", 0);
    int64_t gates = lstm ? 4 : gru ? 3 : 1, h = attr_i(n, "hidden_size", 0), f = x.shape[1];
    std::string act = "tanh";
    std::vector<std::string> acts;
    if (const auto* a = attr(n, "activations"))
      for (const auto& s : a->strings()) acts.push_back(s);
    std::vector<std::string> dflt = lstm  ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
                                    : gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                          : std::vector<std::string>{"Tanh"};
    if (!acts.empty() && !lstm && acts.size() == 1 && acts[0] == "Relu") act = "relu";
    else if (!acts.empty() && acts != dflt) refuse("activations other than ONNX's defaults");
    const Const &w = cin(n, 1, "W"), &r = cin(n, 2, "R");
    if (w.dims != std::vector<int64_t>{1, gates * h, f} || r.dims != std::vector<int64_t>{1, gates * h, h})
      refuse("W {} and R {} for hidden_size {} and {} features", dims_str(w.dims), dims_str(r.dims), h, f);
    std::vector<int64_t> order = lstm ? std::vector<int64_t>{0, 2, 3, 1}
                                 : gru ? std::vector<int64_t>{0, 1, 2}
                                       : std::vector<int64_t>{0}; // dlc gate -> ONNX
    std::string type = lstm ? "lstm" : gru ? "gru" : "simple_rnn", name = layer_name(n, type);
    int64_t gh = gates * h;
    std::vector<double> kernel(size_t(f * gh)), rec(size_t(h * gh)), bias(size_t((reset_after ? 2 : 1) * gh), 0.0);
    const Const* b = has_in(n, 3) ? &cin(n, 3, "B") : nullptr;
    if (b && b->dims != std::vector<int64_t>{1, 2 * gh}) refuse("B {} for hidden_size {}", dims_str(b->dims), h);
    for (int64_t g = 0; g < gates; g++)
      for (int64_t u = 0; u < h; u++) {
        int64_t row = order[size_t(g)] * h + u, col = g * h + u; // ONNX's row, dlc's column
        for (int64_t k = 0; k < f; k++) kernel[size_t(k * gh + col)] = w.v[size_t(row * f + k)];
        for (int64_t k = 0; k < h; k++) rec[size_t(k * gh + col)] = r.v[size_t(row * h + k)];
        if (b && reset_after) {
          bias[size_t(col)] = b->v[size_t(row)];
          bias[size_t(gh + col)] = b->v[size_t(gh + row)];
        } else if (b) {
          bias[size_t(col)] = b->v[size_t(row)] + b->v[size_t(gh + row)];
        }
      }
    weight(name + ".kernel", {f, gh}, kernel);
    weight(name + ".recurrent_kernel", {h, gh}, rec);
    weight(name + ".bias", reset_after ? std::vector<int64_t>{2, gh} : std::vector<int64_t>{gh}, bias);
    auto used = [&](int i) { return i < n.output_size() && !n.output(i).empty() && uses[n.output(i)] + graph_outputs.count(n.output(i)) > 0; };
    bool states = used(1) || used(2);
    ordered members = {{"units", h}, {"return_sequences", used(0)}};
    if (!lstm && !gru) members["activation"] = act;
    if (reset_after) members["reset_after"] = true;
    if (states) members["return_state"] = true;
    int idx = add_layer(name, type, members, {x.ref});
    Val y; // Y [T, 1, N, H]: every step's state, time-major, with the direction axis
    y.ref = name;
    y.tm = true;
    y.unit_axis = 1;
    y.shape = {x.shape[0], h};
    y.seq_layer = sole_use(n.output(0)) ? idx : -1;
    set(n, 0, y);
    for (int i : {1, 2}) { // Y_h, Y_c [1, N, H]
      Val s;
      s.ref = name + (i == 1 ? ".h" : ".c");
      s.unit_axis = 0;
      s.shape = {h};
      set(n, i, s);
    }
  }

  // Squeeze of a tensor: only the extent-1 axis a recurrent layer's output has in ONNX.
  void squeeze(const onnx::NodeProto& n) {
    const Val& x = tin(n, 0);
    std::vector<int64_t> axes = opset < 13 ? attr_ints(n, "axes", {}) : std::vector<int64_t>{};
    if (opset >= 13 && has_in(n, 1))
      for (double v : cin(n, 1, "axes").v) axes.push_back(whole(v));
    int64_t rank = int64_t(x.shape.size()) + 1 + (x.unit_axis >= 0 ? 1 : 0);
    for (int64_t& a : axes) a = axis(a, rank);
    if (x.unit_axis < 0 || axes != std::vector<int64_t>{x.unit_axis})
      refuse("a Squeeze of axes {} of a computed tensor (dlc reads the direction axis of LSTM/RNN outputs)", dims_str(axes));
    Val y = x;
    y.unit_axis = -1;
    y.seq_layer = sole_use(n.input(0)) ? x.seq_layer : -1;
    set(n, 0, y);
  }

  // y[:, -1] of a recurrent layer's every-step output: the layer returns its last step.
  void last_step(const onnx::NodeProto& n, int64_t a) {
    const Val& x = tin(n, 0);
    const Const& idx = cin(n, 1, "index");
    int64_t steps = x.shape.empty() ? 0 : x.shape[0];
    int64_t time_axis = x.tm ? 0 : 1;
    bool last = idx.dims.empty() && idx.numel() == 1 && (whole(idx.v[0]) == -1 || whole(idx.v[0]) == steps - 1);
    if (x.seq_layer < 0 || !sole_use(n.input(0)) || axis(a, int64_t(x.shape.size()) + 1) != time_axis || !last)
      refuse("a Gather from a computed tensor other than the last step of a recurrent layer's output (an embedding "
             "lookup reads a constant table)");
    layers[size_t(x.seq_layer)]["return_sequences"] = false;
    Val y;
    y.ref = x.ref;
    y.shape = {x.shape[1]};
    set(n, 0, y);
  }

  // ConstantOfShape: a constant of one value; the batch extent counts as 1 (the
  // recurrent layers' zero initial states, which dlc's layers start from anyway).
  void constant_of_shape(const onnx::NodeProto& n) {
    Const c;
    for (double v : cin(n, 0, "shape").v) c.dims.push_back(whole(v) == kBatch ? 1 : whole(v));
    int64_t count = product(c.dims);
    if (count > (int64_t(1) << 20)) refuse("a constant of {} elements", count);
    double value = 0;
    if (const auto* a = attr(n, "value")) value = read_tensor(a->t()).v.at(0);
    c.v.assign(size_t(count), value);
    set(n, 0, constant(c));
  }

  void pad(const onnx::NodeProto& n) {
    const Val& x = tin(n, 0);
    if (attr_s(n, "mode", "constant") != "constant") refuse("mode '{}' (dlc pads with zeros)", attr_s(n, "mode", ""));
    if (has_in(n, 2) && cin(n, 2, "constant_value").v.at(0) != 0) refuse("a constant value other than 0");
    if (has_in(n, 3)) refuse("the axes input");
    const Const& p = cin(n, 1, "pads");
    size_t r = x.shape.size() + 1;
    if (size_t(p.numel()) != 2 * r) refuse("{} pads for a rank-{} tensor", p.numel(), r);
    if (!x.cf || p.v[0] || p.v[1] || p.v[r] || p.v[r + 1]) refuse("padding of other than an image's spatial axes");
    Val y = x;
    y.pads.clear();
    size_t d = r - 2;
    for (size_t e = 0; e < 2; e++)
      for (size_t i = 0; i < d; i++) {
        int64_t v = whole(p.v[e * r + 2 + i]);
        if (v > (int64_t(1) << 20)) refuse("padding {} out of range", v);
        if (v < 0) refuse("negative padding (a crop)");
        y.pads.push_back(v + (x.pads.empty() ? 0 : x.pads[e * d + i]));
        y.shape[i + 1] += v;
      }
    if (std::all_of(y.pads.begin(), y.pads.end(), [](int64_t v) { return v == 0; })) y.pads.clear();
    set(n, 0, y);
  }

  // Shape, Unsqueeze, Squeeze, Cast, Slice, Constant: constants and shape arithmetic.
  void shape(const onnx::NodeProto& n) {
    const Val& x = in(n, 0);
    Const c;
    c.integer = true;
    if (x.is_const) {
      for (int64_t d : x.c.dims) c.v.push_back(double(d));
    } else {
      c.v.push_back(double(kBatch));
      for (int64_t d : x.shape) c.v.push_back(double(d));
    }
    slice(c, attr_i(n, "start", 0), attr_i(n, "end", c.numel()));
    set(n, 0, constant(c));
  }

  // Elements [start, end) of a 1-D constant, with ONNX's negative and clamped bounds.
  static void slice(Const& c, int64_t start, int64_t end) {
    int64_t r = c.numel();
    start = std::clamp(start < 0 ? start + r : start, int64_t(0), r);
    end = std::clamp(end < 0 ? end + r : end, int64_t(0), r);
    c.v = std::vector<double>(c.v.begin() + start, c.v.begin() + std::max(start, end));
    c.dims = {c.numel()};
  }

  void reshape_const(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    Const c = cin(n, 0, "input");
    if (op == "Cast") {
      int64_t to = attr_i(n, "to", 1);
      bool integer = to == onnx::TensorProto::INT64 || to == onnx::TensorProto::INT32;
      if (integer)
        for (double& v : c.v) v = std::trunc(v);
      c.integer = integer;
    } else if (op == "Unsqueeze" || op == "Squeeze") {
      std::vector<int64_t> axes = opset < 13 ? attr_ints(n, "axes", {}) : std::vector<int64_t>{};
      if (opset >= 13 && has_in(n, 1))
        for (double v : cin(n, 1, "axes").v) axes.push_back(whole(v));
      if (op == "Unsqueeze") {
        int64_t r = int64_t(c.dims.size() + axes.size());
        std::vector<int64_t> sorted;
        for (int64_t a : axes) sorted.push_back(axis(a, r));
        std::sort(sorted.begin(), sorted.end());
        for (int64_t a : sorted) c.dims.insert(c.dims.begin() + std::min<int64_t>(a, int64_t(c.dims.size())), 1);
      } else {
        std::vector<int64_t> d;
        for (size_t i = 0; i < c.dims.size(); i++) {
          bool drop = axes.empty() ? c.dims[i] == 1 : false;
          for (int64_t a : axes) drop = drop || axis(a, int64_t(c.dims.size())) == int64_t(i);
          if (!drop) d.push_back(c.dims[i]);
        }
        c.dims = d;
      }
    } else if (op == "Slice") {
      auto one = [&](int i, int64_t dflt) {
        if (!has_in(n, i)) return dflt;
        const Const& b = cin(n, i, "bound");
        if (b.numel() != 1) refuse("a Slice of {} axes at once", b.numel());
        return whole(b.v[0]);
      };
      if (one(4, 1) != 1) refuse("a Slice with step {}", one(4, 1));
      bool uniform = std::all_of(c.v.begin(), c.v.end(), [&](double v) { return v == c.v.front(); });
      if (c.dims.size() == 1 && (!has_in(n, 3) || one(3, 0) == 0 || one(3, 0) == -1)) {
        slice(c, one(1, 0), one(2, c.numel()));
      } else if (uniform && !c.v.empty()) { // a filled constant (LSTM states): only its extent changes
        size_t ax = size_t(axis(one(3, 0), int64_t(c.dims.size())));
        Const axis_c{{c.dims[ax]}, std::vector<double>(size_t(c.dims[ax]), 0.0), true};
        slice(axis_c, one(1, 0), one(2, c.dims[ax]));
        c.dims[ax] = axis_c.numel();
        c.v.assign(size_t(product(c.dims)), c.v.front());
      } else {
        refuse("a Slice of a constant of rank {}", c.dims.size());
      }
    }
    set(n, 0, constant(c));
  }

  void constant_node(const onnx::NodeProto& n) {
    Const c;
    if (const auto* a = attr(n, "value")) c = read_tensor(a->t());
    else if (const auto* a = attr(n, "value_float")) c = Const{{}, {a->f()}, false};
    else if (const auto* a = attr(n, "value_floats")) c = Const{{a->floats_size()}, {a->floats().begin(), a->floats().end()}, false};
    else if (const auto* a = attr(n, "value_int")) c = Const{{}, {double(a->i())}, true};
    else if (const auto* a = attr(n, "value_ints")) c = Const{{a->ints_size()}, {a->ints().begin(), a->ints().end()}, true};
    else refuse("a Constant without a value, value_float(s) or value_int(s)");
    set(n, 0, constant(c));
  }

  static const std::map<std::string, Handler>& handlers() {
    static const std::map<std::string, Handler> h = [] {
      std::map<std::string, Handler> m;
      auto act = [](const char* name) { return [name](Importer& i, const onnx::NodeProto& n) { i.activation(n, name); }; };
      for (auto [op, name] : std::vector<std::pair<const char*, const char*>>{
               {"Relu", "relu"}, {"Sigmoid", "sigmoid"}, {"Tanh", "tanh"}, {"Softplus", "softplus"}, {"Softsign", "softsign"}})
        m[op] = act(name);
      m["LeakyRelu"] = [](Importer& i, const onnx::NodeProto& n) {
        i.activation(n, ordered{{"type", "leaky_relu"}, {"alpha", attr_f(n, "alpha", 0.01)}});
      };
      m["Elu"] = [](Importer& i, const onnx::NodeProto& n) {
        i.activation(n, ordered{{"type", "elu"}, {"alpha", attr_f(n, "alpha", 1.0)}});
      };
      m["Selu"] = [](Importer& i, const onnx::NodeProto& n) {
        if (std::abs(attr_f(n, "alpha", 1.67326) - 1.6732632423543772) > 1e-5 ||
            std::abs(attr_f(n, "gamma", 1.0507) - 1.0507009873554805) > 1e-5)
          refuse("alpha/gamma other than SELU's constants");
        i.activation(n, "selu");
      };
      m["HardSigmoid"] = [](Importer& i, const onnx::NodeProto& n) {
        double a = attr_f(n, "alpha", 0.2), b = attr_f(n, "beta", 0.5);
        if (std::abs(a - 1.0 / 6) > 1e-6 || b != 0.5)
          refuse("alpha {} beta {} (dlc's hard_sigmoid is PyTorch's: alpha 1/6, beta 0.5)", a, b);
        i.activation(n, "hard_sigmoid");
      };
      m["Softmax"] = [](Importer& i, const onnx::NodeProto& n) { i.softmax(n, "softmax"); };
      m["LogSoftmax"] = [](Importer& i, const onnx::NodeProto& n) { i.softmax(n, "log_softmax"); };
      m["PRelu"] = &Importer::prelu;
      m["Gemm"] = &Importer::gemm;
      m["MatMul"] = &Importer::matmul;
      for (const char* op : {"Add", "Sub", "Mul", "Div"}) m[op] = &Importer::arithmetic;
      m["Conv"] = &Importer::conv;
      m["ConvTranspose"] = &Importer::conv_transpose;
      m["MaxPool"] = m["AveragePool"] = &Importer::pool;
      m["GlobalAveragePool"] = m["GlobalMaxPool"] = m["ReduceMean"] = m["ReduceMax"] = &Importer::global_pool;
      m["Transpose"] = &Importer::transpose_node;
      m["Erf"] = &Importer::erf;
      m["Flatten"] = &Importer::flatten;
      m["Reshape"] = &Importer::reshape;
      m["Concat"] = &Importer::concat;
      m["BatchNormalization"] = &Importer::batch_norm;
      m["Dropout"] = &Importer::dropout;
      m["Gather"] = &Importer::gather;
      m["Pad"] = &Importer::pad;
      m["Shape"] = &Importer::shape;
      for (const char* op : {"Unsqueeze", "Cast", "Slice"}) m[op] = &Importer::reshape_const;
      m["Squeeze"] = [](Importer& i, const onnx::NodeProto& n) { i.in(n, 0).is_const ? i.reshape_const(n) : i.squeeze(n); };
      m["ConstantOfShape"] = &Importer::constant_of_shape;
      m["LSTM"] = m["RNN"] = m["GRU"] = &Importer::recurrent;
      m["Constant"] = &Importer::constant_node;
      m["Identity"] = [](Importer& i, const onnx::NodeProto& n) { i.set(n, 0, i.in(n, 0)); };
      return m;
    }();
    return h;
  }

  // ---- the graph ------------------------------------------------------------------

  void node(const onnx::NodeProto& n) {
    std::string who = fmt::format("node '{}' ({})", n.name().empty() ? (n.output_size() ? n.output(0) : "?") : n.name(),
                                  n.op_type());
    auto poison = [&] {
      for (const std::string& o : n.output()) {
        Val v;
        v.known = false;
        vals[o] = v;
      }
    };
    for (const std::string& i : n.input()) {
      if (i.empty()) continue;
      auto it = vals.find(i);
      if (it == vals.end()) {
        problems.push_back(fmt::format("{}: reads '{}', which no node or input defines before it", who, i));
        return poison();
      }
      if (!it->second.known) { // a problem upstream, reported there (its op still checked)
        if (!handlers().count(n.op_type()) || (!n.domain().empty() && n.domain() != "ai.onnx"))
          problems.push_back(fmt::format("{}: no dlc layer computes it", who));
        return poison();
      }
    }
    auto h = handlers().find(n.op_type());
    if ((!n.domain().empty() && n.domain() != "ai.onnx") || h == handlers().end()) {
      problems.push_back(fmt::format("{}{}: no dlc layer computes it", who,
                                     n.domain().empty() ? "" : fmt::format(" of domain '{}'", n.domain())));
      return poison();
    }
    try {
      h->second(*this, n);
    } catch (const Refusal& r) {
      problems.push_back(fmt::format("{}: {}", who, r.why));
      poison();
    } catch (const std::out_of_range&) {
      problems.push_back(fmt::format("{}: an input or attribute of the wrong size", who));
      poison();
    }
  }

  // "input x: NCHW [3, 28, 28] -> dlc 'x' NHWC [28, 28, 3]" (per sample).
  static std::string layout_line(const char* what, const std::string& onnx_name, const Val& v,
                                 const std::vector<int64_t>& dlc_shape) {
    return fmt::format("{} {}: {}{} -> dlc '{}' {}{}", what, onnx_name, v.cf ? (v.shape.size() == 3 ? "NCHW " : "NCL ") : "",
                       dims_str(v.shape), v.ref, v.cf ? (v.shape.size() == 3 ? "NHWC " : "NLC ") : "", dims_str(dlc_shape));
  }

  void input(const onnx::ValueInfoProto& v) {
    const auto& t = v.type().tensor_type();
    if (!v.type().has_tensor_type()) refuse("input '{}' is not a tensor", v.name());
    Val x;
    switch (t.elem_type()) {
    case onnx::TensorProto::FLOAT: break;
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::INT32: x.integer = true; break;
    default:
      refuse("input '{}' has element type {} (dlc: float, int32, int64)", v.name(),
             onnx::TensorProto::DataType_Name(onnx::TensorProto::DataType(t.elem_type())));
    }
    const auto& dims = t.shape().dim();
    if (dims.empty()) refuse("input '{}' has no batch axis", v.name());
    if (dims[0].has_dim_value()) static_batch = dims[0].dim_value();
    for (int i = 1; i < dims.size(); i++) {
      if (!dims[i].has_dim_value() || dims[i].dim_value() <= 0)
        refuse("input '{}' has a dynamic or empty extent at axis {} (dlc compiles static shapes)", v.name(), i);
      x.shape.push_back(dims[i].dim_value());
    }
    if (product(x.shape) > kMaxSample)
      refuse("input '{}' has {} elements per sample (dlc's limit: 2^26)", v.name(), product(x.shape));
    static const std::set<std::string> image_ops = {"Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
                                                    "BatchNormalization", "ConvTranspose", "Pad"};
    // An image [C, H, W]; a [C, L] sequence read by a convolution or pooling. An input that
    // only Transposes read is channels-last already (dlc export writes NHWC inputs).
    bool only_transposed = !consumers[v.name()].empty();
    for (const std::string& op : consumers[v.name()]) only_transposed = only_transposed && op == "Transpose";
    x.cf = x.shape.size() == 3 && !only_transposed;
    for (const std::string& op : consumers[v.name()]) x.cf = x.cf || (x.shape.size() == 2 && image_ops.count(op));
    x.ref = fresh(sanitize(v.name()), "input");
    std::vector<int64_t> dlc_shape = x.shape;
    if (x.cf) std::rotate(dlc_shape.begin(), dlc_shape.begin() + 1, dlc_shape.end());
    // Integer ids stay dlc's default f32: its embedding takes ids as float integers.
    ordered in = {{"name", x.ref}, {"shape", dlc_shape}};
    inputs.push_back(in);
    out.layout.push_back(layout_line("input", v.name(), x, dlc_shape));
    vals[v.name()] = x;
  }

  void graph(const onnx::GraphProto& g) {
    for (const auto& n : g.node())
      for (const std::string& i : n.input()) {
        uses[i]++;
        consumers[i].push_back(n.op_type());
      }
    for (const auto& o : g.output()) graph_outputs.insert(o.name());
    for (const auto& t : g.initializer()) {
      try {
        vals[t.name()] = constant(read_tensor(t));
      } catch (const Refusal& r) {
        problems.push_back(fmt::format("initializer '{}': {}", t.name(), r.why));
        Val v;
        v.known = false;
        vals[t.name()] = v;
      }
    }
    for (const auto& v : g.input()) {
      if (vals.count(v.name())) continue; // an initializer listed as an input (older exporters)
      try {
        input(v);
      } catch (const Refusal& r) {
        problems.push_back(r.why);
        Val x;
        x.known = false;
        vals[v.name()] = x;
      }
    }
    for (const auto& n : g.node()) node(n);
    for (const auto& o : g.output()) {
      auto it = vals.find(o.name());
      if (it == vals.end()) {
        problems.push_back(fmt::format("output '{}': no node computes it", o.name()));
        continue;
      }
      const Val& v = it->second;
      if (!v.known) continue;
      if (v.is_const) {
        problems.push_back(fmt::format("output '{}' is a constant", o.name()));
        continue;
      }
      if (!v.perm.empty()) {
        problems.push_back(fmt::format("output '{}' is a flattened NCHW image, whose features dlc orders as NHWC", o.name()));
        continue;
      }
      outputs.push_back(v.ref);
      std::vector<int64_t> dlc_shape = v.shape;
      if (v.cf) std::rotate(dlc_shape.begin(), dlc_shape.begin() + 1, dlc_shape.end());
      out.layout.push_back(layout_line("output", o.name(), v, dlc_shape));
    }
  }
};

} // namespace

bool is_onnx_path(const std::string& path) { return path.size() > 5 && path.ends_with(".onnx"); }

OnnxModel onnx_to_dlc(const std::string& bytes, const std::string& path) {
  onnx::ModelProto model;
  if (bytes.size() > size_t(INT32_MAX) || !model.ParseFromArray(bytes.data(), int(bytes.size())))
    throw Error(fmt::format("{}: not an ONNX model (the protobuf does not parse)", path));
  Importer im;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") im.opset = o.version();
  if (im.opset < 11 || im.opset > 17)
    throw Error(fmt::format("{}: ONNX opset {}: dlc reads opsets 11 to 17 (re-export with torch.onnx.export(..., "
                            "opset_version=13))",
                            path, im.opset));
  if (!model.has_graph() || model.graph().node_size() == 0) throw Error(fmt::format("{}: ONNX model without a graph", path));
  im.graph(model.graph());
  if (im.problems.empty() && im.outputs.empty()) im.problems.push_back("the graph has no output");
  if (!im.problems.empty()) {
    std::string list;
    for (size_t i = 0; i < im.problems.size(); i++) list += (i ? "; " : "") + im.problems[i];
    throw Error(fmt::format("{}: ONNX opset {}: {} problem{} dlc cannot import: {}", path, im.opset, im.problems.size(),
                            im.problems.size() > 1 ? "s" : "", list));
  }
  std::string name = Importer::sanitize(model.graph().name());
  ordered m = {{"name", name.empty() ? "onnx_model" : name},
               {"description", fmt::format("Imported from ONNX ({}, opset {}, by {} {}).", path, im.opset,
                                           model.producer_name(), model.producer_version())}};
  m["inputs"] = im.inputs;
  m["layers"] = im.layers;
  m["outputs"] = im.outputs.size() == 1 ? ordered(im.outputs[0]) : im.outputs;
  // Strings from the file (producer, paths) may be any bytes: invalid UTF-8 is replaced.
  im.out.json = m.dump(2, ' ', false, ordered::error_handler_t::replace);
  return std::move(im.out);
}

} // namespace dlc::frontend
