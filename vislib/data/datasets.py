"""The course's datasets: Fashion-MNIST (offline from Debian's package
when Keras cannot download it) and TensorFlow's flowers photos."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .._core import checks
from .._core.config import keras_home
from .._core.images import image_size
from .images import load_image

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


FASHION_DEBIAN = Path("/usr/share/datasets/fashion-mnist")


FASHION_FILES = ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]


FLOWERS_URL = "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz"


FLOWER_CLASSES = ["daisy", "dandelion", "roses", "sunflowers", "tulips"]


# ------------------------------------------------------------ Fashion-MNIST
class FashionMNIST(NamedTuple):
    """Fashion-MNIST as uint8 arrays: ``train=(x, y)``, ``test=(x, y)``."""

    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    class_names: list[str]


_FASHION: FashionMNIST | None = None


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


def fashion_mnist() -> FashionMNIST:
    """Fashion-MNIST (Xiao et al. 2017) through ``keras.datasets``, with class names.

    Falls back to Debian's offline copy when the download fails. Cached in
    memory after the first call.
    """
    global _FASHION
    if _FASHION is not None:
        return _FASHION
    import keras
    try:
        (x, y), (xt, yt) = keras.datasets.fashion_mnist.load_data()
    except Exception:
        ensure_fashion_mnist()
        (x, y), (xt, yt) = keras.datasets.fashion_mnist.load_data()
    _FASHION = FashionMNIST((x, y), (xt, yt), list(FASHION_CLASSES))
    return _FASHION


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
        limit = checks.count(limit, "limit")
    if abs(sum(split) - 1.0) > 1e-6 or min(split) <= 0:
        raise ValueError(f"split must be three positive fractions summing to 1; got {split!r}")
    try:
        root = Path(keras.utils.get_file("flower_photos", FLOWERS_URL, untar=True))
    except Exception as err:
        raise RuntimeError("the TF flowers photos could not be downloaded "
                           f"({type(err).__name__}); connect once or run "
                           "`python -m vislib prefetch flowers`") from err
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
