"""SmoothGrad (Smilkov et al. 2017): average a gradient map over noisy copies
of the image.

Written once as a wrapper, like captum's ``NoiseTunnel``: it works with any
method that has the course's call shape ``method(model, images, target, ...)``
(``saliency``, ``guided_backprop``, ``gradcam``, ...).
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np

from .._core import checks, graph
from .._core.course_model import CourseModel
from .._core.gradients import resolve
from .._core.maps import finish
from .saliency import saliency


def _noise_range(cm, x: np.ndarray) -> tuple[float, float, bool]:
    """(low, high, clip): the CourseModel's pixel range, or the data range of
    ``x`` for a bare model (whose range is unbounded; then no clipping)."""
    lo, hi = cm.pixel_range
    if np.isfinite(lo) and np.isfinite(hi):
        return float(lo), float(hi), True
    return float(x.min()), float(x.max()), False


def smoothgrad(model, images, target=None, method: Callable | None = None, noise: float = 0.15,
               samples: int = 25, batch_size: int | None = None, seed: int | None = 0,
               squared: bool = False, normalize: bool = False, **options) -> np.ndarray:
    """Average ``method``'s map over ``samples`` noisy copies of each image.

    Smilkov, Thorat, Kim, Viegas, Wattenberg. *SmoothGrad: removing noise by
    adding noise.* ICML workshop 2017.

    Each copy is ``clip(x + N(0, sigma^2))`` with ``sigma = noise * (max - min)``
    of the CourseModel's pixel range (for a bare ``keras.Model``, whose range is
    unbounded, the data range of ``images``, and no clipping). The target is
    decided once on the clean images, so every copy explains the same class.
    The copies of all images are stacked and the method is called once per
    batch.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        images: One image (H, W, C) or a batch (N, H, W, C) of display pixels.
        target: Class index, one per image, or None for each image's top-1.
        method: The explanation function to smooth, with the course's call
            shape, e.g. ``vislib.saliency`` (the default),
            ``vislib.guided_backprop``, ``vislib.gradcam``.
        noise: Noise level sigma / (max - min), in [0, 1]; the paper finds
            0.1-0.2 best.
        samples: Noisy copies per image, >= 1 (the paper uses about 50).
        batch_size: Noisy copies per call of ``method`` (default from the
            model size). The result does not depend on it.
        seed: Seed of the noise (None: fresh noise on every call).
        squared: Average the squared maps (SmoothGrad-Squared, Hooker et al. 2019).
        normalize: Scale each averaged map to [0, 1] (default: raw; ``method``
            itself always runs raw, so the average is of raw maps).
        **options: Passed on to ``method`` (e.g. ``reduce=None``, ``layer=...``).

    Returns:
        float32 array shaped like ``method``'s output for the images, usually
        (N, H, W).

    Raises:
        ValueError: ``method`` not an explanation function (or passed
            first, the old call shape), ``noise`` outside [0, 1], ``samples``
            or ``batch_size`` not a whole number >= 1, bad images or targets.
    """
    if isinstance(model, str) or (callable(model) and not isinstance(model, (CourseModel, keras.Model))):
        # the call shape before the one-contract change: smoothgrad(method, model, images)
        fn = model if isinstance(model, str) else getattr(model, "__name__", "saliency")
        raise ValueError(f"smoothgrad takes (model, images, target=None, method=...); got the "
                         f"{'name' if isinstance(model, str) else 'function'} {fn!r} first: call "
                         f"smoothgrad(model, images, method=vislib.{fn})")
    if method is None:
        method = saliency
    if not callable(method) or isinstance(method, (CourseModel, keras.Model)):
        raise ValueError(f"method must be an explanation function such as vislib.saliency, "
                         f"vislib.guided_backprop or vislib.gradcam; got {method!r}")
    checks.in_range(noise, 0.0, 1.0, "noise")
    samples = checks.count(samples, "samples")
    cm, x, t = resolve(model, images, target)
    lo, hi, clip = _noise_range(cm, x)
    sigma = float(noise) * (hi - lo)
    bs = graph.batch_size(cm.model, batch_size)
    rng = np.random.default_rng(seed)

    n = len(x)
    total = n * samples  # copy k shows image k // samples
    acc = None
    with checks.derived_images():  # copies of checked images (noise 0.001 on black has max < 1)
        for start in range(0, total, bs):
            k = np.arange(start, min(total, start + bs))
            img = k // samples
            batch = x[img] + rng.normal(0.0, 1.0, x[img].shape).astype(np.float32) * sigma
            if clip:
                np.clip(batch, lo, hi, out=batch)
            maps = np.asarray(method(cm, batch, t[img], **options), dtype=np.float64)
            if squared:
                maps = maps * maps
            if acc is None:
                acc = np.zeros((n, *maps.shape[1:]), np.float64)
            np.add.at(acc, img, maps)
    return finish(acc / samples, normalize)


__all__ = ["smoothgrad"]
