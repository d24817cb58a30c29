"""Loading images from files and URLs into display pixels."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from .._core.images import image_size, resize, to_rgb_uint8

#: Pillow modes holding 16-bit integers (16-bit grayscale PNG and TIFF; older
#: Pillow versions open 16-bit PNGs as mode "I")
_MODES_16 = ("I;16", "I;16B", "I;16L", "I;16N", "I")

MAX_PIXELS = 50_000_000  # larger images are refused (a 7000x7000 photo is 49 M)


def _pil_to_rgb(img, where: str = "image") -> np.ndarray:
    """A loaded Pillow image as RGB uint8 (H, W, 3), scaled by its bit depth.

    * 16-bit grayscale (modes ``I;16``, ``I;16B``, ``I``): ``value * 255 / 65535``,
      whatever the image's own maximum (a dark image stays dark). Mode ``I``
      (32-bit integers) is read as 16-bit; values outside 0..65535 are clipped
      with a warning. 48-bit RGB and 64-bit RGBA PNGs come from Pillow already
      as 8-bit (the high byte, ``value // 256``: within 1 of the same scaling).
    * float (mode ``F``): values in [0, 1] times 255, values in [0, 255] as they
      are; anything else is stretched from its min-max with a warning (a
      float image has no bit depth to go by).
    * transparency (RGBA, LA, PA, La, RGBa, and palette images with a
      transparent colour): composited on white (what a viewer shows).
    * 1-bit, palette, CMYK (Adobe-inverted CMYK JPEGs are read by Pillow),
      YCbCr, HSV and the rest: Pillow's conversion to RGB.
    """
    if img.mode in _MODES_16:
        arr = np.asarray(img).astype(np.float64)
        if arr.min() < 0 or arr.max() > 65535:
            warnings.warn(f"{where}: 32-bit integer pixels outside 0..65535 (range {arr.min():g}.."
                          f"{arr.max():g}) are clipped to 16 bits", stacklevel=3)
        gray = np.clip(np.round(arr * (255.0 / 65535.0)), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        if lo >= 0 and hi <= 1:
            arr = arr * 255.0
        elif not (lo >= 0 and hi <= 255):
            warnings.warn(f"{where}: float pixels in [{lo:g}, {hi:g}] fit neither 0-1 nor 0-255; "
                          "stretched to 0-255", stacklevel=3)
            arr = (arr - lo) * (255.0 / ((hi - lo) or 1.0))
        gray = np.clip(np.round(arr), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info:
        return to_rgb_uint8(np.asarray(img.convert("RGBA")))
    return np.array(img.convert("RGB"))


class ImageNotFoundError(FileNotFoundError, ValueError):
    """A path that is not there: both a ``FileNotFoundError`` and (the
    library's rule for bad input) a ``ValueError``."""


def load_image(path_or_url, size: tuple[int, int] | int | None = None) -> np.ndarray:
    """Read a photo as RGB uint8 (H, W, 3), optionally resized to ``size``.

    Files and http(s) URLs (URLs are downloaded once through Keras's cache).
    The image is turned upright by its EXIF orientation tag (phone photos are
    stored sideways) and converted to RGB by its bit depth, never by its own
    maximum:

    * 16-bit grayscale (PNG / TIFF): ``value * 255 / 65535``; 48-bit RGB PNGs
      keep the high byte (Pillow reads them so), i.e. the same scaling
      within 1;
    * transparent images (RGBA, gray + alpha, palette with a transparent
      colour): composited on white;
    * palette, 1-bit, CMYK (JPEG), YCbCr, float (0-1 or 0-255) images: converted;
    * animated GIF / PNG / WebP and multi-page TIFF: the first frame.

    Args:
        path_or_url: A file path or an http(s) URL.
        size: (height, width) or one int for a square, whole numbers in
            1..8192; None keeps the size. Resizing is bilinear and squashes
            (see :func:`center_crop` to keep the aspect ratio).

    Returns:
        uint8 (H, W, 3), a writable array of its own.

    Raises:
        ImageNotFoundError: No such file (a ``FileNotFoundError`` and a
            ``ValueError``); the message names the path.
        ValueError: A bad ``size`` (named), a folder, an empty or unreadable
            file, not an image, an image with no pixels, or one larger than
            50 megapixels; the message names the path.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError
    if size is not None:
        size = image_size(size)  # before any download or decoding
    src = str(path_or_url)
    if src.startswith(("http://", "https://")):
        import keras
        name = "vislib_" + str(abs(hash(src))) + Path(src.split("?")[0]).suffix
        try:
            src = keras.utils.get_file(name, src, cache_subdir="vislib_images")
        except Exception as err:
            raise ValueError(f"could not download {path_or_url!r}: {err}") from err
    path = Path(src).expanduser()
    if not path.exists():
        raise ImageNotFoundError(f"no such image file: {str(path)!r} (working directory {os.getcwd()!r})")
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a folder, not an image file")
    if path.stat().st_size == 0:
        raise ValueError(f"image file {str(path)!r} is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own limit (89 M pixels) and raises above twice that
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:  # reads the header only
                w, h = img.size
                if w * h == 0:
                    raise ValueError(f"image {str(path)!r} has no pixels ({w}x{h})")
                if w * h > MAX_PIXELS:
                    raise ValueError(f"image {str(path)!r} is {w}x{h} = {w * h / 1e6:.0f} megapixels; "
                                     f"the limit is {MAX_PIXELS / 1e6:.0f}; downscale it first")
                img.load()  # the first frame of an animation
                try:
                    upright = ImageOps.exif_transpose(img)
                except Exception as err:  # a damaged EXIF block: keep the stored orientation
                    warnings.warn(f"{str(path)!r}: EXIF orientation unreadable ({err}); "
                                  "using the stored orientation", stacklevel=2)
                    upright = img
                rgb = _pil_to_rgb(upright if upright is not None else img, repr(str(path)))
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ValueError(f"{str(path)!r} is not a readable image (or is too large): {err}") from err
    except (OSError, SyntaxError) as err:  # truncated files, unsupported codecs
        raise ValueError(f"could not read image {str(path)!r}: {err}") from err
    except ValueError as err:
        if str(path) in str(err):
            raise
        raise ValueError(f"could not convert image {str(path)!r} to RGB: {err}") from err
    return resize(np.ascontiguousarray(rgb), size)
