"""Known answers on colour (3-channel) images, computed by hand in numpy from
the weights of tiny Keras models built here (never with vislib's helpers).

Each test says which one-line change of vislib it exists to catch (issue 25):
saliency's channel reduction (max of |gradient|, not the mean), guided
backprop's gate (forward ReLU mask AND positive backward signal), occlusion's
fills (the "mean" fill is the per-channel mean), SmoothGrad's noise scale,
Grad-CAM's channel weights (spatial MEAN of the gradient on a Flatten head),
bilinear map upsampling with half-pixel centres, the deletion metric's "best"
marker and AUC, and receptive-field arithmetic (Araujo et al. 2019).

Tolerances: the tiny models run in float32, so a value computed by TensorFlow
and the same value computed here in float64 differ by float32 rounding of a
few multiply-adds (relative ~1e-6); ``rtol=1e-4`` leaves a wide margin, and
every test also checks that the wrong answer it guards against is farther
from the right one than the tolerance (else the test could not fail).
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

import vislib
from vislib.evaluation import metrics
from conftest import occlusion_and_grid, course_from


RTOL = 1e-4  # float32 network vs float64 numpy, see the module docstring


def _relu(a):
    return np.maximum(a, 0.0)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _far(a, b, rtol=RTOL):
    """True when ``a`` and ``b`` differ by far more than the test's tolerance."""
    return np.abs(np.asarray(a) - np.asarray(b)).max() > 100 * rtol * max(np.abs(b).max(), 1e-12)


def bilinear_half_pixel(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resizing of (N, h, w) maps to (N, H, W), written out.

    Alignment: half-pixel centres, as ``tf.image.resize`` (``half_pixel_centers=True``,
    no antialiasing) and ``scipy.ndimage.zoom(..., grid_mode=True)``: output pixel
    ``y`` has its centre at ``y + 0.5``, which sits at input coordinate
    ``(y + 0.5) * h / H - 0.5``; coordinates beyond the first or last input
    centre are clamped to it (edge values repeat), and in between the value is
    linear in the two nearest input pixels, on each axis in turn.
    """
    def weights(n_in: int, n_out: int) -> np.ndarray:
        src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        frac = src - lo
        m = np.zeros((n_out, n_in))
        m[np.arange(n_out), lo] += 1 - frac
        m[np.arange(n_out), hi] += frac
        return m

    maps = np.asarray(maps, np.float64)
    return np.einsum("Yy,nyx,Xx->nYX", weights(maps.shape[1], size[0]), maps, weights(maps.shape[2], size[1]))


def scale01(maps: np.ndarray) -> np.ndarray:
    """Each (H, W) map of a stack divided into [0, 1]: (m - min) / (max - min); 0 for a constant map."""
    m = np.asarray(maps, np.float64)
    lo = m.min(axis=(1, 2), keepdims=True)
    span = m.max(axis=(1, 2), keepdims=True) - lo
    return np.divide(m - lo, span, out=np.zeros_like(m), where=span > 0)


# ---------------------------------------------------------------- models
def _linear_net(shape=(4, 5, 3), classes=3, seed=0, scale=1.0):
    """Flatten -> Dense softmax: logit c = sum_ijk W[i, j, k, c] x[i, j, k] + b_c, so
    d logit_c / d x = W[..., c] whatever the input. Channels get different weights
    (channel k scaled by k + 1 and, for k = 1, negated) so channel reductions differ."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 1, (*shape, classes)) * np.array([1.0, -2.0, 3.0])[: shape[-1], None] * scale
    b = rng.normal(0, 0.1, classes)
    inp = keras.Input(shape, name="input")
    out = keras.layers.Dense(classes, activation="softmax", name="predictions")(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out, name="linear")
    model.get_layer("predictions").set_weights([w.reshape(-1, classes).astype("float32"), b.astype("float32")])
    return model, w.astype("float32").astype(np.float64), b.astype("float32").astype(np.float64)


def _two_relu_net(seed=4):
    """x (4x4x3) -> Dense(6, relu) -> Dense(5, relu) -> Dense(3, softmax), with weights
    scaled so both ReLU layers have active and inactive units on 0-255 images."""
    rng = np.random.default_rng(seed)
    sizes = [48, 6, 5, 3]
    inp = keras.Input((4, 4, 3), name="input")
    h = keras.layers.Flatten()(inp)
    h = keras.layers.Dense(6, activation="relu", name="fc1")(h)
    h = keras.layers.Dense(5, activation="relu", name="fc2")(h)
    out = keras.layers.Dense(3, activation="softmax", name="predictions")(h)
    model = keras.Model(inp, out, name="two_relu")
    params = []
    for name, n_in, n_out, gain in zip(("fc1", "fc2", "predictions"), sizes[:-1], sizes[1:], (1 / 128, 1, 1)):
        w = (rng.normal(0, 1, (n_in, n_out)) * gain / np.sqrt(n_in)).astype("float32")
        b = rng.normal(0, 0.3, n_out).astype("float32")
        model.get_layer(name).set_weights([w, b])
        params += [w.astype(np.float64), b.astype(np.float64)]
    return model, params


# ------------------------------------------------------------- saliency
def test_saliency_takes_the_max_of_the_absolute_gradient_over_colour_channels():
    """Linear model: the gradient is the weight, so saliency = max_k |W[i, j, k, c]| (Simonyan et
    al. 2014). Kills: "mean" instead of "max" as the default reduction; no abs; the wrong class."""
    model, w, _ = _linear_net()
    x = np.random.default_rng(1).uniform(0, 255, (2, 4, 5, 3)).astype("float32")
    t = np.array([0, 2])
    grad = np.stack([w[..., c] for c in t])                        # (2, 4, 5, 3), d logit / d x
    want = np.abs(grad).max(-1)
    got = vislib.saliency(model, x, t)
    assert got.shape == (2, 4, 5) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=RTOL)
    assert _far(np.abs(grad).mean(-1), want) and _far(grad.max(-1), want)   # the mutants' answers
    np.testing.assert_allclose(vislib.saliency(model, x, t, reduce="mean"), np.abs(grad).mean(-1), rtol=RTOL)
    signed = vislib.saliency(model, x, t, reduce=None)
    assert signed.shape == (2, 4, 5, 3)
    np.testing.assert_allclose(signed, grad, rtol=RTOL)             # signed, per channel, not reduced
    assert (signed < 0).any() and (signed > 0).any()


