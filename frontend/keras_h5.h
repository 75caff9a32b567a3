// Keras's HDF5 weights (`model.save_weights("w.h5")`, and the `model_weights` group of
// `model.save("m.h5")`, Keras 2.x) read with Debian's libhdf5 into dlc's parameter names:
// the dataset "<layer>/<layer>/kernel:0" of layer <layer> is dlc's "<layer>.kernel"
// (Keras's layouts are dlc's: HWIO kernels, [in, out] dense kernels, i/f/c/o gates).
#pragma once

#include "runtime/safetensors.h"

#include <string>

namespace dlc::frontend {

// Every weight of the file, by dlc name; throws dlc::Error naming the file and the
// dataset for a file that is not Keras's HDF5 weights, a dataset that is not a float
// array, or one over 2^28 elements.
dlc_rt::TensorMap read_keras_h5(const std::string& path);

// Whether a weights file's name says HDF5 (".h5", ".hdf5", ".keras" is not: Keras 3's
// zip format).
bool is_h5_path(const std::string& path);

} // namespace dlc::frontend
