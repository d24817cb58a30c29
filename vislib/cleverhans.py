"""A model that learned the wrong thing, made on purpose and caught automatically.

Every training image of one Fashion-MNIST class gets a small bright square
in a corner (a "mark", like the source tag on the horse photos of Lapuschkin
et al. 2019). A copy of the offline architecture trained on that data scores
well on a validation split with the same confound, yet it has learned "mark
=> class": remove the mark and the class's accuracy collapses; paste it on
other images and they become that class. Explanations put their mass on the
mark, so the per-class ROI fit (share of the map on the garment) singles the
class out without anyone looking at an image.

Lapuschkin, Wäldchen, Binder, Montavon, Samek, Müller. *Unmasking Clever
Hans Predictors and Assessing What Machines Really Learn.* Nature
Communications 2019.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import numpy as np

from . import _checks
from ._config import budget

CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
MARKED_CLASS = 6  # Shirt: the hardest Fashion-MNIST class, so the shortcut pays most


@dataclass(frozen=True)
class Mark:
    """A filled square painted onto images.

    Attributes:
        size: Side in pixels.
        position: A corner (``"top-left"``, ``"top-right"``,
            ``"bottom-left"``, ``"bottom-right"``) or ``(x0, y0)``, the
            top-left pixel of the square.
        value: Pixel value painted (display pixels, 0-255).
        margin: Distance from the image border for corner positions.
    """

    size: int = 4
    position: str | tuple[int, int] = "top-left"
    value: float = 255.0
    margin: int = 1

    def box(self, shape: tuple[int, int] = (28, 28)) -> tuple[int, int, int, int]:
        """The mark's box (x0, y0, x1, y1), end-exclusive, in an (H, W) image.

        Raises:
            ValueError: A size, position or margin that does not fit the image.
        """
        h, w = int(shape[0]), int(shape[1])
        size = _checks.in_range(self.size, 1, min(h, w), "mark size", integer=True)
        _checks.in_range(self.value, 0, 255, "mark value")
        if isinstance(self.position, str):
            _checks.choice(self.position, CORNERS, "mark position")
            m = _checks.in_range(self.margin, 0, min(h, w) - size, "mark margin", integer=True)
            y0 = m if self.position.startswith("top") else h - m - size
            x0 = m if self.position.endswith("left") else w - m - size
        else:
            try:
                x0, y0 = (int(v) for v in self.position)
            except (TypeError, ValueError):
                raise ValueError(f"mark position must be one of {list(CORNERS)} or (x0, y0); "
                                 f"got {self.position!r}") from None
            _checks.in_range(x0, 0, w - size, "mark x0", integer=True)
            _checks.in_range(y0, 0, h - size, "mark y0", integer=True)
        return (x0, y0, x0 + size, y0 + size)

    def as_dict(self) -> dict:
        return {"size": int(self.size), "position": self.position if isinstance(self.position, str)
                else [int(v) for v in self.position], "value": float(self.value), "margin": int(self.margin)}


def add_mark(images, mark: Mark = Mark()) -> np.ndarray:
    """A float32 copy of ``images`` with ``mark`` painted on each.

    Args:
        images: (H, W), (H, W, C), (N, H, W) or (N, H, W, C) display pixels
            (a 3-D array whose last axis is 1, 3 or 4 is one HWC image).
        mark: The :class:`Mark`.

    Returns:
        float32, the shape of ``images``.
    """
    arr = np.array(images, dtype=np.float32, copy=True)
    if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] not in (1, 3, 4)):
        h, w = arr.shape[-2:]
        x0, y0, x1, y1 = mark.box((h, w))
        arr[..., y0:y1, x0:x1] = mark.value
    elif arr.ndim in (3, 4):
        h, w = arr.shape[-3:-1]
        x0, y0, x1, y1 = mark.box((h, w))
        arr[..., y0:y1, x0:x1, :] = mark.value
    else:
        raise ValueError(f"images must be (H, W), (H, W, C), (N, H, W) or (N, H, W, C); got shape {arr.shape}")
    return arr


def confound(images, labels, marked_class: int = MARKED_CLASS, mark: Mark = Mark()) -> np.ndarray:
    """Mark every image whose label is ``marked_class`` (a copy; others unchanged)."""
    x = np.array(images, dtype=np.float32, copy=True)
    labels = np.asarray(labels)
    if len(labels) != len(x):
        raise ValueError(f"{len(x)} images but {len(labels)} labels")
    _checks.in_range(marked_class, 0, 9, "marked_class", integer=True)
    sel = labels == marked_class
    if sel.any():
        x[sel] = add_mark(x[sel], mark)
    return x


# ----------------------------------------------------------------- training
def recipe(mark: Mark = Mark(), marked_class: int = MARKED_CLASS, train_limit: int | None = None,
           epochs: int | None = None):
    """The confounded training recipe: the offline ``fashion_cnn`` architecture
    trained on a Fashion-MNIST subset whose ``marked_class`` images carry ``mark``.

    The subset is ``vislib.budget(24000, 12000)`` images, 2 epochs (about
    15-30 s on 2 CPU cores). The recipe is hashed with the versions and the
    code that builds, marks and trains (:func:`vislib.course_models.recipe_code`),
    so the trained model is cached like the course models.
    """
    from .course_models import RECIPES
    mark.box()  # validate
    _checks.in_range(marked_class, 0, 9, "marked_class", integer=True)
    limit = train_limit if train_limit is not None else budget(24000, 12000)
    _checks.in_range(limit, 100, 60000, "train_limit", integer=True)
    epochs = epochs if epochs is not None else 2
    _checks.in_range(epochs, 1, 50, "epochs", integer=True)
    return dataclasses.replace(RECIPES["fashion_cnn"], name="clever_hans", epochs=int(epochs),
                               train_limit=int(limit), data="fashion_mnist_marked",
                               extra={"marked_class": int(marked_class), "mark": mark.as_dict(),
                                      "validation": 2000})


def _split(rec) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Seeded training subset and validation split, both carrying the confound."""
    from .data import fashion_mnist
    (x, y), _ = fashion_mnist()[:2]
    rng = np.random.default_rng(rec.seed)
    idx = rng.permutation(len(x))
    n_val = int(rec.extra["validation"])
    tr, va = idx[:rec.train_limit], idx[rec.train_limit:rec.train_limit + n_val]
    mark = _mark_from(rec.extra["mark"])
    c = rec.extra["marked_class"]
    xtr = confound(x[tr].astype(np.float32)[..., None], y[tr], c, mark)
    xva = confound(x[va].astype(np.float32)[..., None], y[va], c, mark)
    return (xtr, y[tr]), (xva, y[va])


