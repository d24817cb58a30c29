"""Checks at the numpy boundary: every public function validates here, so bad
input raises a ``ValueError`` that names the value and the valid choices
instead of a traceback from deep inside TensorFlow."""

from __future__ import annotations

import contextlib
import contextvars
from typing import Iterable, Iterator, Sequence

import numpy as np

#: Upper bound of the "looks scaled to 0-1" test: on a 0-255 profile an image
#: whose brightest pixel is at most this is refused (an all-black image is not).
UNIT_MAX = 1.0

_DERIVED: contextvars.ContextVar[bool] = contextvars.ContextVar("vislib_derived_images", default=False)


@contextlib.contextmanager
def derived_images() -> Iterator[None]:
    """Mark images made *inside* the library from images that already passed
    :func:`as_batch` (noisy SmoothGrad copies, deletion / insertion steps and
    their baselines, attack iterates): within the block :func:`as_batch` does
    not apply the 0-1 rule to them. A dark image can legitimately become a
    copy whose brightest pixel is <= 1 (a blurred baseline, a deletion step
    that kept only the faint background, noise of level 0.001 on black); the
    student's input was checked once, at the entry. Every other check
    (shape, channels, NaN, range, booleans) still applies.
    """
    token = _DERIVED.set(True)
    try:
        yield
    finally:
        _DERIVED.reset(token)


def _unit_scaled(arr: np.ndarray, name: str, lo: float, hi: float) -> None:
    """The 0-1 rule: refuse a batch in which some image's maximum is in (0, 1]."""
    peaks = arr.reshape(len(arr), -1).max(axis=1)
    bad = np.flatnonzero((peaks > 0) & (peaks <= UNIT_MAX))
    if not bad.size:
        return
    shown = ", ".join(f"image {i}: max {peaks[i]:.3g}" for i in bad[:3]) + (", ..." if bad.size > 3 else "")
    which = f"{bad.size} of {len(arr)} images" if len(arr) > 1 else "the image"
    raise ValueError(
        f"{name} look scaled to 0-1 ({which}; {shown}); this profile takes display pixels "
        f"{lo:g}-{hi:g}: pass {name} * 255 (an image whose brightest pixel is 1 or less "
        f"is refused, an all-black image is accepted)")


def as_batch(images, input_shape: Sequence[int | None] | None = None,
             value_range: tuple[float, float] | None = None,
             name: str = "images") -> np.ndarray:
    """Turn HWC / NHWC / list-of-HWC input into a float32 NHWC batch, checked.

    The one input check of the library (``CourseModel.check`` calls it):

    * boolean arrays are refused everywhere (a mask is not an image: ``True``
      would become pixel value 1, i.e. black);
    * with a finite ``value_range`` whose top is above 1 (every course
      profile: display pixels 0-255), any image of the batch whose maximum
      lies in (0, 1] is refused: it looks divided by 255, the most common
      tutorial habit, and every prediction and map on it would be
      confidently wrong. An all-black image (maximum 0) is accepted. Images
      the library derives from checked ones are exempt
      (:func:`derived_images`). Bare ``keras.Model`` inputs (infinite range)
      are not range-checked at all;
    * integer and float arrays of any width (uint8, int16, uint16, float64,
      ...) holding in-range values are accepted; non-contiguous views and
      negative strides give the same result as a contiguous copy.

    Args:
        images: One image (H, W, C) or (H, W) for one channel, a batch
            (N, H, W, C), or a list of equally sized images.
        input_shape: The model's (H, W, C); ``None`` entries are free.
        value_range: Inclusive (low, high) the pixel values must lie in.
        name: Argument name used in error messages.

    Returns:
        float32 array of shape (N, H, W, C): a converted copy, or for
        C-contiguous float32 input a read-only view (the caller's array is
        never modified, and never copied just to be read).

    Raises:
        ValueError: Empty input, booleans, non-numeric (object, string,
            complex) arrays, wrong rank, wrong size or channel count,
            non-finite values, values outside ``value_range``, or images
            that look scaled to 0-1 on a 0-255 profile.
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
    src_dtype = arr.dtype
    if arr.dtype == bool:
        raise ValueError(f"{name} are boolean (shape {arr.shape}): a mask is not an image (True would be "
                         "pixel value 1, nearly black); convert a mask with mask.astype('float32') * 255")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must be a numeric array (integers or floats), got dtype {arr.dtype}")
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
    if arr.dtype == np.float32 and arr.flags.c_contiguous:
        # no copy (300 photos are 0.18 GB): a read-only view of the caller's array
        arr = arr.view()
        arr.flags.writeable = False
    else:  # other dtypes, and strided views (one contiguous copy, as TensorFlow would make anyway)
        arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contain NaN or infinite values")
    if value_range is not None:
        lo, hi = value_range
        amin, amax = float(arr.min()), float(arr.max())
        if amin < lo - 1e-3 or amax > hi + 1e-3:
            hint = ""
            if np.isfinite(hi) and hi > UNIT_MAX and -1.0 - 1e-3 <= amin < 0 and amax <= 1.0 + 1e-3:
                hint = "; they look preprocessed to [-1, 1]: pass display pixels (the profile preprocesses)"
            elif np.issubdtype(src_dtype, np.integer) and hi == 255 and amax <= 65535:
                hint = "; 16-bit pixels? pass images / 257 (vislib.load_image reads 16-bit files as 0-255)"
            raise ValueError(f"{name} values lie in [{amin:g}, {amax:g}] but must lie in "
                             f"[{lo:g}, {hi:g}] (the CourseModel's pixel range){hint}")
        if np.isfinite(lo) and np.isfinite(hi) and hi > UNIT_MAX and not _DERIVED.get():
            _unit_scaled(arr, name, lo, hi)
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
    if num_classes < 1:
        raise ValueError("the model has no class-score output (N, classes), so there is no class to "
                         "explain; add a classifier head (e.g. GlobalAveragePooling2D() then Dense(classes))")
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


def flag(value, name: str) -> bool:
    """Check that ``value`` is True or False (not 0, 1 or "yes")."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


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


