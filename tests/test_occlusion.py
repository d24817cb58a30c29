"""Occlusion sensitivity (Zeiler & Fergus 2014): batched result equals the
one-patch-at-a-time loop, known answers on a constructed model, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import vislib
from vislib.attribution.occlusion import forward_passes, positions, upsample_grid as upsample
from conftest import occlusion_and_grid, course_from, quadrant_model



def _items(fashion_data, n=2):
    x, y = fashion_data.test
    return x[:n, :, :, None].astype("float32"), y[:n]


def _loop(course, x, target, patch, stride, fill_value):
    """The plain version: one occluded copy, one forward pass, per position."""
    ys, xs = positions(x.shape[1], patch, stride), positions(x.shape[2], patch, stride)
    grid = np.zeros((len(x), len(ys), len(xs)), np.float32)
    for i in range(len(x)):
        clean = course.predict(x[i:i + 1])[0, target[i]]
        for a, y0 in enumerate(ys):
            for b, x0 in enumerate(xs):
                occ = x[i].copy()
                occ[y0:y0 + patch, x0:x0 + patch] = fill_value(x[i])[y0:y0 + patch, x0:x0 + patch]
                grid[i, a, b] = clean - course.predict(occ[None])[0, target[i]]
    return grid


@pytest.mark.parametrize("patch, stride, fill", [(4, 2, "gray"), (5, 4, "mean"), (6, 3, 30.0)])
def test_batched_occlusion_equals_the_one_at_a_time_loop(fashion, fashion_data, patch, stride, fill):
    x, _ = _items(fashion_data)
    target = fashion.predict(x).argmax(1)
    fills = {"gray": lambda im: np.full_like(im, 127.5),
             "mean": lambda im: np.broadcast_to(im.mean(axis=(0, 1)), im.shape),
             30.0: lambda im: np.full_like(im, 30.0)}
    want = _loop(fashion, x, target, patch, stride, fills[fill])
    maps, grid = occlusion_and_grid(fashion, x, patch=patch, stride=stride, fill=fill,
                                  batch_size=7)
    assert grid.shape == want.shape
    np.testing.assert_allclose(grid, want, atol=1e-5)
    assert np.abs(want).max() > 1e-3  # the loop saw real drops, so the comparison means something


def test_occluding_the_quadrant_a_class_reads_drops_that_class_most():
    course = course_from(quadrant_model())
    x = np.random.default_rng(0).uniform(0.2, 1, (2, 16, 16, 3)).astype("float32")
    for target, corner in ((0, (0, 0)), (1, (1, 1))):
        maps, grid = occlusion_and_grid(course, x, target=target, patch=8, stride=8, fill=0.0)
        assert grid.shape == (2, 2, 2)
        for g in grid:
            assert np.unravel_index(g.argmax(), g.shape) == corner
        quad = maps[:, :8, :8] if target == 0 else maps[:, 8:, 8:]
        assert np.allclose(quad.max(axis=(1, 2)), maps.max(axis=(1, 2)))


def test_shapes_dtype_outputs_and_exact_upsampling(fashion, fashion_data):
    x, _ = _items(fashion_data, 3)
    before = x.copy()
    drop, grid = occlusion_and_grid(fashion, x, target=[0, 1, 2])
    assert drop.shape == (3, 28, 28) and drop.dtype == np.float32
    assert grid.shape == (3, 13, 13) and grid.dtype == np.float32  # defaults: patch 4, stride 2
    np.testing.assert_array_equal(x, before)  # the caller's images are untouched
    prob, pgrid = occlusion_and_grid(fashion, x, target=[0, 1, 2], output="probability")
    clean = fashion.predict(x)[np.arange(3), [0, 1, 2]]
    np.testing.assert_allclose(pgrid, clean[:, None, None] - grid, atol=1e-6)
    assert (pgrid >= 0).all() and (pgrid <= 1).all()
    # every pixel gets the mean of the patches that cover it (no interpolation)
    i, py, px = 1, 5, 9
    covering = [grid[i, a, b] for a, y0 in enumerate(positions(28, 4, 2)) if y0 <= py < y0 + 4
                for b, x0 in enumerate(positions(28, 4, 2)) if x0 <= px < x0 + 4]
    assert len(covering) == 4
    assert np.isclose(drop[i, py, px], np.mean(covering), atol=1e-6)
    # non-overlapping patches: the map is the grid blown up block by block
    m, g = occlusion_and_grid(fashion, x, patch=7, stride=7)
    np.testing.assert_allclose(m, np.kron(g, np.ones((1, 7, 7))), atol=1e-6)


def test_geometry_covers_every_pixel():
    assert positions(28, 4, 2) == list(range(0, 25, 2))
    assert positions(28, 5, 4) == [0, 4, 8, 12, 16, 20, 23]  # last patch flush with the edge
    assert forward_passes(224, 16, 16) == 196
    assert forward_passes((28, 28), 28, 1) == 1
    grid = np.random.default_rng(0).normal(size=(2, 7, 7))
    up = upsample(grid, (28, 28), (5, 5), (4, 4))
    assert up.shape == (2, 28, 28)
    starts = [0, 4, 8, 12, 16, 20, 23]                       # positions(28, 5, 4), written out
    for y in (0, 4, 5, 22, 23, 27):                          # each pixel: the mean over the patches covering it
        for x in (0, 3, 8, 24, 27):
            rows = [a for a, s in enumerate(starts) if s <= y < s + 5]
            cols = [b for b, s in enumerate(starts) if s <= x < s + 5]
            np.testing.assert_allclose(up[:, y, x], grid[:, rows][:, :, cols].mean(axis=(1, 2)), rtol=1e-6)
    # stride larger than the patch: pixels between patches take the nearest patch
    gappy = upsample(np.arange(4.0).reshape(1, 2, 2), (10, 10), (2, 2), (8, 8))
    assert np.isfinite(gappy).all()
    assert gappy[0, 0, 0] == 0 and gappy[0, 0, 9] == 1 and gappy[0, 9, 0] == 2 and gappy[0, 9, 9] == 3
    assert gappy[0, 3, 3] == 0 and gappy[0, 6, 6] == 3


def test_blur_fill_and_batch_size_do_not_change_the_meaning(fashion, fashion_data):
    x, _ = _items(fashion_data)
    a = vislib.occlusion(fashion, x, fill="blur")
    b = vislib.occlusion(fashion, x, fill="blur", batch_size=5)
    np.testing.assert_allclose(a, b, atol=1e-6)
    gray = vislib.occlusion(fashion, x, fill="gray")
    assert not np.allclose(a, gray)


def test_runs_on_imagenet_architectures(imagenet_random):
    photo = np.random.default_rng(1).uniform(0, 255, (1, 224, 224, 3)).astype("float32")
    m, g = occlusion_and_grid(imagenet_random, photo, target=281, patch=112, stride=112)
    assert m.shape == (1, 224, 224) and g.shape == (1, 2, 2)
    np.testing.assert_allclose(m, np.kron(g, np.ones((1, 112, 112))), atol=1e-7)
    occluded = photo.copy()
    occluded[:, 112:, :112] = 127.5                                  # grey fill, bottom-left window
    p = imagenet_random.predict(np.concatenate([photo, occluded]))[:, 281]
    # probabilities ~3e-4 (VGG16) with float32 rounding ~1e-10; the four windows' drops differ by >= 1e-5
    # on VGG16 (random MobileNetV2 gives the same output for every input here: drops all 0)
    assert g[0, 1, 0] == pytest.approx(p[0] - p[1], abs=1e-8)
    if imagenet_random.name == "vgg16":
        assert np.abs(g[0] - g[0, 1, 0]).max() > 1e-6    # another window would not match


def test_real_network_drop_falls_on_the_object(lite0, lite0_photos):
    # EfficientNet-Lite0's real weights, blur fill, 32-px patches (lesson 05 measured): on the three
    # labelled photos whose box is smaller than the image the drop inside the box is 1.45-1.56 times
    # the box's area share; the strongest patch of the palace and the flower lies inside the box
    images, labels, names, boxes = lite0_photos
    k = [names.index(n) for n in ("rocket", "china", "flower")]
    x, y, b = images[k], labels[k], [boxes[i] for i in k]
    maps, grid = occlusion_and_grid(lite0, x, y, patch=32, stride=32, fill="blur")
    area = np.array([vislib.metrics.box_mask(bb, (224, 224)).mean() for bb in b])
    ratio = vislib.metrics.roi_fit(maps, b) / area
    assert (ratio >= 1.2).all(), ratio
    for j in (1, 2):
        a, c = np.unravel_index(grid[j].argmax(), grid[j].shape)
        assert vislib.metrics.box_mask(b[j], (224, 224))[32 * a + 16, 32 * c + 16], names[k[j]]
    assert (grid <= lite0.predict(x)[np.arange(3), y][:, None, None] + 1e-6).all()


def test_bad_arguments_raise_value_errors_naming_the_choices(fashion, fashion_data):
    x, _ = _items(fashion_data, 1)
    with pytest.raises(ValueError, match="patch"):
        vislib.occlusion(fashion, x, patch=0)
    with pytest.raises(ValueError, match="patch"):
        vislib.occlusion(fashion, x, patch=29)
    with pytest.raises(ValueError, match="stride"):
        vislib.occlusion(fashion, x, stride=0)
    with pytest.raises(ValueError, match="stride"):
        vislib.occlusion(fashion, x, stride=2.5)
    with pytest.raises(ValueError, match="valid choices.*gray"):
        vislib.occlusion(fashion, x, fill="pink")
    with pytest.raises(ValueError, match="pixel range"):
        vislib.occlusion(fashion, x, fill=300)
    with pytest.raises(ValueError, match="valid choices.*probability"):
        vislib.occlusion(fashion, x, output="logit")
    with pytest.raises(ValueError, match="out of range"):
        vislib.occlusion(fashion, x, target=10)
    with pytest.raises(ValueError, match="28x28"):
        vislib.occlusion(fashion, np.zeros((1, 32, 32, 1), "float32"))


# ------------------------------------------- known answers (mutation survivors, issue 25)
def _linear_drops(w, b, x, t, patch, stride, fill):
    """p_t(x) - p_t(occluded) of the linear-softmax model of test_known_answers, written out in
    numpy: the window at (y0, x0) of image i takes ``fill[i]`` (broadcast to (H, W, C)); positions
    0, stride, 2 stride, ... (the tests below pick sizes where the last one is flush with the edge)."""
    from test_known_answers import _softmax
    n, h, wd, _ = x.shape
    xx = x.astype(np.float64)
    prob = lambda im: _softmax(np.einsum("hwk,hwkc->c", im, w) + b)   # noqa: E731
    ys, xs = range(0, h - patch[0] + 1, stride[0]), range(0, wd - patch[1] + 1, stride[1])
    grid = np.zeros((n, len(ys), len(xs)))
    for i in range(n):
        f = np.broadcast_to(np.asarray(fill[i], np.float64), xx[i].shape)
        for a, y0 in enumerate(ys):
            for c, x0 in enumerate(xs):
                occ = xx[i].copy()
                win = (slice(y0, y0 + patch[0]), slice(x0, x0 + patch[1]))
                occ[win] = f[win]
                grid[i, a, c] = prob(xx[i])[t[i]] - prob(occ)[t[i]]
    return grid


@pytest.fixture(scope="module")
def linear_colour():
    """Linear-softmax model on 8x8 colour images; image 0 spans 50-100, image 1 spans 10-200,
    so their own mid-ranges (75, 105) differ from each other and from 127.5."""
    from test_known_answers import _linear_net
    model, w, b = _linear_net((8, 8, 3), classes=2, seed=7, scale=0.001)
    rng = np.random.default_rng(8)
    x = np.stack([rng.uniform(50, 100, (8, 8, 3)), rng.uniform(10, 200, (8, 8, 3))])
    x[0, 0, 0, 0], x[0, 7, 7, 2], x[1, 3, 4, 1], x[1, 5, 0, 0] = 50, 100, 10, 200   # exact extremes
    return model, w, b, x.astype("float32"), np.array([0, 1])


def test_non_square_patch_default_stride_grid_and_map_by_hand(linear_colour):
    """patch (2, 4): default stride (1, 2) -> 7 x 3 positions on 8x8. Kills: the stride of the
    columns taken from the rows' patch, positions of the rows computed with the columns' patch."""
    model, w, b, x, t = linear_colour
    course = course_from(model, pixel_range=(0.0, 255.0))
    want = _linear_drops(w, b, x, t, (2, 4), (1, 2), np.zeros((2, 3)))
    maps, grid = occlusion_and_grid(course, x, t, patch=(2, 4), fill=0.0)
    assert grid.shape == (2, 7, 3)
    atol = 1e-5   # float32 softmax probabilities (error ~1e-7), 100x margin
    np.testing.assert_allclose(grid, want, atol=atol)
    assert np.abs(want).max() > 100 * atol
    # each pixel: the mean of the drops of the windows covering it, counted by hand
    hand = np.zeros((2, 8, 8))
    for yy in range(8):
        for xx in range(8):
            cover = [(a, c) for a in range(7) for c in range(3)
                     if a <= yy < a + 2 and 2 * c <= xx < 2 * c + 4]
            hand[:, yy, xx] = np.mean([want[:, a, c] for a, c in cover], axis=0)
    np.testing.assert_allclose(maps, hand, atol=atol)


def test_grey_fill_is_127_5_on_a_0_255_profile_and_each_images_mid_range_on_a_bare_model(linear_colour):
    """Kills: the profile's grey (lo + hi) / 2 swapped with the image's own (min + max) / 2, and
    min/max taken over the wrong axes (the batch, or per channel)."""
    model, w, b, x, t = linear_colour
    atol = 1e-5
    want = _linear_drops(w, b, x, t, (4, 4), (4, 4), np.full((2, 3), 127.5))
    got = vislib.occlusion_grid(course_from(model, pixel_range=(0.0, 255.0)), x, t, patch=4, stride=4,
                                fill="gray")
    np.testing.assert_allclose(got, want, atol=atol)
    mids = np.array([[75.0] * 3, [105.0] * 3])             # (50 + 100) / 2, (10 + 200) / 2
    want_bare = _linear_drops(w, b, x, t, (4, 4), (4, 4), mids)
    assert np.abs(want_bare - want).max() > 100 * atol       # the two answers are far apart
    got_bare = vislib.occlusion_grid(model, x, t, patch=4, stride=4, fill="gray")
    np.testing.assert_allclose(got_bare, want_bare, atol=atol)


def test_blur_fill_of_a_non_square_patch_equals_scipy_per_channel(linear_colour):
    """The blur fill is scipy's Gaussian with sigma (patch_h / 2, patch_w / 2) = (1, 2), per channel,
    edges repeated. Kills: sigma of one axis taken from the other's patch, or x 2 instead of / 2."""
    from scipy.ndimage import gaussian_filter
    model, w, b, x, t = linear_colour
    course = course_from(model, pixel_range=(0.0, 255.0))
    blur = np.stack([np.stack([gaussian_filter(im[..., c].astype(np.float64), (1.0, 2.0), mode="nearest")
                               for c in range(3)], -1) for im in x])
    want = _linear_drops(w, b, x, t, (2, 4), (2, 4), blur)
    got = vislib.occlusion_grid(course, x, t, patch=(2, 4), stride=(2, 4), fill="blur")
    atol = 1e-5
    np.testing.assert_allclose(got, want, atol=atol)
    for sig in [(2.0, 2.0), (1.0, 1.0), (1.0, 8.0)]:      # the mutants' blurs give other drops
        other = np.stack([np.stack([gaussian_filter(im[..., c].astype(np.float64), sig, mode="nearest")
                                    for c in range(3)], -1) for im in x])
        assert np.abs(_linear_drops(w, b, x, t, (2, 4), (2, 4), other) - want).max() > 10 * atol


