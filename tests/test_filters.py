"""Filters: kernel extraction, per-filter normalisation, deeper layers one
channel at a time, snapshots during training and the GIF writer."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import vislib
from vislib.representation.filters import filter_grid
from conftest import tiny_cnn


def test_first_layer_kernels_shape_and_per_filter_normalisation(fashion):
    k = vislib.filters(fashion)
    raw = fashion.model.get_layer(fashion.first_conv).kernel.numpy()  # (3, 3, 1, 32)
    assert k.shape == (32, 3, 3, 1) and k.dtype == np.float32
    assert np.allclose(k.min(axis=(1, 2, 3)), 0) and np.allclose(k.max(axis=(1, 2, 3)), 1)
    # each normalised filter is an increasing affine map of the raw one
    r = np.transpose(raw, (3, 0, 1, 2))
    for i in range(len(k)):
        expect = (r[i] - r[i].min()) / (r[i].max() - r[i].min())
        np.testing.assert_allclose(k[i], expect, atol=1e-6)
    np.testing.assert_allclose(vislib.filters(fashion, normalize=False), r, atol=0)


def test_rgb_first_layer_is_flipped_from_bgr_for_caffe_profiles(vgg16_random):
    k = vislib.filters(vgg16_random, normalize=False)
    raw = vgg16_random.model.get_layer("block1_conv1").kernel.numpy()
    assert k.shape == (64, 3, 3, 3)
    np.testing.assert_array_equal(k[5, ..., 0], raw[..., 2, 5])  # R shown first = BGR's last


def test_deeper_layer_one_channel_at_a_time(fashion):
    raw = fashion.model.get_layer("block2_conv1").kernel.numpy()  # (3, 3, 32, 64)
    k0 = vislib.filters(fashion, "block2_conv1")
    k7 = vislib.filters(fashion, "block2_conv1", channel=7, normalize=False)
    assert k0.shape == (64, 3, 3, 1) and k7.shape == (64, 3, 3, 1)
    np.testing.assert_array_equal(k7[..., 0], np.transpose(raw[:, :, 7, :], (2, 0, 1)))
    assert np.allclose(k0.max(axis=(1, 2, 3)), 1)
    assert not np.allclose(vislib.filters(fashion, "block2_conv1", channel=1), k0)


def test_depthwise_layer_of_mobilenet(mobilenet_random):
    name = next(n for n in mobilenet_random.conv_layers if "depthwise" in n)
    layer = mobilenet_random.model.get_layer(name)
    k = vislib.filters(mobilenet_random, name)
    assert k.shape == (layer.kernel.shape[2] * layer.kernel.shape[3], 3, 3, 1)
    assert vislib.filters(mobilenet_random).shape == (32, 3, 3, 3)  # Conv1


def test_bad_layer_and_channel_raise(fashion):
    with pytest.raises(ValueError, match="block1_conv1"):  # lists the conv layers
        vislib.filters(fashion, "fc7")
    with pytest.raises(ValueError, match="channel"):
        vislib.filters(fashion, "block2_conv1", channel=32)
    with pytest.raises(ValueError):
        vislib.plot_filters(np.zeros((4, 3, 3, 2)))


def test_plot_filters_and_grid(fashion):
    import matplotlib.pyplot as plt
    k = vislib.filters(fashion)
    fig = vislib.plot_filters(k, ncols=8, titles=[str(i) for i in range(len(k))])
    (ax,) = fig.axes
    assert len(ax.texts) == 32 and ax.images[0].get_array().shape[1] > 8 * k.shape[2]
    plt.close(fig)
    grid = filter_grid(k, ncols=8, scale=4, pad=1)
    assert grid.dtype == np.uint8 and grid.shape == (4 * 4 * 4 + 4, 8 * 4 * 4 + 4, 3)


def test_snapshots_follow_training_and_gif_has_all_frames(tmp_path):
    from PIL import Image
    model = tiny_cnn(size=8, channels=1, classes=2)
    vislib.models.offline.compile_classifier(model, 1e-2)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (64, 8, 8, 1)).astype("float32")
    y = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype("int64")
    snap = vislib.FilterSnapshots("conv1", every=2)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[snap])
    assert snap.labels[0] == "init" and len(snap.frames) == 1 + 2 * 2
    np.testing.assert_allclose(snap.raw[-1], vislib.filters(model, "conv1", normalize=False))
    assert not np.allclose(snap.raw[0], snap.raw[-1])  # the kernels moved
    path = vislib.save_gif(snap.frames, tmp_path / "f.gif")
    with Image.open(path) as gif:
        assert gif.n_frames == len(snap.frames)
    with pytest.raises(ValueError):
        vislib.save_gif([], tmp_path / "empty.gif")
    with pytest.raises(ValueError, match="conv layer"):
        bad = vislib.FilterSnapshots("nope")
        bad.set_model(model)
        bad.on_train_begin()


def test_dead_filter_is_drawn_flat_not_as_stretched_noise():
    model = tiny_cnn(size=8, channels=3, classes=2)
    conv = model.get_layer("conv1")
    kernel, bias = conv.get_weights()
    kernel[..., 1] *= 1e-9                       # filter 1: rounding noise only, like a dead filter
    kernel[..., 2] = 0.0                         # filter 2: exactly zero
    conv.set_weights([kernel, bias])
    k = vislib.filters(model, "conv1")
    assert np.all(k[1] == 0.5) and np.all(k[2] == 0.5)
    for live in (0, 3):                          # the others keep their full contrast
        assert k[live].min() == 0 and np.isclose(k[live].max(), 1)
    raw = vislib.filters(model, "conv1", normalize=False)
    np.testing.assert_array_equal(raw[1], np.transpose(kernel, (3, 0, 1, 2))[1])  # raw weights untouched
    kernel[..., 1] *= 1e6                        # 1e-3 of the others: small, but a real filter
    conv.set_weights([kernel, bias])
    assert np.isclose(vislib.filters(model, "conv1")[1].max(), 1)


def test_efficientnet_lite0_stem_filters(lite0):
    raw = vislib.filters(lite0, normalize=False)                 # stem_conv: (32, 3, 3, 3), RGB
    assert raw.shape == (32, 3, 3, 3)
    span = np.ptp(raw.reshape(32, -1), axis=1)
    dead = span < 1e-5 * span.max()
    assert dead.sum() == 4                       # the real weights hold 4 all-zero filters
    k = vislib.filters(lite0)
    assert np.all(k[dead] == 0.5)
    assert np.allclose(k[~dead].min(axis=(1, 2, 3)), 0) and np.allclose(k[~dead].max(axis=(1, 2, 3)), 1)
    dw = vislib.filters(lite0, "block1a_dwconv")                 # depthwise: one input channel per filter
    assert dw.shape == (32, 3, 3, 1)