def _hand_backprop(params, x, t, rule):
    """d logit_t / d x through the two ReLU layers of :func:`_two_relu_net`, in numpy, with the
    gradient at each ReLU replaced by ``rule(z, r)`` (z: the ReLU's input, r: the signal from above)."""
    w1, b1, w2, b2, w3, _ = params
    v = x.reshape(len(x), -1).astype(np.float64)
    z1 = v @ w1 + b1
    z2 = _relu(z1) @ w2 + b2
    r = w3[:, t].T                                  # d logit_t / d a2, one row per image
    r = rule(z2, r) @ w2.T                          # through ReLU 2 and fc2
    r = rule(z1, r) @ w1.T                          # through ReLU 1 and fc1
    return r.reshape(x.shape), z1, z2


RULES = {
    "guided": lambda z, r: (z > 0) * _relu(r),      # Springenberg et al. 2015: forward mask AND positive signal
    "plain": lambda z, r: (z > 0) * r,              # the ordinary gradient (saliency): forward mask only
    "deconvnet": lambda z, r: _relu(r),             # Zeiler & Fergus: backward sign only
    "abs": lambda z, r: (z > 0) * np.abs(r),        # the mutant abs(dy) instead of relu(dy)
}


def test_guided_backprop_gate_on_a_two_layer_net_by_hand():
    """Kills: the gate relu(dy) -> abs(dy); gating on the forward input only (= saliency);
    gating on the backward signal only (= deconvnet); and max -> mean over channels."""
    model, params = _two_relu_net()
    x = np.random.default_rng(2).uniform(0, 255, (4, 4, 4, 3)).astype("float32")
    t = np.array([0, 1, 2, 1])
    want, z1, z2 = _hand_backprop(params, x, t, RULES["guided"])
    for z in (z1, z2):                              # both gates have both regimes to get right
        assert 0.2 < (z > 0).mean() < 0.8, (z > 0).mean()
    for name in ("plain", "deconvnet", "abs"):      # the test tells every wrong rule apart
        assert _far(_hand_backprop(params, x, t, RULES[name])[0], want), name
    atol = 1e-6 * np.abs(want).max()                # zeros of the gate: float32 rounding around 0
    signed = vislib.guided_backprop(model, x, t, reduce=None)
    np.testing.assert_allclose(signed, want, rtol=RTOL, atol=atol)
    np.testing.assert_allclose(vislib.guided_backprop(model, x, t), np.abs(want).max(-1), rtol=RTOL, atol=atol)
    np.testing.assert_allclose(vislib.guided_backprop(model, x, t, reduce="mean"), np.abs(want).mean(-1),
                               rtol=RTOL, atol=atol)
    assert _far(np.abs(want).mean(-1), np.abs(want).max(-1))
    # and plain saliency through the same ReLUs is the ordinary gradient
    plain = _hand_backprop(params, x, t, RULES["plain"])[0]
    np.testing.assert_allclose(vislib.saliency(model, x, t, reduce=None), plain, rtol=RTOL, atol=atol)


