"""Noise images to show a network: procedural Perlin noise (Co et al. 2018),
uniform and Gaussian noise, and a universal adversarial perturbation (one
perturbation for a whole set of images, in the spirit of Moosavi-Dezfooli et
al. 2017).

The noise functions return *valid images* in display pixels (0-255, float32,
(H, W, C)), so they can be handed to any vislib method; the universal
perturbation is a difference image in [-epsilon, epsilon] (``as_image=True``
returns it added to mid-grey, a valid image too).
"""

from __future__ import annotations

import numpy as np

from .._core import checks
from .._core.course_model import CourseModel, as_course
from .._core.gradients import top1
from .attacks import _project, loss_gradients


def _shape(size) -> tuple[int, int, int]:
    """``size`` as (H, W, C): an int (square, 1 channel), (H, W), (H, W, C) or a model."""
    if isinstance(size, CourseModel) or hasattr(size, "inputs"):
        return as_course(size).input_shape
    if isinstance(size, (tuple, list)) and len(size) == 3:
        h, w = checks.pair(size[:2], "size", 1, 4096)
        c = checks.count(size[2], "size (channels)", 1, 3)
        if c not in (1, 3):
            raise ValueError(f"size {size!r}: channels must be 1 or 3")
        return h, w, c
    if not isinstance(size, (tuple, list)) and np.ndim(size) != 0:
        raise ValueError(f"size must be an int, (H, W), (H, W, C) or a model; got {size!r}")
    try:
        h, w = checks.pair(size, "size", 1, 4096)
    except ValueError as err:
        raise ValueError(f"{err} (size: an int, (H, W), (H, W, C) or a model)") from None
    return h, w, 1


def _perlin2d(h: int, w: int, cells: float, rng: np.random.Generator) -> np.ndarray:
    """One octave of 2-D gradient noise with ``cells`` lattice cells along the
    longer side (Perlin 1985; quintic fade of Perlin 2002). Values ~[-0.7, 0.7]."""
    cy, cx = max(cells * h / max(h, w), 1e-6), max(cells * w / max(h, w), 1e-6)
    gy, gx = int(np.ceil(cy)) + 1, int(np.ceil(cx)) + 1
    angles = rng.uniform(0, 2 * np.pi, (gy + 1, gx + 1))
    grads = np.stack([np.cos(angles), np.sin(angles)], -1)
    v = np.arange(h) * cy / h
    u = np.arange(w) * cx / w
    iy, ix = np.floor(v).astype(int), np.floor(u).astype(int)
    fy, fx = (v - iy)[:, None], (u - ix)[None, :]
    iy, ix = iy[:, None], ix[None, :]

    def dot(dy, dx):
        g = grads[iy + dy, ix + dx]
        return g[..., 0] * (fx - dx) + g[..., 1] * (fy - dy)

    fade = lambda t: t * t * t * (t * (t * 6 - 15) + 10)  # noqa: E731
    sy, sx = fade(fy), fade(fx)
    top = dot(0, 0) * (1 - sx) + dot(0, 1) * sx
    bottom = dot(1, 0) * (1 - sx) + dot(1, 1) * sx
    return top * (1 - sy) + bottom * sy


def perlin_noise(size, octaves: int = 4, seed: int = 0, cells: float = 4.0, persistence: float = 0.5,
                 sine_frequency: float | None = None, color: bool = False) -> np.ndarray:
    """Perlin (gradient) noise, a sum of octaves, as an image.

    Octave ``o`` has ``cells * 2**o`` lattice cells and weight
    ``persistence**o``. With ``sine_frequency`` the noise goes through
    ``sin(2 pi f n)``, the colour map Co et al. use to make Perlin noise a
    universal perturbation of ImageNet classifiers.

    Co, Muñoz-González, de Maupeou, Lupu. *Procedural Noise Adversarial
    Examples for Black-Box Attacks on Deep Convolutional Networks.* CCS 2019
    (arXiv 2018). Perlin. *An Image Synthesizer.* SIGGRAPH 1985.

    Args:
        size: An int (square, one channel), (H, W), (H, W, C) or a model
            (its input shape).
        octaves: Number of octaves (1..8).
        seed: Random seed; the same seed gives the same image.
        cells: Lattice cells along the longer side at the first octave.
        persistence: Weight ratio between successive octaves (0..1].
        sine_frequency: If set, apply ``sin(2 pi * sine_frequency * noise)``.
        color: Three independent noise channels (else one, repeated).

    Returns:
        float32 (H, W, C) in [0, 255], stretched to use the full range.

    Raises:
        ValueError: Bad size, octaves, cells, persistence or frequency.
    """
    h, w, c = _shape(size)
    octaves = checks.count(octaves, "octaves", high=8)
    checks.in_range(cells, 0.5, max(h, w), "cells")
    checks.in_range(persistence, 1e-3, 1.0, "persistence")
    if sine_frequency is not None:
        checks.in_range(sine_frequency, 1e-3, 1e3, "sine_frequency")
    rng = np.random.default_rng(seed)
    planes = []
    for _ in range(c if color else 1):
        n = sum(persistence ** o * _perlin2d(h, w, cells * 2 ** o, rng) for o in range(octaves))
        if sine_frequency is not None:
            n = np.sin(2 * np.pi * sine_frequency * n)
        lo, hi = float(n.min()), float(n.max())
        planes.append((n - lo) / (hi - lo) if hi > lo else np.zeros_like(n))
    img = np.stack(planes, -1) if color else np.repeat(planes[0][..., None], c, -1)
    return np.clip(img * 255.0, 0, 255).astype(np.float32)