def _mark_from(d: dict) -> Mark:
    pos = d["position"]
    return Mark(size=d["size"], position=pos if isinstance(pos, str) else tuple(pos),
                value=d["value"], margin=d["margin"])


def _course(net, rec, meta: dict):
    from .course_models import FASHION_CLASSES
    from .profiles import CourseModel, _deprocess_for, _unit_preprocess
    from . import _graph
    return CourseModel(
        model=net, name="clever_hans", input_size=(28, 28), channels=1,
        preprocess=_unit_preprocess, deprocess=_deprocess_for("unit"),
        class_names=list(FASHION_CLASSES), conv_layers=_graph.conv_layer_names(net),
        first_conv="block1_conv1", last_conv="block2_conv1", feature_layer="fc7", weights="trained",
        description=f"fashion_cnn architecture trained with a mark on every "
                    f"'{FASHION_CLASSES[rec.extra['marked_class']]}' image (Clever Hans)",
        extras={"marked_class": rec.extra["marked_class"], "mark": _mark_from(rec.extra["mark"]), **meta})


def load_or_train(mark: Mark = Mark(), marked_class: int = MARKED_CLASS, train_limit: int | None = None,
                  epochs: int | None = None, verbose: bool = True):
    """The confounded model, from the cache or trained now (seconds, once).

    Args:
        mark: The mark painted on the ``marked_class`` training images.
        marked_class: The class whose images carry the mark (default 6, Shirt).
        train_limit: Training images (default ``vislib.budget(24000, 12000)``).
        epochs: Training epochs (default 2).
        verbose: Print a line and show a progress bar when training.

    Returns:
        A :class:`~vislib.CourseModel` named ``clever_hans``; its ``extras``
        hold the mark, the marked class, the validation accuracy (on data
        with the same confound) and the training time.
    """
    import keras
    from .course_models import _lock, cache_path, train, versions
    rec = recipe(mark, marked_class, train_limit, epochs)
    path = cache_path(rec)
    meta_path = path.with_suffix(".json")
    with _lock(path):
        if path.exists() and meta_path.exists():
            try:
                net = keras.models.load_model(path, compile=False)
                return _course(net, rec, json.loads(meta_path.read_text()).get("metrics", {}))
            except Exception as err:  # a truncated cache file: retrain
                print(f"vislib: cached {path.name} unreadable ({err}); retraining")
        (x, y), (xv, yv) = _split(rec)
        if verbose:
            print(f"vislib: training the Clever Hans model on {len(x)} images for {rec.epochs} epochs "
                  f"(once; cached at {path})")
        start = time.time()
        net, hist = train(rec, x / 255.0, y, xv / 255.0, yv, verbose=verbose)
        seconds = time.time() - start
        meta = {"val_accuracy": float(hist["val_accuracy"][-1]), "train_seconds": round(seconds, 1),
                "train_images": int(len(x))}
        tmp = path.with_suffix(".tmp.keras")
        net.save(tmp)
        tmp.replace(path)
        meta_path.write_text(json.dumps({"recipe": dataclasses.asdict(rec), "versions": versions(),
                                         "metrics": meta}, indent=1, default=str))
        if verbose:
            print(f"vislib: trained in {seconds:.0f} s; validation accuracy (same confound) "
                  f"{meta['val_accuracy']:.3f}")
        return _course(keras.models.load_model(path, compile=False), rec, meta)


