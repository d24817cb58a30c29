"""Occlusion sensitivity (Zeiler & Fergus 2014): slide a patch over the image
and record how much the probability of the class falls.

No gradients: the network is only run forward, on every occluded copy of the
image. The copies of all images go through the model in batches (never one
forward pass per patch), so the cost is the cost of ``positions`` images.
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from . import _checks, _graph
from ._progress import progress
from .profiles import CourseModel, as_course

FILLS = ("gray", "mean", "blur")
OUTPUTS = ("drop", "probability")
SHOW_AFTER_S = 3.0  # show a progress bar when the remaining wait is longer than this


def positions(size: int, patch: int, stride: int) -> list[int]:
    """Start offsets of the patch along one axis: ``0, stride, 2 stride, ...``,
    plus a last position flush with the edge when the stride does not land
    there, so every pixel is covered by at least one patch.

    When ``(size - patch)`` is a multiple of ``stride`` there are exactly
    ``(size - patch) / stride + 1`` positions.

    Raises:
        ValueError: ``size``, ``patch`` or ``stride`` not whole numbers >= 1, or
            ``patch`` larger than ``size``.
    """
    size = _checks.count(size, "size")
    patch = _checks.count(patch, "patch", high=size)
    stride = _checks.count(stride, "stride")
    out = list(range(0, size - patch + 1, stride))
    if out[-1] + patch < size:
        out.append(size - patch)
    return out


def _cover(size: int, starts: list[int], patch: int) -> np.ndarray:
    """(size, len(starts)) matrix: 1 where pixel y lies inside patch i.

    When the stride is larger than the patch, pixels between two patches are
    covered by none; they take the nearest patch instead.
    """
    y = np.arange(size)[:, None]
    s = np.asarray(starts)[None, :]
    cover = (y >= s) & (y < s + patch)
    gaps = ~cover.any(axis=1)
    if gaps.any():
        dist = np.maximum(s - y, y - (s + patch - 1))  # distance from pixel y to patch i
        nearest = dist[gaps].argmin(axis=1)
        cover[np.flatnonzero(gaps), nearest] = True
    return cover.astype(np.float64)


def upsample(grid: np.ndarray, size: tuple[int, int], patch: tuple[int, int],
             stride: tuple[int, int]) -> np.ndarray:
    """Spread a coarse (N, gh, gw) grid back to (N, H, W): each pixel gets the
    mean of the values of all patches that cover it (exact, no interpolation;
    pixels no patch covers, when stride > patch, take the nearest patch)."""
    ay = _cover(size[0], positions(size[0], patch[0], stride[0]), patch[0])
    ax = _cover(size[1], positions(size[1], patch[1], stride[1]), patch[1])
    total = np.einsum("yi,nij,xj->nyx", ay, np.asarray(grid, np.float64), ax)
    count = ay.sum(1)[:, None] * ax.sum(1)[None, :]
    return (total / count).astype(np.float32)


def _fill_images(x: np.ndarray, fill, course: CourseModel, patch: tuple[int, int]) -> np.ndarray:
    """What replaces the pixels under the patch: (N, H, W, C), or broadcastable."""
    lo, hi = course.pixel_range
    finite = np.isfinite(lo) and np.isfinite(hi)
    if isinstance(fill, str):
        _checks.choice(fill, FILLS, "fill (or pass a number)")
        if fill == "gray":
            if finite:
                return np.full((len(x), 1, 1, 1), (lo + hi) / 2, np.float32)
            mid = (x.min(axis=(1, 2, 3)) + x.max(axis=(1, 2, 3))) / 2
            return mid[:, None, None, None].astype(np.float32)
        if fill == "mean":
            return x.mean(axis=(1, 2), keepdims=True).astype(np.float32)
        from scipy.ndimage import gaussian_filter
        sigma = (patch[0] / 2, patch[1] / 2)
        return np.stack([np.stack([gaussian_filter(im[..., c], sigma, mode="nearest")
                                   for c in range(x.shape[-1])], -1) for im in x]).astype(np.float32)
    if isinstance(fill, bool) or not isinstance(fill, (int, float, np.integer, np.floating)):
        raise ValueError(f"unknown fill {fill!r}; valid choices: {list(FILLS)} or a pixel value")
    if not np.isfinite(fill) or (finite and not lo <= fill <= hi):
        raise ValueError(f"fill={fill!r} is outside the pixel range [{lo:g}, {hi:g}]; "
                         f"valid choices: {list(FILLS)} or a pixel value in that range")
    return np.full((len(x), 1, 1, 1), float(fill), np.float32)


def _prob_fn(course: CourseModel):
    """``x (display pixels) -> model output``: the profile's preprocessing, then
    the model's compiled call (:func:`vislib._graph.compiled_call`, built once
    per model and shared with ``CourseModel.predict``)."""
    run, preprocess = _graph.compiled_call(course.model), course.preprocess
    return lambda x: run(preprocess(x))


def occlusion(model, images, target=None, patch: int | tuple[int, int] | None = None,
              stride: int | tuple[int, int] | None = None, fill: str | float = "gray",
              batch_size: int | None = None, output: str = "drop",
              return_grid: bool = False):
    """Occlusion sensitivity map: how the class probability reacts when a
    patch of the image is hidden.

    Zeiler & Fergus. *Visualizing and Understanding Convolutional Networks.* ECCV 2014.

    For each position of a ``patch`` x ``patch`` square slid with ``stride``
    over the image, the square is filled (grey, the image mean, a blurred
    copy of the image, or a given value) and the model's output probability
    of the target class is recorded. All occluded copies go through the
    network in batches. The coarse grid is spread back to the image: each
    pixel gets the mean over the patches that cover it (the nearest patch
    for pixels between patches when ``stride > patch``).

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        images: One image (H, W, C) or a batch (N, H, W, C) of display pixels.
        target: Class index, one per image, or None for each image's top-1
            class (decided once, on the clean image).
        patch: Side of the square (or (height, width)) in pixels, 1..input
            size. Default: a seventh of the input (4 px at 28, 32 px at 224).
        stride: Step between positions, 1..input size. Default: half the patch.
        fill: ``"gray"`` (middle of the pixel range; of each image's value
            range for a bare ``keras.Model``), ``"mean"`` (the image's
            mean colour), ``"blur"`` (a Gaussian-blurred copy of the image,
            sigma = patch / 2) or a pixel value.
        batch_size: Occluded copies per forward pass (default from the model size).
        output: ``"drop"`` (p(clean) - p(occluded): high where hiding hurts the
            class) or ``"probability"`` (p(occluded)).
        return_grid: Also return the coarse grid, one value per patch position.

    Returns:
        float32 (N, H, W) maps; with ``return_grid`` the pair
        ``(maps, grid)`` where ``grid`` is float32 (N, gh, gw).

    Raises:
        ValueError: Bad images or targets, ``patch``/``stride`` outside
            1..input size, an unknown ``fill`` or ``output``.
    """
    _checks.choice(output, OUTPUTS, "output")
    course = as_course(model)
    x = course.check(images)
    n, h, w, _ = x.shape
    p = _checks.pair(patch if patch is not None else max(1, round(min(h, w) / 7)), "patch", 1, (h, w))
    s = _checks.pair(stride if stride is not None else (max(1, p[0] // 2), max(1, p[1] // 2)), "stride", 1, (h, w))
    filler = _fill_images(x, fill, course, p)
    spatial = isinstance(fill, str) and fill == "blur"
    bs = _graph.batch_size(course.model, batch_size, kind="forward")
    if target is not None:  # bad targets fail before any forward pass
        _checks.targets(target, n, course.num_classes)
    run = _prob_fn(course)

    clean = np.concatenate([np.asarray(run(tf.constant(x[i:i + bs]))) for i in range(0, n, bs)])
    idx = _checks.targets(target, n, course.num_classes, clean.argmax(axis=1))
    p_clean = clean[np.arange(n), idx]

    ys, xs = positions(h, p[0], s[0]), positions(w, p[1], s[1])
    spots = [(y0, x0) for y0 in ys for x0 in xs]
    per_image = len(spots)
    total = n * per_image
    scores = np.empty(total, np.float32)
    batches = range(0, total, bs)

    def occluded(start: int) -> np.ndarray:
        ks = range(start, min(total, start + bs))
        out = np.empty((len(ks), h, w, x.shape[-1]), np.float32)
        for j, k in enumerate(ks):
            i, (y0, x0) = k // per_image, spots[k % per_image]
            out[j] = x[i]
            src = filler[i]
            out[j, y0:y0 + p[0], x0:x0 + p[1]] = src[y0:y0 + p[0], x0:x0 + p[1]] if spatial else src
        return out

    def score(start: int) -> None:
        batch = occluded(start)
        out = np.asarray(run(tf.constant(batch)))
        k = np.arange(start, start + len(batch))
        scores[start:start + len(batch)] = out[np.arange(len(batch)), idx[k // per_image]]

    t0 = time.perf_counter()
    score(0)
    rest = batches[1:]
    eta = (time.perf_counter() - t0) * len(rest)
    for start in progress(rest, total=len(rest), desc="occlusion", show=eta > SHOW_AFTER_S):
        score(start)

    grid = scores.reshape(n, len(ys), len(xs))
    if output == "drop":
        grid = p_clean[:, None, None] - grid
    grid = grid.astype(np.float32)
    maps = upsample(grid, (h, w), p, s)
    return (maps, grid) if return_grid else maps


def forward_passes(size: int | tuple[int, int], patch: int | tuple[int, int],
                   stride: int | tuple[int, int]) -> int:
    """Number of occluded copies (forward passes) per image for this geometry.

    Args:
        size: Image side, or (height, width).
        patch: Patch side, or (height, width), at most the image's.
        stride: Step between positions, or (height, width).

    Raises:
        ValueError: Any of them not whole numbers >= 1 (named), a patch
            larger than the image.
    """
    h, w = _checks.pair(size, "size")
    ph, pw = _checks.pair(patch, "patch", 1, (h, w))
    sh, sw = _checks.pair(stride, "stride")
    return len(positions(h, ph, sh)) * len(positions(w, pw, sw))


__all__ = ["occlusion", "positions", "upsample", "forward_passes", "FILLS", "OUTPUTS"]
