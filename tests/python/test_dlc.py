"""The Python module `dlc` (docs/python.md), run by ctest with Debian's /usr/bin/python3.

PYTHONPATH points at build/python (the module) and DLC_SRC at the source tree. Exits 77
(ctest: skipped) when numpy is missing.
"""
import os
import subprocess
import sys
import tempfile
import unittest

try:
    import numpy as np
except ImportError:
    print("skipped: needs numpy for /usr/bin/python3 (python3-numpy; scripts/install-deps.sh installs it)")
    sys.exit(77)

import dlc

SRC = os.environ.get("DLC_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
ONNX = os.path.join(SRC, "tests", "fixtures", "onnx")


def bands(n, seed=0):
    """n 4x4 images of 3 classes, class c with a bright band in pixels [5c, 5c + 5) (uint8)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n).astype(np.int64)
    x = rng.integers(0, 60, (n, 16)).astype(np.uint8)
    for i, c in enumerate(y):
        x[i, 5 * c:5 * c + 5] += 180
    return x, y


MODEL = """{"name": "bands", "input_shape": [16],
 "layers": [{"type": "dense", "units": 12, "activation": "relu"}, {"type": "dense", "units": 3, "activation": "softmax"}],
 "loss": "sparse_categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.02}, "batch_size": 16,
 "epochs": 4, "metrics": ["accuracy"]}"""


class DlcModuleTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.tmp.name, "bands.json")
        with open(self.path, "w") as f:
            f.write(MODEL)

    def tearDown(self):
        self.tmp.cleanup()

    def test_fit_evaluate_predict(self):
        m = dlc.load(self.path)
        self.assertEqual(m.name, "bands")
        self.assertIn("dense_1", m.summary(print=False))
        x, y = bands(240)
        seen = []
        h = m.fit(x, y, validation_split=0.25, callbacks=[lambda epoch, logs: seen.append((epoch, logs))])
        self.assertEqual(h.epoch, [0, 1, 2, 3])
        self.assertEqual(sorted(h.history), ["accuracy", "epoch", "loss", "lr", "time", "val_accuracy", "val_loss"])
        self.assertLess(h.history["loss"][-1], h.history["loss"][0])
        self.assertEqual([e for e, _ in seen], [0, 1, 2, 3])
        self.assertEqual(seen[-1][1]["val_loss"], h.history["val_loss"][-1])
        xt, yt = bands(90, seed=1)
        r = m.evaluate(xt, yt)
        self.assertEqual(sorted(r), ["accuracy", "loss"])
        self.assertGreater(r["accuracy"], 0.9)
        p = m.predict(xt)
        self.assertEqual((p.shape, p.dtype), ((90, 3), np.float32))
        np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
        self.assertAlmostEqual(float((p.argmax(axis=1) == yt).mean()), r["accuracy"], places=6)
        # uint8 images are scaled to [0, 1] as dlc's readers do; float32 is read in place.
        np.testing.assert_array_equal(p, m.predict((xt / np.float32(255)).astype(np.float32)))

    def test_callbacks_stop_and_errors_propagate(self):
        m = dlc.load(self.path)
        x, y = bands(64)

        class StopAfterTwo:
            def on_epoch_end(self, epoch, logs):
                return epoch == 1

        self.assertEqual(len(m.fit(x, y, epochs=10, callbacks=[StopAfterTwo()]).history["loss"]), 2)

        def broken(epoch, logs):
            raise ValueError("from the callback")

        with self.assertRaisesRegex(ValueError, "from the callback"):
            m.fit(x, y, epochs=3, callbacks=[broken])

    def test_weights_round_trip_and_cpp(self):
        m = dlc.load(self.path)
        x, y = bands(64)
        m.fit(x, y, epochs=2)
        w = os.path.join(self.tmp.name, "w.safetensors")
        m.save_weights(w)
        fresh = dlc.load(self.path)
        self.assertFalse(np.array_equal(fresh.predict(x), m.predict(x)))
        fresh.load_weights(w)
        np.testing.assert_array_equal(fresh.predict(x), m.predict(x))
        files = m.compile_cpp(os.path.join(self.tmp.name, "cpp"), train=True, name="bands")
        self.assertEqual([os.path.basename(f) for f in files], ["bands.cpp", "bands.h", "dlc_runtime.h"])
        cc = subprocess.run(["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", files[0]],
                            capture_output=True, text=True)
        self.assertEqual(cc.returncode, 0, cc.stderr[:800])

    def test_onnx_model_from_pytorch(self):
        m = dlc.load(os.path.join(ONNX, "cnn.onnx"))
        x = np.load(os.path.join(ONNX, "cnn.x.npy")).transpose(0, 2, 3, 1)  # NCHW -> NHWC (a copy: not C order)
        np.testing.assert_allclose(m.predict(x), np.load(os.path.join(ONNX, "cnn.y.npy")), atol=1e-5)
        # Fine-tuning an ONNX export: the training sections as a dict.
        mlp = dlc.load(os.path.join(ONNX, "mlp.onnx"),
                       training={"loss": "sparse_categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.01},
                                 "metrics": ["accuracy"], "batch_size": 16})
        rng = np.random.default_rng(0)
        xs = rng.standard_normal((128, 20)).astype(np.float32)
        ys = (xs[:, 0] > 0).astype(np.int32) + (xs[:, 1] > 0)
        h = mlp.fit(xs, ys, epochs=8)
        self.assertLess(h.history["loss"][-1], 0.75 * h.history["loss"][0])

    def test_validation_data_and_verbose(self):
        # validation_data given explicitly is the same run as validation_split holding the
        # same samples (the last 25%, before shuffling).
        x, y = bands(240)
        split = dlc.load(self.path).fit(x, y, validation_split=0.25, verbose=0).history
        given = dlc.load(self.path).fit(x[:180], y[:180], validation_data=(x[180:], y[180:]), verbose=0).history
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            self.assertEqual(split[key], given[key], key)
        m = dlc.load(self.path)
        with self.assertRaisesRegex(dlc.Error, "give validation_split or validation_data, not both"):
            m.fit(x, y, validation_split=0.2, validation_data=(x, y))
        with self.assertRaisesRegex(dlc.Error, r"validation_data is a tuple \(x_val, y_val\)"):
            m.fit(x, y, validation_data=[x, y, y])
        with self.assertRaisesRegex(dlc.Error, "validation_data.*samples, but validation_data\\[1\\] has"):
            m.fit(x, y, validation_data=(x[:5], y[:4]))
        with self.assertRaisesRegex(dlc.Error, "verbose is 0, 1 or 2, got 3"):
            m.fit(x, y, verbose=3)
        # verbose=0 prints nothing (the trainer writes with C stdio: a child's stdout).
        script = ("import dlc, numpy as np; m = dlc.load(%r); x = np.zeros((32, 16), np.float32); "
                  "y = np.zeros(32, np.int64); m.fit(x, y, epochs=1, verbose=%d)")
        env = dict(os.environ)
        quiet = subprocess.run([sys.executable, "-c", script % (self.path, 0)], capture_output=True, text=True, env=env)
        loud = subprocess.run([sys.executable, "-c", script % (self.path, 1)], capture_output=True, text=True, env=env)
        self.assertEqual((quiet.returncode, quiet.stdout), (0, ""), quiet.stderr)
        self.assertIn("epoch 1/1: loss", loud.stdout)

    def test_errors_are_dlc_errors(self):
        with self.assertRaisesRegex(dlc.Error, "no-such.json: cannot open file"):
            dlc.load(os.path.join(self.tmp.name, "no-such.json"))
        bad = os.path.join(self.tmp.name, "bad.json")
        with open(bad, "w") as f:
            f.write('{"input_shape": [4], "layers": [{"type": "dense", "units": -3}]}')
        with self.assertRaisesRegex(dlc.Error, r"bad.json:1:\d+: layers\[0\].units"):
            dlc.load(bad)
        m = dlc.load(self.path)
        with self.assertRaisesRegex(dlc.Error, r"x has shape \[2,5\], input 'input' expects \[n,16\]"):
            m.predict(np.zeros((2, 5), np.float32))
        with self.assertRaisesRegex(dlc.Error, "samples, but y has"):
            m.fit(np.zeros((4, 16), np.float32), np.zeros(3, np.int64))
        with self.assertRaisesRegex(dlc.Error, "has no loss"):
            dlc.load(os.path.join(ONNX, "mlp.onnx")).fit(np.zeros((4, 20), np.float32), np.zeros(4, np.int64))
        with self.assertRaisesRegex(dlc.Error, "unknown loss|loss 'hinge'"):
            dlc.load(self.path, training={"loss": "hinge"})

    def test_ctrl_c_stops_cleanly(self):
        m = dlc.load(self.path)
        x, y = bands(160)
        os.environ["DLC_TEST_SIGINT_AT_STEP"] = "3"
        try:
            with self.assertRaises(KeyboardInterrupt):
                m.fit(x, y, epochs=3)
        finally:
            del os.environ["DLC_TEST_SIGINT_AT_STEP"]
        self.assertEqual(m.predict(x).shape, (160, 3))  # the model is still usable


if __name__ == "__main__":
    unittest.main()