# ------------------------------------------------------------ occlusion
def _gauss_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Each channel of (H, W, C) blurred separably with a Gaussian of ``sigma`` pixels, cut at
    4 sigma (radius int(4 sigma + 0.5)), edges extended by repeating the border pixel."""
    radius = int(4 * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    out = np.asarray(img, np.float64)
    for axis in (0, 1):
        pad = [(radius, radius) if a == axis else (0, 0) for a in range(3)]
        p = np.pad(out, pad, mode="edge")
        n = out.shape[axis]
        out = sum(k[i] * np.take(p, np.arange(i, i + n), axis=axis) for i in range(len(k)))
    return out


def _occlusion_by_hand(w, b, x, t, patch, fill_of):
    """p_t(x) - p_t(x with each patch x patch window, stride = patch, replaced by ``fill_of(image)``)
    on the linear-softmax model, one window at a time, in numpy: (N, H / patch, W / patch)."""
    n, h, wd, _ = x.shape
    prob = lambda im: _softmax(np.einsum("hwk,hwkc->c", im, w) + b)   # noqa: E731
    grid = np.zeros((n, h // patch, wd // patch))
    for i in range(n):
        fill = np.broadcast_to(fill_of(x[i].astype(np.float64)), x[i].shape)
        for a in range(h // patch):
            for c in range(wd // patch):
                occ = x[i].astype(np.float64).copy()
                win = (slice(a * patch, (a + 1) * patch), slice(c * patch, (c + 1) * patch))
                occ[win] = fill[win]
                grid[i, a, c] = prob(x[i].astype(np.float64))[t[i]] - prob(occ)[t[i]]
    return grid


@pytest.fixture(scope="module")
def colour_occlusion():
    """A linear-softmax model on 8x8 colour images (pixel range 0-255) and two images whose
    channels have very different means (red ~200, green ~40, blue ~120) and some texture."""
    model, w, b = _linear_net((8, 8, 3), classes=2, seed=3, scale=0.004)
    rng = np.random.default_rng(5)
    x = np.clip(np.array([200.0, 40.0, 120.0]) + rng.normal(0, 30, (2, 8, 8, 3)), 0, 255).astype("float32")
    return course_from(model, pixel_range=(0.0, 255.0)), w, b, x, np.array([0, 1])


@pytest.mark.parametrize("fill, fill_of", [
    ("mean", lambda im: im.mean(axis=(0, 1))),              # the image's mean colour, per channel
    ("gray", lambda im: np.full(3, 127.5)),                  # the middle of the profile's range 0-255
    (0.0, lambda im: np.zeros(3)),                           # black
    (200.0, lambda im: np.full(3, 200.0)),                   # any pixel value
    ("blur", lambda im: _gauss_blur(im, 4 / 2)),             # Gaussian, sigma = patch / 2, per channel
])
def test_occlusion_fills_and_drops_on_a_linear_colour_model(colour_occlusion, fill, fill_of):
    """Kills: the "mean" fill averaged over all channels (one grey value); a blur across
    channels or with another sigma; a grey that is not the range's middle; drop sign flipped."""
    course, w, b, x, t = colour_occlusion
    want = _occlusion_by_hand(w, b, x, t, 4, fill_of)
    maps, grid = occlusion_and_grid(course, x, t, patch=4, stride=4, fill=fill)
    assert grid.shape == (2, 2, 2)
    atol = 1e-5  # probabilities from a float32 softmax: absolute error ~1e-7, 100x margin
    np.testing.assert_allclose(grid, want, atol=atol)
    assert np.abs(want).max() > 100 * atol                   # real drops, not a comparison of zeros
    np.testing.assert_allclose(maps, np.kron(want, np.ones((1, 4, 4))), atol=atol)   # one value per window
    if fill == "mean":   # the mutant: one grey value, the mean over all channels
        assert np.abs(_occlusion_by_hand(w, b, x, t, 4, lambda im: np.full(3, im.mean())) - want).max() > 100 * atol
    if fill == "blur":   # a blur mixing the channels, or sigma = patch
        mixed = lambda im: _gauss_blur(im, 2).mean(-1, keepdims=True)   # noqa: E731
        assert np.abs(_occlusion_by_hand(w, b, x, t, 4, mixed) - want).max() > 100 * atol
        assert np.abs(_occlusion_by_hand(w, b, x, t, 4, lambda im: _gauss_blur(im, 4)) - want).max() > 100 * atol


