#!/usr/bin/env bash
# dlc compile: the files it writes, the emitted main() against dlc predict, --emit=cpp,
# and bad input (one-line errors, no partial output). Parity with the interpreter is in
# tests/unit/codegen_cpp_*_test.cpp; the embedding example in compile_embed.sh.
source "$SRC/tests/lib.sh"
CXX=${CXX:-g++}
XO=$SRC/examples/xo.json

# Three files, nothing else; the header is valid C with the model's sizes.
mkdir -p "$TMP/a"
expect_ok "$DLC" compile "$XO" -o "$TMP/a/xo.cpp" --train --emit-main
expect_output "wrote $TMP/a/xo.cpp, $TMP/a/xo.h, $TMP/a/dlc_runtime.h (model 'xo', batch 8, inference and training)"
[ "$(ls "$TMP/a" | tr '\n' ' ')" = "dlc_runtime.h xo.cpp xo.h " ] || fail "unexpected files: $(ls "$TMP/a")"
grep -q '^#define XO_BATCH 8$' "$TMP/a/xo.h" || fail "xo.h lacks XO_BATCH 8"
grep -q '^#define XO_INPUT_SIZE 81 ' "$TMP/a/xo.h" || fail "xo.h lacks XO_INPUT_SIZE 81"
grep -q 'float xo_train_step(xo_ctx\* ctx' "$TMP/a/xo.h" || fail "xo.h lacks xo_train_step"
echo '#include "xo.h"' > "$TMP/a/c_check.c"
expect_ok gcc -std=c99 -Wall -Wextra -Werror -pedantic -fsyntax-only -I "$TMP/a" "$TMP/a/c_check.c"

# The emitted main predicts what the interpreter predicts (both from seed 0).
expect_ok "$CXX" -std=c++17 -O1 -Wall -Wextra -Werror "$TMP/a/xo.cpp" -o "$TMP/a/xo"
expect_ok "$TMP/a/xo" predict "$SRC/examples/data/xo_samples.npy"
mv "$TMP/out" "$TMP/emitted"
expect_ok "$DLC" predict "$XO" --input "$SRC/examples/data/xo_samples.npy" --top-k 1
sed -E 's/^sample [0-9]+: ([0-9]+) .*/\1/' "$TMP/out" > "$TMP/reference"
cmp -s "$TMP/emitted" "$TMP/reference" || fail "emitted main predicts $(cat "$TMP/emitted"), dlc predict $(cat "$TMP/reference")"
# ... and trains: two epochs on the two samples, a checkpoint written and read back
expect_ok "$TMP/a/xo" train "$SRC/examples/data/xo_samples.npy" "$SRC/tests/fixtures/codegen/xo_labels.npy" --epochs 2 --save "$TMP/a/w.safetensors"
expect_output "epoch 2/2: loss "
expect_ok "$TMP/a/xo" eval "$SRC/examples/data/xo_samples.npy" "$SRC/tests/fixtures/codegen/xo_labels.npy" --load "$TMP/a/w.safetensors"
expect_output "accuracy "

# --input-grad: xo_input_grad in the header, its NULL arguments an error with a reason,
# and a gradient that moves the loss: a small step of x against it lowers the loss (C).
mkdir -p "$TMP/g"
expect_ok "$DLC" compile "$XO" -o "$TMP/g/xo.cpp" --train --input-grad
expect_output "(model 'xo', batch 8, inference, training and input gradient)"
grep -q '^#define XO_INPUT_GRAD 1 ' "$TMP/g/xo.h" || fail "xo.h lacks XO_INPUT_GRAD"
cat >"$TMP/g/main.c" <<'C'
#include "xo.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
int main(void) {
  static float x[XO_INPUT_SIZE], t[XO_TARGET_SIZE], g[XO_INPUT_SIZE];
  xo_ctx* c = xo_create();
  if (!c) return 2;
  for (int i = 0; i < XO_INPUT_SIZE; i++) x[i] = (float)((i * 37) % 11) / 10.0f;
  t[0] = 1.0f; /* one sample, class 0 (one-hot) */
  if (!isnan(xo_input_grad(c, NULL, t, g, 1)) || !strstr(xo_error(c), "input_grad: x is NULL")) return 3;
  if (!isnan(xo_input_grad(c, x, t, g, 0))) return 4;
  float before = xo_input_grad(c, x, t, g, 1);
  for (int i = 0; i < XO_INPUT_SIZE; i++) x[i] -= 0.01f * g[i];
  float after = xo_input_grad(c, x, t, g, 1);
  printf("%.6f %.6f\n", before, after);
  if (!(after < before)) return 5;
  /* set_frozen: a training step leaves the frozen convolution as it was and moves the
     dense layer; thawed, the convolution moves too. */
  static float k0[4096], k1[4096], d0[4096], d1[4096];
  int kn = (int)xo_param_size(0), dn = (int)xo_param_size(2);
  if (kn > 4096 || dn > 4096) return 6;
  if (xo_set_frozen(c, "conv2d_1.", 1) != 2) return 7;
  xo_get_param(c, "conv2d_1.kernel", k0, kn);
  xo_get_param(c, "dense_1.kernel", d0, dn);
  if (isnan(xo_train_step(c, x, t, 1))) return 8;
  xo_get_param(c, "conv2d_1.kernel", k1, kn);
  xo_get_param(c, "dense_1.kernel", d1, dn);
  if (memcmp(k0, k1, sizeof(float) * (size_t)kn) != 0 || memcmp(d0, d1, sizeof(float) * (size_t)dn) == 0) return 9;
  if (xo_set_frozen(c, "conv2d_1.", 0) != 2) return 10;
  if (isnan(xo_train_step(c, x, t, 1))) return 11;
  xo_get_param(c, "conv2d_1.kernel", k1, kn);
  if (memcmp(k0, k1, sizeof(float) * (size_t)kn) == 0) return 12;
  if (xo_set_frozen(c, "no_such_layer", 1) != -1 || !strstr(xo_error(c), "no parameter's name starts with 'no_such_layer'"))
    return 13;
  if (xo_set_frozen(c, NULL, 1) != -1 || !strstr(xo_error(c), "set_frozen: the prefix is NULL")) return 14;
  xo_destroy(c);
  return 0;
}
C
expect_ok gcc -std=c99 -Wall -Wextra -Werror -c -I "$TMP/g" "$TMP/g/main.c" -o "$TMP/g/main.o"
expect_ok "$CXX" -std=c++17 -O1 -Wall -Wextra -Werror -c "$TMP/g/xo.cpp" -o "$TMP/g/xo.o"
expect_ok "$CXX" "$TMP/g/main.o" "$TMP/g/xo.o" -o "$TMP/g/grad"
expect_ok "$TMP/g/grad"
expect_error "--input-grad needs --train" "$DLC" compile "$XO" -o "$TMP/g/inf.cpp" --input-grad

