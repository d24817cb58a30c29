"""Gradient maps (saliency, guided backprop) and class activation maps
(CAM, Grad-CAM, counterfactual and guided Grad-CAM): properties with known answers."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

import vislib
from vislib._core import gradients as _grad
from conftest import course_from, quadrant_model, tiny_cnn
from test_known_answers import scale01   # the [0, 1] scaling written out in numpy


def _fashion_items(fashion_data, n=6):
    x, y = fashion_data.test
    return x[:n, :, :, None].astype("float32"), y[:n]


def test_saliency_shape_dtype_and_signed_option(fashion, fashion_data):
    x, _ = _fashion_items(fashion_data)
    s = vislib.saliency(fashion, x)
    assert s.shape == (6, 28, 28) and s.dtype == np.float32 and (s >= 0).all()
    g = vislib.saliency(fashion, x, reduce=None)
    assert g.shape == (6, 28, 28, 1)
    np.testing.assert_allclose(np.abs(g).max(-1), s, rtol=1e-6)


def test_saliency_of_quadrant_model_sits_in_its_quadrant():
    course = course_from(quadrant_model())
    x = np.random.default_rng(0).uniform(0, 1, (2, 16, 16, 3)).astype("float32")
    s = vislib.saliency(course, x, target=0)
    inside = s[:, :9, :9].sum()  # quadrant plus the 3x3 kernel's one-pixel halo
    assert inside / s.sum() > 0.999
    s1 = vislib.saliency(course, x, target=1)
    assert s1[:, 7:, 7:].sum() / s1.sum() > 0.999


def test_saliency_matches_a_hand_written_tape(fashion, fashion_data):
    import tensorflow as tf
    x, _ = _fashion_items(fashion_data, 2)
    target = np.array([3, 7])
    xt = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        z = vislib._core.graph.forward(fashion.model)(fashion.preprocess(xt))[1]
        score = z[0, 3] + z[1, 7]
    hand = np.abs(np.asarray(tape.gradient(score, xt))).max(-1)
    np.testing.assert_allclose(vislib.saliency(fashion, x, target), hand, rtol=1e-4, atol=1e-7)


def _one_relu_model(positive: bool) -> keras.Model:
    keras.utils.set_random_seed(1)
    inp = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv")(inp)
    out = keras.layers.Dense(2, activation="softmax", name="predictions")(keras.layers.Flatten()(h))
    model = keras.Model(inp, out)
    w, b = model.get_layer("predictions").get_weights()
    model.get_layer("predictions").set_weights([np.abs(w) if positive else w, b])
    return model


def test_guided_backprop_equals_plain_gradient_when_no_negative_gradient_reaches_a_relu():
    x = np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 1)).astype("float32")
    pos = course_from(_one_relu_model(positive=True))
    np.testing.assert_allclose(vislib.guided_backprop(pos, x, 0, reduce=None),
                               vislib.saliency(pos, x, 0, reduce=None), rtol=1e-5, atol=1e-7)
    mixed = course_from(_one_relu_model(positive=False))
    assert not np.allclose(vislib.guided_backprop(mixed, x, 0, reduce=None),
                           vislib.saliency(mixed, x, 0, reduce=None))


def _relu6_net() -> keras.Model:
    """EfficientNet-Lite's parts in miniature: conv -> BatchNorm -> ReLU6 -> depthwise conv ->
    BatchNorm -> ReLU6, a residual Add, global average pooling, Dense; weights scaled so that
    pre-activations fall below 0, inside (0, 6) and above 6 (where ReLU6 passes no gradient)."""
    keras.utils.set_random_seed(3)
    inp = keras.Input((10, 10, 3))
    h = keras.layers.Conv2D(4, 3, padding="same", use_bias=False, name="conv")(inp)
    a = keras.layers.ReLU(6.0, name="act1")(keras.layers.BatchNormalization(name="bn1")(h))
    h = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(a)
    b = keras.layers.ReLU(6.0, name="act2")(keras.layers.BatchNormalization(name="bn2")(h))
    h = keras.layers.GlobalAveragePooling2D(name="gap")(keras.layers.Add(name="add")([a, b]))
    model = keras.Model(inp, keras.layers.Dense(3, activation="softmax", name="predictions")(h))
    rng = np.random.default_rng(0)
    model.get_layer("conv").set_weights([rng.normal(0, 3, (3, 3, 3, 4))])
    model.get_layer("dw").set_weights([rng.normal(0, 1.5, (3, 3, 4, 1))])
    for name in ("bn1", "bn2"):
        model.get_layer(name).set_weights([rng.uniform(0.5, 2, 4), rng.normal(0, 2, 4),
                                           rng.normal(0, 1, 4), rng.uniform(0.5, 2, 4)])
    model.get_layer("predictions").set_weights([rng.normal(0, 1, (4, 3)), np.zeros(3)])
    return model


def _hand_guided_backprop(model: keras.Model, x: np.ndarray, target: int, upper: float | None = 6.0):
    """Guided backpropagation written out with TensorFlow ops and the model's weights: at each
    ReLU6 the gradient passes where the input lies in (0, upper) and the gradient is positive
    (Springenberg et al. 2015's rule, with ReLU6's own gate). ``upper=None``: a plain ReLU's gate."""
    import tensorflow as tf
    w = {layer.name: layer.get_weights() for layer in model.layers}

    @tf.custom_gradient
    def relu6(z):
        def grad(dy):
            keep = (z > 0) & (dy > 0)
            if upper is not None:
                keep &= z < upper
            return dy * tf.cast(keep, dy.dtype)
        return tf.clip_by_value(z, 0.0, 6.0), grad

    def bn(h, name):
        gamma, beta, mean, var = w[name]
        return (h - mean) / np.sqrt(var + model.get_layer(name).epsilon) * gamma + beta

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        a = relu6(bn(tf.nn.conv2d(xt, w["conv"][0], 1, "SAME"), "bn1"))
        b = relu6(bn(tf.nn.depthwise_conv2d(a, w["dw"][0], [1, 1, 1, 1], "SAME"), "bn2"))
        z = tf.matmul(tf.reduce_mean(a + b, axis=(1, 2)), w["predictions"][0]) + w["predictions"][1]
        score = tf.reduce_sum(z[:, target])
    return np.asarray(tape.gradient(score, xt)), np.asarray(a), np.asarray(b)