def test_occlusion_grey_of_a_bare_model_is_the_middle_of_each_images_range(colour_occlusion):
    """A bare keras.Model has no pixel range: "gray" is (min + max) / 2 of each image, over all
    channels (documented). Output "probability" is p(occluded) itself."""
    course, w, b, x, t = colour_occlusion
    want = _occlusion_by_hand(w, b, x, t, 4, lambda im: np.full(3, (im.min() + im.max()) / 2))
    grid = vislib.occlusion_grid(course.model, x, t, patch=4, stride=4, fill="gray")
    np.testing.assert_allclose(grid, want, atol=1e-5)
    p_clean = _softmax(np.einsum("nhwk,hwkc->nc", x.astype(np.float64), w) + b)[np.arange(2), t]
    prob = vislib.occlusion_grid(course.model, x, t, patch=4, stride=4, fill="gray", output="probability")
    np.testing.assert_allclose(prob, p_clean[:, None, None] - want, atol=1e-5)


# ----------------------------------------------------------- SmoothGrad
def test_smoothgrad_without_noise_is_the_method_on_colour_images():
    model, _ = _two_relu_net()
    x = np.random.default_rng(6).uniform(0, 255, (3, 4, 4, 3)).astype("float32")
    t = np.array([2, 0, 1])
    for method in (vislib.saliency, vislib.guided_backprop):
        for reduce in ("max", None):
            got = vislib.smoothgrad(model, x, t, method=method, noise=0.0, samples=1, reduce=reduce)
            np.testing.assert_allclose(got, method(model, x, t, reduce=reduce), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("pixel_range", [None, (0.0, 255.0)])
def test_smoothgrad_of_a_linear_model_is_its_constant_gradient(pixel_range):
    """The gradient of a linear model is its weight at every input, so the average over any
    noisy copies is the weight, with clipping to the pixel range (0-255) or without (bare model);
    squared: the weight squared. Kills: averaging copies of the wrong image or class; the sum
    instead of the mean over samples."""
    model, w, _ = _linear_net(seed=7)
    course = model if pixel_range is None else course_from(model, pixel_range)
    x = np.random.default_rng(8).uniform(0, 255, (2, 4, 5, 3)).astype("float32")
    x[0, 0, 0] = [0, 255, 0]                                   # copies of these pixels get clipped
    t = np.array([1, 2])
    grad = np.stack([w[..., c] for c in t])
    got = vislib.smoothgrad(course, x, t, noise=0.3, samples=7, batch_size=3, reduce=None)
    np.testing.assert_allclose(got, grad, rtol=RTOL)
    sq = vislib.smoothgrad(course, x, t, noise=0.3, samples=7, reduce=None, squared=True)
    np.testing.assert_allclose(sq, grad ** 2, rtol=RTOL)
    np.testing.assert_allclose(vislib.smoothgrad(course, x, t, noise=0.3, samples=7), np.abs(grad).max(-1),
                               rtol=RTOL)


def test_smoothgrad_of_one_relu_unit_is_the_weight_times_the_gaussian_cdf():
    """logit = relu(w . x + b): the gradient is w where the unit is on, 0 elsewhere, so the mean
    over copies x + N(0, sigma^2) is w * P(w . (x + e) + b > 0) = w * Phi(z / (sigma |w|)), with
    sigma = noise * (max - min) of the data for a bare model (no clipping). Kills: sigma on
    another scale (e.g. noise * 255), one noise value per copy instead of per pixel."""
    from scipy.stats import norm
    rng = np.random.default_rng(9)
    w = rng.normal(0, 1, 48).astype("float32")
    inp = keras.Input((4, 4, 3))
    h = keras.layers.Dense(1, activation="relu", name="unit")(keras.layers.Flatten()(inp))
    out = keras.layers.Dense(2, activation="softmax", name="predictions")(h)
    model = keras.Model(inp, out)
    x = rng.uniform(0, 1, (1, 4, 4, 3)).astype("float32")
    noise = 0.1
    sigma = noise * float(x.max() - x.min())
    z_target = 0.5 * sigma * np.linalg.norm(w)                # put the unit half a noise-sd above 0
    bias = z_target - float(x.reshape(-1) @ w)
    model.get_layer("unit").set_weights([w[:, None], np.array([bias], "float32")])
    model.get_layer("predictions").set_weights([np.array([[1.0, -1.0]], "float32"), np.zeros(2, "float32")])
    samples = 4000
    got = vislib.smoothgrad(model, x, 0, noise=noise, samples=samples, reduce=None, seed=0)[0].reshape(-1)
    share = got / w                                           # the share of copies where the unit was on
    np.testing.assert_allclose(share, share[0], rtol=1e-4)    # one share for every pixel and channel
    want = norm.cdf(0.5)                                      # 0.69
    se = np.sqrt(want * (1 - want) / samples)                 # binomial standard error, 0.0073
    assert abs(share[0] - want) < 4 * se, (share[0], want)
    # the mutants' answers are far outside: sigma = noise * 255 gives Phi(0.5 / 255) ~ 0.5
    assert abs(norm.cdf(0.5 * sigma / (noise * 255)) - want) > 10 * se


# ------------------------------------------------------------- Grad-CAM
def _conv_flatten_net(strides=1, kernel=3, padding="same", seed=10, size=6, filters=4):
    """x (size x size x 3) -> Conv2D(filters, kernel, strides, relu) named "conv" -> Flatten ->
    Dense(3, softmax). Its Flatten head gives every position its own weight, so
    dS_c / dA[i, j, k] = V[(i * w + j) * filters + k, c] varies over space."""
    rng = np.random.default_rng(seed)
    inp = keras.Input((size, size, 3), name="input")
    a = keras.layers.Conv2D(filters, kernel, strides=strides, padding=padding, activation="relu", name="conv")(inp)
    out = keras.layers.Dense(3, activation="softmax", name="predictions")(keras.layers.Flatten()(a))
    model = keras.Model(inp, out, name="conv_flatten")
    k = rng.normal(0, 1, (kernel, kernel, 3, filters)).astype("float32") / (kernel * 9)
    kb = rng.normal(0, 0.5, filters).astype("float32")
    h = int(a.shape[1])
    v = rng.normal(0, 1, (h * h * filters, 3)).astype("float32")
    v[:, 0] += np.tile(np.linspace(1, -1, filters), h * h)   # class 0: channels for and against it
    v[:, 1] = -np.abs(v[:, 1]) - 0.1                          # class 1: every weight negative
    v[:, 2] = np.abs(v[:, 2]) + 0.1                           # class 2: every weight positive
    model.get_layer("conv").set_weights([k, kb])
    model.get_layer("predictions").set_weights([v, np.zeros(3, "float32")])
    return model, k.astype(np.float64), kb.astype(np.float64), v.astype(np.float64)


def _conv_by_hand(x, k, kb, strides, padding):
    """Keras Conv2D (cross-correlation, channels last) + ReLU, with explicit loops."""
    kh = k.shape[0]
    if padding == "same":   # stride 1 here: kh // 2 zeros on each side
        x = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kh // 2, kh // 2), (0, 0)))
    n, hh, ww, _ = x.shape
    oh, ow = (hh - kh) // strides + 1, (ww - kh) // strides + 1
    out = np.zeros((n, oh, ow, k.shape[-1]))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * strides:i * strides + kh, j * strides:j * strides + kh, :]
            out[:, i, j] = np.einsum("nabc,abck->nk", patch, k) + kb
    return _relu(out)


