#!/usr/bin/env bash
# Bad input never crashes dlc: each case exits 1 with one error line that names the
# location (file:line:column and JSON path, or the option) and says what is wrong.
# The model files are in tests/bad_models/, one mistake each.
source "$SRC/tests/lib.sh"
B="$SRC/tests/bad_models"

# bad MODEL "SUBSTRING": `dlc check MODEL` fails with an error containing SUBSTRING,
# which starts with the file name and its line:column.
bad() {
  expect_error "$1.json:$2" "$DLC" check "$B/$1.json"
}

# --- Malformed JSON, with line:column ---
bad malformed_trailing_comma '5:3: malformed JSON: expected a value, got '\'']'\'''
bad malformed_unquoted_word "4:23: malformed JSON: expected ',' or '}' in object, got 'u'"
bad malformed_unterminated_string '2:16: malformed JSON: control character in string (strings end on the line'
bad malformed_missing_colon "2:17: malformed JSON: expected ':', got '['"
bad malformed_truncated "5:1: malformed JSON: expected ',' or ']' in array, got end of input"
bad malformed_single_quotes "2:3: malformed JSON: expected a quoted member name, got '''"
bad malformed_comment "3:3: malformed JSON: expected a quoted member name, got '/'"
bad malformed_duplicate_member '3:44: malformed JSON: duplicate member "units"'
bad malformed_too_deep '1:335: malformed JSON: nesting deeper than 256 levels'
bad not_an_object "1:1: a model file must hold a JSON object (with 'input_shape' and 'layers'), got an array"

# --- Files that are not model text ---
bad empty '1:1: the file is empty; expected a JSON object'
bad nul_byte '3:31: not a UTF-8 text file: NUL byte at byte offset 56'
bad invalid_utf8 '2:15: not a UTF-8 text file: invalid UTF-8 byte 0xE9'
expect_error "$TMP/missing.json: cannot open file: No such file or directory" "$DLC" check "$TMP/missing.json"
mkdir -p "$TMP/model_dir.json"
expect_error "$TMP/model_dir.json: is a directory, expected a file" "$DLC" summary "$TMP/model_dir.json"

# --- Unknown names: the nearest known one, or the list ---
bad unknown_layer_type "4:14: layers[0].type: unknown layer type 'conv2', did you mean 'conv2d'?"
bad rnn_non_sequence "3:14: layers[0]: layer 'lstm_1' (lstm) needs a sequence input [batch, time, features] of floats, but input 'input' gives f32[1,10]"
bad rnn_zero_steps "2:19: input_shape[0]: expected a positive integer, got 0"
bad rnn_units_zero "3:39: layers[0].units: expected a positive integer, got 0"
bad rnn_unknown_option "3:49: layers[0].return_sequence: unknown attribute 'return_sequence' for layer type 'simple_rnn', did you mean 'return_sequences'?"
bad rnn_state_shape "4:14: layers[0]: layer 'r' (simple_rnn) needs an initial hidden state [batch, 3] of floats, but input 'h0' gives f32[1,5]"
bad rnn_go_backwards_string '3:59: layers[0].go_backwards: expected a boolean, got "yes"'
bad rnn_state_output_missing "6:64: layers[1].inputs[2]: layer 'dec' reads 'enc.c', but layer 'enc' (gru) has 2 outputs: 'enc', 'enc.h'"
bad rnn_return_state_sequential "3:14: layers[0]: layer 'lstm_1' (lstm) returns its states as outputs of their own ('lstm_1.h'), which only the graph form's layers and outputs can read"
bad bidirectional_dense "3:58: layers[0].layer.type: bidirectional wraps a simple_rnn, lstm or gru layer, not 'dense'"
bad bidirectional_merge_mode "3:54: layers[0].merge_mode: unknown merge_mode 'average'; use concat, sum, mul, ave"
bad rnn_stateful_bidirectional "3:89: layers[0].layer.stateful: a stateful layer cannot be wrapped by bidirectional"
bad rnn_stateful_initial_state "4:97: layers[0].stateful: layer 'r' (simple_rnn): a stateful layer carries its own state from one batch to the next; it takes no initial-state inputs"
bad repeat_vector_sequence "3:14: layers[0]: layer 'repeat_vector_1' (repeat_vector) needs an input [batch, features] of floats, but input 'input' gives f32[1,10,4]"
bad unknown_layer_type_far "3:23: layers[0].type: unknown layer type 'attention'; known: dense, conv2d,"
bad unknown_activation "4:51: layers[0].activation: unknown activation 'rleu', did you mean 'relu'?"
bad unknown_attribute "4:23: layers[0].unit: unknown attribute 'unit' for layer type 'dense', did you mean 'units'?"
bad leaky_alpha_unknown_member "3:82: layers[0].activation.slope: unknown attribute 'slope' for activation 'leaky_relu'; known: type, alpha"
bad unknown_initializer "3:67: layers[0].kernel_initializer: unknown initializer 'xavier_uniform'; known: zeros,"
bad padding_unknown "3:76: layers[0].padding: unknown padding 'sme', did you mean 'same'?"

