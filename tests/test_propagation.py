"""Propagation methods and their axioms: the three backward ReLU rules
(saliency, deconvnet, guided backprop), Integrated Gradients' completeness and
Layer-wise Relevance Propagation's conservation, each also against a slow
reference written out plainly here (numpy loops or TensorFlow ops on the
weights, never vislib's helpers).

Tolerances: the networks run in float32 and the references in float64, so
they differ by float32 rounding (relative ~1e-6); ``rtol=1e-4`` leaves a wide
margin (as in test_known_answers.py).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import vislib
from vislib.attribution.integrated_gradients import ig_completeness, integrated_gradients
from vislib.attribution.lrp import lrp, lrp_rules
from vislib.attribution.saliency import deconvnet
from conftest import course_from, quadrant_model, tiny_cnn
from test_known_answers import RULES, _hand_backprop, _two_relu_net

RTOL = 1e-4


def _relu(a):
    return np.maximum(a, 0.0)


def _items(fashion_data, n):
    x, _ = fashion_data.test
    return x[:n, :, :, None].astype("float32")


def _pixels(shape, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, shape).astype("float32")


# ------------------------------------------------------------------ the three backward ReLU rules
def test_deconvnet_equals_the_backward_sign_rule_by_hand():
    """Zeiler & Fergus' rule max(dy, 0) at each ReLU, no forward mask (numpy, two fused ReLUs)."""
    model, params = _two_relu_net()
    x = _pixels((4, 4, 4, 3), 2)
    t = np.array([0, 1, 2, 1])
    want = _hand_backprop(params, x, t, RULES["deconvnet"])[0]
    got = deconvnet(model, x, t, reduce=None)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-6 * np.abs(want).max())
    for other in ("plain", "guided"):   # the test tells the other rules apart
        assert np.abs(_hand_backprop(params, x, t, RULES[other])[0] - want).max() > 1e-2 * np.abs(want).max()
    np.testing.assert_allclose(deconvnet(model, x, t), np.abs(want).max(-1), rtol=RTOL,
                               atol=1e-6 * np.abs(want).max())


def _hand_conv_rule(model, x, target, rule):
    """tiny_cnn (conv-relu, max pool, conv-relu, flatten, dense) written with TensorFlow ops on its
    weights, each ReLU's gradient replaced by the rule (z: its input, dy: the signal from above)."""
    w = {layer.name: layer.get_weights() for layer in model.layers}

    @tf.custom_gradient
    def relu(z):
        def grad(dy):
            return {"deconvnet": tf.nn.relu(dy), "guided": tf.cast(z > 0, dy.dtype) * tf.nn.relu(dy),
                    "gradient": tf.cast(z > 0, dy.dtype) * dy}[rule]
        return tf.nn.relu(z), grad

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        h = relu(tf.nn.conv2d(xt, w["conv1"][0], 1, "SAME") + w["conv1"][1])
        h = tf.nn.max_pool2d(h, 2, 2, "VALID")
        h = relu(tf.nn.conv2d(h, w["conv2"][0], 1, "SAME") + w["conv2"][1])
        z = tf.matmul(tf.reshape(h, (len(x), -1)), w["predictions"][0]) + w["predictions"][1]
        score = tf.reduce_sum(z[:, target])
    return np.asarray(tape.gradient(score, xt))


@pytest.mark.parametrize("rule", ["gradient", "guided", "deconvnet"])
def test_each_relu_rule_through_conv_and_max_pooling_equals_the_hand_rule(rule):
    model = tiny_cnn()
    x = np.random.default_rng(0).uniform(0, 1, (2, 12, 12, 3)).astype("float32")
    want = _hand_conv_rule(model, x, 1, rule)
    fn = {"gradient": vislib.saliency, "guided": vislib.guided_backprop, "deconvnet": deconvnet}[rule]
    got = fn(course_from(model), x, 1, reduce=None)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-6 * np.abs(want).max())