@pytest.mark.parametrize("patch, grid_shape", [((1, 3), (8, 6)), ((3, 1), (6, 8))])
def test_one_pixel_patch_side_gets_stride_one(linear_colour, patch, grid_shape):
    """A patch side of 1 pixel: default stride max(1, 1 // 2) = 1 on that axis (never 0), so every
    row (column) is a position. Kills: a floor of 0 instead of 1 on either axis."""
    model, w, b, x, t = linear_colour
    course = course_from(model, pixel_range=(0.0, 255.0))
    grid = vislib.occlusion_grid(course, x, t, patch=patch, fill=0.0)
    assert grid.shape == (2, *grid_shape)
    np.testing.assert_allclose(grid, _linear_drops(w, b, x, t, patch, (1, 1), np.zeros((2, 3))), atol=1e-5)


def test_non_square_image_grid_and_map_by_hand():
    """A 6x10 image (models from tutorials need not be square), patch 2, stride 2 -> 3 x 5
    windows that tile it: each pixel carries its own window's drop. Kills: the rows' coverage
    computed with the image width or the columns' positions (survivors of the mutation run,
    where every test image was square)."""
    from test_known_answers import _linear_net
    model, w, b = _linear_net((6, 10, 3), classes=2, seed=3, scale=0.001)
    x = np.random.default_rng(5).uniform(20, 230, (2, 6, 10, 3)).astype("float32")
    t = np.array([1, 0])
    want = _linear_drops(w, b, x, t, (2, 2), (2, 2), np.zeros((2, 3)))
    assert want.shape == (2, 3, 5)
    maps, grid = occlusion_and_grid(model, x, t, patch=2, stride=2, fill=0.0)
    atol = 1e-5   # float32 softmax probabilities (error ~1e-7), 100x margin
    assert maps.shape == (2, 6, 10) and grid.shape == (2, 3, 5)
    np.testing.assert_allclose(grid, want, atol=atol)
    assert np.abs(want).max() > 100 * atol
    hand = np.repeat(np.repeat(want, 2, axis=1), 2, axis=2)   # windows tile the image exactly
    np.testing.assert_allclose(maps, hand, atol=atol)