def test_guided_backprop_through_relu6_equals_the_hand_written_rule():
    model = _relu6_net()
    course = course_from(model)
    x = np.random.default_rng(1).uniform(0, 1, (3, 10, 10, 3)).astype("float32")
    ref, a, b = _hand_guided_backprop(model, x, 1)
    for act in (a, b):  # the gate has all three regimes to get right
        assert (act == 0).mean() > 0.1 and (act == 6).mean() > 0.05 and ((act > 0) & (act < 6)).mean() > 0.1
    np.testing.assert_allclose(vislib.guided_backprop(course, x, 1, reduce=None), ref, rtol=1e-4, atol=1e-6)
    # what the test tells apart: a ReLU's gate (gradient through saturated units) and no gate at all
    relu_gate, _, _ = _hand_guided_backprop(model, x, 1, upper=None)
    assert not np.allclose(relu_gate, ref, rtol=1e-3, atol=1e-5)
    assert not np.allclose(vislib.saliency(course, x, 1, reduce=None), ref, rtol=1e-3, atol=1e-5)
    # guided Grad-CAM goes through the same gates
    gg = vislib.guided_gradcam(course, x, 1, layer="add", normalize=True)
    heat = vislib.gradcam(course, x, 1, layer="add", normalize=True)
    np.testing.assert_allclose(gg, scale01(np.abs(ref).max(-1) * heat), atol=1e-5)


def test_guided_model_gates_after_every_relu6_of_efficientnet_lite0(lite0):
    relus = [layer.name for layer in lite0.model.layers if isinstance(layer, keras.layers.ReLU)]
    assert len(relus) == 33 and all(lite0.model.get_layer(n).max_value == 6 for n in relus)
    guided = _grad.rule_model(lite0.model, "guided")
    gates = [layer for layer in guided.layers if isinstance(layer, _grad.ReluRule)]
    assert sorted(g.name for g in gates) == sorted(f"{n}_guided" for n in relus)
    for g in gates:  # each gate sits right on its ReLU6's output
        assert g._inbound_nodes[0].input_tensors[0]._keras_history.operation.name == g.name[:-len("_guided")]


def test_guided_backprop_never_touches_the_callers_model(fashion, fashion_data):
    x, _ = _fashion_items(fashion_data, 3)
    before = [w.copy() for w in fashion.model.get_weights()]
    n_layers = len(fashion.model.layers)
    probs = fashion.predict(x)
    vislib.guided_backprop(fashion, x)
    assert len(fashion.model.layers) == n_layers
    assert all(np.array_equal(a, b) for a, b in zip(before, fashion.model.get_weights()))
    np.testing.assert_allclose(fashion.predict(x), probs, rtol=1e-6)
    assert _grad.rule_model(fashion.model, "guided") is _grad.rule_model(fashion.model, "guided")  # built once


def test_gradcam_shape_range_and_class_dependence(fashion, fashion_data):
    x, _ = _fashion_items(fashion_data)
    raw = vislib.gradcam(fashion, x, normalize=False)
    m = vislib.gradcam(fashion, x, normalize=True)
    assert m.shape == (6, 28, 28) and m.dtype == np.float32
    empty = raw.max(axis=(1, 2)) == 0
    assert not empty.all()
    for i in range(len(x)):   # per image: scaled to [0, 1] on its own, or all zero where the raw map is
        if empty[i]:
            assert (m[i] == 0).all()
        else:
            np.testing.assert_allclose(m[i], scale01(raw[i][None])[0], atol=1e-6)
            assert m[i].min() == 0 and np.isclose(m[i].max(), 1)
    other = vislib.gradcam(fashion, x, target=(fashion.predict(x).argmax(1) + 5) % 10, normalize=False)
    for i in range(len(x)):   # a map that is not empty for both classes changes with the class
        if raw[i].any() or other[i].any():
            assert np.abs(raw[i] - other[i]).max() > 1e-3 * max(raw[i].max(), other[i].max()), i