def uniform_noise(size, seed: int = 0, low: float = 0.0, high: float = 255.0) -> np.ndarray:
    """Independent uniform noise in every pixel and channel.

    Args:
        size: An int, (H, W), (H, W, C) or a model (its input shape).
        seed: Random seed.
        low, high: Range of the values, inside [0, 255].

    Returns:
        float32 (H, W, C) in [low, high].
    """
    h, w, c = _shape(size)
    checks.in_range(low, 0.0, 255.0, "low")
    checks.in_range(high, low, 255.0, "high")
    return np.random.default_rng(seed).uniform(low, high, (h, w, c)).astype(np.float32)


def gaussian_noise(size, seed: int = 0, mean: float = 127.5, std: float = 50.0) -> np.ndarray:
    """Independent Gaussian noise in every pixel, clipped to [0, 255].

    Args:
        size: An int, (H, W), (H, W, C) or a model (its input shape).
        seed: Random seed.
        mean, std: Of the noise before clipping, in pixel units.

    Returns:
        float32 (H, W, C) in [0, 255].
    """
    h, w, c = _shape(size)
    checks.in_range(mean, 0.0, 255.0, "mean")
    checks.in_range(std, 0.0, 1000.0, "std")
    out = np.random.default_rng(seed).normal(mean, std, (h, w, c))
    return np.clip(out, 0, 255).astype(np.float32)


def universal_perturbation(model, images, epsilon: float = 16.0, labels=None, steps: int = 10,
                           step_size: float | None = None, batch_size: int | None = None,
                           as_image: bool = False) -> np.ndarray:
    """One perturbation ``v`` (||v||_inf <= epsilon) that raises the loss of
    *all* given images at once.

    Each step takes the loss gradient of every image at ``clip(x_i + v)``,
    normalises it per image (mean absolute value 1, so no image dominates),
    averages over the set and moves ``v`` along the sign of that average,
    then clips ``v`` to the L-infinity ball. This is the stochastic-gradient
    form of universal perturbations (Shafahi et al. 2020) rather than the
    DeepFool aggregation of Moosavi-Dezfooli et al.; the object is the same.

    Moosavi-Dezfooli, Fawzi, Fawzi, Frossard. *Universal Adversarial
    Perturbations.* CVPR 2017.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        images: Display images (N, H, W, C) the perturbation is fitted on.
        epsilon: Largest absolute value of ``v``, in display pixels.
        labels: Classes to move away from (default each image's top-1).
        steps: Number of gradient steps over the set.
        step_size: Change of ``v`` per step (default ``2.5 * epsilon / steps``).
        batch_size: Images per gradient pass.
        as_image: Return ``clip(mid-grey + v)`` (a valid image, for showing
            the perturbation on its own to a model) instead of ``v``.

    Returns:
        float32 (H, W, C): the perturbation in [-epsilon, epsilon], or the
        image if ``as_image``.

    Raises:
        ValueError: Bad images, labels, ``epsilon``, ``steps`` or ``step_size``.
    """
    cm = as_course(model)
    x = cm.check(images)
    y = checks.targets(labels, len(x), cm.num_classes, top1(cm, x) if labels is None else None)
    lo, hi = cm.pixel_range
    span = float(hi - lo) if np.isfinite(hi - lo) else np.inf
    eps = float(checks.in_range(epsilon, 0.0, span, "epsilon"))
    steps = checks.count(steps, "steps", high=10_000)
    alpha = 2.5 * eps / steps if step_size is None else float(checks.in_range(step_size, 0.0, np.inf, "step_size"))
    v = np.zeros(x.shape[1:], np.float32)
    for _ in range(steps):
        adv = _project(cm, x + v, x, eps)
        g, _, _ = loss_gradients(cm, adv, y, batch_size)
        scale = np.abs(g).mean(axis=(1, 2, 3), keepdims=True)
        g = g / np.where(scale > 0, scale, 1)
        v = np.clip(v + alpha * np.sign(g.mean(axis=0)), -eps, eps).astype(np.float32)
    if as_image:
        mid = (lo + hi) / 2 if np.isfinite(span) else 0.0
        return np.clip(mid + v, lo, hi).astype(np.float32)
    return v
