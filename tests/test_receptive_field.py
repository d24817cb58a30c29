"""Receptive fields: known values on the ImageNet architectures, and exact
agreement with the non-zero support of one unit's input gradient."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import vislib
from vislib.representation.receptive_field import ReceptiveField, box, receptive_field


def _positive_linear_copy(model: keras.Model) -> keras.Model:
    """Same geometry, no cancellation: every path from a pixel to a unit has a
    positive weight, so the gradient support is exactly the receptive field
    (max pooling -> average pooling, activations -> identity, kernels -> means)."""

    def clone(layer):
        cfg = layer.get_config()
        if isinstance(layer, keras.layers.MaxPooling2D):
            return keras.layers.AveragePooling2D.from_config(cfg)
        if isinstance(layer, (keras.layers.ReLU, keras.layers.Activation)):
            return keras.layers.Activation("linear", name=cfg["name"])
        if "activation" in cfg:
            cfg["activation"] = "linear"
        return layer.__class__.from_config(cfg)

    copy = keras.models.clone_model(model, clone_function=clone)
    for layer in copy.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        if isinstance(layer, keras.layers.BatchNormalization):
            continue  # fresh BN is a positive scale at inference
        new = []
        for w in weights:
            if w.ndim >= 2:  # kernels: a positive average
                fan_in = int(np.prod(w.shape[:-1])) if not isinstance(layer, keras.layers.DepthwiseConv2D) \
                    else int(np.prod(w.shape[:2]))
                new.append(np.full_like(w, 1.0 / fan_in))
            else:
                new.append(np.zeros_like(w))
        layer.set_weights(new)
    return copy


def _gradient_support(model: keras.Model, layer: str, i: int, j: int, channel: int = 0) -> tuple[int, int, int, int]:
    sub = keras.Model(model.inputs, model.get_layer(layer).output)
    h, w, c = model.inputs[0].shape[1:]
    x = tf.Variable(np.random.default_rng(0).uniform(0.5, 1.0, (1, h, w, c)).astype(np.float32))
    with tf.GradientTape() as tape:
        out = sub(x, training=False)[0, i, j, channel]
    g = np.abs(np.asarray(tape.gradient(out, x)))[0].sum(-1)
    rows, cols = np.flatnonzero(g.sum(1) > 0), np.flatnonzero(g.sum(0) > 0)
    # the support is one solid rectangle (no holes) ...
    assert (g[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] > 0).all()
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _small_net() -> keras.Model:
    inp = keras.Input((40, 40, 1))
    x = keras.layers.Conv2D(2, 3, padding="same", name="c1")(inp)
    x = keras.layers.Conv2D(2, 5, strides=2, padding="valid", name="c2")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="p1")(x)
    x = keras.layers.ZeroPadding2D(((1, 0), (2, 1)), name="zp")(x)
    x = keras.layers.Conv2D(2, 3, dilation_rate=2, padding="same", name="c3")(x)
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same", name="dw")(x)
    x = keras.layers.Flatten(name="flat")(x)
    out = keras.layers.Dense(3, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="small")


def test_vgg16_known_sizes(vgg16_random):
    known = {"block1_conv1": 3, "block1_conv2": 5, "block2_conv2": 14, "block3_conv3": 40,
             "block4_conv3": 92, "block5_conv3": 196}
    for layer, size in known.items():
        rf = vislib.receptive_field(vgg16_random, layer)
        assert rf.size == (size, size), layer
    rf = vislib.receptive_field(vgg16_random, "block5_conv3")
    assert rf.jump == (16, 16) and rf.map_size == (14, 14)


def test_branching_nets_known_sizes(mobilenet_random, resnet_random):
    # published values (Araujo et al. 2019, Distill): MobileNetV2 491, ResNet50 483
    assert receptive_field(mobilenet_random, "out_relu").size == (491, 491)
    assert receptive_field(resnet_random, "conv5_block3_out").size == (483, 483)
    assert receptive_field(resnet_random, "conv5_block3_out").jump == (32, 32)


@pytest.mark.parametrize("layer,unit", [("c1", (5, 7)), ("c2", (0, 3)), ("p1", (4, 2)),
                                        ("zp", (1, 2)), ("c3", (3, 5)), ("dw", (2, 1)), ("dw", (0, 0))])
def test_matches_gradient_support_small_net(layer, unit):
    net = _positive_linear_copy(_small_net())
    rf = receptive_field(net, layer)
    assert _gradient_support(net, layer, *unit) == box(rf, *unit)


def test_matches_gradient_support_vgg16():
    keras.utils.set_random_seed(0)
    vgg = keras.applications.VGG16(weights=None, include_top=False, input_shape=(224, 224, 3))
    net = _positive_linear_copy(vgg)
    rf = receptive_field(net, "block5_conv3")
    assert rf.size == (196, 196)
    for unit in [(7, 7), (2, 11)]:
        got = _gradient_support(net, "block5_conv3", *unit)
        assert got == box(rf, *unit), unit
    # the unclipped field of the central unit is 196 wide and clipping is what cuts it
    y0, y1, x0, x1 = box(rf, 7, 7, clip=False)
    assert (y1 - y0, x1 - x0) == (196, 196)


def test_matches_gradient_support_mobilenet():
    keras.utils.set_random_seed(0)
    net = _positive_linear_copy(keras.applications.MobileNetV2(weights=None, include_top=False,
                                                               input_shape=(96, 96, 3)))
    for layer, unit in [("block_2_add", (10, 3)), ("block_6_project", (3, 4))]:
        rf = receptive_field(net, layer)
        assert _gradient_support(net, layer, *unit) == box(rf, *unit), layer


def test_fashion_field_contains_all_influence(fashion):
    """On the trained model: pixels outside a unit's field do not change it."""
    layer = "block2_conv1"
    rf = receptive_field(fashion, layer)
    assert rf.size == (8, 8) and rf.jump == (2, 2)
    images, _, _ = vislib.examples(fashion, 2)
    acts = vislib.activations(fashion, images, layer)[layer]
    i, j = 5, 6
    y0, y1, x0, x1 = box(rf, i, j)
    masked = np.zeros_like(images)
    masked[:, y0:y1, x0:x1] = images[:, y0:y1, x0:x1]
    again = vislib.activations(fashion, masked, layer)[layer]
    np.testing.assert_allclose(again[:, i, j], acts[:, i, j], rtol=1e-5, atol=1e-5)
    assert not np.allclose(again, acts)  # other units did change