def test_gradcam_warns_about_the_all_zero_maps_of_the_trained_model(fashion, fashion_data):
    """On the trained fashion_cnn many top-1 Grad-CAM maps are all zero (sum_k a_k A^k <= 0 at
    every position; measured on two training runs: 53 and 55 of the first 200 test images at the
    default layer, 82 and 101 at the first conv layer). One warning per call names their number
    and the layer; the count is not hard-coded, as it depends on the training run."""
    x, _ = _fashion_items(fashion_data, 200)
    for layer in (fashion.last_conv, fashion.first_conv):
        with pytest.warns(UserWarning, match=r"gradcam: (\d+) of 200 maps are all zero") as record:
            raw = vislib.gradcam(fashion, x, layer=layer, normalize=False)
        (w,) = [r for r in record if "gradcam:" in str(r.message)]
        n_zero = int((raw.reshape(200, -1).max(1) == 0).sum())
        assert str(w.message).startswith(f"gradcam: {n_zero} of 200 maps are all zero")
        assert f"at layer {layer!r}" in str(w.message) and 0 < n_zero < 200


def test_counterfactual_gradcam_is_the_complement_at_full_resolution(fashion, fashion_data):
    x, _ = _fashion_items(fashion_data, 3)
    layer = fashion.first_conv  # 28x28: no resizing, so the supports are exactly disjoint
    pro = vislib.gradcam(fashion, x, layer=layer, normalize=False)
    con = vislib.gradcam(fashion, x, layer=layer, counterfactual=True, normalize=False)
    assert (pro * con == 0).all()
    assert (pro + con > 0).any()


def test_cam_equals_gradcam_on_global_average_pooling_models(fashion_gap, fashion_data, mobilenet_random):
    x, _ = _fashion_items(fashion_data, 4)
    np.testing.assert_allclose(vislib.cam(fashion_gap, x, normalize=True), vislib.gradcam(fashion_gap, x, normalize=True), atol=1e-4)
    photo = np.random.default_rng(0).uniform(0, 255, (1, 224, 224, 3)).astype("float32")
    np.testing.assert_allclose(vislib.cam(mobilenet_random, photo, normalize=True),
                               vislib.gradcam(mobilenet_random, photo, layer="out_relu", normalize=True), atol=1e-4)


def test_guided_gradcam_is_guided_backprop_masked_by_gradcam(fashion, fashion_data):
    x, _ = _fashion_items(fashion_data, 2)
    gg = vislib.guided_gradcam(fashion, x)
    heat = vislib.gradcam(fashion, x)
    assert gg.shape == (2, 28, 28)
    assert (gg[heat == 0] == 0).all()


def test_gradcam_runs_on_imagenet_architectures(imagenet_random):
    photo = np.random.default_rng(1).uniform(0, 255, (1, 224, 224, 3)).astype("float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # random weights: one of the two maps may be empty
        pro = vislib.gradcam(imagenet_random, photo, target=281, normalize=True)
        con = vislib.gradcam(imagenet_random, photo, target=281, counterfactual=True, normalize=True)
    assert pro.shape == con.shape == (1, 224, 224) and pro.dtype == con.dtype == np.float32
    full = [m for m in (pro, con) if m.any()]
    assert full                                                  # ReLU(s) and ReLU(-s): not both empty
    for m in full:
        assert m.min() == 0 and m.max() == pytest.approx(1)      # scaled to [0, 1]
        # the coarse map (14x14 on VGG16, 7x7 on MobileNetV2) upsampled bilinearly by 16 or 32: neighbouring
        # pixels differ by at most 1/16 of the [0, 1] range (nearest-neighbour upsampling would jump)
        for axis in (0, 1):
            assert np.abs(np.diff(m[0], axis=axis)).max() <= 1 / 16 + 1e-4


def test_bad_input_raises_value_errors_that_name_the_choices(fashion, fashion_data):
    x, _ = _fashion_items(fashion_data, 2)
    with pytest.raises(ValueError, match="valid choices.*block2_conv1"):
        vislib.gradcam(fashion, x, layer="conv5")
    with pytest.raises(ValueError, match="out of range"):
        vislib.gradcam(fashion, x, target=10)
    with pytest.raises(ValueError, match="global average pooling"):
        vislib.cam(fashion, x)
    with pytest.raises(ValueError, match="reduce"):
        vislib.saliency(fashion, x, reduce="median")
    with pytest.raises(ValueError, match="28x28"):
        vislib.saliency(fashion, np.zeros((2, 32, 32, 1), "float32"))
    with pytest.raises(ValueError, match="range"):
        vislib.saliency(fashion, x * 10)


def test_cam_name_stays_the_function_after_submodule_imports():
    import vislib.attribution.cam  # noqa: F401  (importing the module must not shadow the function)
    import vislib.attribution.saliency  # noqa: F401
    assert callable(vislib.cam) and callable(vislib.saliency)