def test_deconvnet_ignores_the_forward_relu_pattern_and_guided_backprop_does_not():
    """Shifting the biases changes which ReLUs are on: the deconvnet map (no max pooling here,
    so the forward pass enters nowhere) is unchanged, saliency's and guided backprop's change."""
    model, _ = _two_relu_net()
    shifted, _ = _two_relu_net()
    for name in ("fc1", "fc2"):
        w, b = shifted.get_layer(name).get_weights()
        shifted.get_layer(name).set_weights([w, b + np.random.default_rng(1).normal(0, 1.0, b.shape)])
    x = _pixels((3, 4, 4, 3), 5)
    a = keras.Model(model.inputs, [model.get_layer("fc1").output, model.get_layer("fc2").output])(x)
    b = keras.Model(shifted.inputs, [shifted.get_layer("fc1").output, shifted.get_layer("fc2").output])(x)
    assert any(((np.asarray(p) > 0) != (np.asarray(q) > 0)).any() for p, q in zip(a, b))  # the pattern moved
    np.testing.assert_allclose(deconvnet(shifted, x, 0, reduce=None), deconvnet(model, x, 0, reduce=None),
                               rtol=1e-6)
    other = _pixels((3, 4, 4, 3), 6)   # and another image: the same map again
    np.testing.assert_allclose(deconvnet(model, other, 0, reduce=None), deconvnet(model, x, 0, reduce=None),
                               rtol=1e-6)
    for fn in (vislib.guided_backprop, vislib.saliency):
        assert not np.allclose(fn(shifted, x, 0, reduce=None), fn(model, x, 0, reduce=None), rtol=1e-3)


def test_relu_rules_never_touch_the_callers_model_and_build_one_copy(fashion, fashion_data):
    from vislib._core.gradients import rule_model
    x = _items(fashion_data, 2)
    before = [w.copy() for w in fashion.model.get_weights()]
    layers = list(fashion.model.layers)
    m = deconvnet(fashion, x, normalize=True)
    assert m.shape == (2, 28, 28) and m.dtype == np.float32 and m.min() == 0 and m.max() == pytest.approx(1)
    assert list(fashion.model.layers) == layers
    assert all(np.array_equal(p, q) for p, q in zip(before, fashion.model.get_weights()))
    assert rule_model(fashion.model, "deconvnet") is rule_model(fashion.model, "deconvnet")
    assert rule_model(fashion.model, "gradient") is fashion.model
    copy = rule_model(fashion.model, "deconvnet")   # weights shared, not copied
    assert {id(v) for v in copy.weights} <= {id(v) for v in fashion.model.weights}


# ------------------------------------------------------------------ Integrated Gradients
def test_integrated_gradients_on_a_linear_model_is_exact_at_one_step():
    """F linear: the gradient is the weight everywhere, so IG = (x - x0) * W (any steps)."""
    from test_known_answers import _linear_net
    model, w, _ = _linear_net()
    x = _pixels((2, 4, 5, 3), 1)
    base = _pixels((4, 5, 3), 3)
    t = np.array([0, 2])
    want = (x - base) * np.stack([w[..., c] for c in t])
    got = integrated_gradients(model, x, t, baseline=base, steps=1, reduce=None)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-4)
    np.testing.assert_allclose(integrated_gradients(model, x, t, baseline=base, steps=1), want.sum(-1),
                               rtol=RTOL, atol=1e-3)


def test_integrated_gradients_equals_a_plain_loop_over_the_path():
    model = tiny_cnn()
    course = course_from(model, (0.0, 1.0))
    x = np.random.default_rng(0).uniform(0, 1, (2, 12, 12, 3)).astype("float32")
    steps = 8
    w = {layer.name: layer.get_weights() for layer in model.layers}

    def logit(v):
        h = tf.nn.relu(tf.nn.conv2d(v, w["conv1"][0], 1, "SAME") + w["conv1"][1])
        h = tf.nn.max_pool2d(h, 2, 2, "VALID")
        h = tf.nn.relu(tf.nn.conv2d(h, w["conv2"][0], 1, "SAME") + w["conv2"][1])
        return tf.matmul(tf.reshape(h, (len(v), -1)), w["predictions"][0]) + w["predictions"][1]

    total = np.zeros(x.shape)
    for k in range(steps + 1):                    # trapezoid rule, baseline black (0)
        v = tf.constant(x * k / steps)
        with tf.GradientTape() as tape:
            tape.watch(v)
            score = tf.reduce_sum(logit(v)[:, 2])
        weight = (0.5 if k in (0, steps) else 1.0) / steps
        total += weight * np.asarray(tape.gradient(score, v))
    want = (x * total).sum(-1)
    got = integrated_gradients(course, x, 2, steps=steps)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-6 * np.abs(want).max())