def test_box_clips_and_checks():
    rf = ReceptiveField("l", (10, 10), (4, 4), (-3, -3), (28, 28), (7, 7))
    assert box(rf, 0, 0) == (0, 7, 0, 7)
    assert box(rf, 0, 0, clip=False) == (-3, 7, -3, 7)
    assert box(rf, 6, 6) == (21, 28, 21, 28)
    with pytest.raises(ValueError, match="outside"):
        box(rf, 7, 0)
    # a unit of a zero-padding row sees no pixel at all
    pad = ReceptiveField("zp", (3, 3), (4, 4), (-8, 0), (28, 28), (9, 7))
    y0, y1, x0, x1 = box(pad, 0, 0)
    assert y1 == y0 and (x0, x1) == (0, 3)


def test_bad_layers(fashion):
    with pytest.raises(ValueError, match="valid choices"):
        receptive_field(fashion, "nope")
    with pytest.raises(ValueError, match="valid choices"):
        receptive_field(fashion, "fc7")  # not spatial


def test_efficientnet_lite0_fields_through_depthwise_convs_and_adds():
    """EfficientNet-Lite0's geometry (stem 3x3/2, then depthwise 3x3 and 5x5 convs, strides 2 with
    TensorFlow's asymmetric "same" padding, residual Adds, 1x1 projections): the computed field of
    one unit equals the support of its input gradient. Built at 448x448 (960x960 for top_conv) so
    that a central unit's field fits inside the image whole (851 pixels at top_conv)."""
    from vislib.models import efficientnet
    keras.utils.set_random_seed(0)
    known = {448: {"block3b_add": (67, 8), "block4c_add": (147, 16), "block5c_add": (339, 16)},
             960: {"top_conv": (851, 32)}}
    for size_in, layers in known.items():
        net = _positive_linear_copy(efficientnet.build((size_in, size_in, 3))[0])
        for layer, (size, jump) in layers.items():
            rf = receptive_field(net, layer)
            assert (rf.size, rf.jump) == ((size, size), (jump, jump)), layer
            h = rf.map_size[0]
            central = (h // 2, h // 2 - 1)
            y0, y1, x0, x1 = box(rf, *central)
            assert (y1 - y0, x1 - x0) == (size, size)  # the whole field, inside the image
            for unit in [central, (1, h - 2)]:  # and one whose field the image border clips
                assert _gradient_support(net, layer, *unit) == box(rf, *unit), (layer, unit)
    # the same field on the real network at its own 224x224 input
    assert receptive_field(efficientnet.build()[0], "top_activation").size == (851, 851)


# ------------------------------------------- known answers (mutation survivors, issue 25)
def test_center_of_a_padded_strided_non_square_field_by_hand():
    """ZeroPadding2D((2, 0), (1, 0)) then a (3, 5) conv with strides (2, 3): size (3, 5), jump (2, 3),
    start (-2, -1), so by hand centre(i, j) = (-2 + 2 i + (3 - 1) / 2, -1 + 3 j + (5 - 1) / 2)."""
    inp = keras.Input((9, 11, 1))
    x = keras.layers.ZeroPadding2D(((2, 0), (1, 0)), name="zp")(inp)
    out = keras.layers.Conv2D(1, (3, 5), strides=(2, 3), name="c")(x)
    rf = receptive_field(keras.Model(inp, out), "c")
    assert (rf.size, rf.jump, rf.start) == ((3, 5), (2, 3), (-2, -1))
    for i, j in [(0, 0), (1, 2), (4, 2)]:
        assert rf.center(i, j) == (-2 + 2 * i + 1.0, -1 + 3 * j + 2.0)


def _cropping_net() -> keras.Model:
    inp = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(1, 3, strides=2, name="c1")(inp)               # size 3, jump 2, start 0
    x = keras.layers.Cropping2D(((1, 0), (2, 1)), name="crop")(x)          # start + crop x jump = (2, 4)
    out = keras.layers.Conv2D(1, 3, name="c2")(x)                          # size 3 + 2 x 2 = 7
    return keras.Model(inp, out)


@pytest.mark.parametrize("unit", [(0, 0), (2, 1), (3, 1)])
def test_cropping_moves_the_field_by_crop_times_jump(unit):
    """Kills: the crop divided by the jump instead of multiplied (jump 2 here)."""
    net = _cropping_net()
    rf = receptive_field(net, "c2")
    assert (rf.size, rf.jump, rf.start) == ((7, 7), (2, 2), (2, 4))        # by hand, see _cropping_net
    assert _gradient_support(_positive_linear_copy(net), "c2", *unit) == box(rf, *unit)


@pytest.mark.parametrize("kernel, stride", [(3, 1), (5, 2), (2, 2), (4, 2)])
def test_same_padding_with_unknown_input_size_equals_a_size_divisible_by_the_stride(kernel, stride):
    """Input (None, None, 1): TensorFlow pads max(k - s, 0) // 2 before the map when the size is a
    multiple of s; the field equals the one at 16x16 (by hand: start = -((k - s) // 2) for s <= k)."""
    def net(size):
        inp = keras.Input((size, size, 1))
        out = keras.layers.Conv2D(1, kernel, strides=stride, padding="same", name="c")(inp)
        return keras.Model(inp, out)

    pad = max(kernel - stride, 0) // 2
    fixed, unknown = receptive_field(net(16), "c"), receptive_field(net(None), "c")
    assert fixed.start == (-pad, -pad) and fixed.size == (kernel, kernel)
    assert (unknown.size, unknown.jump, unknown.start) == (fixed.size, fixed.jump, fixed.start)
    unit = (2, 3)   # the gradient support at a known size confirms the fixed-size field
    assert _gradient_support(_positive_linear_copy(net(16)), "c", *unit) == box(fixed, *unit)