def _gradcam_by_hand(model_parts, x, t, strides=1, padding="same", per_pixel=False):
    """Coarse Grad-CAM maps from the weights: A by hand, dS_c/dA = the Flatten head's weights."""
    k, kb, v = model_parts
    a = _conv_by_hand(x.astype(np.float64), k, kb, strides, padding)
    n, h, w, f = a.shape
    g = np.stack([v[:, c].reshape(h, w, f) for c in t])        # Flatten is row-major over (i, j, k)
    alpha = g if per_pixel else g.mean(axis=(1, 2), keepdims=True)
    return _relu((alpha * a).sum(-1))


def test_gradcam_weights_are_the_spatial_mean_of_the_gradient_on_a_flatten_head():
    """Selvaraju et al. 2017: a_k = mean_ij dS_c/dA^k_ij. Kills: per-pixel weights
    (ReLU(sum_k g_ijk A_ijk)); only the weights' signs; the [0, 1] range taken over the batch."""
    model, k, kb, v = _conv_flatten_net()
    x = np.random.default_rng(11).uniform(0, 255, (3, 6, 6, 3)).astype("float32")
    t = np.array([0, 0, 0])
    want = _gradcam_by_hand((k, kb, v), x, t)
    assert (want.max(axis=(1, 2)) > 0).all() and (want == 0).any()       # ReLU active and inactive
    assert _far(_gradcam_by_hand((k, kb, v), x, t, per_pixel=True), want)   # the mutant is far off
    raw = vislib.gradcam(model, x, t, layer="conv", normalize=False)     # 6x6: no resizing at all
    np.testing.assert_allclose(raw, want, rtol=RTOL, atol=1e-6 * want.max())
    got = vislib.gradcam(model, x, t, layer="conv", normalize=True)
    np.testing.assert_allclose(got, scale01(want), atol=1e-5)            # each map on its own to [0, 1]
    assert np.allclose(got.max(axis=(1, 2)), 1) and np.allclose(got.min(axis=(1, 2)), 0)


