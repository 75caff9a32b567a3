// dlc model -> ONNX (frontend/onnx_import.h: dlc_to_onnx; docs/onnx.md, "Export").
//
// Layer by layer, opset 13, written with Debian's ONNX protobuf classes. The ONNX graph
// keeps dlc's NHWC layout at its inputs and outputs, so that its values are dlc's; inside,
// convolutions and pools run NCHW as ONNX defines them, with a Transpose wherever a value
// changes between the two (one after an NHWC input, one before a flatten of an image),
// and weights written in ONNX's layouts (HWIO kernels as OIHW). `dlc import` reads such a
// file back into the same layers, names and weights (the Transposes are layout only).
#include "frontend/onnx_import.h"

#include "frontend/json_reader.h"
#include "frontend/model.h"
#include "ir/error.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <map>

namespace dlc::frontend {

namespace {

struct Exporter {
  const BuiltModel& b;
  const std::map<std::string, ir::Tensor>& values;
  onnx::GraphProto* g = nullptr;
  // The ONNX value of each dlc value (layer output or input), and whether it is NCHW.
  struct Out {
    std::string name;
    bool cf = false;
    int rank = 0; // with the batch axis
  };
  std::map<std::string, Out> vals;
  std::map<std::string, std::string> transposed; // cache: "<value>|cf" -> its transpose
  std::vector<std::string> problems;

