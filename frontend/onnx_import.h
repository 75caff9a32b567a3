// ONNX models (opsets 11-17, as torch.onnx.export writes them) read into dlc's model
// format and its parameters (docs/onnx.md). Parsed with Debian's ONNX library (the
// protobuf classes of libonnx_proto). ONNX's NCHW graphs become dlc's NHWC ones by
// permuting weights once, here: conv kernels OIHW -> HWIO, a dense layer after a flatten
// of an image gets its kernel rows in HWC order, so no transpose is left in the graph.
#pragma once

#include "ir/interp/tensor.h"

#include <map>
#include <string>
#include <vector>

namespace dlc::frontend {

struct OnnxModel {
  std::string json;                       // the dlc model JSON (graph form)
  std::map<std::string, ir::Tensor> weights; // every parameter, by dlc name, in dlc's layout
  // One line per ONNX input and output: how its layout maps onto dlc's ("x: NCHW
  // [3, 28, 28] -> NHWC [28, 28, 3]"), for `dlc import` to print.
  std::vector<std::string> layout;
};

// Reads an ONNX file; throws dlc::Error naming `path`: a file that is not ONNX, an opset
// outside 11-17, or one error listing every node dlc cannot import (name, op type, why).
OnnxModel onnx_to_dlc(const std::string& bytes, const std::string& path);

struct Model;

// The ONNX file (opset 13, protobuf bytes) of a dlc model with the given parameter
// values: its inputs and outputs keep dlc's NHWC layout (Transposes to and from NCHW
// around the convolutions inside); `dlc import` reads it back to the same layers and
// weights. Throws dlc::Error listing every layer that has no export yet.
std::string dlc_to_onnx(const Model& m, const std::map<std::string, ir::Tensor>& values);

// Whether a file's name says ONNX (".onnx").
bool is_onnx_path(const std::string& path);

} // namespace dlc::frontend