def test_gradcam_upsamples_the_coarse_map_bilinearly_with_half_pixel_centres():
    """A stride-2 conv gives a 3x3 map for a 6x6 image: Grad-CAM is that map resized bilinearly
    (half-pixel centres, as tf.image.resize). Kills: nearest-neighbour upsampling;
    corner-aligned bilinear; scaling to [0, 1] over the batch instead of per image."""
    model, k, kb, v = _conv_flatten_net(strides=2, kernel=2, padding="valid", seed=12)
    x = np.random.default_rng(13).uniform(0, 255, (2, 6, 6, 3)).astype("float32")
    t = np.array([0, 0])
    coarse = _gradcam_by_hand((k, kb, v), x, t, strides=2, padding="valid")
    assert coarse.shape == (2, 3, 3) and (coarse.max(axis=(1, 2)) > 0).all()
    want = bilinear_half_pixel(coarse, (6, 6))
    nearest = np.repeat(np.repeat(coarse, 2, axis=1), 2, axis=2)
    assert _far(nearest, want)
    raw = vislib.gradcam(model, x, t, layer="conv", normalize=False)
    np.testing.assert_allclose(raw, want, rtol=RTOL, atol=1e-6 * want.max())
    np.testing.assert_allclose(vislib.gradcam(model, x, t, layer="conv", normalize=True), scale01(want), atol=1e-5)


def _gradcam_warnings(record):
    return [w for w in record if issubclass(w.category, UserWarning) and "gradcam:" in str(w.message)]


def test_gradcam_warns_once_per_call_when_maps_are_all_zero():
    """Class 1's head weights are all negative and A >= 0 after the ReLU, so every a_k < 0 and
    its map is zero everywhere (class 2's are all positive: its counterfactual map is zero): a warning names how many, which images, their targets, the layer
    and what to try; the map is zero (normalised: 0, not NaN)."""
    model, k, kb, v = _conv_flatten_net()
    x = np.random.default_rng(14).uniform(0, 255, (3, 6, 6, 3)).astype("float32")
    assert (_gradcam_by_hand((k, kb, v), x, [1, 1, 1]) == 0).all()
    with pytest.warns(UserWarning, match=r"gradcam: 2 of 3 maps are all zero \(images \[1, 2\], "
                                         r"targets \[1, 1\]\) at layer 'conv'.*counterfactual=True.*another layer"):
        m = vislib.gradcam(model, x, [0, 1, 1], layer="conv", batch_size=1, normalize=True)   # one warning, not one per batch
    assert (m[0].max() == 1) and (m[1:] == 0).all()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        vislib.gradcam(model, x, [0, 1, 1], layer="conv", batch_size=1)
        assert len(_gradcam_warnings(record)) == 1
        record.clear()
        vislib.gradcam(model, x, [0, 0, 0], layer="conv")                   # no empty map: no warning
        assert _gradcam_warnings(record) == []
        con = vislib.gradcam(model, x, [1, 1, 1], layer="conv", counterfactual=True, normalize=True)   # against class 1
        assert _gradcam_warnings(record) == [] and (con.max(axis=(1, 2)) == 1).all()
        vislib.gradcam(model, x, [2, 2, 2], layer="conv", counterfactual=True)  # nothing against class 2
        (w,) = _gradcam_warnings(record)
        assert "counterfactual=False" in str(w.message)
    many = np.repeat(x, 4, axis=0)                                          # 12 empty maps: 10 listed
    with pytest.warns(UserWarning, match=r"12 of 12 maps .*images \[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, \.\.\.\]"):
        vislib.gradcam(model, many, 1, layer="conv")