def test_integrated_gradients_completeness_on_the_trained_model(fashion, fashion_data):
    """Sum of attributions = F(x) - F(baseline) on the target logit: within 1 % at 64 steps (pooled
    over 16 test images, trapezoid rule; single images on a kink-rich path reach a few %)."""
    x = _items(fashion_data, 16)
    rows = np.arange(len(x))
    for baseline in ("black", "blur"):
        attr = integrated_gradients(fashion, x, baseline=baseline, steps=64)
        total, delta = ig_completeness(fashion, x, baseline=baseline, steps=64)
        np.testing.assert_allclose(attr.reshape(16, -1).sum(1), total, rtol=1e-4, atol=1e-3)
        z = fashion.logits(x)
        t = z.argmax(1)
        if baseline == "black":
            np.testing.assert_allclose(delta, z[rows, t] - fashion.logits(np.zeros_like(x))[rows, t], rtol=1e-5)
        err = np.abs(total - delta).sum() / np.abs(delta).sum()
        assert err < 0.01, (baseline, err)
        assert np.median(np.abs(total - delta) / np.abs(delta)) < 0.01
    coarse, delta = ig_completeness(fashion, x, steps=4)          # the error is the quadrature's
    fine, _ = ig_completeness(fashion, x, steps=64)
    assert np.abs(fine - delta).sum() < 0.5 * np.abs(coarse - delta).sum()


def test_integrated_gradients_baselines_target_and_smoothgrad(fashion, fashion_data):
    from vislib.attribution.integrated_gradients import baseline_images
    x = _items(fashion_data, 3)
    course = vislib.as_course(fashion)
    u1, u2 = (baseline_images(course, x, "uniform", seed=s) for s in (0, 0))
    assert np.array_equal(u1, u2) and u1.min() >= 0 and u1.max() <= 255
    blur = baseline_images(course, x, "blur")
    assert blur.shape == x.shape and blur.std() < x.std()
    top = fashion.predict(x).argmax(1)
    np.testing.assert_allclose(integrated_gradients(fashion, x, steps=8),
                               integrated_gradients(fashion, x, top, steps=8), rtol=1e-6)
    # a black array baseline is the "black" baseline
    np.testing.assert_allclose(integrated_gradients(fashion, x, baseline=np.zeros((28, 28, 1)), steps=8),
                               integrated_gradients(fashion, x, steps=8), rtol=1e-6)
    sg = vislib.smoothgrad(fashion, x, method=integrated_gradients, samples=2, steps=8)
    assert sg.shape == (3, 28, 28) and sg.dtype == np.float32 and np.isfinite(sg).all()


# ------------------------------------------------------------------ LRP
def _lrp_by_hand(params, x, t, rules, eps=1e-6, low=0.0, high=255.0):
    """LRP through the dense net of _two_relu_net written as loops over units (float64), rules per
    layer from the top. Returns (relevance at the pixels (N, 48), relevance the biases and
    epsilon absorbed per image)."""
    w1, b1, w2, b2, w3, b3 = params
    out = np.zeros((len(x), 48))
    absorbed = np.zeros(len(x))
    for n in range(len(x)):
        a0 = x[n].reshape(-1).astype(np.float64)
        a1 = _relu(a0 @ w1 + b1)
        a2 = _relu(a1 @ w2 + b2)
        z3 = a2 @ w3 + b3
        r = np.zeros(len(z3))
        r[t[n]] = z3[t[n]]
        for (w, b, a), rule in zip(((w3, b3, a2), (w2, b2, a1), (w1, b1, a0)), rules):
            below = np.zeros(len(a))
            for k in range(w.shape[1]):
                if rule == "epsilon":
                    contrib = [a[j] * w[j, k] for j in range(len(a))]
                    z = sum(contrib) + b[k]
                    z += eps if z >= 0 else -eps
                    absorbed[n] += r[k] * (z - sum(contrib)) / z
                elif rule == "zplus":
                    contrib = [max(a[j] * w[j, k], 0.0) for j in range(len(a))]
                    z = sum(contrib)
                else:   # zb
                    contrib = [a[j] * w[j, k] - low * max(w[j, k], 0) - high * min(w[j, k], 0)
                               for j in range(len(a))]
                    z = sum(contrib)
                for j in range(len(a)):
                    below[j] += contrib[j] / z * r[k] if z != 0 else 0.0
            r = below
        out[n] = r
    return out, absorbed


