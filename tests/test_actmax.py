"""Activation maximization and class models raise their target score, leave
the caller's model alone, and check their arguments."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import vislib
from vislib.representation.actmax import Visualization


def _weights(model):
    return [w.copy() for w in model.get_weights()]


def test_class_model_raises_target_logit(fashion):
    before = _weights(fashion.model)
    v = vislib.class_model(fashion, 7, steps=30, record_every=10)
    assert isinstance(v, Visualization)
    assert v.image.shape == (28, 28, 1) and v.image.dtype == np.uint8
    assert v.scores.shape == (30,)
    assert list(v.frame_steps) == [0, 10, 20, 30] and v.frames.shape == (4, 28, 28, 1)
    np.testing.assert_array_equal(v.frames[-1], v.image)
    start = fashion.logits(v.frames[0].astype(np.float32))[0]
    end = fashion.logits(v.image.astype(np.float32))[0]
    assert end[7] > start[7] + 5
    assert int(np.argmax(end)) == 7  # trained weights: the class model is classified as its class
    assert v.scores[-1] > v.scores[0]
    for a, b in zip(before, fashion.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_class_model_l2_shrinks_the_image(fashion):
    free = vislib.class_model(fashion, 2, steps=30, l2=0.0, blur_every=0, jitter=0)
    tied = vislib.class_model(fashion, 2, steps=30, l2=200.0, blur_every=0, jitter=0)
    assert np.mean(tied.image.astype(float) ** 2) < np.mean(free.image.astype(float) ** 2)


def test_class_model_by_hand_matches_one_step(fashion):
    """One step without jitter/blur is a normalised gradient step on S_c - l2 ||I||^2."""
    import tensorflow as tf
    v = vislib.class_model(fashion, 4, steps=1, l2=0.0, blur_every=0, jitter=0, lr=0.5)
    z = tf.Variable(np.zeros((1, 28, 28, 1), np.float32))
    with tf.GradientTape() as tape:
        s = vislib._core.graph.forward(fashion.model)(z)[1][0, 4]
    g = np.asarray(tape.gradient(s, z))
    expect = np.clip(0.5 * g / np.sqrt(np.mean(g ** 2)), 0, 1)
    np.testing.assert_array_equal(v.image, np.round(expect[0] * 255).astype(np.uint8))
    assert v.scores[0] == pytest.approx(float(s), rel=1e-5)


@pytest.mark.parametrize("layer,unit", [(None, 3), ("fc7", 5), ("block2_conv1", 5)])
def test_activation_maximization_raises_score(fashion, layer, unit):
    before = _weights(fashion.model)
    v = vislib.activation_maximization(fashion, layer, unit, steps=25, record_every=5, seed=1)
    assert v.image.shape == (28, 28, 1) and v.image.dtype == np.uint8
    assert v.scores.shape == (25,) and list(v.frame_steps) == [0, 5, 10, 15, 20, 25]
    assert v.scores[-5:].mean() > v.scores[:5].mean()
    if layer is None:
        start = fashion.logits(v.frames[0].astype(np.float32))[0, unit]
        end = fashion.logits(v.image.astype(np.float32))[0, unit]
        assert end > start + 3
    for a, b in zip(before, fashion.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert fashion.model.layers[-1].activation is keras.activations.softmax


def test_class_score_is_the_logit(fashion):
    """The recorded score is the pre-softmax logit of what the network saw (no jitter)."""
    v = vislib.activation_maximization(fashion, None, 6, steps=3, record_every=1,
                                       regularizers={}, input_modifiers={})
    # scores[k] is measured before step k's update, i.e. on frame k (frames are not quantised
    # for the score, so allow for the uint8 rounding of the displayed frame)
    logits = fashion.logits(v.frames[:3].astype(np.float32))[:, 6]
    np.testing.assert_allclose(v.scores, logits, atol=0.05)


def test_runs_on_imagenet_architecture(imagenet_random):
    cm = imagenet_random
    v = vislib.class_model(cm, 1, steps=2)
    assert v.image.shape == (224, 224, 3) and v.image.dtype == np.uint8 and len(v.scores) == 2
    layer = cm.conv_layers[2]
    v = vislib.activation_maximization(cm, layer, 0, steps=2)
    assert v.image.shape == (224, 224, 3) and np.isfinite(v.scores).all()


def test_bare_model(tiny):
    v = vislib.class_model(tiny, 1, steps=5)
    # a bare model has no display range: the image is its own float input space, not uint8 pixels
    assert v.image.shape == (12, 12, 3) and v.image.dtype == np.float32 and np.isfinite(v.image).all()
    v = vislib.activation_maximization(tiny, "conv2", 1, steps=3)
    assert v.image.shape == (12, 12, 3)


def test_bad_input(fashion):
    with pytest.raises(ValueError, match="out of range"):
        vislib.class_model(fashion, 10)
    with pytest.raises(ValueError, match="steps"):
        vislib.class_model(fashion, 1, steps=0)
    with pytest.raises(ValueError, match="unit"):
        vislib.activation_maximization(fashion, "fc7", 128)
    with pytest.raises(ValueError, match="unit"):
        vislib.activation_maximization(fashion, None, None)
    with pytest.raises(ValueError, match="valid choices"):
        vislib.activation_maximization(fashion, "nope", 0)
    with pytest.raises(ValueError, match="regularizer"):
        vislib.activation_maximization(fashion, None, 0, steps=1, regularizers={"l1": 1.0})
    with pytest.raises(ValueError, match="input modifier"):
        vislib.activation_maximization(fashion, None, 0, steps=1, input_modifiers={"scale": 1.0})


def test_plot_run_and_plot_frames_show_the_optimisation():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from vislib.representation.actmax import Visualization
    from vislib.plotting.features import plot_frames, plot_run
    frames = np.stack([np.full((6, 6, 3), v, np.uint8) for v in (0, 128, 255)])
    v = Visualization(image=frames[-1], scores=np.array([1.0, 2.0, 4.0], np.float32), frames=frames,
                      frame_steps=np.array([0, 1, 3]))
    img_ax, curve_ax = plot_run(v, "title")
    shown = img_ax.images[0].get_array()
    assert shown.max() == pytest.approx(1.0) and img_ax.get_title() == "title"  # uint8 255 -> 1.0
    np.testing.assert_array_equal(curve_ax.lines[0].get_ydata(), v.scores)
    fig = plot_frames(v, max_frames=2)
    assert len(fig.axes) == 2 and fig.axes[-1].get_title().startswith("step 3")
    assert fig.axes[0].images[0].get_array().max() == 0.0
    plt.close("all")


def test_class_model_on_real_imagenet_weights(lite0, lite0_photos):
    """EfficientNet-Lite0 (real ImageNet weights): 25 steps raise the tabby logit from the
    grey start to a confident tabby, yet plain ascent is high-frequency texture, rougher
    than the cat photo, and jitter + blur smooth it (measured: logit 0.03 -> 15.0 plain,
    15.8 regularised; roughness 19.1 and 8.1 against 6.6 for the photo)."""
    def roughness(img):
        x = np.asarray(img, np.float32)
        return float((np.abs(np.diff(x, axis=0)).mean() + np.abs(np.diff(x, axis=1)).mean()) / 2)
    before = _weights(lite0.model)
    plain = vislib.class_model(lite0, 281, steps=25, blur_every=0, jitter=0)
    smooth = vislib.class_model(lite0, 281, steps=25)
    for v in (plain, smooth):
        z0 = lite0.logits(v.frames[0].astype(np.float32))[0]
        z1 = lite0.logits(v.image.astype(np.float32))[0]
        assert z1[281] > z0[281] + 8 and int(np.argmax(z1)) == 281
    photo = lite0_photos[0][lite0_photos[2].index("chelsea")]
    assert roughness(plain.image) > 2 * roughness(photo)
    assert roughness(smooth.image) < 0.7 * roughness(plain.image)
    for a, b in zip(before, lite0.model.get_weights()):
        np.testing.assert_array_equal(a, b)