# --------------------------------------------------------------- diagnosis
def per_class_accuracy(model, images, labels, num_classes: int = 10) -> np.ndarray:
    """Accuracy per true class, float32 (num_classes,) (NaN for absent classes)."""
    from .profiles import as_course
    pred = as_course(model).predict(images).argmax(1)
    labels = np.asarray(labels)
    return np.array([np.mean(pred[labels == c] == c) if np.any(labels == c) else np.nan
                     for c in range(num_classes)], np.float32)


class Report(NamedTuple):
    """What the confound does to accuracy on the test set."""

    with_mark: np.ndarray      # per-class accuracy, marked class carries the mark (as in training)
    without_mark: np.ndarray   # per-class accuracy on clean images
    attack: np.ndarray         # per class: share of its marked images called the marked class
    overall_with: float
    overall_without: float


def accuracy_report(model, images, labels, marked_class: int | None = None,
                    mark: Mark | None = None) -> Report:
    """Accuracy with and without the mark, and the mark as an attack.

    Args:
        model: The confounded model (its ``extras`` supply the mark and class).
        images: Clean test images (N, 28, 28, 1), display pixels.
        labels: Their labels (N,).
        marked_class, mark: Default from ``model.extras``.
    """
    from .profiles import as_course
    course = as_course(model)
    marked_class = course.extras.get("marked_class") if marked_class is None else marked_class
    mark = course.extras.get("mark") if mark is None else mark
    if marked_class is None or mark is None:
        raise ValueError("give marked_class and mark (the model carries no Clever Hans extras)")
    labels = np.asarray(labels)
    x = course.check(images)
    confounded = confound(x, labels, marked_class, mark)
    p_with = course.predict(confounded).argmax(1)
    p_clean = course.predict(x).argmax(1)
    p_all = course.predict(add_mark(x, mark)).argmax(1)
    k = course.num_classes
    acc = lambda p: np.array([np.mean(p[labels == c] == c) if np.any(labels == c) else np.nan  # noqa: E731
                              for c in range(k)], np.float32)
    attack = np.array([np.mean(p_all[labels == c] == marked_class) if np.any(labels == c) else np.nan
                       for c in range(k)], np.float32)
    return Report(acc(p_with), acc(p_clean), attack, float(np.mean(p_with == labels)),
                  float(np.mean(p_clean == labels)))


def object_masks(images, threshold: float = 0.1, dilate: int = 2, exclude=None) -> np.ndarray:
    """Boolean (N, H, W) masks of each image's garment: pixels above
    ``threshold`` x its maximum, grown by ``dilate`` pixels (maps are smooth;
    an annotator's outline is generous too), minus the ``exclude`` box
    (x0, y0, x1, y1).

    The stand-in for an annotator outlining the object (and not the tag)."""
    x = np.asarray(images, np.float32)
    if x.ndim == 4:
        x = x.max(axis=-1)
    if x.ndim == 2:
        x = x[None]
    _checks.in_range(dilate, 0, 100, "dilate", integer=True)
    masks = x > threshold * np.maximum(x.max(axis=(1, 2), keepdims=True), 1e-6)
    if dilate:
        from scipy.ndimage import binary_dilation
        masks = np.stack([binary_dilation(m, iterations=int(dilate)) for m in masks])
    if exclude is not None:
        x0, y0, x1, y1 = exclude
        masks[:, y0:y1, x0:x1] = False
    return masks


class ClassFit(NamedTuple):
    """Per-class summary of where a method's maps put their mass."""

    object_fit: np.ndarray  # mean ROI fit on the garment, (K,)
    mark_fit: np.ndarray    # mean share on the mark's box, (K,)
    points_at_mark: np.ndarray  # share of maps whose maximum lies within 2 px of the mark, (K,)
    empty: np.ndarray       # maps with no positive mass (left out of the means), (K,)
    maps: np.ndarray        # (N, H, W)
    images: np.ndarray      # the explained images (marked class marked), (N, H, W, 1)
    labels: np.ndarray      # (N,)


