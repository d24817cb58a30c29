"""Image conversions every part of vislib shares: any image to RGB uint8,
resizing and the ImageNet centre crop."""

from __future__ import annotations

import numpy as np

from . import checks


# ----------------------------------------------------------------- pixels
def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Convert an image array to RGB uint8 (H, W, 3).

    Grayscale (H, W) or (H, W, 1), gray+alpha, RGB, RGBA (composited on
    white), bool, 16-bit integers (scaled by their range) and floats in
    [0, 1] or [0, 255] are accepted.

    Raises:
        ValueError: Empty arrays, other ranks or channel counts, NaNs.
    """
    arr = np.asarray(image)
    if arr.size == 0:
        raise ValueError(f"image is empty (shape {arr.shape})")
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (2, 3, 4)):
        raise ValueError(f"image must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got shape {arr.shape}")
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype == np.uint8:
        pass
    elif np.issubdtype(arr.dtype, np.integer):
        hi = 65535 if arr.max() > 255 else 255
        arr = np.clip(arr.astype(np.float64) * 255.0 / hi, 0, 255).round().astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise ValueError("image contains NaN or infinite values")
        scale = 255.0 if arr.max() <= 1.0 else 1.0
        arr = np.clip(arr * scale, 0, 255).round().astype(np.uint8)
    else:
        raise ValueError(f"image dtype {arr.dtype} is not a pixel type")
    if arr.ndim == 2:
        return np.repeat(arr[..., None], 3, axis=-1)
    if arr.shape[-1] == 2:  # gray + alpha
        arr = np.concatenate([np.repeat(arr[..., :1], 3, -1), arr[..., 1:]], -1)
    if arr.shape[-1] == 4:
        alpha = arr[..., 3:].astype(np.float32) / 255.0
        rgb = arr[..., :3].astype(np.float32) * alpha + 255.0 * (1 - alpha)
        return rgb.round().astype(np.uint8)
    return np.ascontiguousarray(arr)


#: largest height or width :func:`resize` makes (a 8192x8192 RGB image is 0.2 GB)
MAX_SIDE = 8192


def image_size(size, name: str = "size") -> tuple[int, int]:
    """``size`` as (height, width): one whole number (a square) or a pair,
    each in 1..:data:`MAX_SIDE` (``vislib._core.checks.pair``).

    Raises:
        ValueError: Fractions, zero, negative numbers, booleans, strings,
            NaN or sides above :data:`MAX_SIDE`, naming the value.
    """
    return checks.pair(size, name, 1, MAX_SIDE)


def resize(image: np.ndarray, size: tuple[int, int] | int | None) -> np.ndarray:
    """Resize an RGB uint8 image to (height, width) with bilinear filtering.

    Args:
        image: uint8 (H, W, 3) or (H, W).
        size: (height, width), one int for a square, or None (unchanged).

    Raises:
        ValueError: ``size`` not whole numbers in 1..8192 (see :func:`image_size`).
    """
    if size is None:
        return image
    size = image_size(size)
    if image.shape[:2] == size:
        return image
    from PIL import Image
    return np.array(Image.fromarray(image).resize((size[1], size[0]), Image.BILINEAR))


#: ImageNet evaluation crops the central 224/256 of the short side (Krizhevsky et al. 2012;
#: Keras' and torchvision's reference pipelines, and the TF EfficientNet eval with crop padding 32)
CROP_FRACTION = 0.875


def crop_window(shape: tuple[int, int], size: tuple[int, int],
                fraction: float = CROP_FRACTION) -> tuple[int, int, int, int]:
    """The centre window ``(y0, x0, height, width)`` of an image of ``shape``
    that ImageNet evaluation resizes to ``size``: the aspect ratio of ``size``,
    ``fraction`` of the image's shorter side (relative to ``size``)."""
    checks.in_range(fraction, 0.1, 1.0, "fraction")
    size = image_size(size)
    h, w = int(shape[0]), int(shape[1])
    scale = fraction * min(h / size[0], w / size[1])
    ch, cw = max(1, min(h, int(round(size[0] * scale)))), max(1, min(w, int(round(size[1] * scale))))
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def center_crop(image: np.ndarray, size: tuple[int, int] | int,
                fraction: float = CROP_FRACTION) -> np.ndarray:
    """Crop and resize a photo the way ImageNet networks are evaluated.

    The centre of the image, ``fraction`` of its shorter side (0.875: the
    224 of 256 of the usual pipeline), is resized to ``size``. Unlike
    :func:`resize`, the aspect ratio is kept: squashing a 451x300 photo to
    224x224 costs EfficientNet-Lite0 the label on two of the five labelled
    sample photos (lesson 00).

    Args:
        image: RGB uint8 (H, W, 3) (or (H, W) gray).
        size: (height, width) of the result, or one int for a square.
        fraction: Share of the shorter side kept, in [0.1, 1].

    Returns:
        uint8 image of ``size``.
    """
    size = image_size(size)
    y0, x0, ch, cw = crop_window(image.shape[:2], size, fraction)
    return resize(np.ascontiguousarray(image[y0:y0 + ch, x0:x0 + cw]), size)


def tile(images, ncols: int | None = None, pad: int = 1, top: int = 0) -> np.ndarray:
    """Lay images out in one mosaic array, so a grid is drawn with one ``imshow``.

    Matplotlib draws one small Axes per image in about 15-30 ms; a mosaic of
    64 maps is one image and draws about ten times faster, which is what keeps
    a widget's redraw under 0.2 s.

    Args:
        images: (n, h, w) maps or (n, h, w, 1 | 3) images, or a list of such
            arrays of different sizes (each is centred in a cell of the
            largest size).
        ncols: Images per row (default: about sqrt(n), at most 16).
        pad: Gap between cells, in image pixels.
        top: Extra rows of gap above every cell (room for a label).

    Returns:
        float32 (H, W) with NaN in the gaps for one-channel input, else
        (H, W, 3) with NaN gaps; :func:`plot_tiles` draws NaN as the background.

    Raises:
        ValueError: No images, or images that are not 2-D / 1- or 3-channel.
    """
    items = [np.asarray(im, dtype=np.float32) for im in images]
    if not items:
        raise ValueError("images is empty; nothing to tile")
    items = [im[..., 0] if im.ndim == 3 and im.shape[-1] == 1 else im for im in items]
    rgb = any(im.ndim == 3 for im in items)
    for im in items:
        if not (im.ndim == 2 or (im.ndim == 3 and im.shape[-1] == 3)):
            raise ValueError(f"each image must be (h, w), (h, w, 1) or (h, w, 3); got shape {im.shape}")
    n = len(items)
    ncols = int(ncols or min(16, int(np.ceil(np.sqrt(n)))))
    if ncols < 1:
        raise ValueError(f"ncols={ncols} is out of range; valid: ncols >= 1")
    nrows = int(np.ceil(n / ncols))
    h = max(im.shape[0] for im in items)
    w = max(im.shape[1] for im in items)
    cell_h, cell_w = h + pad + top, w + pad
    shape = (nrows * cell_h + pad, ncols * cell_w + pad) + ((3,) if rgb else ())
    out = np.full(shape, np.nan, np.float32)
    for i, im in enumerate(items):
        if rgb and im.ndim == 2:
            im = np.repeat(im[..., None], 3, -1)
        r, q = divmod(i, ncols)
        y0 = r * cell_h + pad + top + (h - im.shape[0]) // 2
        x0 = q * cell_w + pad + (w - im.shape[1]) // 2
        out[y0:y0 + im.shape[0], x0:x0 + im.shape[1]] = im
    return out
