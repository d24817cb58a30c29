"""Maps, written once for every method: resizing a coarse map (Grad-CAM,
occlusion grids, activations) to the input resolution, reducing colour
channels, and the one ``normalize=`` option."""

from __future__ import annotations

import numpy as np

from . import checks
from .checks import pair


def resize_maps(maps: np.ndarray, size: tuple[int, int], method: str = "bilinear") -> np.ndarray:
    """Resize (N, h, w) maps to (N, H, W) float32.

    Args:
        maps: Array (N, h, w).
        size: Target (H, W), whole numbers (or one for a square).
        method: ``"bilinear"`` or ``"nearest"`` (``tf.image.resize`` methods).
    """
    import tensorflow as tf
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


def normalize_map(heatmap: np.ndarray) -> np.ndarray:
    """Scale each map of (H, W) or (N, H, W) to [0, 1] (constant maps give 0)."""
    m = np.asarray(heatmap, dtype=np.float32)
    single = m.ndim == 2
    m = m[None] if single else m
    if m.ndim != 3:
        raise ValueError(f"heatmap must be (H, W) or (N, H, W); got shape {m.shape}")
    lo = m.min(axis=(1, 2), keepdims=True)
    span = m.max(axis=(1, 2), keepdims=True) - lo
    out = np.where(span > 0, (m - lo) / np.where(span > 0, span, 1), 0).astype(np.float32)
    return out[0] if single else out


def finish(maps: np.ndarray, normalize: bool = False) -> np.ndarray:
    """The last step of every explanation method: float32 (N, H, W) maps, raw
    (``normalize=False``, the default of every method: attributions keep their
    units, so Integrated Gradients sums to the score difference and methods
    can be compared on one scale) or each scaled to [0, 1] (``normalize=True``,
    what a figure wants; :func:`normalize_map`)."""
    return normalize_map(maps) if checks.flag(normalize, "normalize") else np.asarray(maps, dtype=np.float32)


#: channel reductions of a per-pixel attribution (N, H, W, C) to a map (N, H, W)
REDUCTIONS = ("max", "mean", "sum", None)


def reduce_channels(values: np.ndarray, reduce: str | None) -> np.ndarray:
    """(N, H, W, C) per-channel attributions -> (N, H, W) map.

    ``"max"``: max of ``|v|`` over channels (Simonyan et al. 2014's saliency);
    ``"mean"``: mean of ``|v|``; ``"sum"``: signed sum (keeps the total, as
    Integrated Gradients' completeness needs); None: the signed values
    themselves, (N, H, W, C).
    """
    if reduce not in REDUCTIONS:
        raise ValueError(f"unknown reduce {reduce!r}; valid choices: {list(REDUCTIONS)}")
    v = np.asarray(values)
    if reduce is None:
        return v.astype(np.float32)
    if reduce == "sum":   # in the values' own precision (Integrated Gradients sums in float64)
        return v.sum(axis=-1).astype(np.float32)
    mag = np.abs(v)
    return (mag.max(axis=-1) if reduce == "max" else mag.mean(axis=-1)).astype(np.float32)


def check_reduce(reduce, normalize, valid=REDUCTIONS) -> None:
    """Check a per-pixel method's ``reduce`` and ``normalize`` options before
    it computes anything: ``reduce`` one of ``valid``, ``normalize`` True or
    False, and no ``normalize=True`` with ``reduce=None`` (the result is then
    (N, H, W, C) signed values, not maps to scale)."""
    checks.choice(reduce, valid, "reduce")
    checks.flag(normalize, "normalize")
    if normalize and reduce is None:
        wanted = " or ".join(repr(r) for r in valid if r is not None)
        raise ValueError("normalize=True scales (N, H, W) maps; with reduce=None the result is (N, H, W, C) "
                         f"signed values: pass reduce={wanted}, or normalize=False")


def finish_channels(values: np.ndarray, reduce, normalize: bool = False) -> np.ndarray:
    """The last step of the per-pixel methods (saliency and its ReLU rules,
    Integrated Gradients, LRP): (N, H, W, C) per-channel values reduced over
    channels (:func:`reduce_channels`) and finished (:func:`finish`), or
    returned as they are, float32, with ``reduce=None``."""
    out = reduce_channels(values, reduce)
    return out if reduce is None else finish(out, normalize)