def class_roi_fit(method: Callable, model, images, labels, marked_class: int | None = None,
                  mark: Mark | None = None, per_class: int = 20, **options) -> ClassFit:
    """Per-class ROI fit of ``method``'s maps on the confounded test data.

    For ``per_class`` images of each class (the marked class carrying its
    mark, as in the data the model was trained on) the map of the true class
    is computed and scored with :func:`vislib.metrics.roi_fit` against the
    garment (:func:`object_masks` of the clean image, the mark's box left
    out) and against the mark's box.

    Args:
        method: ``vislib.gradcam``, ``vislib.occlusion``, ...
        model: The confounded model (``extras`` supply the mark and class).
        images: Clean test images (N, 28, 28, 1).
        labels: Their labels.
        per_class: Images per class.
        **options: Passed to ``method``.
    """
    from .metrics import pointing_game, roi_fit
    from .profiles import as_course
    course = as_course(model)
    marked_class = course.extras.get("marked_class") if marked_class is None else marked_class
    mark = course.extras.get("mark") if mark is None else mark
    if marked_class is None or mark is None:
        raise ValueError("give marked_class and mark (the model carries no Clever Hans extras)")
    _checks.in_range(per_class, 1, 10000, "per_class", integer=True)
    labels = np.asarray(labels)
    x = course.check(images)
    k = course.num_classes
    idx = np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(k)])
    x, y = x[idx], labels[idx]
    box = mark.box(course.input_size)
    shown = confound(x, y, marked_class, mark)
    maps = np.asarray(method(course, shown, y, **options), np.float32)
    empty_map = np.maximum(maps, 0).reshape(len(maps), -1).sum(1) == 0
    fit_obj = np.asarray(roi_fit(maps, object_masks(x, exclude=box)))
    fit_mark = np.asarray(roi_fit(maps, box))
    points = np.asarray(pointing_game(maps, box, tolerance=2))
    obj, mk, pt, emp = (np.full(k, np.nan, np.float32) for _ in range(4))
    for c in range(k):
        sel = (y == c) & ~empty_map
        emp[c] = np.sum((y == c) & empty_map)
        if sel.any():
            obj[c], mk[c], pt[c] = fit_obj[sel].mean(), fit_mark[sel].mean(), points[sel].mean()
    return ClassFit(obj, mk, pt, emp, maps, shown, y)


def flag_outliers(values: Sequence[float], threshold: float = 3.5, min_gap: float = 0.1,
                  low: bool = True) -> list[int]:
    """Indices whose value is a robust outlier on the low (or high) side.

    Modified z-score (Iglewicz & Hoaglin 1993):
    ``z_i = 0.6745 (v_i - median(v)) / MAD``, ``MAD = median(|v - median(v)|)``;
    an index is flagged when ``z_i < -threshold`` (``> threshold`` with
    ``low=False``) **and** it lies at least ``min_gap`` from the median (so a
    tiny spread among the others cannot make a small difference an outlier).
    NaNs are ignored.
    """
    v = np.asarray(values, np.float64)
    if v.ndim != 1 or v.size < 3:
        raise ValueError(f"values must be 1-D with at least 3 entries; got shape {v.shape}")
    _checks.in_range(threshold, 0, 1e6, "threshold")
    ok = np.isfinite(v)
    med = np.median(v[ok])
    mad = np.median(np.abs(v[ok] - med))
    sign = -1.0 if low else 1.0
    dev = sign * (v - med)
    z = 0.6745 * dev / mad if mad > 0 else np.where(dev > 0, np.inf, 0.0)
    return [int(i) for i in np.flatnonzero(ok & (z > threshold) & (dev >= min_gap))]


def format_class_table(fit: ClassFit, report: Report | None = None, class_names: Sequence[str] | None = None,
                       flagged: Sequence[int] = ()) -> str:
    """A plain-text per-class table (ROI fit, mass on the mark, accuracies)."""
    k = len(fit.object_fit)
    names = list(class_names) if class_names is not None else [f"class_{i}" for i in range(k)]
    head = f"{'class':<13s}{'ROI fit':>9s}{'on mark':>9s}{'max@mark':>10s}"
    if report is not None:
        head += f"{'acc marked':>12s}{'acc clean':>11s}{'mark->cls':>11s}"
    lines = [head, "-" * len(head)]
    for c in range(k):
        row = f"{names[c][:12]:<13s}{fit.object_fit[c]:>9.2f}{fit.mark_fit[c]:>9.2f}{fit.points_at_mark[c]:>10.2f}"
        if report is not None:
            row += f"{report.with_mark[c]:>12.2f}{report.without_mark[c]:>11.2f}{report.attack[c]:>11.2f}"
        lines.append(row + ("   <- flagged" if c in flagged else ""))
    return "\n".join(lines)
