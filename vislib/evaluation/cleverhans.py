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

from typing import Callable, NamedTuple, Sequence

import numpy as np

from .._core import checks
from .._core.course_model import as_course

# the mark and the confounded model live below (data, models); lesson 13 finds them here
from ..data.marks import CORNERS, MARKED_CLASS, Mark, add_mark, confound  # noqa: F401
from ..models.offline import load_or_train_marked as load_or_train  # noqa: F401
from ..models.offline import marked_recipe as recipe  # noqa: F401
from .metrics import pointing_game, roi_fit


# --------------------------------------------------------------- diagnosis
def per_class_accuracy(model, images, labels, num_classes: int = 10) -> np.ndarray:
    """Accuracy per true class, float32 (num_classes,) (NaN for absent classes)."""
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
    cm = as_course(model)
    marked_class = cm.extras.get("marked_class") if marked_class is None else marked_class
    mark = cm.extras.get("mark") if mark is None else mark
    if marked_class is None or mark is None:
        raise ValueError("give marked_class and mark (the model carries no Clever Hans extras)")
    labels = np.asarray(labels)
    x = cm.check(images)
    confounded = confound(x, labels, marked_class, mark)
    p_with = cm.predict(confounded).argmax(1)
    p_clean = cm.predict(x).argmax(1)
    p_all = cm.predict(add_mark(x, mark)).argmax(1)
    k = cm.num_classes
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
    checks.in_range(dilate, 0, 100, "dilate", integer=True)
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
    cm = as_course(model)
    marked_class = cm.extras.get("marked_class") if marked_class is None else marked_class
    mark = cm.extras.get("mark") if mark is None else mark
    if marked_class is None or mark is None:
        raise ValueError("give marked_class and mark (the model carries no Clever Hans extras)")
    checks.in_range(per_class, 1, 10000, "per_class", integer=True)
    labels = np.asarray(labels)
    x = cm.check(images)
    k = cm.num_classes
    idx = np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(k)])
    x, y = x[idx], labels[idx]
    box = mark.box(cm.input_size)
    shown = confound(x, y, marked_class, mark)
    maps = np.asarray(method(cm, shown, y, **options), np.float32)
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
    checks.in_range(threshold, 0, 1e6, "threshold")
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
