"""Resizing of maps, written once for every method that upsamples a coarse
map (Grad-CAM, occlusion grids, activations) to the input resolution."""

from __future__ import annotations

import numpy as np


def resize_maps(maps: np.ndarray, size: tuple[int, int], method: str = "bilinear") -> np.ndarray:
    """Resize (N, h, w) maps to (N, H, W) float32.

    Args:
        maps: Array (N, h, w).
        size: Target (H, W), whole numbers (or one for a square).
        method: ``"bilinear"`` or ``"nearest"`` (``tf.image.resize`` methods).
    """
    import tensorflow as tf
    from ._checks import pair
    size = pair(size, "size", 1, 8192)
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f"maps must be (N, h, w); got shape {maps.shape}")
    if method not in ("bilinear", "nearest", "bicubic", "area"):
        raise ValueError(f"unknown resize method {method!r}; valid: ['bilinear', 'nearest', 'bicubic', 'area']")
    if maps.shape[1:] == tuple(size):
        return maps.copy()
    out = tf.image.resize(maps[..., None], size, method=method)
    return np.asarray(out[..., 0], dtype=np.float32)
