// Every runtime kernel: include this one header (see runtime/README.md for the list).
#pragma once

#include "runtime/ftz.h"
#include "runtime/kernels/activation.h"
#include "runtime/kernels/conv2d.h"
#include "runtime/kernels/depthwise_conv2d.h"
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/embedding.h"
#include "runtime/kernels/gemm.h"
#include "runtime/kernels/pool2d.h"
#include "runtime/kernels/softmax_ce.h"
