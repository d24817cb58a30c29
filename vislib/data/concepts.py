"""Concept images made on the spot: textures a person can name.

TCAV (Kim et al. 2018) needs a few dozen images of a *concept* ("striped",
"dotted") and of random things. The paper takes its concept images from
Broden and web searches; offline, the course draws them: each image is a
texture of one kind at a random scale, angle, phase and contrast, so what
the images share is the concept and little else.
"""

from __future__ import annotations

import numpy as np

from .._core import checks

#: the textures :func:`concept_images` draws
CONCEPTS = ("stripes", "dots", "checkerboard", "zigzag", "noise")


def _texture(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One texture in [0, 1], (size, size)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    period = rng.uniform(0.08, 0.2)                       # a fraction of the image side
    angle = rng.uniform(0, np.pi)
    u = xx * np.cos(angle) + yy * np.sin(angle)
    v = -xx * np.sin(angle) + yy * np.cos(angle)
    phase = rng.uniform(0, 1, 2)
    if kind == "stripes":
        return (np.sin(2 * np.pi * (u / period + phase[0])) > 0).astype(np.float32)
    if kind == "checkerboard":
        return ((np.floor(u / period + phase[0]) + np.floor(v / period + phase[1])) % 2).astype(np.float32)
    if kind == "dots":
        cu = (u / period + phase[0]) % 1 - 0.5
        cv = (v / period + phase[1]) % 1 - 0.5
        return (cu * cu + cv * cv < rng.uniform(0.06, 0.12)).astype(np.float32)
    if kind == "zigzag":
        tri = np.abs((v / period + phase[1]) % 1 - 0.5) * 2          # a triangle wave across the lines
        return (np.sin(2 * np.pi * (u / period + 0.5 * tri + phase[0])) > 0).astype(np.float32)
    return rng.uniform(0, 1, (size, size)).astype(np.float32)       # "noise": the random baseline


def concept_images(concept: str, n: int = 30, size: int | tuple = 224, channels: int = 3,
                   pixel_range: tuple = (0.0, 255.0), seed: int = 0) -> np.ndarray:
    """``n`` procedurally drawn images of a texture concept.

    Each is the texture at a random period (8-20 % of the side), angle and
    phase, with a random dark and light colour (grey levels for one channel),
    so colour is not part of the concept.

    Args:
        concept: One of :data:`CONCEPTS`: ``"stripes"``, ``"dots"``,
            ``"checkerboard"``, ``"zigzag"``, ``"noise"`` (uniform noise, for a
            random set that is not a texture).
        n: Number of images, 1-10000.
        size: Side in pixels, or ``(height, width)`` (a square texture is
            drawn at the larger side and cropped).
        channels: 1 or 3.
        pixel_range: ``(low, high)`` of the display pixels (``cm.pixel_range``).
        seed: Seed of the random draws.

    Returns:
        float32 (n, H, W, channels) in ``pixel_range``.

    Raises:
        ValueError: Unknown concept or option out of range.
    """
    checks.choice(concept, CONCEPTS, "concept")
    n = checks.count(n, "n", low=1, high=10_000)
    h, w = (size, size) if np.ndim(size) == 0 else tuple(size)
    h, w = checks.count(h, "height", low=4, high=4096), checks.count(w, "width", low=4, high=4096)
    checks.choice(channels, [1, 3], "channels")
    seed = checks.count(seed, "seed", low=0, high=2**32 - 1)
    lo, hi = (float(v) for v in pixel_range)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"pixel_range must be (low, high) with low < high; got {pixel_range!r}")
    rng = np.random.default_rng(seed)
    out = np.empty((n, h, w, channels), np.float32)
    for i in range(n):
        t = _texture(concept, max(h, w), rng)[:h, :w, None]
        dark = rng.uniform(0.0, 0.35, channels)
        light = rng.uniform(0.65, 1.0, channels)
        out[i] = lo + (hi - lo) * (dark + (light - dark) * t)
    return out
