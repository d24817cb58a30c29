"""Feature inversion, transformation-robust class models and TCAV (issue 21):
known answers on tiny networks, the properties the lessons assert on the
trained models, argument checks, the caller's model left alone, seeds."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

import vislib
from vislib.data.concepts import CONCEPTS
from vislib.representation import optimize


def _weights(model):
    return [w.copy() for w in model.get_weights()]


def _same_weights(before, model):
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ transformations
def test_transform_shift_is_a_roll_and_identity_is_identity():
    x = np.random.default_rng(0).uniform(0, 1, (2, 9, 11, 3)).astype(np.float32)
    same = optimize.transform(x, tf.constant([0.0, 0.0, 1.0, 0.0]))
    np.testing.assert_array_equal(np.asarray(same), x)
    rolled = optimize.transform(x, tf.constant([2.0, -3.0, 1.0, 0.0]))
    np.testing.assert_array_equal(np.asarray(rolled), np.roll(x, (2, -3), axis=(1, 2)))


def test_transform_rotates_about_the_centre():
    x = np.zeros((1, 9, 9, 1), np.float32)
    x[0, 1, 4] = 1.0                                      # a dot above the centre (4, 4)
    quarter = np.asarray(optimize.transform(x, tf.constant([0.0, 0.0, 1.0, np.pi / 2])))[0, ..., 0]
    y, xx = np.unravel_index(np.argmax(quarter), quarter.shape)
    assert (y, xx) in ((4, 1), (4, 7))                    # a quarter turn puts it beside the centre
    assert quarter.max() == pytest.approx(1.0, abs=1e-5)  # whole-pixel move: no blur
    zoom = np.asarray(optimize.transform(x, tf.constant([0.0, 0.0, 0.5, 0.0])))[0, ..., 0]
    assert zoom[4, 4] == 0 and zoom[:, 4].sum() > 0       # zooming out moves the dot towards the centre


def test_random_views_are_seeded_in_range_and_change_the_image():
    img = np.random.default_rng(1).uniform(0, 255, (32, 32, 3)).astype(np.float32)
    a = vislib.random_views(img, 5, jitter=3, scale=0.1, rotate=10, seed=4)
    b = vislib.random_views(img, 5, jitter=3, scale=0.1, rotate=10, seed=4)
    assert a.shape == (5, 32, 32, 3) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert a.min() >= img.min() and a.max() <= img.max()
    assert all(np.abs(v - img).mean() > 1 for v in a)
    still = vislib.random_views(img, 2, jitter=0, scale=0, rotate=0)
    np.testing.assert_array_equal(still, np.stack([img, img]))


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=0), "n"), (dict(scale=0.9), "scale"), (dict(rotate=-1), "rotate"), (dict(jitter=40), "jitter")])
def test_random_views_check_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        vislib.random_views(np.zeros((32, 32, 3), np.float32), **kwargs)


def test_random_views_takes_one_image():
    with pytest.raises(ValueError, match="one image"):
        vislib.random_views(np.zeros((2, 32, 32, 3), np.float32))


def test_fourier_image_is_in_range_and_low_frequency():
    h, w = 32, 40
    rng = np.random.default_rng(0)
    spec = tf.constant(rng.standard_normal((2, 3, h, w // 2 + 1)).astype(np.float32))
    img = np.asarray(optimize.fourier_render(spec, tf.constant(optimize.fourier_scale(h, w)), h, w))
    assert img.shape == (1, h, w, 3) and img.min() >= 0 and img.max() <= 1
    # equal-sized coefficients, 1/f scaling: more energy at low than at high frequencies
    power = np.abs(np.fft.rfft2(img[0, ..., 0] - img[0, ..., 0].mean())) ** 2
    assert power[:4, :4].sum() > power[12:20, 12:].sum()


# ------------------------------------------------------------------ class models
def test_class_model_options_are_checked(fashion):
    for kwargs, match in [(dict(param="fft"), "param"), (dict(scale=0.6), "scale"), (dict(rotate=200), "rotate"),
                          (dict(decorrelate="yes"), "decorrelate"), (dict(jitter=20), "jitter")]:
        with pytest.raises(ValueError, match=match):
            vislib.class_model(fashion, 1, steps=2, **kwargs)


def test_fourier_needs_a_pixel_range():
    inp = keras.Input((8, 8, 3))
    net = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Flatten()(inp)))
    with pytest.raises(ValueError, match="pixel range"):
        vislib.class_model(net, 0, steps=2, param="fourier")


def test_robust_class_model_raises_the_score_is_seeded_and_leaves_the_model(fashion):
    before = _weights(fashion.model)
    kw = dict(steps=40, l2=0.0, param="fourier", jitter=1, scale=0.1, rotate=10, seed=3)
    a = vislib.class_model(fashion, 7, **kw)
    b = vislib.class_model(fashion, 7, **kw)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.image.shape == (28, 28, 1) and a.image.dtype == np.uint8
    start = fashion.logits(a.frames[0].astype(np.float32))[0, 7]
    assert fashion.logits(a.image.astype(np.float32))[0, 7] > start + 5
    assert int(fashion.predict(a.image.astype(np.float32)).argmax()) == 7
    c = vislib.class_model(fashion, 7, **{**kw, "seed": 4})
    assert not np.array_equal(a.image, c.image)
    _same_weights(before, fashion.model)


def test_robust_class_model_keeps_its_class_under_random_views(fashion):
    """What the lesson asserts on every profile: the regularized class model
    is classified as its class on most of 16 random views."""
    v = vislib.class_model(fashion, 0, steps=60, l2=0.0, param="fourier", jitter=1, scale=0.1, rotate=10)
    views = vislib.random_views(v.image, 16, jitter=2, scale=0.1, rotate=10, seed=1)
    assert np.mean(fashion.predict(views).argmax(1) == 0) >= 0.75


# ------------------------------------------------------------------ inversion
def _linear_conv_model():
    """Pixels (8, 8, 1) in 0-1 -> a linear 3x3 conv with 4 filters -> 2 classes.
    Four 3x3 filters on one channel are injective, so the conv's activations
    determine the image: an inversion must give the image back."""
    inp = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(4, 3, padding="same", use_bias=False, name="lin",
                            kernel_initializer=keras.initializers.GlorotUniform(seed=0))(inp)
    out = keras.layers.Dense(2, name="head")(keras.layers.Flatten()(h))
    net = keras.Model(inp, out)
    return vislib.as_course(net), net


def test_inverting_a_linear_layer_gives_the_image_back():
    cm, net = _linear_conv_model()
    cm = dataclasses.replace(cm, pixel_range=(0.0, 1.0))    # a bare model has no known range
    img = np.random.default_rng(0).uniform(0.2, 0.8, (1, 8, 8, 1)).astype(np.float32)
    before = _weights(net)
    r = vislib.invert(cm, img, "lin", steps=400, lr=0.05, lambda_alpha=0.0, lambda_tv=0.0, jitter=0)
    assert r.images.shape == (1, 8, 8, 1)
    assert r.feature_error[0] < 0.02 and r.feature_error[0] < 0.1 * r.start_error[0]
    assert r.pixel_error[0] < 0.01                       # 1 % of the pixel range
    _same_weights(before, net)


def test_inversion_matches_features_and_deeper_layers_lose_the_pixels(fashion, fashion_data):
    images = fashion_data.test[0][:2, :, :, None].astype(np.float32)
    shallow = vislib.invert(fashion, images, "block1_conv1", steps=100)
    deep = vislib.invert(fashion, images, "fc7", steps=100)
    for r in (shallow, deep):
        assert np.all(r.feature_error < 0.5 * r.start_error)
        assert r.images.dtype == np.uint8 and r.images.shape == images.shape
        assert r.losses[-1] < r.losses[0]
    assert np.all(shallow.pixel_error < deep.pixel_error)
    again = vislib.invert(fashion, images, "block1_conv1", steps=100)
    np.testing.assert_array_equal(again.images, shallow.images)


def test_invert_checks_its_arguments(fashion):
    img = np.zeros((28, 28, 1), np.float32)
    with pytest.raises(ValueError, match="no_such_layer"):
        vislib.invert(fashion, img, "no_such_layer", steps=1)
    with pytest.raises(ValueError, match="predictions"):
        vislib.invert(fashion, img, "predictions", steps=1)       # the output layer: not a representation
    for kwargs, match in [(dict(steps=0), "steps"), (dict(alpha=0.5), "alpha"), (dict(beta=9), "beta"),
                          (dict(lambda_tv=-1), "lambda_tv"), (dict(jitter=99), "jitter")]:
        with pytest.raises(ValueError, match=match):
            vislib.invert(fashion, img, "block1_conv1", **kwargs)
    with pytest.raises(ValueError, match="28x28"):
        vislib.invert(fashion, np.zeros((20, 20, 1)), "block1_conv1", steps=1)


# ------------------------------------------------------------------ TCAV
def _direction_model():
    """Flattened 4x4 grey pixels -> 2 logits: class 1 = +(top-left 2x2 sum),
    class 0 = -(the same). A concept "bright top-left" must push class 1 up
    and class 0 down, for every image."""
    inp = keras.Input((4, 4, 1))
    # "flat": the pixels themselves (a 1x1 conv with weight 1), so the CAV lives in pixel coordinates
    feat = keras.layers.Conv2D(1, 1, use_bias=False, kernel_initializer="ones", name="flat")(inp)
    dense = keras.layers.Dense(2, use_bias=False, name="logits")
    out = dense(keras.layers.Flatten()(feat))
    u = np.zeros((16,), np.float32)
    u[[0, 1, 4, 5]] = 1.0
    dense.set_weights([np.stack([-u, u], axis=1)])
    return keras.Model(inp, out)


def _direction_data(seed=0):
    rng = np.random.default_rng(seed)
    random = rng.uniform(0, 1, (60, 4, 4, 1)).astype(np.float32)
    concept = rng.uniform(0, 1, (20, 4, 4, 1)).astype(np.float32)
    concept[:, :2, :2] += 2.0
    return random, concept, rng.uniform(0, 1, (30, 4, 4, 1)).astype(np.float32)


def test_cav_points_along_the_planted_direction():
    net = _direction_model()
    random, concept, _ = _direction_data()
    cav = vislib.concept_activation_vector(net, concept, random, "flat")
    assert cav.vector.shape == (16,) and cav.accuracy == 1.0
    assert np.linalg.norm(cav.vector) == pytest.approx(1.0, abs=1e-5)
    assert cav.vector[[0, 1, 4, 5]].min() > np.abs(np.delete(cav.vector, [0, 1, 4, 5])).max()


def test_tcav_finds_the_concept_the_model_uses():
    net = _direction_model()
    before = _weights(net)
    random, concept, images = _direction_data()
    # a linear model's class gradient is the same for every image, so each CAV scores 0 or 1 and
    # the random CAVs' scores are coin flips: 20 runs give the t-test enough of them
    up = vislib.tcav(net, images, 1, concept, random, "flat", runs=20)
    down = vislib.tcav(net, images, 0, concept, random, "flat", runs=20)
    assert up.score == 1.0 and up.significant and up.p_value < 0.01
    assert down.score == 0.0 and down.significant
    assert up.scores.shape == up.random_scores.shape == (20,)
    # random CAVs point anywhere: their scores are neither all 1 nor all 0
    assert 0 < up.random_scores.mean() < 1
    again = vislib.tcav(net, images, 1, concept, random, "flat", runs=20)
    np.testing.assert_array_equal(again.random_scores, up.random_scores)
    _same_weights(before, net)


def test_tcav_of_random_against_random_is_not_significant():
    net = _direction_model()
    random, _, images = _direction_data()
    fake = np.random.default_rng(9).uniform(0, 1, (20, 4, 4, 1)).astype(np.float32)
    r = vislib.tcav(net, images, 1, fake, random, "flat", runs=20)
    assert not r.significant and r.accuracies.mean() < 0.8


def test_tcav_checks_its_arguments():
    net = _direction_model()
    random, concept, images = _direction_data()
    with pytest.raises(ValueError, match="nope"):
        vislib.tcav(net, images, 1, concept, random, "nope")
    with pytest.raises(ValueError, match="logits"):
        vislib.tcav(net, images, 1, concept, random, "logits")
    with pytest.raises(ValueError, match="runs"):
        vislib.tcav(net, images, 1, concept, random, "flat", runs=1)
    with pytest.raises(ValueError, match="alpha"):
        vislib.tcav(net, images, 1, concept, random, "flat", alpha=2)
    with pytest.raises(ValueError, match="at least 2 x 20"):
        vislib.tcav(net, images, 1, concept, random[:30], "flat")
    with pytest.raises(ValueError, match="at least 4"):
        vislib.tcav(net, images, 1, concept[:3], random, "flat")
    with pytest.raises(ValueError, match="target|class"):
        vislib.tcav(net, images, 5, concept, random, "flat")
    with pytest.raises(ValueError, match="concept_images.*3x3 but the model expects 4x4"):
        vislib.tcav(net, images, 1, concept[:, :3, :3], random, "flat")


def test_concept_images_are_seeded_textures_in_range():
    a = vislib.concept_images("stripes", 4, 28, 1, seed=2)
    b = vislib.concept_images("stripes", 4, 28, 1, seed=2)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 28, 28, 1) and a.min() >= 0 and a.max() <= 255
    for kind in CONCEPTS:
        x = vislib.concept_images(kind, 2, (20, 30), 3, pixel_range=(0.0, 1.0))
        assert x.shape == (2, 20, 30, 3) and 0 <= x.min() and x.max() <= 1
        assert x[0].std() > 0.05                              # a texture, not a flat image
    with pytest.raises(ValueError, match="concept"):
        vislib.concept_images("spirals")
    with pytest.raises(ValueError, match="channels"):
        vislib.concept_images("dots", channels=2)
