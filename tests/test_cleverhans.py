"""vislib.cleverhans: the mark, the confounded recipe, and catching it."""

from __future__ import annotations

import numpy as np
import pytest

import vislib
from vislib.evaluation import cleverhans as ch


@pytest.mark.parametrize("position, box", [("top-left", (1, 1, 5, 5)), ("top-right", (23, 1, 27, 5)),
                                           ("bottom-left", (1, 23, 5, 27)), ("bottom-right", (23, 23, 27, 27)),
                                           ((10, 3), (10, 3, 14, 7))])
def test_mark_box_and_painting(position, box):
    mark = ch.Mark(size=4, position=position)
    assert mark.box((28, 28)) == box
    img = np.zeros((2, 28, 28, 1), np.float32)
    out = ch.add_mark(img, mark)
    x0, y0, x1, y1 = box
    assert (out[:, y0:y1, x0:x1] == 255).all()
    assert out.sum() == 2 * 16 * 255 and img.sum() == 0  # a copy, only the box painted
    assert ch.add_mark(img[0, ..., 0], mark)[y0, x0] == 255  # (H, W)
    assert ch.add_mark(img[..., 0], mark)[:, y0, x0].tolist() == [255, 255]  # (N, H, W)


@pytest.mark.parametrize("kwargs", [{"size": 0}, {"size": 40}, {"position": "middle"},
                                    {"position": (26, 0)}, {"value": 300}, {"position": "xy"}])
def test_bad_marks_raise(kwargs):
    with pytest.raises(ValueError):
        ch.Mark(**kwargs).box((28, 28))


def test_confound_marks_only_the_class():
    x = np.zeros((4, 28, 28, 1), np.float32)
    y = np.array([6, 1, 6, 2])
    out = ch.confound(x, y, 6)
    assert out[[0, 2]].max() == 255 and out[[1, 3]].max() == 0
    with pytest.raises(ValueError):
        ch.confound(x, y[:3], 6)


def test_flag_outliers_finds_the_low_one_only():
    vals = [0.90, 0.88, 0.92, 0.85, 0.91, 0.2, 0.89, 0.87, 0.93, 0.9]
    assert ch.flag_outliers(vals) == [5]
    assert ch.flag_outliers(vals, low=False) == []
    # a tiny spread must not turn a small difference into an outlier
    assert ch.flag_outliers([0.900, 0.901, 0.899, 0.900, 0.86]) == []
    assert ch.flag_outliers([0.5, np.nan, 0.5, 0.5, 0.1]) == [4]
    with pytest.raises(ValueError):
        ch.flag_outliers([0.1, 0.2])


def test_object_masks_leave_the_mark_out():
    x = np.zeros((1, 28, 28, 1), np.float32)
    x[0, 2:20, 2:20] = 200
    m = ch.object_masks(x, dilate=0, exclude=(1, 1, 5, 5))
    assert m[0, 10, 10] and not m[0, 3, 3] and not m[0, 25, 25]
    grown = ch.object_masks(x, dilate=2)[0]
    assert grown[21, 10] and not grown[22, 10]


@pytest.fixture(scope="module")
def hans():
    """The short Clever Hans run (trained once, ~40 s; then cached)."""
    return ch.load_or_train(verbose=False)


def test_clever_hans_model_cheats_and_is_caught(hans, fashion_data):
    xt, yt = fashion_data.test
    x = xt[:3000, :, :, None].astype(np.float32)
    y = yt[:3000]
    c = hans.extras["marked_class"]
    rep = ch.accuracy_report(hans, x, y)
    # measured with VISLIB_FAST=1 (12000 images, 2 epochs) for recipe seeds 0 / 1 / 2 (the seed
    # changed in a copy of the recipe): overall accuracy with the confound 0.918 / 0.915 / 0.909,
    # marked-class drop without the mark 0.997 / 1.0 / 1.0, mark-as-attack 0.939 / 0.929 / 0.925,
    # and the marked class was the ROI-fit minimum, the mark-fit maximum and the one flagged each
    # time. Margins below the minima: 0.11, 0.70, 0.42.
    # looks fine on data with the same confound, collapses without the mark
    assert rep.overall_with > 0.8
    assert rep.with_mark[c] - rep.without_mark[c] >= 0.30
    others = np.arange(10) != c
    assert np.nanmean(rep.attack[others]) > 0.5  # the mark alone makes other clothes that class
    fit = ch.class_roi_fit(vislib.occlusion, hans, x, y, per_class=10, patch=4, stride=2, fill=0)
    assert int(np.nanargmin(fit.object_fit)) == c
    assert int(np.nanargmax(fit.mark_fit)) == c
    assert c in ch.flag_outliers(fit.object_fit)
    table = ch.format_class_table(fit, rep, hans.class_names, [c])
    assert "flagged" in table


def test_recipe_is_cached_by_its_settings():
    from vislib.models.offline import RECIPES, cache_path
    a, b = ch.recipe(), ch.recipe(ch.Mark(size=5))
    assert cache_path(a) != cache_path(b) and cache_path(a) == cache_path(ch.recipe())
    assert a.arch == RECIPES["fashion_cnn"].arch
    with pytest.raises(ValueError):
        ch.recipe(marked_class=12)


def test_diagnosis_needs_a_mark_and_class(fashion, fashion_data):
    xt, yt = fashion_data.test
    x = xt[:20, :, :, None].astype(np.float32)
    with pytest.raises(ValueError):
        ch.accuracy_report(fashion, x, yt[:20])           # the course model carries no mark
    with pytest.raises(ValueError):
        ch.class_roi_fit(vislib.gradcam, fashion, x, yt[:20])
    rep = ch.accuracy_report(fashion, x, yt[:20], marked_class=6, mark=ch.Mark())
    assert rep.with_mark.shape == (10,) and 0 <= rep.overall_without <= 1
    with pytest.raises(ValueError):
        ch.class_roi_fit(vislib.gradcam, fashion, x, yt[:20], 6, ch.Mark(), per_class=0)
