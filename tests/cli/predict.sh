#!/usr/bin/env bash
# `dlc predict` reproduces the convolution example of issue 2 end to end, and rejects bad
# weights and inputs with one clear line. The fixtures come from
# tests/fixtures/conv_example/make_fixtures.py (pure Python, independent of dlc's writers).
source "$SRC/tests/lib.sh"
FX="$SRC/tests/fixtures/conv_example"
W="$FX/weights.safetensors"

# expect_lines: the last command's stdout, after the type line, is exactly these lines.
expect_lines() {
  local want
  want=$(printf '%s\n' "$@")
  if [ "$(tail -n +2 "$TMP/out")" = "$want" ]; then
    passes=$((passes + 1))
  else
    fail "expected values:"$'\n'"$want"$'\n'"got:"$'\n'"$(cat "$TMP/out")"
  fi
}

# The 6x6 image convolved with [[1,-1,-1],[-1,1,-1],[-1,-1,1]], stride 1, no padding:
# [[3,-1,-3,-1],[-3,1,0,-3],[-3,-3,0,1],[3,-2,-2,-1]] (NHWC, one value per line).
expect_ok "$DLC" predict "$FX/conv.json" --weights "$W" --input "$FX/image.npy"
expect_output "conv2d_1: f32[1,4,4,1]"
expect_lines "  [0,0,0] 3" "  [0,0,1] -1" "  [0,0,2] -3" "  [0,0,3] -1" \
             "  [0,1,0] -3" "  [0,1,1] 1" "  [0,1,2] 0" "  [0,1,3] -3" \
             "  [0,2,0] -3" "  [0,2,1] -3" "  [0,2,2] 0" "  [0,2,3] 1" \
             "  [0,3,0] 3" "  [0,3,1] -2" "  [0,3,2] -2" "  [0,3,3] -1"

# Then 2x2 max pooling: [[3,0],[3,1]].
expect_ok "$DLC" predict "$FX/model.json" --weights "$W" --input "$FX/image.npy"
expect_output "max_pool2d_1: f32[1,2,2,1]"
expect_lines "  [0,0,0] 3" "  [0,0,1] 0" "  [0,1,0] 3" "  [0,1,1] 1"

# One sample without a batch axis ([6,6,1]) gets one added.
expect_ok "$DLC" predict "$FX/model.json" --weights "$W" --input "$FX/image_hw.npy"
expect_lines "  [0,0,0] 3" "  [0,0,1] 0" "  [0,1,0] 3" "  [0,1,1] 1"

# Through the frontend's padding and stride options, with the same weights.
# values: the printed values of the last command, in order, on one line.
values() { tail -n +2 "$TMP/out" | awk '{printf "%s ", $2}'; }
expect_values() {
  if [ "$(values)" = "$1" ]; then passes=$((passes + 1)); else fail "expected values '$1', got '$(values)'"; fi
}
conv_model() { # conv_model EXTRA_MEMBERS: the example's conv layer with more options
  echo '{"input_shape": [6, 6, 1], "layers": [{"type": "conv2d", "filters": 1, "kernel_size": 3, "use_bias": false'"$1"'}]}'
}
# "same" keeps 6x6: the 4x4 above framed by windows that overlap the zero border.
conv_model ', "padding": "same"' >"$TMP/same.json"
expect_ok "$DLC" predict "$TMP/same.json" --weights "$W" --input "$FX/image.npy"
expect_output "conv2d_1: f32[1,6,6,1]"
expect_values "2 -2 -1 1 -2 0 -2 3 -1 -3 -1 -2 -2 -3 1 0 -3 0 2 -3 -3 0 1 -2 -2 3 -2 -2 -1 -1 -1 -2 2 -3 0 0 "
# Stride 2: floor((6 - 3) / 2) + 1 = 2, every other stride-1 value.
conv_model ', "strides": 2' >"$TMP/stride2.json"
expect_ok "$DLC" predict "$TMP/stride2.json" --weights "$W" --input "$FX/image.npy"
expect_output "conv2d_1: f32[1,2,2,1]"
expect_values "3 -3 -3 0 "
# Explicit padding 1 with stride 2: floor((6 + 2 - 3) / 2) + 1 = 3.
conv_model ', "padding": 1, "strides": 2' >"$TMP/pad1.json"
expect_ok "$DLC" predict "$TMP/pad1.json" --weights "$W" --input "$FX/image.npy"
expect_output "conv2d_1: f32[1,3,3,1]"
expect_values "2 -1 -2 -2 1 -3 -2 -2 -1 "

