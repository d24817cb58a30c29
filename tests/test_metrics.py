"""vislib.metrics: localisation (ROI fit, pointing game), faithfulness
(deletion / insertion AUC), sanity under weight randomisation, agreement."""

from __future__ import annotations

import numpy as np
import pytest

import vislib
from vislib.evaluation import metrics
from conftest import course_from, quadrant_model


def _blob(h=10, w=12, box=(2, 3, 6, 8)):
    m = np.zeros((h, w), np.float32)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = np.random.default_rng(0).uniform(0.5, 1.0, (y1 - y0, x1 - x0))
    return m


# ------------------------------------------------------------ localisation
def test_roi_fit_inside_is_one_outside_is_zero_uniform_is_area_share():
    m = _blob()
    assert metrics.roi_fit(m, (2, 3, 6, 8)) == pytest.approx(1.0)
    assert metrics.roi_fit(m, (7, 0, 12, 10)) == pytest.approx(0.0)
    assert metrics.roi_fit(np.ones((10, 12)), (0, 0, 6, 5)) == pytest.approx(30 / 120)
    # half the mass in each of two boxes: the best box counts, not the union
    two = np.zeros((10, 10), np.float32)
    two[1, 1] = two[8, 8] = 1.0
    assert metrics.roi_fit(two, [(0, 0, 3, 3), (7, 7, 10, 10)]) == pytest.approx(0.5)
    # negative values carry no mass; an empty map scores 0
    neg = -np.ones((10, 10), np.float32)
    neg[1, 1] = 2.0
    assert metrics.roi_fit(neg, (0, 0, 3, 3)) == pytest.approx(1.0)
    assert metrics.roi_fit(np.zeros((5, 5)), (0, 0, 2, 2)) == 0.0


def test_roi_fit_batches_boxes_and_masks_agree():
    maps = np.stack([_blob(), _blob(box=(6, 0, 12, 4))])
    boxes = [(2, 3, 6, 8), (6, 0, 12, 4)]
    fits = metrics.roi_fit(maps, boxes)           # one box per map
    assert fits.shape == (2,) and np.allclose(fits, 1.0)
    shared = metrics.roi_fit(maps, (2, 3, 6, 8))  # one box for all maps
    assert np.allclose(shared, [1.0, 0.0])
    mask = np.stack([metrics.box_mask(b, (10, 12)) for b in boxes])
    np.testing.assert_allclose(metrics.roi_fit(maps, mask), fits)
    rng = np.random.default_rng(1)
    noisy = rng.random((3, 10, 12)).astype(np.float32)
    boxes3 = [(0, 0, 5, 5), (3, 2, 12, 9), (1, 1, 4, 10)]
    by_mask = metrics.roi_fit(noisy, np.stack([metrics.box_mask(b, (10, 12)) for b in boxes3]))
    np.testing.assert_allclose(metrics.roi_fit(noisy, boxes3), by_mask, rtol=1e-6)


def test_pointing_game_hits_misses_tolerance_and_constant_maps():
    m = np.zeros((20, 20), np.float32)
    m[5, 15] = 1.0  # y=5, x=15
    assert metrics.pointing_game(m, (14, 4, 17, 7)) is True
    assert metrics.pointing_game(m, (0, 0, 10, 10)) is False
    assert metrics.pointing_game(m, (0, 0, 13, 10), tolerance=3) is True   # 3 px to the right of x1-1=12
    assert metrics.pointing_game(m, (0, 0, 13, 10), tolerance=2) is False
    assert metrics.pointing_game(np.ones((20, 20)), (0, 0, 20, 20)) is False
    hits = metrics.pointing_game(np.stack([m, m]), [(14, 4, 17, 7), (0, 0, 3, 3)])
    assert hits.tolist() == [True, False]


@pytest.mark.parametrize("bad", [(5, 5, 5, 9), (3, 2, 1, 8), (0, 0, 1), (20, 20, 30, 30), "box"])
def test_bad_boxes_raise(bad):
    with pytest.raises(ValueError):
        metrics.roi_fit(np.ones((10, 10)), bad)


def test_bad_maps_and_masks_raise():
    with pytest.raises(ValueError):
        metrics.roi_fit(np.ones((2, 2, 2, 2)), (0, 0, 1, 1))
    with pytest.raises(ValueError):
        metrics.roi_fit(np.full((4, 4), np.nan), (0, 0, 1, 1))
    with pytest.raises(ValueError):
        metrics.roi_fit(np.ones((4, 4)), np.ones((5, 5), bool))
    with pytest.raises(ValueError):
        metrics.roi_fit(np.ones((3, 4, 4)), [(0, 0, 1, 1), [(0, 0, 2, 2), (1, 1, 3, 3)]])
    with pytest.raises(ValueError):
        metrics.pointing_game(np.ones((4, 4)), (0, 0, 2, 2), tolerance=-1)