@pytest.mark.parametrize("preset, rules", [("epsilon", ("epsilon",) * 3), ("zplus", ("zplus",) * 3),
                                           ("zb", ("epsilon", "epsilon", "zb")),
                                           ("composite", ("epsilon", "epsilon", "zb"))])
def test_lrp_equals_the_rules_written_as_loops(preset, rules):
    model, params = _two_relu_net()
    course = course_from(model, (0.0, 255.0))
    x = _pixels((3, 4, 4, 3), 2)
    t = np.array([0, 1, 2])
    want, absorbed = _lrp_by_hand(params, x, t, rules)
    got = lrp(course, x, t, rule=preset, reduce=None)
    np.testing.assert_allclose(got.reshape(3, -1), want, rtol=RTOL, atol=1e-6 * np.abs(want).max())
    z = model.predict(x, verbose=0)   # probabilities; the logits by hand:
    w1, b1, w2, b2, w3, b3 = params
    logit = _relu(_relu(x.reshape(3, -1) @ w1 + b1) @ w2 + b2) @ w3 + b3
    f = logit[np.arange(3), t]
    if preset == "epsilon":   # conservation up to what the biases and epsilon absorb, exactly
        np.testing.assert_allclose(got.reshape(3, -1).sum(1) + absorbed, f, rtol=1e-4)
        assert np.abs(absorbed).max() > 1e-3 * np.abs(f).max()   # the biases do absorb here
    assert z.shape == (3, 3)


def _bias_free(model):
    for layer in model.layers:
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(np.zeros(layer.bias.shape, "float32"))
    return model


def _residual_bn_net(zero_shift=True):
    """Conv -> BatchNorm -> ReLU6 -> depthwise -> BatchNorm -> ReLU6, residual Add, max pool, GAP,
    Dense: the EfficientNet-Lite parts. zero_shift: BatchNorm's beta = mean * gamma / sigma, so the
    folded layers have no bias."""
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(0)
    inp = keras.Input((10, 10, 3))
    h = keras.layers.Conv2D(4, 3, padding="same", use_bias=False, name="conv")(inp)
    a = keras.layers.ReLU(6.0, name="act1")(keras.layers.BatchNormalization(name="bn1")(h))
    h = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(a)
    b = keras.layers.ReLU(6.0, name="act2")(keras.layers.BatchNormalization(name="bn2")(h))
    h = keras.layers.MaxPooling2D(name="pool")(keras.layers.Add(name="add")([a, b]))
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    model = keras.Model(inp, keras.layers.Dense(3, activation="softmax", use_bias=False, name="predictions")(h))
    model.get_layer("conv").set_weights([rng.normal(0, 1, (3, 3, 3, 4))])
    model.get_layer("dw").set_weights([rng.normal(0, 1, (3, 3, 4, 1))])
    for name in ("bn1", "bn2"):
        gamma, mean, var = rng.uniform(0.5, 2, 4), rng.normal(0, 1, 4), rng.uniform(0.5, 2, 4)
        beta = mean * gamma / np.sqrt(var + 1e-3) if zero_shift else rng.normal(0, 1, 4)
        model.get_layer(name).set_weights([gamma, beta, mean, var])
    model.get_layer("predictions").set_weights([rng.normal(0, 1, (4, 3))])
    return model


