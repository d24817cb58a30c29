"""vislib._weights: building with zero placeholders, block-wise Glorot draws and
block-wise HDF5 loading give what Keras itself gives."""

from __future__ import annotations

import h5py
import keras
import numpy as np
import pytest
from keras.src.legacy.saving import legacy_h5_format

from vislib._core import weightops as _weights


def _net(seed=0):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(16, 3, name="conv")(inp)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.DepthwiseConv2D(3, name="dw")(x)
    x = keras.layers.Flatten(name="flat")(x)
    x = keras.layers.Dense(300, name="fc")(x)
    return keras.Model(inp, keras.layers.Dense(5, name="out")(x))


def test_zero_init_builds_large_kernels_as_zeros_and_restores_keras():
    original = keras.initializers.GlorotUniform.__call__
    with _weights.zero_init(min_size=1000) as zeroed:
        net = _net()
    assert keras.initializers.GlorotUniform.__call__ is original
    assert zeroed == [(256, 300), (300, 5)]  # conv (432) and depthwise (144) kernels are small
    fc = net.get_layer("fc").kernel.numpy()
    assert np.all(fc == 0)
    assert np.std(net.get_layer("conv").kernel.numpy()) > 0  # small kernels drawn as usual
    with pytest.raises(RuntimeError):
        with _weights.zero_init():
            raise RuntimeError("boom")
    assert keras.initializers.GlorotUniform.__call__ is original


def test_fill_glorot_matches_keras_distribution_and_is_seeded():
    with _weights.zero_init(min_size=1000) as zeroed:
        net = _net()
    filled = _weights.fill_glorot(net, seed=3, min_size=1000)
    assert sorted(filled) == sorted(zeroed)
    fc = net.get_layer("fc").kernel.numpy()
    limit = np.sqrt(6 / (256 + 300))
    assert np.abs(fc).max() <= limit
    assert abs(np.std(fc) - limit / np.sqrt(3)) < 0.03 * limit
    assert abs(np.mean(fc)) < 0.01 * limit
    assert len(np.unique(fc[:, 0])) == 256  # every row drawn, not one block repeated
    with _weights.zero_init(min_size=1000):
        again = _net()
    _weights.fill_glorot(again, seed=3, min_size=1000)
    np.testing.assert_array_equal(again.get_layer("fc").kernel.numpy(), fc)


def test_load_h5_equals_keras_loader(tmp_path, monkeypatch):
    monkeypatch.setattr(_weights, "LARGE", 1000)  # fc (256 x 300) is handed over without a copy
    source = _net(seed=1)
    source.get_layer("bn").moving_variance.assign(np.linspace(1, 2, 16).astype("float32"))
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, source)
    reference = _net(seed=2)
    reference.load_weights(str(path))
    with _weights.zero_init(min_size=1000):
        lean = _net(seed=3)
    _weights.load_h5(lean, path)
    for a, b in zip(reference.get_weights(), lean.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(source.get_weights(), lean.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).normal(size=(3, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(lean(x), source(x), rtol=1e-6, atol=1e-6)
    inner = [keras.Model(m.inputs, m.get_layer("fc").output) for m in (lean, source)]
    np.testing.assert_allclose(inner[0].predict(x, verbose=0), inner[1](x), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(lean.get_layer("fc").kernel[3:5, 10:12], source.get_layer("fc").kernel[3:5, 10:12])


def test_load_h5_names_the_mismatch(tmp_path):
    source = _net()
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, source)
    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(8, 3, name="conv")(inp)  # 8 filters instead of 16
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.DepthwiseConv2D(3, name="dw")(x)
    x = keras.layers.Dense(5, name="out")(keras.layers.Flatten()(keras.layers.Dense(3, name="fc")(x)))
    other = keras.Model(inp, x)
    with pytest.raises(ValueError, match="conv"):
        _weights.load_h5(other, path)
    with pytest.raises(ValueError, match="5 layers with weights"):
        _weights.load_h5(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), path)


@pytest.mark.parametrize("name", ["vgg16_random", "mobilenet_random"])
def test_profiles_get_keras_initial_distribution(name, request):
    """Every kernel of the random ImageNet architectures has Keras' Glorot
    spread, the big ones (drawn by vislib in blocks) included."""
    course = request.getfixturevalue(name)
    checked = 0
    for layer in course.model.layers:
        for attr in ("kernel", "depthwise_kernel"):
            var = getattr(layer, attr, None)
            if var is None or int(np.prod(var.shape)) < 5000:
                continue
            values = var.numpy()
            fan_in, fan_out = _weights._fans(tuple(values.shape))
            expected = np.sqrt(6 / (fan_in + fan_out)) / np.sqrt(3)
            assert abs(values.std() - expected) < 0.05 * expected, (layer.name, values.std(), expected)
            checked += 1
    assert checked >= 10


def test_clone_copies_every_weight_once_and_stays_separate(monkeypatch):
    monkeypatch.setattr(_weights, "LARGE", 1000)  # fc is built as zeros, then copied in
    net = _net(seed=2)
    before = [w.copy() for w in net.get_weights()]
    copy = _weights.clone(net)
    assert copy is not net and [w.path for w in copy.weights] == [w.path for w in net.weights]
    for a, b in zip(net.get_weights(), copy.get_weights()):
        np.testing.assert_array_equal(a, b)  # fc too: not left at zero
    x = np.random.default_rng(0).random((2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(copy.predict(x, verbose=0), net.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    rng = np.random.default_rng(0)
    for name in ("out", "fc", "bn", "dw", "conv"):
        _weights.randomize(copy.get_layer(name), rng)
    for a, b in zip(before, net.get_weights()):  # the original never changes
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(copy.get_layer("fc").kernel.numpy(), before[-4])


def test_clone_refuses_a_model_it_cannot_line_up():
    class Odd(keras.layers.Layer):  # makes a different number of weights on every build
        count = 0

        def build(self, shape):
            Odd.count += 1
            for k in range(Odd.count):
                self.add_weight(shape=(2,), name=f"w{k}")

        def call(self, x):
            return x

    inp = keras.Input((2,))
    net = keras.Model(inp, Odd(name="odd")(inp))
    with pytest.raises(ValueError, match="odd|weights"):
        _weights.clone(net)


def test_randomize_draws_a_scale_matched_truncated_normal_in_blocks(monkeypatch):
    monkeypatch.setattr(_weights, "_CHUNK", 1000)  # 76800 values: many blocks
    net = _net(seed=4)
    layer = net.get_layer("fc")
    old = layer.kernel.numpy().copy()
    old_bias = layer.bias.numpy().copy()  # zeros: no spread to match
    _weights.randomize(layer, np.random.default_rng(5))
    new = layer.kernel.numpy()
    s = old.std()
    assert abs(new.std() - 0.88 * s) < 0.03 * s  # N(0, s^2) cut at 2s has sd 0.880 s
    assert np.abs(new).max() <= 2 * s * (1 + 1e-6) and abs(new.mean()) < 0.02 * s
    assert np.mean(np.abs(new) > 1.99 * s) < 0.005  # truncated (redrawn), not clipped onto the cut (4.6 %)
    assert len(np.unique(new[:, 0])) == new.shape[0]  # every block drawn, none repeated
    bias = layer.bias.numpy()
    assert np.all(old_bias == 0) and 0 < bias.std() <= 0.05 and np.abs(bias).max() <= 0.1 + 1e-7
    again = _net(seed=4).get_layer("fc")
    _weights.randomize(again, np.random.default_rng(5))
    np.testing.assert_array_equal(again.kernel.numpy(), new)  # seeded
    assert not np.array_equal(new, old)
