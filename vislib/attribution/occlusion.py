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

from .._core import baselines, checks, graph
from .._core.maps import finish
from .._core.course_model import CourseModel, as_course
from .._core.progress import progress

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
    size = checks.count(size, "size")
    patch = checks.count(patch, "patch", high=size)
    stride = checks.count(stride, "stride")
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


def upsample_grid(grid: np.ndarray, size: tuple[int, int], patch=None, stride=None) -> np.ndarray:
    """Spread a coarse (N, gh, gw) occlusion grid back to (N, H, W): each
    pixel gets the mean of the values of all patches that cover it (exact, no
    interpolation; pixels no patch covers, when stride > patch, take the
    nearest patch). ``patch`` and ``stride`` as given to :func:`occlusion_grid`."""
    patch, stride = geometry(size, patch, stride)
    grid = np.asarray(grid, np.float32)
    want = (len(positions(size[0], patch[0], stride[0])), len(positions(size[1], patch[1], stride[1])))
    if grid.ndim != 3 or grid.shape[1:] != want:
        raise ValueError(f"grid must have shape (N, {want[0]}, {want[1]}) for size {tuple(size)}, patch {patch} "
                         f"and stride {stride}; got {grid.shape}")
    ay = _cover(size[0], positions(size[0], patch[0], stride[0]), patch[0])
    ax = _cover(size[1], positions(size[1], patch[1], stride[1]), patch[1])
    total = np.einsum("yi,nij,xj->nyx", ay, np.asarray(grid, np.float64), ax)
    count = ay.sum(1)[:, None] * ax.sum(1)[None, :]
    return (total / count).astype(np.float32)


def _fill_images(x: np.ndarray, fill, cm: CourseModel, patch: tuple[int, int]) -> np.ndarray:
    """What replaces the pixels under the patch: (N, H, W, C), or broadcastable."""
    if isinstance(fill, str):
        checks.choice(fill, FILLS, "fill (or pass a number)")
        if fill == "gray":
            return baselines.mid_grey(x, cm.pixel_range)
        if fill == "mean":
            return baselines.mean_colour(x)
        return baselines.blur(x, (patch[0] / 2, patch[1] / 2), mode="nearest")
    if isinstance(fill, bool) or not isinstance(fill, (int, float, np.integer, np.floating)):
        raise ValueError(f"unknown fill {fill!r}; valid choices: {list(FILLS)} or a pixel value")
    lo, hi = cm.pixel_range
    finite = np.isfinite(lo) and np.isfinite(hi)
    if not np.isfinite(fill) or (finite and not lo <= fill <= hi):
        raise ValueError(f"fill={fill!r} is outside the pixel range [{lo:g}, {hi:g}]; "
                         f"valid choices: {list(FILLS)} or a pixel value in that range")
    return np.full((len(x), 1, 1, 1), float(fill), np.float32)


def _prob_fn(cm: CourseModel):
    """``x (display pixels) -> model output``: the CourseModel's preprocessing, then
    the model's compiled call (:func:`vislib._core.graph.compiled_call`, built once
    per model and shared with ``CourseModel.predict``)."""
    run, preprocess = graph.compiled_call(cm.model), cm.preprocess
    return lambda x: run(preprocess(x))


def occlusion(model, images, target=None, patch: int | tuple[int, int] | None = None,
              stride: int | tuple[int, int] | None = None, fill: str | float = "gray",
              batch_size: int | None = None, output: str = "drop", normalize: bool = False) -> np.ndarray:
    """Occlusion sensitivity map: how the class probability reacts when a
    patch of the image is hidden.

    The map is :func:`occlusion_grid` (one value per patch position) spread
    back to the image by :func:`upsample_grid`; call those two to get both.

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
        normalize: Scale each map to [0, 1] (default: raw probabilities).

    Returns:
        float32 (N, H, W) maps.

    Raises:
        ValueError: Bad images or targets, ``patch``/``stride`` outside
            1..input size, an unknown ``fill`` or ``output``.
    """
    cm = as_course(model)
    grid = occlusion_grid(cm, images, target, patch, stride, fill, batch_size, output)
    return finish(upsample_grid(grid, cm.input_size, patch, stride), normalize)


def geometry(size: tuple[int, int], patch=None, stride=None) -> tuple[tuple[int, int], tuple[int, int]]:
    """(patch, stride) as (height, width) pairs, checked, with the defaults
    of :func:`occlusion` (a seventh of the input; half the patch)."""
    h, w = size
    p = checks.pair(patch if patch is not None else max(1, round(min(h, w) / 7)), "patch", 1, (h, w))
    s = checks.pair(stride if stride is not None else (max(1, p[0] // 2), max(1, p[1] // 2)), "stride", 1, (h, w))
    return p, s


def occlusion_grid(model, images, target=None, patch: int | tuple[int, int] | None = None,
                   stride: int | tuple[int, int] | None = None, fill: str | float = "gray",
                   batch_size: int | None = None, output: str = "drop") -> np.ndarray:
    """The occlusion scores before they are spread back to the image: float32
    (N, gh, gw), one value per patch position (rows: top edges
    :func:`positions`). Arguments as :func:`occlusion`."""
    checks.choice(output, OUTPUTS, "output")
    cm = as_course(model)
    x = cm.check(images)
    n, h, w, _ = x.shape
    p, s = geometry((h, w), patch, stride)
    filler = _fill_images(x, fill, cm, p)
    spatial = isinstance(fill, str) and fill == "blur"
    bs = graph.batch_size(cm.model, batch_size, kind="forward")
    if target is not None:  # bad targets fail before any forward pass
        checks.targets(target, n, cm.num_classes)
    run = _prob_fn(cm)

    clean = graph.batched(lambda b: run(tf.constant(b)), x, bs)
    idx = checks.targets(target, n, cm.num_classes, clean.argmax(axis=1))
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
    return grid.astype(np.float32)


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
    h, w = checks.pair(size, "size")
    ph, pw = checks.pair(patch, "patch", 1, (h, w))
    sh, sw = checks.pair(stride, "stride")
    return len(positions(h, ph, sh)) * len(positions(w, pw, sw))


__all__ = ["occlusion", "occlusion_grid", "upsample_grid", "geometry", "positions", "forward_passes", "FILLS", "OUTPUTS"]