def test_lrp_conserves_exactly_without_biases_through_batchnorm_add_and_pooling():
    course = course_from(_residual_bn_net(), (0.0, 1.0))
    x = np.random.default_rng(1).uniform(0, 1, (3, 10, 10, 3)).astype("float32")
    z = course.logits(x)
    t = np.abs(z).argmax(1)
    f = z[np.arange(3), t]
    r = lrp(course, x, t, rule="epsilon", epsilon=0.0)
    np.testing.assert_allclose(r.reshape(3, -1).sum(1), f, rtol=1e-4)
    # with shifts (biases after folding) relevance leaks, the less the smaller epsilon is not
    leaky = course_from(_residual_bn_net(zero_shift=False), (0.0, 1.0))
    zl = leaky.logits(x)
    tl = np.abs(zl).argmax(1)
    rl = lrp(leaky, x, tl, rule="epsilon", epsilon=0.0)
    assert np.abs(rl.reshape(3, -1).sum(1) - zl[np.arange(3), tl]).max() > 1e-3 * np.abs(zl).max()


def test_lrp_folds_batchnorm_into_the_conv_before_it():
    """The BatchNorm net against the same net with gamma / sigma and the shift folded by hand."""
    model = _residual_bn_net(zero_shift=False)
    inp = keras.Input((10, 10, 3))
    h = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inp)
    a = keras.layers.ReLU(6.0, name="act1")(h)
    h = keras.layers.DepthwiseConv2D(3, padding="same", name="dw")(a)
    b = keras.layers.ReLU(6.0, name="act2")(h)
    h = keras.layers.GlobalAveragePooling2D(name="gap")(keras.layers.MaxPooling2D(name="pool")(
        keras.layers.Add(name="add")([a, b])))
    folded = keras.Model(inp, keras.layers.Dense(3, activation="softmax", use_bias=False, name="predictions")(h))
    for conv, bn in (("conv", "bn1"), ("dw", "bn2")):
        (k,) = model.get_layer(conv).get_weights()
        gamma, beta, mean, var = model.get_layer(bn).get_weights()
        scale = gamma / np.sqrt(var + model.get_layer(bn).epsilon)
        k = k * (scale if conv == "conv" else scale.reshape(1, 1, 4, 1))
        folded.get_layer(conv).set_weights([k, beta - mean * scale])
    folded.get_layer("predictions").set_weights(model.get_layer("predictions").get_weights())
    x = np.random.default_rng(1).uniform(0, 1, (2, 10, 10, 3)).astype("float32")
    a_, b_ = course_from(model), course_from(folded)
    np.testing.assert_allclose(a_.logits(x), b_.logits(x), rtol=1e-4, atol=1e-4)
    for rule in ("epsilon", "zplus", "composite"):
        want = lrp(b_, x, 1, rule=rule, epsilon=0.01)
        np.testing.assert_allclose(lrp(a_, x, 1, rule=rule, epsilon=0.01), want, rtol=1e-3,
                                   atol=1e-5 * np.abs(want).max())


def test_lrp_on_the_course_models(fashion, fashion_gap, fashion_data):
    x = _items(fashion_data, 6)
    for course in (fashion, fashion_gap):
        z = course.logits(x)
        t = z.argmax(1)
        f = z[np.arange(6), t]
        assert (f > 0).all()
        plus = lrp(course, x, rule="zplus")
        assert plus.shape == (6, 28, 28) and plus.dtype == np.float32
        assert plus.min() >= 0                                     # z+ keeps the sign of the score
        assert (plus.reshape(6, -1).sum(1) <= f * (1 + 1e-4)).all()  # and never creates relevance
        comp = lrp(course, x, t, rule="composite")
        assert np.abs(comp.reshape(6, -1).sum(1) / f - 1).max() < 0.25  # the biases absorb a little
        # LRP-eps with eps -> 0 and gradient x input: equal up to what the biases absorb (Ancona et al.)
        eps = lrp(course, x, rule="epsilon", epsilon=1e-9)
        gi = (vislib.saliency(course, x, reduce=None) * x).sum(-1)
        np.testing.assert_allclose(eps, gi, rtol=1e-3, atol=1e-4 * np.abs(gi).max())
    assert set(lrp_rules(fashion, "composite").values()) == {"zb", "zplus", "epsilon"}
    assert lrp_rules(fashion, "composite")["block1_conv1"] == "zb"


def test_lrp_on_vgg16_conserves_with_its_zero_biases(vgg16_random):
    x = _pixels((1, 224, 224, 3), 4)
    z = vgg16_random.logits(x)
    t = int(z.argmax())
    plus = lrp(vgg16_random, x, rule="zplus")
    assert plus.min() >= 0
    assert plus.sum() == pytest.approx(float(z[0, t]), rel=1e-3)   # Keras' initial biases are zero


