#include "tools/summary_table.h"

#include "tools/format.h"

#include <algorithm>
#include <fmt/format.h>

namespace dlc::tools {

namespace {

std::string shape_cell(const ir::Shape& s) {
  std::string out = "(";
  for (int i = 0; i < s.rank(); i++) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + ")";
}

std::string layer_label(const frontend::LayerRow& r) {
  bool show_activation = !r.activation.empty() && r.type != "activation";
  return r.name + " (" + r.type + (show_activation ? ", " + r.activation : "") + ")";
}

struct Cells {
  std::string label, shape, params, memory, reads;
};

// Columns as wide as their widest cell, so long layer names never shift the table.
std::string render(const std::vector<Cells>& rows, bool with_reads, size_t& width) {
  size_t w[4] = {0, 0, 0, 0};
  for (auto& c : rows) {
    w[0] = std::max(w[0], c.label.size());
    w[1] = std::max(w[1], c.shape.size());
    w[2] = std::max(w[2], c.params.size());
    w[3] = std::max(w[3], c.memory.size());
  }
  std::string out;
  width = 0;
  for (size_t i = 0; i < rows.size(); i++) {
    const Cells& c = rows[i];
    std::string line = fmt::format("{:<{}}  {:<{}}  {:>{}}  {:>{}}", c.label, w[0], c.shape, w[1],
                                   c.params, w[2], c.memory, w[3]);
    if (with_reads) line += "  " + c.reads;
    while (!line.empty() && line.back() == ' ') line.pop_back();
    width = std::max(width, line.size());
    out += line + "\n";
    if (i == 0) out += "\x01\n"; // placeholder for the rule under the header
  }
  std::string rule(width, '-');
  out.replace(out.find('\x01'), 1, rule);
  return out;
}

} // namespace

std::string summary_table(const frontend::ModelSummary& s) {
  std::vector<Cells> rows = {{"Layer (type)", "Output shape", "Params", "Activations", "Reads"}};
  for (auto& in : s.inputs)
    rows.push_back({in.name + " (input)", shape_cell(in.type.shape), "0", "-", ""});
  for (auto& r : s.rows) {
    std::string reads;
    for (auto& i : r.inputs) reads += (reads.empty() ? "" : ", ") + i;
    rows.push_back({layer_label(r), shape_cell(r.output), with_commas(r.params),
                    human_bytes(r.activation_bytes), reads});
  }
  size_t width = 0;
  std::string table = render(rows, s.branches, width);
  std::string rule(width, '=');
  int64_t per_sample = s.activation_bytes / s.batch, input_per_sample = s.input_bytes / s.batch;
  std::string out = fmt::format("Model: \"{}\" (batch {})\n{}\n{}{}\n", s.name, s.batch, rule, table, rule);
  out += fmt::format("Total params: {} ({})\n", with_commas(s.total_params), human_bytes(s.param_bytes));
  out += fmt::format("Trainable params: {}\n", with_commas(s.trainable_params));
  out += fmt::format("Non-trainable params: {}\n", with_commas(s.total_params - s.trainable_params));
  out += fmt::format("Input memory: {} B per sample ({})\n", with_commas(input_per_sample),
                     human_bytes(input_per_sample));
  out += fmt::format("Activation memory: {} B per sample ({}), {} at batch {} (layer outputs, each counted once)\n",
                     with_commas(per_sample), human_bytes(per_sample), human_bytes(s.activation_bytes), s.batch);
  out += fmt::format("Parameter memory: {} B ({})\n", with_commas(s.param_bytes), human_bytes(s.param_bytes));
  return out;
}

} // namespace dlc::tools