# --name, --batch, and the prefix from the file name
expect_ok "$DLC" compile "$XO" -o "$TMP/a/model.cpp" --name my_net --batch 3
grep -q '^#define MY_NET_BATCH 3$' "$TMP/a/model.h" || fail "--name/--batch not applied"
grep -q 'int my_net_infer(my_net_ctx\* ctx' "$TMP/a/model.h" || fail "--name not applied to the API"

# dlc show --emit=cpp prints what compile writes
expect_ok "$DLC" show "$XO" --emit=cpp --batch 8
expect_output "#define NET_BATCH 8"
expect_output "static void run_infer(const Mem& mem) {"
expect_ok "$DLC" show "$XO" --emit=lowered --train
expect_output "kernel k0_conv2d_1.conv2d (conv2d_1_relu)"
expect_output "call dlc_rt_conv2d_forward_bias_act(n=n, h=9, w=9, c=1, kh=3, kw=3, f=4"
expect_output "act=DLC_RT_ACT_RELU"

# Bad input: one line, exit 1, nothing left behind.
mkdir -p "$TMP/bad" && touch "$TMP/bad/afile" && mkdir "$TMP/bad/net.h"
expect_error "missing -o OUT.cpp" "$DLC" compile "$XO"
expect_error "/nonexistent/dir/net.cpp: cannot write file" "$DLC" compile "$XO" -o /nonexistent/dir/net.cpp
expect_error "$TMP/bad/afile/net.cpp: cannot write file" "$DLC" compile "$XO" -o "$TMP/bad/afile/net.cpp"
expect_error "$TMP/bad/net.h: cannot write file: it is a directory" "$DLC" compile "$XO" -o "$TMP/bad/net.cpp"
expect_error "--batch: expected an integer in [1, " "$DLC" compile "$XO" -o "$TMP/bad/x.cpp" --batch 0
expect_error "tensor 'conv2d_1.kernel' has shape [3,3,1,1], the model's parameter is [3,3,1,4]" \
  "$DLC" compile "$XO" -o "$TMP/bad/x.cpp" --weights "$SRC/tests/fixtures/conv_example/weights.safetensors"
expect_error "cannot open file" "$DLC" compile "$XO" -o "$TMP/bad/x.cpp" --weights "$TMP/bad/none.safetensors"
expect_error "'9net' is not a C identifier; give the symbol prefix with --name" "$DLC" compile "$XO" -o "$TMP/bad/9net.cpp"
expect_error "--name: 'a-b' cannot prefix C identifiers" "$DLC" compile "$XO" -o "$TMP/bad/x.cpp" --name a-b
expect_error "names a directory" "$DLC" compile "$XO" -o "$TMP/bad/"
expect_error "would be overwritten by its own header" "$DLC" compile "$XO" -o "$TMP/bad/x.h"
echo '{"name": "noloss", "input_shape": [3], "layers": [{"type": "dense", "units": 2}]}' > "$TMP/bad/noloss.json"
expect_error "--train needs a model with a loss" "$DLC" compile "$TMP/bad/noloss.json" -o "$TMP/bad/x.cpp" --train
[ "$(ls "$TMP/bad" | tr '\n' ' ')" = "afile net.h noloss.json " ] || fail "partial output left behind: $(ls -a "$TMP/bad")"

finish