def test_lrp_never_touches_the_callers_model(fashion, fashion_data):
    x = _items(fashion_data, 2)
    before = [w.copy() for w in fashion.model.get_weights()]
    lrp(fashion, x, rule="composite")
    integrated_gradients(fashion, x, steps=2)
    assert all(np.array_equal(p, q) for p, q in zip(before, fashion.model.get_weights()))


# ------------------------------------------------------------------ bad options
def test_bad_options_raise_value_errors_naming_the_choices(fashion, fashion_data):
    x = _items(fashion_data, 1)
    with pytest.raises(ValueError, match="Lambda.*supported layer types"):
        lrp(course_from(quadrant_model()), np.zeros((1, 16, 16, 3), "float32"), 0)
    with pytest.raises(ValueError, match="unknown rule 'alpha2'.*valid choices"):
        lrp(fashion, x, rule="alpha2")
    with pytest.raises(ValueError, match="rule of layer 'fc6'.*valid choices"):
        lrp(fashion, x, rule={"fc6": "gamma"})
    with pytest.raises(ValueError, match="unknown linear layer 'conv9'.*valid choices"):
        lrp(fashion, x, rule={"conv9": "zplus"})
    with pytest.raises(ValueError, match="'zb'.*'fc6'.*block1_conv1"):
        lrp(fashion, x, rule={"fc6": "zb"})
    with pytest.raises(ValueError, match="epsilon"):
        lrp(fashion, x, epsilon=-1)
    with pytest.raises(ValueError, match="unbounded"):
        model, _ = _two_relu_net()
        lrp(model, _pixels((1, 4, 4, 3)), 0, rule="zb")
    for fn in (lrp, integrated_gradients):
        with pytest.raises(ValueError, match="unknown reduce 'max'.*valid choices"):
            fn(fashion, x, reduce="max")
        with pytest.raises(ValueError, match="normalize"):
            fn(fashion, x, reduce=None, normalize=True)
    with pytest.raises(ValueError, match="unknown baseline 'gray'.*valid choices"):
        integrated_gradients(fashion, x, baseline="gray")
    with pytest.raises(ValueError, match="steps"):
        integrated_gradients(fashion, x, steps=0)
    with pytest.raises(ValueError, match="unknown integration 'simpson'.*valid choices"):
        integrated_gradients(fashion, x, integration="simpson")
    with pytest.raises(ValueError, match="baseline has 2 images"):
        integrated_gradients(fashion, x, baseline=np.zeros((2, 28, 28, 1)))
    with pytest.raises(ValueError, match="unknown reduce 'sum'.*valid choices"):
        deconvnet(fashion, x, reduce="sum")
    from vislib._core.gradients import rule_model
    with pytest.raises(ValueError, match="unknown rule 'zeiler'.*valid choices"):
        rule_model(fashion.model, "zeiler")


def test_deconvnet_through_activation_layers_and_relu_ops():
    """The same two-ReLU net built with separate Activation("relu") and keras.ops.relu rectifiers
    (ResNet50's and hand-written models' style) gets the same rule as the fused one."""
    fused, params = _two_relu_net()
    inp = keras.Input((4, 4, 3), name="input")
    h = keras.layers.Dense(6, name="fc1")(keras.layers.Flatten()(inp))
    h = keras.layers.Dense(5, name="fc2")(keras.layers.Activation("relu", name="act1")(h))
    out = keras.layers.Dense(3, activation="softmax", name="predictions")(keras.ops.relu(h))
    split = keras.Model(inp, out)
    for name in ("fc1", "fc2", "predictions"):
        split.get_layer(name).set_weights(fused.get_layer(name).get_weights())
    x = _pixels((2, 4, 4, 3), 7)
    for rule, fn in (("deconvnet", deconvnet), ("guided", vislib.guided_backprop)):
        want = _hand_backprop(params, x, np.array([1, 2]), RULES[rule])[0]
        np.testing.assert_allclose(fn(split, x, [1, 2], reduce=None), want, rtol=RTOL,
                                   atol=1e-6 * np.abs(want).max())