def pair(value, name: str, low: int = 1, high: int | tuple[int, int] = MAX_COUNT) -> tuple[int, int]:
    """A size or stride given as one whole number or (height, width), each
    checked by :func:`count`; returns ``(h, w)`` as ints.

    Args:
        value: An int (square) or a pair of ints (numpy ints, ``8.0`` accepted).
        name: Argument name used in error messages.
        low: Smallest valid value.
        high: Largest valid value, one for both axes or (for height, for width).

    Raises:
        ValueError: Not a number or a pair, a fraction, a bool, a string,
            NaN, or a value outside ``[low, high]``, naming ``name`` and the value.
    """
    highs = tuple(high) if isinstance(high, (tuple, list)) else (high, high)
    if isinstance(value, (tuple, list, np.ndarray)) and np.ndim(value) == 1:
        vals = tuple(value)
        if len(vals) != 2:
            raise ValueError(f"{name} must be one whole number or (height, width); got {value!r}")
    elif isinstance(value, (str, bytes)) or np.ndim(value) != 0:
        raise ValueError(f"{name} must be one whole number or (height, width); got {value!r}")
    else:
        vals = (value, value)
    return (count(vals[0], name, low, highs[0]), count(vals[1], name, low, highs[1]))


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:30] + "..." + text[-6:]


def in_range(value, low, high, name: str, integer: bool = False):
    """Check ``low <= value <= high`` (and integrality); raise a ValueError saying so."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number in [{low}, {high}]; got {_show(value)}")
    if value != value:  # NaN
        raise ValueError(f"{name} is NaN; valid: {low} <= {name} <= {high}")
    if integer and isinstance(value, (float, np.floating)) and not np.isfinite(value):
        raise ValueError(f"{name}={_show(value)} is out of range; valid: {low} <= {name} <= {high} (a whole number)")
    if integer and int(value) != value:
        raise ValueError(f"{name} must be a whole number in [{low}, {high}]; got {_show(value)}")
    if not (low <= value <= high):
        raise ValueError(f"{name}={_show(value)} is out of range; valid: {low} <= {name} <= {high}")
    return int(value) if integer else value


def feature_matrix(features, name: str = "features", min_rows: int = 2) -> np.ndarray:
    f = np.asarray(features)
    if f.dtype == object or not np.issubdtype(f.dtype, np.number):
        raise ValueError(f"{name} must be a numeric array (N, D); got dtype {f.dtype}")
    f = f.astype(np.float32, copy=False)
    if f.ndim != 2:
        raise ValueError(f"{name} must have shape (N, D); got {f.shape} "
                         "(flatten images with x.reshape(len(x), -1))")
    if len(f) < min_rows:
        raise ValueError(f"{name} has {len(f)} rows; need at least {min_rows}")
    if not np.all(np.isfinite(f)):
        raise ValueError(f"{name} contain NaN or infinite values")
    return f


def labels(labels, n: int) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"labels must have shape ({n},), one per row of features; got {y.shape}")
    return y


def kernels(kernels) -> np.ndarray:
    k = np.asarray(kernels, dtype=np.float32)
    if k.ndim == 3:
        k = k[..., None]
    if k.ndim != 4 or k.shape[-1] not in (1, 3) or k.shape[0] == 0:
        raise ValueError(f"kernels must have shape (n, kh, kw, 1) or (n, kh, kw, 3); got {k.shape}")
    return k
