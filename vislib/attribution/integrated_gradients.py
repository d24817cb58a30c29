"""Integrated Gradients (Sundararajan, Taly, Yan 2017): the gradient averaged
along the straight path from a baseline image to the image, times the
difference between them.

    IG_i(x) = (x_i - x0_i) * integral_0^1 dF/dx_i (x0 + a (x - x0)) da

Its defining property is **completeness**: the attributions sum to
``F(x) - F(x0)``, the change of the target's pre-softmax score between the
baseline and the image. The integral is a sum over ``steps`` points of the
path, and every point is one more image through the compiled gradient pass
(:func:`vislib._core.gradients.input_gradients`), so ``steps`` images cost
what ``steps`` saliency maps cost. :func:`ig_completeness` measures how far
a given number of steps is from the exact integral.
"""

from __future__ import annotations

import numpy as np

from .._core import baselines, checks, graph
from .._core.gradients import TOP1, input_gradients, resolve
from .._core.maps import check_reduce, finish_channels

#: named baselines: black (the paper's choice for images), a blurred copy of
#: the image (Sturmfels et al. 2020), uniform noise in the pixel range
BASELINES = ("black", "blur", "uniform")
#: quadrature rules for the path integral (``steps`` intervals)
INTEGRATIONS = ("trapezoid", "right", "left", "midpoint")
#: channel reductions: the signed sum over colour channels keeps completeness
REDUCTIONS = ("sum", None)


def _pixel_range(cm, x: np.ndarray) -> tuple[float, float]:
    """The profile's pixel range, or the data range of ``x`` for a bare model."""
    lo, hi = cm.pixel_range
    if np.isfinite(lo) and np.isfinite(hi):
        return float(lo), float(hi)
    return float(min(0.0, x.min())), float(x.max())


def baseline_images(cm, x: np.ndarray, baseline, seed: int | None = 0) -> np.ndarray:
    """The baseline ``x0`` for each checked image of ``x`` (N, H, W, C).

    Args:
        cm: The CourseModel.
        x: Checked display images.
        baseline: ``"black"`` (the low end of the pixel range), ``"blur"``,
            ``"uniform"`` (noise uniform in the pixel range, seeded), or an
            array: one image (H, W, C) for all, or one per image.
        seed: Seed of the uniform noise.

    Raises:
        ValueError: An unknown name, or an array of the wrong shape or range.
    """
    if isinstance(baseline, str):
        checks.choice(baseline, BASELINES, "baseline")
        lo, hi = _pixel_range(cm, x)
        if baseline == "black":
            return np.full_like(x, lo)
        if baseline == "blur":   # the insertion metric's canvas (vislib.metrics.baseline_image)
            return baselines.blur(x, max(x.shape[1:3]) / 14.0, mode="reflect")
        rng = np.random.default_rng(seed)
        return rng.uniform(lo, hi, x.shape).astype(np.float32)
    if baseline is None or isinstance(baseline, (bool, int, float)):
        raise ValueError(f"unknown baseline {baseline!r}; valid choices: {list(BASELINES)} or an image array")
    with checks.derived_images():   # a dark baseline image is legitimate
        b = cm.check(baseline)
    if len(b) == 1:
        b = np.broadcast_to(b, x.shape)
    if b.shape != x.shape:
        raise ValueError(f"baseline has {len(b)} images for {len(x)} images; pass one image or one per image")
    return np.ascontiguousarray(b, np.float32)


def _nodes(steps: int, integration: str) -> tuple[np.ndarray, np.ndarray]:
    """Points ``a`` on [0, 1] and their weights for ``steps`` intervals, the point a = 1 first
    when the rule has it (its pass also finds the top-1 class)."""
    k = np.arange(steps + 1, dtype=np.float64) / steps
    if integration == "trapezoid":
        w = np.full(steps + 1, 1.0 / steps)
        w[[0, -1]] /= 2
        a = k
    elif integration == "right":
        a, w = k[1:], np.full(steps, 1.0 / steps)
    elif integration == "left":
        a, w = k[:-1], np.full(steps, 1.0 / steps)
    else:
        a, w = (k[:-1] + k[1:]) / 2, np.full(steps, 1.0 / steps)
    order = np.argsort(-a, kind="stable")
    return a[order], w[order]