# -o writes an .npy: float32 little-endian, shape (1,2,2,1), data 64-byte aligned.
expect_ok "$DLC" predict "$FX/model.json" --weights "$W" --input "$FX/image.npy" -o "$TMP/y.npy"
if [ -s "$TMP/out" ]; then fail "-o should print nothing on stdout, got: $(cat "$TMP/out")"; fi
if [ "$(head -c 6 "$TMP/y.npy" | tail -c 5)" = "NUMPY" ]; then passes=$((passes + 1)); else fail "y.npy: bad magic"; fi
header=$(head -c 128 "$TMP/y.npy" | tr -d '\000-\011\013-\037\200-\377')
if grep -qF "'descr': '<f4'" <<<"$header" && grep -qF "'fortran_order': False" <<<"$header" &&
   grep -qE "'shape': \(1, ?2, ?2, ?1\)" <<<"$header"; then
  passes=$((passes + 1))
else
  fail "y.npy header: $header"
fi
size=$(wc -c <"$TMP/y.npy")
if [ $(((size - 16) % 64)) -eq 0 ]; then passes=$((passes + 1)); else fail "y.npy: $size bytes, data not aligned"; fi
values=$(tail -c 16 "$TMP/y.npy" | od -An -v -tf4 --endian=little | tr -s ' \n' ' ')
if [ "$values" = " 3 0 3 1 " ]; then passes=$((passes + 1)); else fail "y.npy values: '$values'"; fi

# Weights: missing file, truncated file, weights of another model.
expect_error "cannot open file" "$DLC" predict "$FX/model.json" --weights "$TMP/none.safetensors" --input "$FX/image.npy"
head -c 140 "$W" >"$TMP/trunc.safetensors"
expect_error "truncated file?" "$DLC" predict "$FX/model.json" --weights "$TMP/trunc.safetensors" --input "$FX/image.npy"
head -c 4 "$W" >"$TMP/stub.safetensors"
expect_error "no header length" "$DLC" predict "$FX/model.json" --weights "$TMP/stub.safetensors" --input "$FX/image.npy"
head -c 60 "$W" >"$TMP/cut_header.safetensors"
expect_error "exceeds the file" "$DLC" predict "$FX/model.json" --weights "$TMP/cut_header.safetensors" --input "$FX/image.npy"
expect_error "no tensor for parameter 'conv2d_1.kernel' (f32[3,3,1,1])" \
  "$DLC" predict "$FX/model.json" --weights "$FX/bad_missing.safetensors" --input "$FX/image.npy"
expect_error "tensor 'conv2d_1.kernel' has shape [3,3,1,2], the model's parameter is [3,3,1,1]" \
  "$DLC" predict "$FX/model.json" --weights "$FX/bad_shape.safetensors" --input "$FX/image.npy"
expect_error "tensor 'conv2d_1.bias' matches no parameter of the model" \
  "$DLC" predict "$FX/model.json" --weights "$FX/bad_extra.safetensors" --input "$FX/image.npy"

# Inputs: wrong shape, corrupt or truncated file, unsupported dtype, missing file.
expect_error "array has shape [1,5,5,1], input 'input' expects [n,6,6,1]" \
  "$DLC" predict "$FX/model.json" --weights "$W" --input "$FX/bad_image_5x5.npy"
printf 'not an npy file at all' >"$TMP/corrupt.npy"
expect_error "bad magic" "$DLC" predict "$FX/model.json" --weights "$W" --input "$TMP/corrupt.npy"
head -c 200 "$FX/image.npy" >"$TMP/short.npy"
expect_error "truncated .npy data" "$DLC" predict "$FX/model.json" --weights "$W" --input "$TMP/short.npy"
expect_error "unsupported npy dtype '<c8'" "$DLC" predict "$FX/model.json" --weights "$W" --input "$FX/bad_image_c8.npy"
expect_error "cannot open file" "$DLC" predict "$FX/model.json" --weights "$W" --input "$TMP/none.npy"

# Command line: unknown backend, no input.
expect_error "unknown backend 'tpu'" "$DLC" predict "$FX/model.json" --weights "$W" --input "$FX/image.npy" --backend tpu
expect_error "--input X.npy is required" "$DLC" predict "$FX/model.json" --weights "$W"
# --threads: at least one thread, on every command that runs a model.
expect_error "--threads: expected an integer in [1, 1024], got 0" "$DLC" train "$SRC/examples/mlp.json" --data fashion-mnist --threads 0
expect_error "--threads: expected an integer in [1, 1024], got 2000" "$DLC" eval "$SRC/examples/mlp.json" --data fashion-mnist --threads 2000
expect_error "--threads: expected an integer, got 'x'" "$DLC" predict "$SRC/examples/xo.json" --input "$SRC/examples/data/xo_samples.npy" --backend jit --threads x
finish