def test_plot_attributions_labels_all_zero_maps():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    images = np.random.default_rng(15).uniform(0, 255, (2, 6, 6, 3)).astype("float32")
    maps = {"a": np.stack([np.zeros((6, 6)), np.eye(6)]), "b": np.stack([np.eye(6), np.eye(6)])}
    fig = vislib.plot_attributions(images, maps)
    axes = np.asarray(fig.axes).reshape(2, 3)
    labelled = [[any(t.get_text() == "all-zero map" for t in ax.texts) for ax in row] for row in axes]
    assert labelled == [[False, True, False], [False, False, False]]
    plt.close(fig)


# ------------------------------------------------------- map upsampling
@pytest.mark.parametrize("shape, size", [((3, 3), (6, 6)), ((3, 4), (7, 9)), ((7, 7), (224, 224)),
                                         ((5, 6), (3, 4)), ((2, 2), (28, 28))])
def test_resize_maps_is_bilinear_with_half_pixel_centres(shape, size):
    """Against the numpy resize above and scipy.ndimage.zoom(order=1, grid_mode=True,
    mode="nearest") (the same alignment). Kills: nearest neighbour; corners aligned."""
    from scipy.ndimage import zoom
    from vislib._core.maps import resize_maps
    maps = np.random.default_rng(16).normal(size=(2, *shape))
    want = bilinear_half_pixel(maps, size)
    ref = np.stack([zoom(m, (size[0] / shape[0], size[1] / shape[1]), order=1, grid_mode=True, mode="nearest")
                    for m in maps])
    np.testing.assert_allclose(ref, want, atol=1e-9)          # the two references agree
    got = resize_maps(maps, size)
    assert got.shape == (2, *size) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-5)          # float32 of values ~1: 1e-7, 100x margin
    nearest = np.stack([zoom(m, (size[0] / shape[0], size[1] / shape[1]), order=0, grid_mode=True,
                             mode="nearest") for m in maps])
    assert np.abs(nearest - want).max() > 0.1


# ------------------------------------------- deletion / insertion metrics
def _region_model():
    """p(class 0) = weighted mean over the left half (columns 0-1) of a 4x4 colour image of
    x / 255, channel weights 0.5 / 0.3 / 0.2; p(class 1) = 1 - p(class 0). The model ends in a
    softmax of [log p, log(1 - p)] (logs floored at 1e-12), which is [p, 1 - p] to float rounding."""
    mask = np.zeros((1, 4, 4, 3), np.float32)
    mask[:, :, :2] = np.array([0.5, 0.3, 0.2]) / 8 / 255
    inp = keras.Input((4, 4, 3), name="input")
    p = keras.layers.Lambda(lambda a: keras.ops.sum(a * mask, axis=(1, 2, 3))[:, None], name="p")(inp)
    z = keras.layers.Lambda(lambda q: keras.ops.log(keras.ops.clip(keras.ops.concatenate([q, 1.0 - q], axis=1),
                                                                   1e-12, 1.0)), name="log_p")(p)
    return keras.Model(inp, keras.layers.Activation("softmax", name="probs")(z), name="region")


def test_deletion_and_insertion_auc_known_answers_and_the_best_marker():
    """White image, black baseline: deleting the 8 left-half pixels first makes p fall linearly
    to 0 at f = 1/2 (AUC 1/4); deleting them last keeps p = 1 to f = 1/2 (AUC 3/4). Insertion
    mirrors it (3/4 and 1/4). In the table, deletion's best is the LOWEST value, insertion's the
    highest. Kills: the "best" marker of deletion reversed; deleting one channel only; the
    curve's ends swapped; AUC not normalised by the pixel count."""
    course = course_from(_region_model(), pixel_range=(0.0, 255.0))
    x = np.full((1, 4, 4, 3), 255.0, np.float32)
    assert course.predict(x)[0, 0] == pytest.approx(1.0, abs=1e-6)
    right = np.ones((1, 4, 4), np.float32)
    right[:, :, :2] = 2.0                                     # the left half ranked first (ties: any order)
    wrong = 3.0 - right
    f, p = metrics.perturbation_curve(course, x, right, 0, steps=16, mode="deletion")
    np.testing.assert_allclose(f, np.arange(17) / 16)
    np.testing.assert_allclose(p[0], np.clip(1 - np.arange(17) / 8, 0, 1), atol=1e-6)
    cases = {("deletion", "right"): 0.25, ("deletion", "wrong"): 0.75,
             ("insertion", "right"): 0.75, ("insertion", "wrong"): 0.25}
    auc = {}
    for (mode, name), want in cases.items():
        m = right if name == "right" else wrong
        fn = metrics.deletion_auc if mode == "deletion" else metrics.insertion_auc
        auc[mode, name] = fn(course, x, m[0], 0, steps=16, baseline="zeros")
        assert auc[mode, name] == pytest.approx(want, abs=1e-5), (mode, name)   # trapezoid exact on a line
    results = {n: {"deletion_auc": np.array([auc["deletion", n]]), "insertion_auc": np.array([auc["insertion", n]])}
               for n in ("right", "wrong")}
    lines = metrics.format_table(results).splitlines()
    assert "deletion_auc (-)" in lines[0] and "insertion_auc (+)" in lines[0]
    row = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert row["right"] == ["0.250*", "0.750*"] and row["wrong"] == ["0.750", "0.250"]


