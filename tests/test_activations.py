"""Activations and features: agreement with a hand-built Keras sub-model,
one cached sub-model per set of layers, batch-size invariance, shapes."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import vislib
from vislib._core import graph as _graph


def _items(fashion_data, n=5):
    x, y = fashion_data.test
    return x[:n, :, :, None].astype("float32"), y[:n]


def test_activations_match_a_hand_built_submodel(fashion, fashion_data):
    x, _ = _items(fashion_data)
    names = ["block1_conv1", "block2_pool"]
    sub = keras.Model(fashion.model.inputs, [fashion.model.get_layer(n).output for n in names])
    want = sub(x / 255.0, training=False)
    got = vislib.activations(fashion, x, names)
    assert list(got) == names
    for n, w in zip(names, want):
        assert got[n].shape == tuple(w.shape) and got[n].dtype == np.float32
        np.testing.assert_allclose(got[n], np.asarray(w), atol=1e-5)


def test_activations_build_one_submodel_and_reuse_it(fashion, fashion_data):
    x, _ = _items(fashion_data, 2)
    cache = _graph.model_cache(fashion.model)
    before = {k for k in cache if k[0] == "forward"}
    vislib.activations(fashion, x, ["block2_conv1", "block1_conv1", "block1_pool"])
    after_first = {k for k in cache if k[0] == "forward"}
    assert len(after_first - before) <= 1  # one sub-model for three layers
    fn = cache[("forward", ("block1_conv1", "block1_pool", "block2_conv1"))]
    vislib.activations(fashion, x, ["block1_pool", "block2_conv1", "block1_conv1"])  # other order
    assert {k for k in cache if k[0] == "forward"} == after_first  # cache hit, nothing new
    assert cache[("forward", ("block1_conv1", "block1_pool", "block2_conv1"))] is fn


def test_activations_single_layer_single_image_and_bad_layer(fashion, fashion_data):
    x, _ = _items(fashion_data, 1)
    out = vislib.activations(fashion, x[0], "block2_conv1")
    assert out["block2_conv1"].shape == (1, 14, 14, 64)
    with pytest.raises(ValueError, match="nope"):
        vislib.activations(fashion, x, ["nope"])
    with pytest.raises(ValueError):
        vislib.activations(fashion, x, [])


def test_features_shape_batch_invariance_and_identical_images(fashion, fashion_data):
    x, _ = _items(fashion_data, 7)
    f = vislib.features(fashion, x)
    assert f.shape == (7, 128) and f.dtype == np.float32  # fc7 width
    np.testing.assert_allclose(vislib.features(fashion, x, batch_size=2), f, atol=1e-5)
    twins = vislib.features(fashion, np.stack([x[3], x[3]]))
    # equal to float32 rounding, not bit for bit: TensorFlow's CPU convolution may sum in a
    # different order at different batch positions (plain Keras gives the same: 1.5e-8 apart
    # after block2_conv1, 6e-8 at fc7, one rounding step of values near 1)
    np.testing.assert_allclose(twins[0], twins[1], rtol=1e-6, atol=1e-7)
    want = keras.Model(fashion.model.inputs, fashion.model.get_layer("fc7").output)(x / 255.0)
    np.testing.assert_allclose(f, np.asarray(want), atol=1e-5)


def test_features_of_a_spatial_layer_are_global_average_pooled(fashion, fashion_data):
    x, _ = _items(fashion_data, 3)
    maps = vislib.activations(fashion, x, "block2_conv1")["block2_conv1"]
    f = vislib.features(fashion, x, layer="block2_conv1")
    np.testing.assert_allclose(f, maps.mean(axis=(1, 2)), atol=1e-5)
    with pytest.raises(ValueError, match="batch_size"):
        vislib.features(fashion, x, batch_size=0)
    with pytest.raises(ValueError, match="nope"):
        vislib.features(fashion, x, layer="nope")


def test_features_on_imagenet_architectures(imagenet_random):
    cm = imagenet_random
    x = np.random.default_rng(0).uniform(0, 255, (1, 224, 224, 3)).astype("float32")
    f = vislib.features(cm, x)
    width = {"vgg16": 4096, "mobilenet_v2": 1280}[cm.name]
    assert f.shape == (1, width) and f.dtype == np.float32
    want = keras.Model(cm.model.inputs, cm.model.get_layer(cm.feature_layer).output)(cm.preprocess(x), training=False)
    np.testing.assert_allclose(f, np.asarray(want), rtol=1e-4, atol=1e-5)   # float32, two graphs
    a = vislib.activations(cm, x, [cm.first_conv, cm.last_conv])
    assert a[cm.first_conv].shape[1] > a[cm.last_conv].shape[1]  # spatial size shrinks
    assert a[cm.first_conv].shape[-1] < a[cm.last_conv].shape[-1]  # channels grow


def test_plot_activations_grid(fashion, fashion_data):
    import matplotlib.pyplot as plt
    x, _ = _items(fashion_data, 1)
    maps = vislib.activations(fashion, x, "block1_conv1")["block1_conv1"]
    fig = vislib.plot_activations(maps[0], max_channels=10, ncols=5)
    (ax,) = fig.axes                                   # one mosaic: 2 rows of 5 maps, one label each
    mosaic = ax.images[0].get_array()
    assert [t.get_text() for t in ax.texts] == [str(c) for c in range(10)]
    assert mosaic.shape[0] > 2 * maps.shape[1] and mosaic.shape[1] > 5 * maps.shape[2]
    assert float(mosaic.min()) == 0.0 and float(mosaic.max()) == 1.0   # each map scaled to [0, 1]
    plt.close(fig)
    with pytest.raises(ValueError, match="out of range"):
        vislib.plot_activations(maps[0], channels=[40])
    with pytest.raises(ValueError):
        vislib.plot_activations(maps[0, ..., 0])  # one map (h, w), not (h, w, k)


def test_compiled_forward_equals_the_eager_one_for_any_batch_size(fashion, fashion_data):
    from vislib._core import graph as _graph
    x = np.asarray(fashion.preprocess(_items(fashion_data, 7)[0]), np.float32)
    layers = (fashion.last_conv, fashion.feature_layer)
    (a, f), z = _graph.forward(fashion.model, layers)(x)
    run = _graph.compiled_forward(fashion.model, layers)
    assert run is _graph.compiled_forward(fashion.model, layers)          # built once, cached
    for n in (7, 3, 1):                                                    # one trace, any batch size
        (ca, cf), cz = run(x[:n].astype(np.float64))                       # inputs are cast to float32
        for eager, comp in ((a, ca), (f, cf), (z, cz)):
            np.testing.assert_allclose(np.asarray(comp), np.asarray(eager)[:n], rtol=1e-4, atol=1e-4)
    probs = np.asarray(_graph.compiled_call(fashion.model)(x))
    np.testing.assert_allclose(probs, np.asarray(fashion.model(x, training=False)), atol=1e-5)


def test_batch_sizes_for_forward_and_gradient_passes(vgg16_random):
    from vislib._core import graph as _graph
    m = vgg16_random.model
    fwd, grad = _graph.batch_size_for(m, 1024, kind="forward"), _graph.batch_size_for(m, 1024, kind="gradient")
    # at the same budget: a gradient pass keeps every activation, a compiled forward pass a few
    assert 1 <= grad < fwd <= 256
    assert _graph.batch_size_for(m, kind="forward") < fwd                 # default budget 96 MB < 1024
    with pytest.raises(ValueError, match="forward"):
        _graph.batch_size_for(m, kind="backward")


def test_activations_and_features_on_the_real_efficientnet_lite0(lite0, lite0_photos):
    # BatchNorm, ReLU6, depthwise convs and residual sums, with real weights, on two photos
    x = lite0_photos[0][[3, 5]]                                  # rocket, flower
    layers = ["stem_activation", "block2b_add", "top_activation", "avg_pool"]
    a = vislib.activations(lite0, x, layers)
    assert a["stem_activation"].shape == (2, 112, 112, 32) and a["top_activation"].shape == (2, 7, 7, 1280)
    for name in ("stem_activation", "top_activation"):           # ReLU6 outputs
        assert a[name].min() >= 0 and a[name].max() <= 6
    assert a["block2b_add"].min() < 0                             # a residual sum is no activation
    want = keras.Model(lite0.model.inputs, [lite0.model.get_layer(n).output for n in layers])(lite0.preprocess(x))
    for name, w in zip(layers, want):
        np.testing.assert_allclose(a[name], np.asarray(w), atol=1e-4, rtol=1e-4)
    f = vislib.features(lite0, x)                                 # the profile's feature layer: avg_pool
    assert f.shape == (2, 1280)
    np.testing.assert_allclose(f, a["top_activation"].mean(axis=(1, 2)), atol=1e-5)
    np.testing.assert_allclose(vislib.features(lite0, x, batch_size=1), f, atol=1e-5)
    # the 4 all-zero stem filters (lesson 01) give channels that are zero on every photo (lesson 03)
    dead = np.flatnonzero(a["stem_activation"].max(axis=(0, 1, 2)) == 0)
    kernel = lite0.model.get_layer("stem_conv").kernel.numpy()
    assert len(dead) == 4 and np.abs(kernel[..., dead]).max() < 1e-6


def test_features_of_a_layer_with_3d_output_are_its_flattened_values_by_hand():
    """A Conv1D layer's (N, steps, filters) output is flattened to (N, steps * filters) in
    row-major order; the 1-D convolution is written out in numpy from the layer's weights.
    Kills: a reshape to (N, 0) (the only non-spatial, non-vector branch of features())."""
    rng = np.random.default_rng(0)
    inp = keras.Input((6, 4, 2))
    h = keras.layers.Reshape((12, 4), name="rows")(inp)                 # 12 steps of 4 values
    h = keras.layers.Conv1D(3, 3, name="c1d")(h)                        # (10, 3)
    out = keras.layers.Dense(2, activation="softmax", name="predictions")(keras.layers.Flatten()(h))
    model = keras.Model(inp, out)
    k = rng.normal(0, 1, (3, 4, 3)).astype("float32")
    kb = rng.normal(0, 1, 3).astype("float32")
    model.get_layer("c1d").set_weights([k, kb])
    x = rng.uniform(0, 1, (3, 6, 4, 2)).astype("float32")
    seq = x.astype(np.float64).reshape(3, 12, 4)
    want = np.stack([sum(seq[:, t + d] @ k[d].astype(np.float64) for d in range(3)) + kb for t in range(10)], 1)
    got = vislib.features(model, x, layer="c1d")
    assert got.shape == (3, 30) and got.dtype == np.float32
    # float32 network vs float64 numpy over 12 multiply-adds of O(1) values: error ~1e-6
    np.testing.assert_allclose(got, want.reshape(3, 30), rtol=1e-5, atol=1e-5)
