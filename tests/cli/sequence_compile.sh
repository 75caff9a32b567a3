#!/usr/bin/env bash
# dlc compile --train of every token and recurrent example (and of embedding / one_hot
# models): the emitted C++ passes g++ and clang++ with -Wall -Wextra -Werror. Syntax
# checks only (each file holds the whole runtime, ~7 s per compiler on this machine);
# parity of the emitted code with the interpreter is in tests/unit/ (embedding_test.cpp,
# codegen_cpp_parity_test.cpp).
source "$SRC/tests/lib.sh"
cat >"$TMP/embed_onehot.json" <<'JSON'
{"name": "embed_onehot", "inputs": [{"name": "ids", "shape": [6]}], "outputs": ["out"],
 "layers": [{"name": "e", "type": "embedding", "inputs": "ids", "input_dim": 9, "output_dim": 3},
            {"name": "o", "type": "one_hot", "inputs": "ids", "depth": 9},
            {"name": "cat", "type": "concat", "inputs": ["e", "o"]}, {"name": "f", "type": "flatten", "inputs": "cat"},
            {"name": "out", "type": "dense", "inputs": "f", "units": 4, "activation": "softmax"}],
 "loss": "sparse_categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.01}, "batch_size": 8}
JSON
for m in "$TMP/embed_onehot.json" "$SRC"/examples/{lstm_sentiment,gru_tagger,char_rnn}.json; do
  dir="$TMP/$(basename "$m" .json)"
  mkdir -p "$dir"
  expect_ok "$DLC" compile "$m" -o "$dir/net.cpp" --train
  expect_output "inference and training"
  expect_ok g++ -std=c++17 -Wall -Wextra -Werror -fsyntax-only "$dir/net.cpp"
  if command -v clang++ >/dev/null; then
    expect_ok clang++ -std=c++17 -Wall -Wextra -Werror -fsyntax-only "$dir/net.cpp"
  fi
done
finish
