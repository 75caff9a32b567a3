#!/usr/bin/env bash
# `dlc summary` reports the right shapes, parameter counts and activation memory. Every
# figure below is worked out by hand in the comments.
source "$SRC/tests/lib.sh"
E="$SRC/examples"

# expect_row "LABEL" "SHAPE" "PARAMS" ["ACTIVATIONS"]: the last summary has a row with
# these cells, in this order, separated by column padding.
expect_row() {
  local re
  re="^$(printf '%s' "$1" | sed 's/[][().*^$]/\\&/g') +$(printf '%s' "$2" | sed 's/[][().*^$]/\\&/g') +$3"
  [ $# -ge 4 ] && re="$re +$(printf '%s' "$4" | sed 's/[][().*^$]/\\&/g')"
  if grep -qE -- "$re( |$)" "$TMP/out"; then
    passes=$((passes + 1))
  else
    fail "expected a row '$1 | $2 | $3 ${4:-}', got: $(cat "$TMP/out")"
  fi
}

# --- MLP 784-500-500-10 ---
# dense_1 784*500 + 500 = 392,500; dense_2 500*500 + 500 = 250,500; dense_3 500*10 + 10
# = 5,010; total 648,010 (x 4 bytes = 2,592,040 B).
# Activations per sample: 500 + 500 + 10 = 1,010 floats = 4,040 B.
expect_ok "$DLC" summary "$E/mlp.json"
expect_row "dense_1 (dense, sigmoid)" "(1, 500)" "392,500" "1.95 KiB"
expect_row "dense_2 (dense, sigmoid)" "(1, 500)" "250,500"
expect_row "dense_3 (dense, softmax)" "(1, 10)" "5,010" "40 B"
expect_output "Total params: 648,010 (2.47 MiB)"
expect_output "Trainable params: 648,010"
expect_output "Non-trainable params: 0"
expect_output "Input memory: 3,136 B per sample"
expect_output "Activation memory: 4,040 B per sample"
expect_output "Parameter memory: 2,592,040 B"

# --- CNN (examples/cnn.json), 28x28x1 input ---
# conv2d_1: 5x5 "same", 8 filters -> 28x28x8; params 5*5*1*8 + 8 = 208
# max_pool2d_1: 2x2 -> 14x14x8
# conv2d_2: 5x5 "same", 16 filters -> 14x14x16; params 5*5*8*16 + 16 = 3,216
# max_pool2d_2: 2x2 -> 7x7x16
# flatten_1: 7*7*16 = 784
# dense_1: 784*128 + 128 = 100,480;  dense_2: 128*10 + 10 = 1,290
# Total 208 + 3,216 + 100,480 + 1,290 = 105,194 parameters.
# Activations per sample (floats): 6,272 + 1,568 + 3,136 + 784 + 784 + 128 + 10 = 12,682
# = 50,728 B (49.54 KiB); at batch 64: 3,246,592 B = 3.10 MiB.
expect_ok "$DLC" summary "$E/cnn.json"
expect_row "input (input)" "(1, 28, 28, 1)" "0" "-"
expect_row "conv2d_1 (conv2d, relu)" "(1, 28, 28, 8)" "208" "24.50 KiB"
expect_row "max_pool2d_1 (max_pool2d)" "(1, 14, 14, 8)" "0" "6.12 KiB"
expect_row "conv2d_2 (conv2d, relu)" "(1, 14, 14, 16)" "3,216" "12.25 KiB"
expect_row "max_pool2d_2 (max_pool2d)" "(1, 7, 7, 16)" "0" "3.06 KiB"
expect_row "flatten_1 (flatten)" "(1, 784)" "0" "3.06 KiB"
expect_row "dense_1 (dense, relu)" "(1, 128)" "100,480" "512 B"
expect_row "dense_2 (dense, softmax)" "(1, 10)" "1,290" "40 B"
expect_output "Total params: 105,194"
expect_output "Activation memory: 50,728 B per sample (49.54 KiB)"
expect_ok "$DLC" summary "$E/cnn.json" --batch 64
expect_output 'Model: "cnn" (batch 64)'
expect_row "conv2d_1 (conv2d, relu)" "(64, 28, 28, 8)" "208" "1.53 MiB"
expect_output "Activation memory: 50,728 B per sample (49.54 KiB), 3.10 MiB at batch 64"

# --- VGG16, 224x224x3 ---
# A 3x3 conv with c_in inputs and c_out filters has 9*c_in*c_out + c_out parameters:
#   block1: 9*3*64+64 = 1,792;      9*64*64+64 = 36,928
#   block2: 9*64*128+128 = 73,856;  9*128*128+128 = 147,584
#   block3: 9*128*256+256 = 295,168; 9*256*256+256 = 590,080 (x2)
#   block4: 9*256*512+512 = 1,180,160; 9*512*512+512 = 2,359,808 (x2)
#   block5: 2,359,808 (x3)
# fc1: 7*7*512 = 25,088 inputs: 25,088*4096 + 4096 = 102,764,544
# fc2: 4096*4096 + 4096 = 16,781,312;  predictions: 4096*1000 + 1000 = 4,097,000
# Total 138,357,544 (the published figure), 553,430,176 B.
# Activations per sample (floats): 2*224*224*64 + 112*112*64 + 2*112*112*128 + 56*56*128
#   + 3*56*56*256 + 28*28*256 + 3*28*28*512 + 14*14*512 + 3*14*14*512 + 7*7*512
#   + 25,088 + 4,096 + 4,096 + 1,000 = 15,112,168 floats = 60,448,672 B (57.65 MiB).
expect_ok "$DLC" summary "$E/vgg16.json"
expect_row "input (input)" "(1, 224, 224, 3)" "0" "-"
expect_row "block1_conv1 (conv2d, relu)" "(1, 224, 224, 64)" "1,792" "12.25 MiB"
expect_row "block1_conv2 (conv2d, relu)" "(1, 224, 224, 64)" "36,928"
expect_row "block1_pool (max_pool2d)" "(1, 112, 112, 64)" "0" "3.06 MiB"
expect_row "block2_conv1 (conv2d, relu)" "(1, 112, 112, 128)" "73,856"
expect_row "block2_conv2 (conv2d, relu)" "(1, 112, 112, 128)" "147,584"
expect_row "block2_pool (max_pool2d)" "(1, 56, 56, 128)" "0"
expect_row "block3_conv1 (conv2d, relu)" "(1, 56, 56, 256)" "295,168"
expect_row "block3_conv2 (conv2d, relu)" "(1, 56, 56, 256)" "590,080"
expect_row "block3_conv3 (conv2d, relu)" "(1, 56, 56, 256)" "590,080"
expect_row "block3_pool (max_pool2d)" "(1, 28, 28, 256)" "0"
expect_row "block4_conv1 (conv2d, relu)" "(1, 28, 28, 512)" "1,180,160"
expect_row "block4_conv2 (conv2d, relu)" "(1, 28, 28, 512)" "2,359,808"
expect_row "block4_conv3 (conv2d, relu)" "(1, 28, 28, 512)" "2,359,808"
expect_row "block4_pool (max_pool2d)" "(1, 14, 14, 512)" "0"
expect_row "block5_conv1 (conv2d, relu)" "(1, 14, 14, 512)" "2,359,808"
expect_row "block5_conv2 (conv2d, relu)" "(1, 14, 14, 512)" "2,359,808"
expect_row "block5_conv3 (conv2d, relu)" "(1, 14, 14, 512)" "2,359,808"
expect_row "block5_pool (max_pool2d)" "(1, 7, 7, 512)" "0" "98.00 KiB"
expect_row "flatten (flatten)" "(1, 25088)" "0" "98.00 KiB"
expect_row "fc1 (dense, relu)" "(1, 4096)" "102,764,544" "16.00 KiB"
expect_row "fc2 (dense, relu)" "(1, 4096)" "16,781,312"
expect_row "predictions (dense, softmax)" "(1, 1000)" "4,097,000" "3.91 KiB"
expect_output "Total params: 138,357,544 (527.79 MiB)"
expect_output "Trainable params: 138,357,544"
expect_output "Input memory: 602,112 B per sample (588.00 KiB)"
expect_output "Activation memory: 60,448,672 B per sample (57.65 MiB)"
expect_output "Parameter memory: 553,430,176 B (527.79 MiB)"
expect_ok "$DLC" check "$E/vgg16.json"
expect_output "22 layers, 138,357,544 parameters, f32[1,224,224,3] -> f32[1,1000]"

# --- Graph form: residual block and concat (examples/residual.json), 16x16x3 ---
# stem 9*3*16+16 = 448; res_conv1, res_conv2 9*16*16+16 = 2,320 each; branch_conv (1x1)
# 16*8+8 = 136; concat 8 + 16 = 24 channels; avg pool -> 8x8x24 = 1,536;
# logits 1,536*10+10 = 15,370. Total 448 + 2*2,320 + 136 + 15,370 = 20,594.
expect_ok "$DLC" summary "$E/residual.json"
expect_row "res_add (add, relu)" "(1, 16, 16, 16)" "0" "16.00 KiB"
expect_output "stem, res_conv2"
expect_row "merge (concat)" "(1, 16, 16, 24)" "0" "24.00 KiB"
expect_output "branch_conv, branch_pool"
expect_row "logits (dense, softmax)" "(1, 10)" "15,370"
expect_output "Total params: 20,594"

# --- Two inputs, two outputs ---
# conv 9*1*8+8 = 80 -> 26x26x8, pool -> 13x13x8 = 1,352; image_features 1,352*32+32 =
# 43,296; meta_features 4*8+8 = 40; digit 40*10+10 = 410; is_even 40+1 = 41.
# Total 80 + 43,296 + 40 + 410 + 41 = 43,867.
expect_ok "$DLC" summary "$E/two_inputs_two_outputs.json"
expect_row "meta (input)" "(1, 4)" "0" "-"
expect_row "features (concat)" "(1, 40)" "0" "160 B"
expect_row "is_even (dense, sigmoid)" "(1, 1)" "41" "4 B"
expect_output "Total params: 43,867"
finish
