"""Images and datasets for the course: photographs that ship inside installed
packages, your own files and URLs, Fashion-MNIST, and the TF flowers photos.

Run ``python -m vislib prefetch [PROFILE ...]`` once online to put
everything a profile needs into the Keras cache (used by ``binder/postBuild``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from .._core import checks
from .._core.config import repo_data_dir
from .._core.course_model import as_course
from .._core.images import CROP_FRACTION, crop_window, image_size, to_rgb_uint8
from .datasets import fashion_mnist


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



def object_boxes(images: np.ndarray, threshold: float = 0.1) -> list[tuple[int, int, int, int]]:
    """One box (x0, y0, x1, y1) per image around its non-background pixels.

    For Fashion-MNIST (black background) this is the item's bounding box, the
    offline stand-in for hand-drawn boxes.

    Args:
        images: (N, H, W, C), (N, H, W) or one image.
        threshold: A pixel belongs to the object above this fraction of the
            image's maximum, in [0, 1].
    """
    checks.in_range(threshold, 0.0, 1.0, "threshold")
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


# ----------------------------------------------------------------- examples
def examples(cm, n: int = 6, seed: int = 0):
    """A few labelled example images that suit ``cm``'s profile.

    ImageNet profiles get the sample photographs, centre-cropped as ImageNet
    networks are evaluated (:func:`center_crop`): the first ``n``, at most the
    six there are; the Fashion-MNIST profiles get ``n`` test items, one per
    class first.

    Args:
        cm: A profile (or a bare model).
        n: How many images, a whole number in 1..10000.
        seed: Which items (Fashion-MNIST).

    Returns:
        (images float32 (N, H, W, C) in display pixels, labels (N,) with -1
        where unknown, names list of N short titles).
    """
    cm = as_course(cm)
    n = checks.count(n, "n", high=10000)
    if cm.channels == 1:
        (xt, yt) = fashion_mnist().test
        seed = checks.count(seed, "seed", low=0, high=int(np.bincount(yt).min()) - 1)
        idx = [int(np.flatnonzero(yt == c)[seed]) for c in range(10)][:n]
        if n > 10:
            rng = np.random.default_rng(seed)
            idx += rng.choice(np.setdiff1d(np.arange(len(yt)), idx), n - 10, replace=False).tolist()
        images = xt[idx].astype(np.float32)[..., None]
        labels = yt[idx].astype(np.int64)
        names = [cm.class_names[i] for i in labels]
        return images, labels, names
    samples = sample_images()[:n]
    images = cm.prepare([s.image for s in samples], crop=True)
    labels = np.array([s.label if s.label is not None else -1 for s in samples])
    return images, labels, [s.name for s in samples]


def example_boxes(cm, images: np.ndarray) -> list[list[tuple[int, int, int, int]]]:
    """Where the object is in each image that :func:`examples` returned.

    ImageNet profiles: the hand-annotated boxes of the sample photographs
    (``data/annotations.json``), moved with the centre crop and scaled to the
    input size (a box part outside the crop is cut off); Fashion-MNIST
    profiles: the bounding box of each item's non-background pixels
    (:func:`object_boxes`).

    Args:
        cm: The CourseModel the images were made for.
        images: The first images of ``examples(cm, n)``, (N, H, W, C).

    Returns:
        One list of ``(x0, y0, x1, y1)`` boxes per image (end-exclusive);
        a photo without annotation gets an empty list.

    Raises:
        ValueError: More photos than there are sample images.
    """
    cm = as_course(cm)
    if cm.channels == 1:
        return [[b] for b in object_boxes(images)]
    samples = sample_images()
    if len(images) > len(samples):
        raise ValueError(f"example_boxes: {len(images)} images, but only {len(samples)} sample photos "
                         "have boxes; pass the images returned by vislib.examples(cm, n)")
    return [s.boxes_at(cm.input_size, crop=CROP_FRACTION) for s in samples[:len(images)]]