# ----------------------------------------------------------- faithfulness
def _fashion(fashion_data, n):
    x, y = fashion_data.test
    return x[:n, :, :, None].astype("float32"), y[:n]


def _single_pixel_oracle(course, x, t):
    """The drop in probability when each pixel alone is set to 0 (a map that
    knows what the deletion metric will do)."""
    h, w = course.input_size
    out = []
    for i in range(len(x)):
        copies = np.repeat(x[i:i + 1], h * w, axis=0).reshape(h * w, h, w, 1)
        copies[np.arange(h * w), np.arange(h * w) // w, np.arange(h * w) % w] = 0
        p0 = course.predict(x[i:i + 1])[0, t[i]]
        out.append((p0 - course.predict(copies)[:, t[i]]).reshape(h, w) + x[i, ..., 0] * 1e-6)
    return np.stack(out).astype(np.float32)


def test_oracle_map_deletes_faster_than_a_random_map(fashion, fashion_data):
    x, y = _fashion(fashion_data, 6)
    oracle = _single_pixel_oracle(fashion, x, y)
    random = np.random.default_rng(0).random(oracle.shape).astype(np.float32)
    d_oracle = metrics.deletion_auc(fashion, x, oracle, y, steps=28)
    d_random = metrics.deletion_auc(fashion, x, random, y, steps=28)
    assert d_oracle.shape == (6,)
    assert d_oracle.mean() < d_random.mean() - 0.1
    i_oracle = metrics.insertion_auc(fashion, x, oracle, y, steps=28, baseline="zeros")
    i_random = metrics.insertion_auc(fashion, x, random, y, steps=28, baseline="zeros")
    assert i_oracle.mean() > i_random.mean()


def test_perturbation_curve_ends_match_image_and_baseline(fashion, fashion_data):
    x, y = _fashion(fashion_data, 3)
    maps = np.random.default_rng(2).random((3, 28, 28)).astype(np.float32)
    p_x = fashion.predict(x)[np.arange(3), y]
    p_black = fashion.predict(np.zeros_like(x))[np.arange(3), y]
    p_blur = fashion.predict(metrics.baseline_image(x, "blur"))[np.arange(3), y]
    f, p = metrics.perturbation_curve(fashion, x, maps, y, steps=7, mode="deletion")
    assert f[0] == 0 and f[-1] == 1 and p.shape == (3, 8)
    np.testing.assert_allclose(p[:, 0], p_x, atol=1e-5)
    np.testing.assert_allclose(p[:, -1], p_black, atol=1e-5)
    f, p = metrics.perturbation_curve(fashion, x, maps, y, steps=7, mode="insertion")
    np.testing.assert_allclose(p[:, 0], p_blur, atol=1e-5)
    np.testing.assert_allclose(p[:, -1], p_x, atol=1e-5)
    assert isinstance(metrics.deletion_auc(fashion, x[0], maps[0], int(y[0]), steps=7), float)


def test_deletion_on_the_quadrant_model_prefers_the_right_quadrant():
    course = course_from(quadrant_model(), pixel_range=(0.0, 1.0))
    x = np.random.default_rng(0).uniform(0.2, 1, (2, 16, 16, 3)).astype("float32")
    right = np.zeros((2, 16, 16), np.float32)
    right[:, :8, :8] = 1 + np.random.default_rng(1).random((2, 8, 8))
    wrong = right[:, ::-1, ::-1].copy()
    assert (metrics.deletion_auc(course, x, right, 0, steps=16)
            < metrics.deletion_auc(course, x, wrong, 0, steps=16)).all()


def test_deletion_rejects_bad_arguments(fashion, fashion_data):
    x, y = _fashion(fashion_data, 2)
    maps = np.ones((2, 28, 28), np.float32)
    with pytest.raises(ValueError):
        metrics.deletion_auc(fashion, x, np.ones((2, 14, 14)), y)
    with pytest.raises(ValueError):
        metrics.deletion_auc(fashion, x, maps, y, steps=0)
    with pytest.raises(ValueError):
        metrics.deletion_auc(fashion, x, maps, y, baseline="grey")
    with pytest.raises(ValueError):
        metrics.perturbation_curve(fashion, x, maps, y, mode="shuffle")
    with pytest.raises(ValueError):
        metrics.insertion_auc(fashion, x, maps, target=10)


# ------------------------------------------------------------- sanity check
def test_gradcam_loses_its_picture_under_full_randomization(fashion, fashion_data):
    x, y = _fashion(fashion_data, 6)
    before = [w.copy() for w in fashion.model.get_weights()]
    res = metrics.randomization_sanity(vislib.gradcam, fashion, x, y)
    assert res.layers[0] == "original" and res.layers[-1] == fashion.first_conv
    assert res.layers[1] == "predictions"
    assert res.maps.shape == (len(res.layers), 6, 28, 28)
    np.testing.assert_allclose(res.correlations[0], 1.0)
    assert res.mean[-1] < 0.5
    np.testing.assert_array_equal(res.targets, y)
    # the caller's model was never touched
    for a, b in zip(before, fashion.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(res.maps[0], vislib.gradcam(fashion, x, y), atol=1e-5)


def test_sanity_checkpoints_cascade_and_validate(fashion, fashion_data):
    x, y = _fashion(fashion_data, 2)
    res = metrics.randomization_sanity(vislib.saliency, fashion, x, y, layers=["fc6", "predictions"])
    assert res.layers == ["original", "predictions", "fc6"]
    with pytest.raises(ValueError):
        metrics.randomization_sanity(vislib.saliency, fashion, x, y, layers=["block1_pool"])
    with pytest.raises(ValueError):
        metrics.randomization_sanity("gradcam", fashion, x, y)


@pytest.mark.parametrize("method", ["guided_backprop", "gradcam_plus_plus"])
def test_sanity_check_frees_its_copy(fashion, fashion_data, monkeypatch, method):
    """The randomised copy's weights are released when the check returns:
    nothing cached or traced for it (guided backprop's custom gradients,
    tf-keras-vis' Grad-CAM++) keeps them alive; on VGG16 each would be 528 MB."""
    import gc
    import weakref

    from vislib._core import weightops as _weights
    handles = []
    clone = _weights.clone

    def recording_clone(model):
        copy = clone(model)
        handles.extend(weakref.ref(getattr(v.value, "handle", v.value)) for v in copy.weights)
        return copy

    monkeypatch.setattr(_weights, "clone", recording_clone)
    x, y = _fashion(fashion_data, 2)
    res = metrics.randomization_sanity(getattr(vislib, method), fashion, x, y, layers=["fc6"])
    gc.collect()
    assert handles and res.maps.shape[0] == 2
    assert all(h() is None for h in handles)
    np.testing.assert_allclose(getattr(vislib, method)(fashion, x, y), res.maps[0], atol=1e-4)  # the caller's model still explains


# --------------------------------------------------------------- agreement
def test_agreement_identical_reversed_and_mask():
    rng = np.random.default_rng(0)
    a = rng.random((2, 10, 10)).astype(np.float32)
    same = metrics.agreement(a, a)
    assert np.allclose(same.spearman, 1) and np.allclose(same.top_overlap, 1)
    rev = metrics.agreement(a, -a, top=0.2)
    assert np.allclose(rev.spearman, -1) and np.allclose(rev.top_overlap, 0)
    mask = np.zeros((10, 10), bool)
    mask[:5] = True
    m = a[0].copy()
    m[:5] += 2  # the map's top half is its top 50 %
    one = metrics.agreement(m, mask)
    assert isinstance(one.spearman, float) and one.top_overlap == pytest.approx(1.0)
    assert one.spearman > 0.8
    with pytest.raises(ValueError):
        metrics.agreement(a, a[:, :5])
    with pytest.raises(ValueError):
        metrics.agreement(a, a, top=0)


def test_evaluate_table_and_plot(fashion, fashion_data):
    import matplotlib
    matplotlib.use("Agg")
    x, y = _fashion(fashion_data, 3)
    maps = {"gradcam": vislib.gradcam(fashion, x, y),
            "random": np.random.default_rng(0).random((3, 28, 28)).astype(np.float32)}
    res = metrics.evaluate(fashion, x, maps, vislib.object_boxes(x), y, steps=10)
    assert set(res) == {"gradcam", "random"} and set(res["random"]) == set(metrics.METRICS)
    assert all(v.shape == (3,) for r in res.values() for v in r.values())
    lines = metrics.format_table(res).splitlines()
    cols = list(res["gradcam"])
    assert lines[0].split()[1::2] == cols and len(lines) == 4     # header, rule, one row per method
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    for j, k in enumerate(cols):   # the star marks the best mean: the LOWEST deletion AUC, else the highest
        means = {name: float(np.mean(res[name][k])) for name in res}
        pick = min if k == "deletion_auc" else max
        best = pick(means, key=means.get)
        assert rows[best][j].endswith("*") and float(rows[best][j].rstrip("*")) == pytest.approx(means[best], abs=1e-3)
        for name in res:
            if not np.isclose(means[name], means[best]):
                assert not rows[name][j].endswith("*"), (k, name)
    fig = vislib.plot_metrics(res, reference={"roi_fit": 0.5})
    assert [ax.get_title().split()[0] for ax in fig.axes] == cols
    assert [len(ax.patches) for ax in fig.axes] == [2, 2, 2, 2]   # one bar per method in every panel
    assert len(fig.axes[0].lines) >= 1                            # the roi_fit reference line


def test_evaluate_equals_the_single_metrics_and_classifies_each_end_once(fashion, fashion_data, monkeypatch):
    """evaluate shares the curves' ends (image, black, blurred) across maps and
    both curves, and gives what the metrics give one by one."""
    from vislib._core import graph as _graph
    x, y = _fashion(fashion_data, 3)
    rng = np.random.default_rng(1)
    maps = {k: rng.random((3, 28, 28)).astype(np.float32) for k in ("a", "b", "c")}
    boxes = vislib.object_boxes(x)
    seen = []
    compiled_call = _graph.compiled_call

    def counting(model):  # every forward pass of CourseModel.predict goes through here
        run = compiled_call(model)
        return lambda batch: seen.append(len(batch)) or run(batch)

    monkeypatch.setattr(_graph, "compiled_call", counting)
    res = metrics.evaluate(fashion, x, maps, boxes, y, steps=6)
    assert sum(seen) == 3 * 3 + 3 * 2 * 3 * 5  # 3 ends per image, then 5 inner steps per image, curve and map
    for k, m in maps.items():
        np.testing.assert_allclose(res[k]["deletion_auc"], metrics.deletion_auc(fashion, x, m, y, steps=6), atol=1e-5)
        np.testing.assert_allclose(res[k]["insertion_auc"], metrics.insertion_auc(fashion, x, m, y, steps=6), atol=1e-5)
        np.testing.assert_allclose(res[k]["roi_fit"], metrics.roi_fit(m, boxes))


def test_agreement_matrix_equals_pairwise_agreement():
    rng = np.random.default_rng(3)
    base = rng.random((3, 8, 8)).astype(np.float32)
    maps = {"a": base, "b": base + 0.3 * rng.random((3, 8, 8)).astype(np.float32),
            "c": rng.random((3, 8, 8)).astype(np.float32), "flat": np.zeros((3, 8, 8), np.float32)}
    maps["c"][:, :2, :2] = 0.5  # ties
    names, mat = metrics.agreement_matrix(maps)
    assert names == list(maps) and np.allclose(mat, mat.T) and np.allclose(np.diag(mat), 1)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            np.testing.assert_allclose(mat[i, j], np.mean(metrics.agreement(maps[a], maps[b]).spearman), atol=1e-5)
    with pytest.raises(ValueError):
        metrics.agreement_matrix({"a": base, "b": base[:2]})


# ------------------------------------------------------- on real ImageNet weights
def _labelled(lite0_photos):
    images, labels, names, boxes = lite0_photos
    keep = np.flatnonzero(labels >= 0)
    return images[keep], [boxes[i] for i in keep]


def test_insertion_tells_gradcam_from_a_random_map_on_real_weights(lite0, lite0_photos):
    """Properties only a trained network has (lesson 12 states them): inserting
    Grad-CAM's top pixels into the blurred photo brings the class back far
    faster than inserting random ones (measured: mean AUC 0.31 vs 0.13 over
    the five labelled photos at 8 steps), and its mass sits in the box more
    than a uniform map's (0.80 vs the box share 0.66)."""
    x, boxes = _labelled(lite0_photos)
    t = lite0.predict(x).argmax(1)
    gc = vislib.gradcam(lite0, x, t)
    rnd = np.random.default_rng(0).random(gc.shape).astype(np.float32)
    res = metrics.evaluate(lite0, x, {"Grad-CAM": gc, "random": rnd}, boxes, t, steps=8)
    assert res["Grad-CAM"]["insertion_auc"].mean() > 1.5 * res["random"]["insertion_auc"].mean()
    share = np.mean([metrics.box_mask(b, x.shape[1:3]).mean() for b in boxes])
    assert abs(res["random"]["roi_fit"].mean() - share) < 0.03       # a uniform map scores the box share
    assert res["Grad-CAM"]["roi_fit"].mean() > share + 0.08


def test_sanity_check_on_real_weights_gradcam_changes_guided_backprop_does_not(lite0, lite0_photos):
    """Adebayo et al. 2018 on a trained ImageNet network: randomising only the
    output layer destroys Grad-CAM's map (measured mean rho 0.11 over the five
    labelled photos) and leaves guided backprop's as it was (1.00)."""
    x, _ = _labelled(lite0_photos)
    t = lite0.predict(x).argmax(1)
    gbp = metrics.randomization_sanity(vislib.guided_backprop, lite0, x, t, layers=["predictions"])
    gc = metrics.randomization_sanity(vislib.gradcam, lite0, x, t, layers=["predictions"])
    assert gbp.layers == gc.layers == ["original", "predictions"]
    assert gbp.correlations[1].min() > 0.95
    assert gc.mean[1] < 0.5


def test_roi_fit_of_a_map_whose_total_is_below_one_is_its_mass_share():
    """roi_fit is a share, so scale-free: a raw gradient map with total mass 0.02 gets the same
    fit as the map x 1000. Kills: maps with total mass <= 1 scored 0. Expected by hand:
    positive mass inside the box / all positive mass (the -5 outside is ignored)."""
    m = np.zeros((4, 5))
    m[0, 0], m[1, 1], m[0, 1] = 1.0, 3.0, 2.0        # inside the box x 0..2, y 0..2: 6
    m[3, 4], m[2, 2] = 4.0, -5.0                      # outside: 4 positive, 1 negative
    want = 6.0 / 10.0
    for scale in (1e-3, 2e-2, 1.0):
        assert metrics.roi_fit(m * scale, (0, 0, 2, 2)) == pytest.approx(want, rel=1e-6)   # float32 share
    np.testing.assert_allclose(metrics.roi_fit(np.stack([m * 1e-3, m]), (0, 0, 2, 2)), [want, want], rtol=1e-6)


def test_baseline_images_by_hand():
    """"mean" is each image's own mean colour per channel; the default is the blur (a Gaussian
    of sigma max(H, W) / 14 over each channel, edges reflected: scipy's default mode). Kills: the
    default changed, the branches swapped, the mean taken over the batch."""
    from scipy.ndimage import gaussian_filter
    rng = np.random.default_rng(2)
    x = np.stack([rng.uniform(0, 80, (14, 14, 3)), rng.uniform(150, 255, (14, 14, 3))]).astype(np.float32)
    mean = metrics.baseline_image(x, "mean")
    for i in range(2):
        for c in range(3):
            np.testing.assert_allclose(mean[i, :, :, c], x[i, :, :, c].astype(np.float64).mean(), rtol=1e-5)
    blur = metrics.baseline_image(x)
    assert not np.allclose(blur, mean, atol=1.0)
    for i in range(2):
        for c in range(3):
            ref = gaussian_filter(x[i, :, :, c].astype(np.float64), 1.0, mode="reflect")   # 14 / 14
            np.testing.assert_allclose(blur[i, :, :, c], ref, atol=1e-3)   # float32 vs float64 only


def test_top_overlap_with_a_mask_counts_only_the_masked_pixels():
    """A map whose largest values lie outside a 4-pixel mask overlaps it 0; inside, 1.
    Kills: every pixel counted as inside the mask (k = the whole image: overlap always 1)."""
    mask = np.zeros((6, 6), bool)
    mask[:2, :2] = True
    ramp = np.arange(36, dtype=np.float32).reshape(6, 6)   # largest values bottom right
    assert metrics.agreement(ramp, mask).top_overlap == 0.0
    on_mask = mask.astype(np.float32) * 100 + ramp         # its 4 largest values are the mask's
    assert metrics.agreement(on_mask, mask).top_overlap == 1.0


def test_one_mask_for_a_batch_applies_to_every_image():
    """One (H, W) mask with two maps: each image is scored with it, as if passed one by one.
    Kills: the single mask not repeated over the batch."""
    mask = np.zeros((6, 6), bool)
    mask[1:4, 1:4] = True
    rng = np.random.default_rng(4)
    maps = rng.random((2, 6, 6)).astype(np.float32)
    both = metrics.roi_fit(maps, mask)
    assert np.shape(both) == (2,)
    for i in range(2):
        inside = maps[i][mask].sum() / maps[i].sum()   # mass share, by hand
        np.testing.assert_allclose(both[i], inside, rtol=1e-5)