# ------------------------------------------------------- receptive fields
def _araujo(layers):
    """Araujo, Norris & Sim (Distill 2019), the closed forms, per axis, for layers given as
    (kernel k, stride s, dilation d, padding before p): with k' = d (k - 1) + 1 and
    S_l = s_1 ... s_(l-1) (1 for the first layer),
        r = 1 + sum_l (k'_l - 1) S_l,   jump = s_1 ... s_L,   start = -sum_l p_l S_l."""
    r, start, prod = 1, 0, 1
    for k, s, d, p in layers:
        r += (d * (k - 1)) * prod
        start -= p * prod
        prod *= s
    return r, prod, start


# Each stack: keras layers (on a size x size input) and, per axis, (k, s, d, p) worked out by
# hand. TensorFlow's "same" padding adds max((ceil(n / s) - 1) s + k' - n, 0) zeros, the smaller
# half before the input (comments give n and that number).
STACKS = {
    "two_valid_convs": (12, [keras.layers.Conv2D(1, 3), keras.layers.Conv2D(1, 3)],
                        [[(3, 1, 1, 0), (3, 1, 1, 0)]] * 2, ((5, 5), (1, 1), (0, 0))),
    "conv_pool_dilated_strided": (32, [
        keras.layers.Conv2D(1, 3, padding="same"),                      # n=32: 2 zeros, 1 before
        keras.layers.MaxPooling2D(2),                                    # valid
        keras.layers.Conv2D(1, 3, dilation_rate=2, padding="same"),     # k'=5, n=16: 4 zeros, 2 before
        keras.layers.Conv2D(1, 5, strides=2),                            # valid, 16 -> 6
        keras.layers.AveragePooling2D(3, strides=2, padding="same"),    # n=6: (3-1)2+3-6 = 1 zero, 0 before
    ], [[(3, 1, 1, 1), (2, 2, 1, 0), (3, 1, 2, 2), (5, 2, 1, 0), (3, 2, 1, 0)]] * 2, ((28, 28), (8, 8), (-5, -5))),
    "padding_and_uneven_axes": (28, [
        keras.layers.ZeroPadding2D(((2, 0), (1, 3))),                    # 30 x 32
        keras.layers.Conv2D(1, (3, 5), strides=(2, 1), padding="same"),  # rows n=30: 1 zero, 0 before;
                                                                         # cols n=32: 4 zeros, 2 before
        keras.layers.Conv2D(1, 3, strides=2, padding="same"),            # rows n=15: 2, 1; cols n=32: 1, 0
        keras.layers.DepthwiseConv2D(3, dilation_rate=(1, 3), padding="same"),  # rows n=8: 2, 1; cols n=16
                                                                         # k'=7: 6, 3
    ], [[(1, 1, 1, 2), (3, 2, 1, 0), (3, 2, 1, 1), (3, 1, 1, 1)],
        [(1, 1, 1, 1), (5, 1, 1, 2), (3, 2, 1, 0), (3, 1, 3, 3)]], ((15, 19), (4, 2), (-8, -9))),
}


@pytest.mark.parametrize("name", list(STACKS))
def test_receptive_field_equals_the_araujo_formula_on_hand_computed_stacks(name):
    """Kills: dilation ignored; padding not scaled by the jump; "same" padding split the other
    way (TensorFlow puts the odd zero after); strides of one axis used for the other."""
    size, layers, per_axis, (r_hand, j_hand, s_hand) = STACKS[name]
    inp = keras.Input((size, size, 1))
    h = inp
    for layer in layers:
        h = layer(h)
    model = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(h)))
    last = layers[-1].name
    formula = [_araujo(axis) for axis in per_axis]
    assert tuple(f[0] for f in formula) == r_hand and tuple(f[1] for f in formula) == j_hand
    assert tuple(f[2] for f in formula) == s_hand                       # the hand arithmetic agrees
    rf = vislib.receptive_field(model, last)
    assert rf.size == r_hand and rf.jump == j_hand and rf.start == s_hand