# --- Wrong types and ranges, with the JSON path ---
bad units_string '4:32: layers[0].units: expected a positive integer, got "100"'
bad filters_float '4:35: layers[0].filters: expected a positive integer, got 8.5'
bad units_negative '6:32: layers[2].units: expected a positive integer, got -3'
bad dropout_rate '5:33: layers[1].rate: expected a rate in [0, 1), got 1.5'
bad use_bias_string '3:57: layers[0].use_bias: expected a boolean, got "yes"'
bad input_shape_zero '2:23: input_shape[1]: expected a positive integer, got 0'
bad kernel_size_triple '3:62: layers[0].kernel_size: expected a positive integer or a pair of them, got an array'
bad padding_count '3:76: layers[0].padding: expected 1, 2 or 4 padding amounts, got 3'
bad padding_negative '3:80: layers[0].padding[1]: padding must not be negative, got -1'
bad concat_bad_axis '3:77: layers[0].axis: axis 0 must name a non-batch axis of rank-2 inputs'
bad initializer_member "3:94: layers[0].kernel_initializer.limit: unknown attribute 'limit' for initializer 'glorot_uniform'; known: type"
bad constant_init_no_value "3:65: layers[0].bias_initializer: a constant initializer needs 'value'"
bad too_large "3:14: layers[0]: layer 'dense_1' (dense) is too large: parameter 'kernel' [100000,9000000000000000] has more than"

# --- Structure ---
bad missing_input_shape "1:1: missing 'input_shape' (the shape of one sample"
bad empty_layers '3:13: layers: a model needs at least one layer'
bad duplicate_names "5:31: layers[1].name: name 'hidden' is used twice: it already names an earlier layer"
bad name_with_dot "3:40: layers[0].name: a layer name 'dense.out' may only use letters, digits"
bad add_in_sequential "5:5: layers[1]: layer 'add_1' (add) merges several inputs; use the graph form"
bad inputs_in_sequential "5:33: layers[1].inputs: a layer's 'inputs' belong to the graph form"
bad input_shape_in_graph "2:18: input_shape: 'input_shape' belongs to the sequential form"

# --- Shapes that do not fit: both layers named, both shapes shown ---
bad conv_after_dense "5:5: layers[1]: layer 'conv2d_1' (conv2d) needs a 4-D input [batch, height, width, channels], but layer 'dense_1' gives f32[1,500]"
bad add_shape_mismatch "6:5: layers[2]: layer 'sum' (add) needs inputs of one shape, but 'left' gives f32[1,8] and 'right' gives f32[1,4]"
bad residual_channel_mismatch "5:5: layers[1]: layer 'skip' (add) needs inputs of one shape, but 'image' gives f32[1,8,8,3] and 'conv' gives f32[1,8,8,4]"
bad concat_mismatch "6:5: layers[2]: layer 'joined' (concat) cannot join 'full' f32[1,16,16,4] and 'half' f32[1,8,8,3] along axis -1"
bad reshape_count "4:5: layers[0]: layer 'reshape_1' (reshape) needs an input with 756 elements per sample to reshape to [28,27,1], but input 'input' gives f32[1,784]"
bad pool_too_large "5:5: layers[1]: layer 'max_pool2d_1' (max_pool2d): window 8x8 does not fit the 7x7 input from 'conv2d_1'"
bad pool_padding_window "3:64: layers[0].padding: layer 'max_pool2d_1' (max_pool2d): padding 2,2,0,0 must be smaller than the 2x2 window"
bad integer_input_conv "4:14: layers[0]: layer 'conv2d_1' (conv2d) needs a float input, but input 'input' gives i64[1,8,8,1]"
bad maxout_k "4:51: layers[0].activation: layer 'dense_1': maxout group size 3 does not divide its 100 units"
bad integer_input_dense "4:14: layers[0]: layer 'dense_1' (dense) needs a float input, but input 'input' gives i32[1,10]"

