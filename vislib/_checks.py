"""Checks at the numpy boundary: every public function validates here, so bad
input raises a ``ValueError`` that names the value and the valid choices
instead of a traceback from deep inside TensorFlow."""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np


def as_batch(images, input_shape: Sequence[int | None] | None = None,
             value_range: tuple[float, float] | None = None,
             name: str = "images") -> np.ndarray:
    """Turn HWC / NHWC / list-of-HWC input into a float32 NHWC batch, checked.

    Args:
        images: One image (H, W, C) or (H, W) for one channel, a batch
            (N, H, W, C), or a list of equally sized images.
        input_shape: The model's (H, W, C); ``None`` entries are free.
        value_range: Inclusive (low, high) the pixel values must lie in.
        name: Argument name used in error messages.

    Returns:
        float32 array of shape (N, H, W, C): a converted copy, or for float32
        input a read-only view (the caller's array is never modified, and
        never copied just to be read).

    Raises:
        ValueError: Empty input, wrong rank, wrong size or channel count,
            non-finite values or values outside ``value_range``.
    """
    if images is None:
        raise ValueError(f"{name} is None; pass an image (H, W, C) or a batch (N, H, W, C)")
    if isinstance(images, (list, tuple)):
        if len(images) == 0:
            raise ValueError(f"{name} is an empty list; pass at least one image")
        shapes = {np.shape(im) for im in images}
        if len(shapes) > 1:
            raise ValueError(f"{name} have different shapes {sorted(shapes)}; "
                             "resize them to one size first (vislib.load_image(..., size=...))")
        images = np.stack([np.asarray(im) for im in images])
    arr = np.asarray(images)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    want_c = input_shape[-1] if input_shape is not None else None
    if arr.ndim == 2:
        arr = arr[None, :, :, None]
    elif arr.ndim == 3:
        # (H, W, C) single image, or (N, H, W) batch of one-channel images.
        want_hw = tuple(input_shape[:2]) if input_shape is not None else None
        batch_of_gray = want_c == 1 and (tuple(arr.shape[1:]) == want_hw or (
            arr.shape[-1] not in (1, 3, 4) and tuple(arr.shape[:2]) != want_hw))
        if batch_of_gray:
            arr = arr[..., None]
        else:
            arr = arr[None]
    elif arr.ndim != 4:
        raise ValueError(f"{name} must have shape (H, W, C) or (N, H, W, C); got shape {arr.shape}")
    if arr.size == 0 or arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if input_shape is not None:
        want = tuple(input_shape)
        got = arr.shape[1:]
        if want[-1] is not None and got[-1] != want[-1]:
            raise ValueError(f"{name} have {got[-1]} channel(s) but the model expects {want[-1]} "
                             f"(shape {arr.shape}, model input (H, W, C) = {want}); "
                             "CourseModel.prepare() converts RGB, grayscale and RGBA")
        if any(w is not None and g != w for g, w in zip(got[:2], want[:2])):
            raise ValueError(f"{name} are {got[0]}x{got[1]} but the model expects "
                             f"{want[0]}x{want[1]} (shape {arr.shape}); resize with "
                             "CourseModel.prepare() or vislib.load_image(path, size=...)")
    if arr.dtype == np.float32:  # no copy (300 photos are 0.18 GB): a read-only view of the caller's array
        arr = arr.view()
        arr.flags.writeable = False
    else:
        arr = arr.astype(np.float32)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contain NaN or infinite values")
    if value_range is not None:
        lo, hi = value_range
        amin, amax = float(arr.min()), float(arr.max())
        if amin < lo - 1e-3 or amax > hi + 1e-3:
            raise ValueError(f"{name} values lie in [{amin:g}, {amax:g}] but must lie in "
                             f"[{lo:g}, {hi:g}] (the profile's pixel range)")
    return arr


def targets(target, n: int, num_classes: int, top1: np.ndarray | None = None) -> np.ndarray:
    """Resolve ``target`` (None, int, or one int per image) to an int array (N,).

    Args:
        target: ``None`` for each image's top-1 class (then ``top1`` is used),
            one int for all images, or a sequence of N ints.
        n: Number of images.
        num_classes: Number of classes of the model.
        top1: The model's top-1 classes, used when ``target`` is None.

    Raises:
        ValueError: Wrong length, non-integer or out-of-range classes.
    """
    if target is None:
        if top1 is None:
            raise ValueError("target is None but no top-1 prediction was given")
        return np.asarray(top1, dtype=np.int64).reshape(n)
    arr = np.asarray(target)
    if arr.ndim == 0:
        arr = np.full(n, arr)
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"target must be None, one int, or {n} ints (one per image); got {target!r}")
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"target must hold class indices (ints); got {target!r}")
    bad = arr[(arr < 0) | (arr >= num_classes)]
    if bad.size:
        raise ValueError(f"target {bad.tolist()} out of range: valid classes are 0..{num_classes - 1}")
    return arr.astype(np.int64)


def choice(value, valid: Iterable, name: str):
    """Check that ``value`` is one of ``valid``; raise a ValueError listing them."""
    valid = list(valid)
    if value not in valid:
        shown = valid if len(valid) <= 40 else valid[:20] + ["..."] + valid[-5:]
        raise ValueError(f"unknown {name} {value!r}; valid choices: {shown}")
    return value


#: Upper bound for counts (batch sizes, steps, samples): far above anything a
#: laptop finishes, low enough to catch a typo (1e9) before memory runs out.
MAX_COUNT = 1_000_000


def count(value, name: str, low: int = 1, high: int = MAX_COUNT) -> int:
    """The one rule for counts (``batch_size``, ``steps``, ``samples``, sizes,
    strides): a whole number in ``[low, high]`` (numpy ints and integral
    floats such as ``8.0`` accepted), returned as ``int``.

    Raises:
        ValueError: Booleans, strings, NaN, fractions or out-of-range values,
            naming ``name``, the value and the valid range.
    """
    return in_range(value, low, high, name, integer=True)


def in_range(value, low, high, name: str, integer: bool = False):
    """Check ``low <= value <= high`` (and integrality); raise a ValueError saying so."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number in [{low}, {high}]; got {value!r}")
    if value != value:  # NaN
        raise ValueError(f"{name} is NaN; valid: {low} <= {name} <= {high}")
    if integer and int(value) != value:
        raise ValueError(f"{name} must be a whole number in [{low}, {high}]; got {value!r}")
    if not (low <= value <= high):
        raise ValueError(f"{name}={value!r} is out of range; valid: {low} <= {name} <= {high}")
    return int(value) if integer else value
