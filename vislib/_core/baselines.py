"""Reference images, written once: what occlusion paints under its patch,
what deletion/insertion replace pixels with, where Integrated Gradients'
path starts. Each takes checked display images (N, H, W, C) float32."""

from __future__ import annotations

import numpy as np


def blur(x: np.ndarray, sigma: float | tuple[float, float], mode: str = "reflect") -> np.ndarray:
    """A Gaussian blur of each image and channel (``sigma`` in pixels, one or
    (y, x)); ``mode`` is how the edges are extended (scipy.ndimage)."""
    from scipy.ndimage import gaussian_filter
    sy, sx = (sigma, sigma) if np.isscalar(sigma) else sigma
    return gaussian_filter(np.asarray(x, np.float32), sigma=(0, float(sy), float(sx), 0),
                           mode=mode).astype(np.float32)


def mean_colour(x: np.ndarray) -> np.ndarray:
    """Each image's mean colour, (N, 1, 1, C)."""
    return np.asarray(x, np.float32).mean(axis=(1, 2), keepdims=True).astype(np.float32)


def mid_grey(x: np.ndarray, pixel_range: tuple[float, float]) -> np.ndarray:
    """The middle of the pixel range, (N, 1, 1, 1); of each image's own value
    range when the range is not known (a bare ``keras.Model``)."""
    lo, hi = pixel_range
    if np.isfinite(lo) and np.isfinite(hi):
        return np.full((len(x), 1, 1, 1), (lo + hi) / 2, np.float32)
    mid = (x.min(axis=(1, 2, 3)) + x.max(axis=(1, 2, 3))) / 2
    return mid[:, None, None, None].astype(np.float32)


def black(x: np.ndarray, pixel_range: tuple[float, float]) -> np.ndarray:
    """The low end of the pixel range (0 on every profile), (N, 1, 1, 1); each
    image's own minimum when the range is not known."""
    lo = pixel_range[0]
    if np.isfinite(lo):
        return np.full((len(x), 1, 1, 1), lo, np.float32)
    return x.min(axis=(1, 2, 3))[:, None, None, None].astype(np.float32)