  onnx::NodeProto* node(const std::string& op, const std::string& layer, std::vector<std::string> ins,
                        const std::string& out) {
    onnx::NodeProto* n = g->add_node();
    n->set_op_type(op);
    n->set_name("/" + layer + "/" + op + (g->node_size() > 1 ? fmt::format("_{}", g->node_size()) : ""));
    for (const std::string& i : ins) n->add_input(i);
    n->add_output(out);
    return n;
  }
  static void attr(onnx::NodeProto* n, const char* name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr(onnx::NodeProto* n, const char* name, double v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(float(v));
  }
  static void attr(onnx::NodeProto* n, const char* name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }

  void initializer(const std::string& name, const std::vector<int64_t>& dims, const std::vector<double>& v) {
    onnx::TensorProto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    std::string raw(v.size() * 4, '\0');
    for (size_t i = 0; i < v.size(); i++) {
      float f = float(v[i]);
      std::memcpy(raw.data() + 4 * i, &f, 4);
    }
    t->set_raw_data(raw);
  }
  void int_initializer(const std::string& name, const std::vector<int64_t>& v) {
    onnx::TensorProto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(int64_t(v.size()));
    for (int64_t x : v) t->add_int64_data(x);
  }

  const ir::Tensor& param(const std::string& name) {
    auto it = values.find(name);
    if (it == values.end()) throw Error(fmt::format("no value for parameter '{}'", name));
    return it->second;
  }

  // The value in the wanted layout (NCHW or channels-last), transposing once if needed.
  std::string as(const std::string& ref, bool cf) {
    const Out& o = vals.at(ref);
    if (o.cf == cf || o.rank < 3) return o.name;
    std::string key = ref + (cf ? "|cf" : "|last");
    if (auto it = transposed.find(key); it != transposed.end()) return it->second;
    std::vector<int64_t> perm = {0};
    if (cf) {
      perm.push_back(o.rank - 1);
      for (int i = 1; i < o.rank - 1; i++) perm.push_back(i);
    } else {
      for (int i = 2; i < o.rank; i++) perm.push_back(i);
      perm.push_back(1);
    }
    std::string out = o.name + (cf ? "_nchw" : "_nhwc");
    attr(node("Transpose", ref, {o.name}, out), "perm", perm);
    return transposed[key] = out;
  }

  // The IR node of a layer that computes `op` (its attributes: strides, pads, alpha).
  const ir::Node* layer_node(const LayerInfo& l, const std::string& op) {
    for (const ir::Node& n : b.graph.nodes())
      if (n.op->name == op && !n.results.empty() && b.graph.value(n.results[0]).name.rfind(l.name + ".", 0) == 0)
        return &n;
    return nullptr;
  }

  // The layer's activation as a node after `x`; returns the activation's output.
  std::string activation(const LayerInfo& l, const std::string& x, bool cf, const std::string& out) {
    const std::string& a = l.activation;
    if (a.empty() || a == "linear") return x;
    static const std::map<std::string, std::string> plain = {{"relu", "Relu"},         {"sigmoid", "Sigmoid"},
                                                             {"tanh", "Tanh"},         {"softplus", "Softplus"},
                                                             {"softsign", "Softsign"}, {"selu", "Selu"}};
    if (auto it = plain.find(a); it != plain.end()) {
      node(it->second, l.name, {x}, out);
      return out;
    }
    const ir::Node* n = layer_node(l, activation_op(a));
    if (a == "leaky_relu" || a == "elu") {
      attr(node(a == "elu" ? "Elu" : "LeakyRelu", l.name, {x}, out), "alpha", n ? n->attrs.get_float("alpha", 0.01) : 0.01);
      return out;
    }
    if (a == "hard_sigmoid") {
      onnx::NodeProto* h = node("HardSigmoid", l.name, {x}, out);
      attr(h, "alpha", 1.0 / 6);
      attr(h, "beta", 0.5);
      return out;
    }
    if (a == "softmax" || a == "log_softmax") {
      attr(node(a == "softmax" ? "Softmax" : "LogSoftmax", l.name, {x}, out), "axis", int64_t(cf ? 1 : -1));
      return out;
    }
    if (a == "prelu") {
      const ir::Tensor& s = param(l.name + ".slope");
      std::vector<int64_t> dims = {s.shape()[0]};
      if (cf)
        for (int i = 2; i < vals.at(l.inputs[0]).rank; i++) dims.push_back(1);
      initializer(l.name + ".slope", dims, s.data);
      node("PRelu", l.name, {x, l.name + ".slope"}, out);
      return out;
    }
    problems.push_back(fmt::format("layer '{}': activation '{}' has no ONNX operator here", l.name, a));
    return x;
  }

  static std::vector<int64_t> onnx_pads(const std::vector<int64_t>& p) { // [t, b, l, r] -> [t, l, b, r]
    return {p[0], p[2], p[1], p[3]};
  }

  void layer(const LayerInfo& l, const JsonRef& spec) {
    const std::string& t = l.type;
    int rank = b.graph.type(l.output).shape.rank();
    std::string out = l.name;
    Out result{out, false, rank};
    std::string x = l.inputs.empty() ? "" : l.inputs[0];
    if (t == "dense") {
      if (rank != 2) return problems.push_back(fmt::format("layer '{}': a dense layer over rank {} (ONNX export: rank 2)", l.name, rank));
      const ir::Tensor& k = param(l.name + ".kernel");
      initializer(l.name + ".kernel", k.shape().dims, k.data);
      std::vector<std::string> ins = {as(x, false), l.name + ".kernel"};
      if (values.count(l.name + ".bias")) {
        initializer(l.name + ".bias", param(l.name + ".bias").shape().dims, param(l.name + ".bias").data);
        ins.push_back(l.name + ".bias");
      }
      node("Gemm", l.name, ins, out + "_linear");
      result.name = activation(l, out + "_linear", false, out);
    } else if (t == "conv2d" || t == "depthwise_conv2d") {
      bool dw = t == "depthwise_conv2d";
      const ir::Node* n = layer_node(l, t);
      const ir::Tensor& k = param(l.name + (dw ? ".depthwise_kernel" : ".kernel"));
      const std::vector<int64_t>& kd = k.shape().dims; // [kh, kw, C, F] or [kh, kw, C, m]
      std::vector<double> w(k.data.size());
      int64_t kh = kd[0], kw = kd[1], c = kd[2], f = kd[3];
      for (int64_t a = 0; a < kh; a++)
        for (int64_t bb = 0; bb < kw; bb++)
          for (int64_t i = 0; i < c; i++)
            for (int64_t o = 0; o < f; o++) {
              double v = k.data[size_t(((a * kw + bb) * c + i) * f + o)];
              if (dw) w[size_t(((i * f + o) * kh + a) * kw + bb)] = v;  // [C*m, 1, kh, kw]
              else w[size_t(((o * c + i) * kh + a) * kw + bb)] = v;     // OIHW
            }
      initializer(l.name + ".kernel", dw ? std::vector<int64_t>{c * f, 1, kh, kw} : std::vector<int64_t>{f, c, kh, kw}, w);
      std::vector<std::string> ins = {as(x, true), l.name + ".kernel"};
      if (values.count(l.name + ".bias")) {
        initializer(l.name + ".bias", param(l.name + ".bias").shape().dims, param(l.name + ".bias").data);
        ins.push_back(l.name + ".bias");
      }
      onnx::NodeProto* cn = node("Conv", l.name, ins, out + "_linear");
      attr(cn, "kernel_shape", std::vector<int64_t>{kh, kw});
      attr(cn, "strides", n->attrs.get_ints("strides"));
      attr(cn, "pads", onnx_pads(n->attrs.get_ints("pads")));
      if (dw) attr(cn, "group", c);
      result.cf = true;
      result.name = activation(l, out + "_linear", true, out);
    } else if (t == "max_pool2d" || t == "avg_pool2d") {
      const ir::Node* n = layer_node(l, t);
      onnx::NodeProto* p = node(t == "max_pool2d" ? "MaxPool" : "AveragePool", l.name, {as(x, true)}, out);
      attr(p, "kernel_shape", n->attrs.get_ints("window"));
      attr(p, "strides", n->attrs.get_ints("strides"));
      attr(p, "pads", onnx_pads(n->attrs.get_ints("pads")));
      result.cf = true;
    } else if (t == "global_average_pooling2d" || t == "global_max_pooling2d") {
      bool keep = spec.get_bool("keepdims", false);
      std::string pooled = keep ? out : out + "_pooled";
      node(t == "global_max_pooling2d" ? "GlobalMaxPool" : "GlobalAveragePool", l.name, {as(x, true)}, pooled);
      result.cf = true;
      if (!keep) {
        attr(node("Flatten", l.name, {pooled}, out), "axis", int64_t(1));
        result.cf = false;
      }
    } else if (t == "flatten") {
      attr(node("Flatten", l.name, {as(x, false)}, out), "axis", int64_t(1));
    } else if (t == "batch_normalization") {
      const Out& xin = vals.at(x);
      bool cf = xin.rank >= 3; // the channels: NCHW's axis 1
      std::vector<std::string> ins = {as(x, cf)};
      for (const char* p : {"gamma", "beta", "moving_mean", "moving_variance"}) {
        std::string name = l.name + "." + p;
        if (!values.count(name))
          return problems.push_back(fmt::format("layer '{}': batch normalisation without {} (center/scale false)", l.name, p));
        initializer(name, param(name).shape().dims, param(name).data);
        ins.push_back(name);
      }
      onnx::NodeProto* bn = node("BatchNormalization", l.name, ins, out);
      attr(bn, "epsilon", spec.get_number("epsilon", 0.001));
      attr(bn, "momentum", spec.get_number("momentum", 0.99));
      result.cf = cf;
    } else if (t == "dropout") {
      std::string ratio = l.name + ".ratio";
      initializer(ratio, {}, {spec.get_number("rate", 0.5)});
      node("Dropout", l.name, {vals.at(x).name, ratio}, out);
      result.cf = vals.at(x).cf;
    } else if (t == "activation") {
      result.cf = vals.at(x).cf;
      result.name = activation(l, vals.at(x).name, result.cf, out);
    } else if (t == "add" || t == "concat") {
      bool cf = vals.at(x).cf;
      std::vector<std::string> ins;
      for (const std::string& i : l.inputs) ins.push_back(as(i, cf));
      if (t == "concat") {
        int64_t a = spec.get_number("axis", -1) == -1 ? (cf ? 1 : -1) : -2;
        if (a == -2) return problems.push_back(fmt::format("layer '{}': a concat over an axis other than the last", l.name));
        attr(node("Concat", l.name, ins, out), "axis", a);
      } else { // Add takes two: a chain for more
        std::string acc = ins[0];
        for (size_t i = 1; i < ins.size(); i++) {
          std::string sum = fmt::format("{}_sum{}", out, i);
          node("Add", l.name, {acc, ins[i]}, sum);
          acc = sum;
        }
        out = activation(l, acc, cf, out);
      }
      result = Out{t == "add" ? out : l.name, cf, rank};
    } else {
      problems.push_back(fmt::format("layer '{}': type '{}' is not exported to ONNX yet", l.name, t));
      return;
    }
    vals[l.name] = result;
  }
};

} // namespace

std::string dlc_to_onnx(const Model& m, const std::map<std::string, ir::Tensor>& values) {
  BuiltModel b = build_model(m, 1);
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("dlc");
  model.add_opset_import()->set_version(13);
  Exporter e{b, values, model.mutable_graph(), {}, {}, {}};
  e.g->set_name(m.name);
  for (const InputSpec& in : m.inputs) {
    if (in.dtype != ir::DType::f32) e.problems.push_back(fmt::format("input '{}' is {}", in.name, ir::dtype_name(in.dtype)));
    onnx::ValueInfoProto* v = e.g->add_input();
    v->set_name(in.name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    t->mutable_shape()->add_dim()->set_dim_param("N");
    for (int64_t d : in.shape.dims) t->mutable_shape()->add_dim()->set_dim_value(d);
    e.vals[in.name] = {in.name, false, in.shape.rank() + 1};
  }
  JsonRef layers = root_of(m.doc).require("layers");
  for (size_t i = 0; i < b.layers.size(); i++) {
    if (!e.problems.empty() && i > 0 && !e.vals.count(b.layers[i].inputs.empty() ? "" : b.layers[i].inputs[0])) {
      e.problems.push_back(fmt::format("layer '{}': reads a layer that was not exported", b.layers[i].name));
      continue;
    }
    e.layer(b.layers[i], layers.at(i));
  }
  for (auto& o : b.graph.outputs()) {
    if (!e.problems.empty()) break;
    if (!e.vals.count(o.name)) {
      e.problems.push_back(fmt::format("output '{}' (a layer's extra output) is not exported yet", o.name));
      break;
    }
    std::string src = e.as(o.name, false);
    e.node("Identity", o.name, {src}, o.name + "_output");
    onnx::ValueInfoProto* v = e.g->add_output();
    v->set_name(o.name + "_output");
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    const ir::Shape& s = b.graph.type(o.value).shape;
    t->mutable_shape()->add_dim()->set_dim_param("N");
    for (int i = 1; i < s.rank(); i++) t->mutable_shape()->add_dim()->set_dim_value(s[i]);
  }
  if (!e.problems.empty()) {
    std::string list;
    for (size_t i = 0; i < e.problems.size(); i++) list += (i ? "; " : "") + e.problems[i];
    throw Error(fmt::format("model '{}' cannot be exported to ONNX: {}", m.name, list));
  }
  std::string bytes;
  model.SerializeToString(&bytes);
  return bytes;
}

} // namespace dlc::frontend