# --- Graph form ---
bad graph_unknown_input "4:51: layers[0].inputs: layer 'hidden' reads 'pixel', which is no input or earlier layer, did you mean 'pixels'?"
bad graph_forward_reference "4:46: layers[0].inputs: layer 'a' reads 'b', which is defined after it; list layers in order"
bad self_reference "4:53: layers[0].inputs[1]: layer 'loop' reads its own output"
bad graph_unknown_output "6:15: outputs[0]: output 'logit' is no layer, did you mean 'logits'?"
bad graph_missing_name "5:5: layers[1]: layer 1 has no 'name'; graph-form layers need one"
bad graph_no_outputs "1:1: missing required member 'outputs'"
bad output_twice "4:22: outputs[1]: output 'out' is listed twice"
bad reserved_name "2:23: inputs[0].name: 'target' is reserved for training"
bad duplicate_input_names "2:52: inputs[1].name: input name 'x' is used twice"

# --- Training sections ---
bad unknown_loss "4:11: loss: unknown loss 'categorical_crossentropi', did you mean 'categorical_crossentropy'?"
bad loss_output_unknown "8:53: loss.output: unknown output 'parity_bit'; known: digit, parity"
bad unknown_optimizer "5:25: optimizer.type: unknown optimizer 'adamx', did you mean 'adam'?"
bad unknown_hyperparameter "4:33: optimizer.bta2: unknown attribute 'bta2' for optimizer 'adam', did you mean 'beta2'?"
bad negative_learning_rate '4:38: optimizer.lr: expected a positive number, got -0.1'
bad beta1_one '4:42: optimizer.beta1: expected a number in [0, 1), got 1.0'
bad lr_twice "4:60: optimizer.learning_rate: give the learning rate once"
bad weight_decay_mode '4:76: optimizer.weight_decay_mode: expected "coupled" or "decoupled", got "adamw"'
bad unknown_schedule "4:64: optimizer.schedule.type: unknown learning-rate schedule 'one_cycle'; known: constant, inverse_sqrt, inverse_time, step, exponential, cosine, piecewise"
bad cosine_without_period "4:55: optimizer.schedule: missing required member 'decay_steps'"
bad schedule_member "4:82: optimizer.schedule.step_size: unknown attribute 'step_size' for learning-rate schedule 'exponential'"
bad unknown_metric "5:15: metrics[0]: unknown metric 'acuracy', did you mean 'accuracy'?"
bad metric_k_on_accuracy "4:36: metrics[0].k: unknown attribute 'k' for metric 'accuracy'; known: type"
bad metric_auc_multiclass "5:27: metrics[1]: metric 'auc' does not fit output 'dense_1' of shape [10] per sample: it is a metric of binary tasks"
bad loss_without_flatten "5:11: loss: loss 'categorical_crossentropy' does not fit output 'dense_1' of shape [26,26,10] per sample: it needs an output of shape [batch, classes] or [batch, steps, classes] (add a flatten layer before the dense layer that makes the classes)"
bad plateau_factor "5:87: optimizer.reduce_on_plateau.factor: expected a factor in (0, 1), got 2"
bad plateau_monitor "5:65: optimizer.reduce_on_plateau.monitor: reduce_on_plateau cannot monitor 'val_acc': it watches the loss or a metric the model lists; known: loss, val_loss"
bad batch_size_zero '4:17: batch_size: expected a positive integer, got 0'

# --- The same errors through summary and show ---
expect_error "units_negative.json:6:32: layers[2].units: expected a positive integer, got -3" "$DLC" summary "$B/units_negative.json"
expect_error "conv_after_dense.json:5:5: layers[1]: layer 'conv2d_1' (conv2d) needs" "$DLC" show "$B/conv_after_dense.json"

# --- Command-line mistakes ---
M="$SRC/examples/mlp.json"
expect_error "dlc check: unknown option '--frobnicate' (see --help)" "$DLC" check --frobnicate "$M"
expect_error "dlc summary: unknown option '--batsh', did you mean '--batch'?" "$DLC" summary "$M" --batsh 4
expect_error "dlc show: unknown option '--emitt', did you mean '--emit'?" "$DLC" show "$M" --emitt=graph
expect_error "--emit: unknown stage 'kernals'" "$DLC" show "$M" --emit=kernals
expect_error "--batch: expected an integer in [1, 1048576], got 0" "$DLC" summary "$M" --batch 0
expect_error "--batch: expected an integer, got 'ten'" "$DLC" summary "$M" --batch ten
expect_error "dlc summary: option --batch needs a value (N)" "$DLC" summary "$M" --batch
expect_error "dlc check: expected 1 argument, got 0" "$DLC" check
expect_error "dlc check: expected 1 argument, got 2" "$DLC" check "$M" "$M"
finish