def _path_gradients(model, images, target, baseline, steps, integration, seed, batch_size):
    """(cm, x, x0, averaged gradient (N, H, W, C) float64, target index (N,), logits of x or None)."""
    checks.choice(integration, INTEGRATIONS, "integration")
    steps = checks.count(steps, "steps", 1, 4096)
    cm, x, t = resolve(model, images, target, top1_in_pass=True)
    x0 = baseline_images(cm, x, baseline, seed)
    alphas, weights = _nodes(steps, integration)
    bs = graph.batch_size(cm.model, batch_size)
    n = len(x)
    acc = np.zeros(x.shape, np.float64)
    z_image = None
    start = 0
    if alphas[0] == 1.0:   # the image itself: its pass gives the top-1 class when target is None
        grads, z_image = input_gradients(cm, x, t, bs)
        acc += weights[0] * grads
        if (t == TOP1).any():
            t = np.where(t == TOP1, z_image.argmax(axis=1), t).astype(np.int64)
        start = 1
    elif (t == TOP1).any():
        t = np.where(t == TOP1, cm.logits(x).argmax(axis=1), t).astype(np.int64)
    diff = x - x0
    total = n * (len(alphas) - start)        # point k: image k % n at alpha index start + k // n
    for lo in range(0, total, bs):
        k = np.arange(lo, min(total, lo + bs))
        img, step = k % n, start + k // n
        batch = (x0[img] + alphas[step, None, None, None].astype(np.float32) * diff[img]).astype(np.float32)
        grads, _ = input_gradients(cm, batch, t[img], bs)
        np.add.at(acc, img, weights[step, None, None, None] * grads)
    return cm, x, x0, acc, t, z_image


def integrated_gradients(model, images, target=None, *, baseline="black", steps: int = 64,
                         integration: str = "trapezoid", reduce: str | None = "sum",
                         seed: int | None = 0, batch_size: int | None = None,
                         normalize: bool = False) -> np.ndarray:
    """Integrated Gradients: ``(x - x0) * mean of dF/dx along the path x0 -> x``.

    Sundararajan, Taly, Yan. *Axiomatic Attribution for Deep Networks.* ICML 2017.

    ``F`` is the target's pre-softmax score and ``x``, ``x0`` are display
    pixels, so the map's sum is ``F(x) - F(x0)`` up to the quadrature error
    (completeness; :func:`ig_completeness` measures it). The colour channels
    are summed with their signs (``reduce="sum"``), which keeps completeness:
    positive values raise the score, negative ones lower it.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        images: One image (H, W, C) or a batch (N, H, W, C) of display pixels.
        target: Class index, one per image, or None for each image's top-1
            (found in the pass over the images themselves, no extra forward pass).
        baseline: ``"black"`` (the paper), ``"blur"`` (a Gaussian blur of the
            image), ``"uniform"`` (uniform noise in the pixel range, seeded by
            ``seed``), or an image array (H, W, C) / (N, H, W, C).
        steps: Intervals of the path, >= 1 (``steps + 1`` gradient passes
            per image with the trapezoid rule, ``steps`` with the others).
        integration: Quadrature rule: ``"trapezoid"`` (default; the most
            accurate of the four on the course models), ``"right"`` (the
            paper's right Riemann sum), ``"left"``, ``"midpoint"``.
        reduce: ``"sum"`` over colour channels (signed), or None for the
            per-channel attributions (N, H, W, C).
        seed: Seed of the ``"uniform"`` baseline.
        batch_size: Path images per gradient pass (default from the model size).
        normalize: Scale each (signed) map to [0, 1] (:func:`vislib.normalize_map`);
            default False: raw attributions, which complete to ``F(x) - F(x0)``.

    Returns:
        float32 (N, H, W) attributions, or (N, H, W, C) with ``reduce=None``.

    Raises:
        ValueError: Bad images, targets, ``baseline``, ``steps``,
            ``integration``, ``reduce`` or ``normalize``.
    """
    check_reduce(reduce, normalize, REDUCTIONS)
    _, x, x0, acc, _, _ = _path_gradients(model, images, target, baseline, steps, integration, seed, batch_size)
    return finish_channels((x - x0).astype(np.float64) * acc, reduce, normalize)


def ig_completeness(model, images, target=None, *, baseline="black", steps: int = 64,
                    integration: str = "trapezoid", seed: int | None = 0,
                    batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Both sides of Integrated Gradients' completeness, per image.

    Args:
        As :func:`integrated_gradients`.

    Returns:
        ``(total, delta)``, float64 (N,): the sum of the attributions and
        ``F(x) - F(x0)`` (the target's pre-softmax score at the image minus
        at the baseline). The relative error is
        ``abs(total - delta) / abs(delta)``.
    """
    cm, x, x0, acc, t, z_image = _path_gradients(model, images, target, baseline, steps, integration,
                                                     seed, batch_size)
    total = ((x - x0).astype(np.float64) * acc).reshape(len(x), -1).sum(axis=1)
    z_image = cm.logits(x) if z_image is None else z_image
    with checks.derived_images():
        z_base = cm.logits(x0)
    rows = np.arange(len(x))
    return total, z_image[rows, t].astype(np.float64) - z_base[rows, t].astype(np.float64)


__all__ = ["baseline_images", "ig_completeness", "integrated_gradients"]
