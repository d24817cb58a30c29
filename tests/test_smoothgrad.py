"""SmoothGrad (Smilkov et al. 2017) as a wrapper over any gradient method:
zero noise gives the method back, more samples give more reproducible and
smoother maps, the target is fixed on the clean image, noise stays in range."""

from __future__ import annotations

import numpy as np
import pytest

import vislib
from conftest import course_from, quadrant_model


def _items(fashion_data, n=4):
    x, y = fashion_data.test
    return x[:n, :, :, None].astype("float32"), y[:n]


def _corr(a, b):
    return float(np.mean([np.corrcoef(p.ravel(), q.ravel())[0, 1] for p, q in zip(a, b)]))


@pytest.mark.parametrize("name", ["saliency", "guided_backprop", "gradcam"])
def test_one_sample_without_noise_is_the_method_itself(fashion, fashion_data, name):
    x, _ = _items(fashion_data, 3)
    method = getattr(vislib, name)
    got = vislib.smoothgrad(fashion, x, noise=0.0, samples=1, method=method)
    np.testing.assert_allclose(got, method(fashion, x), rtol=1e-5, atol=1e-8)
    many = vislib.smoothgrad(fashion, x, noise=0.0, samples=3, batch_size=2, method=method)
    np.testing.assert_allclose(many, method(fashion, x), rtol=1e-5, atol=1e-8)


def test_maps_grow_reproducible_and_smoother_with_samples(fashion, fashion_data):
    x, _ = _items(fashion_data, 4)

    def run(samples, seed):
        return vislib.smoothgrad(fashion, x, samples=samples, seed=seed)

    r1, r32 = _corr(run(1, 0), run(1, 1)), _corr(run(32, 0), run(32, 1))
    assert r32 > r1 + 0.2, (r1, r32)
    assert (_roughness(run(32, 0)) < _roughness(vislib.saliency(fashion, x))).all()


def _roughness(maps):
    """Total variation per unit of mass, per map (lesson 07): scale-free, not ruled by outlier pixels."""
    m = np.abs(np.asarray(maps, np.float64))
    tv = np.abs(np.diff(m, axis=1)).sum(axis=(1, 2)) + np.abs(np.diff(m, axis=2)).sum(axis=(1, 2))
    return tv / (2 * m.sum(axis=(1, 2)))


def test_real_network_smoothgrad_is_smoother_and_lands_on_the_object(lite0, lite0_photos):
    # EfficientNet-Lite0's real weights (lesson 07 measured, 10 samples, noise 0.15): roughness
    # 0.36-0.41 times the plain map's on the six photos; on the rocket (box 10 % of the image)
    # the share inside the box / box area goes from 1.01 (plain) to 2.51
    images, _, names, boxes = lite0_photos
    k = [names.index("coffee"), names.index("rocket")]
    x, b = images[k], [boxes[i] for i in k]
    plain = vislib.saliency(lite0, x)
    smooth = vislib.smoothgrad(lite0, x, noise=0.15, samples=10, seed=0)
    assert (_roughness(smooth) <= 0.6 * _roughness(plain)).all(), (_roughness(smooth), _roughness(plain))
    area = vislib.metrics.box_mask(b[1], x.shape[1:3]).mean()
    fit_plain, fit_smooth = vislib.metrics.roi_fit(plain[1], b[1]), vislib.metrics.roi_fit(smooth[1], b[1])
    assert fit_smooth / area >= 1.5 and fit_smooth > fit_plain, (fit_plain / area, fit_smooth / area)


def test_target_is_decided_once_on_the_clean_images(fashion, fashion_data):
    x, _ = _items(fashion_data, 3)
    seen_targets, seen_images = [], []

    def spy(model, images, target=None):
        seen_targets.append(np.asarray(target))
        seen_images.append(np.asarray(images))
        return np.zeros(np.shape(images)[:3], np.float32)

    out = vislib.smoothgrad(fashion, x, noise=1.0, samples=5, batch_size=4, method=spy)
    assert out.shape == (3, 28, 28)
    top = fashion.predict(x).argmax(1)
    np.testing.assert_array_equal(np.concatenate(seen_targets), np.repeat(top, 5))
    assert [len(i) for i in seen_images] == [4, 4, 4, 3]  # 15 copies in batches of 4
    copies = np.concatenate(seen_images)
    assert copies.min() >= 0 and copies.max() <= 255  # clipped to the pixel range
    # noise of sigma = 0.1 * 255 around mid-grey pixels
    seen_images.clear()
    vislib.smoothgrad(fashion, np.full((1, 28, 28, 1), 127.5, "float32"), noise=0.1, samples=20, method=spy)
    assert abs(np.concatenate(seen_images).std() - 25.5) < 1.0


def test_batch_size_and_seed(fashion, fashion_data):
    x, _ = _items(fashion_data, 2)
    a = vislib.smoothgrad(fashion, x, samples=6, seed=3)
    b = vislib.smoothgrad(fashion, x, samples=6, seed=3, batch_size=5)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-9)
    c = vislib.smoothgrad(fashion, x, samples=6, seed=4)
    assert not np.allclose(a, c)


def test_shapes_options_and_squared(fashion, fashion_data):
    x, _ = _items(fashion_data, 2)
    m = vislib.smoothgrad(fashion, x, samples=3)
    assert m.shape == (2, 28, 28) and m.dtype == np.float32
    signed = vislib.smoothgrad(fashion, x, samples=3, reduce=None)
    assert signed.shape == (2, 28, 28, 1) and (signed < 0).any()
    sq = vislib.smoothgrad(fashion, x, samples=3, squared=True)
    assert (sq >= 0).all() and not np.allclose(sq, m)


def test_with_gradcam_it_is_the_mean_gradcam_map_of_the_noisy_copies(fashion, fashion_data):
    """Options reach the method (here Grad-CAM's layer), and the result is the mean of the
    method's maps over exactly the copies it was given, per image."""
    x, _ = _items(fashion_data, 2)
    seen = []

    def spy(model, images, target=None, **options):
        seen.append((np.asarray(images).copy(), np.asarray(target).copy(), options))
        return vislib.gradcam(model, images, target, **options)

    got = vislib.smoothgrad(fashion, x, samples=3, batch_size=4, layer=fashion.first_conv, method=spy)
    assert got.shape == (2, 28, 28) and all(o == {"layer": fashion.first_conv} for _, _, o in seen)
    copies = np.concatenate([c for c, _, _ in seen])               # copy k shows image k // 3
    targets = np.concatenate([t for _, t, _ in seen])
    np.testing.assert_array_equal(targets, np.repeat(fashion.predict(x).argmax(1), 3))
    assert (np.abs(copies - np.repeat(x, 3, axis=0)) > 0).mean() > 0.5   # noisy copies, not the images
    maps = vislib.gradcam(fashion, copies, targets, layer=fashion.first_conv)
    for i in range(2):
        np.testing.assert_allclose(got[i], maps[3 * i:3 * i + 3].mean(0), atol=1e-6)
    assert not np.allclose(got, vislib.smoothgrad(fashion, x, samples=3, method=vislib.gradcam))  # layer used


def test_quadrant_model_keeps_its_maximum_in_the_quadrant():
    course = course_from(quadrant_model())
    x = np.random.default_rng(0).uniform(0, 1, (2, 16, 16, 3)).astype("float32")
    m = vislib.smoothgrad(course, x, target=0, samples=8)
    for s in m:
        yy, xx = np.unravel_index(s.argmax(), s.shape)
        assert yy < 9 and xx < 9
        assert s[:9, :9].sum() / s.sum() > 0.99


def test_bare_model_noise_uses_the_data_range():
    import keras
    model = quadrant_model()
    x = np.random.default_rng(0).uniform(0, 1, (1, 16, 16, 3)).astype("float32")
    seen = []

    def spy(model, images, target=None):
        seen.append(np.asarray(images))
        return np.zeros(np.shape(images)[:3], np.float32)

    assert isinstance(model, keras.Model)
    vislib.smoothgrad(model, x, noise=0.2, samples=50, target=0, method=spy)
    noise = np.concatenate(seen) - x
    assert abs(noise.std() - 0.2 * (x.max() - x.min())) < 0.01


def test_runs_on_imagenet_architectures(imagenet_random):
    photo = np.random.default_rng(1).uniform(0, 255, (1, 224, 224, 3)).astype("float32")
    m = vislib.smoothgrad(imagenet_random, photo, target=281, samples=2)
    assert m.shape == (1, 224, 224) and m.dtype == np.float32
    assert (m >= 0).all() and (m > 0).mean() > 0.5                # |gradient| averaged: mostly positive


def test_bad_arguments_raise_value_errors(fashion, fashion_data):
    x, _ = _items(fashion_data, 1)
    with pytest.raises(ValueError, match="noise"):
        vislib.smoothgrad(fashion, x, noise=-0.1)
    with pytest.raises(ValueError, match="noise"):
        vislib.smoothgrad(fashion, x, noise=1.5)
    with pytest.raises(ValueError, match="samples"):
        vislib.smoothgrad(fashion, x, samples=0)
    with pytest.raises(ValueError, match="samples"):
        vislib.smoothgrad(fashion, x, samples=2.5)
    with pytest.raises(ValueError, match="method must be an explanation function"):
        vislib.smoothgrad(fashion, x, method="saliency")
    # the call shape before the one contract: the method first gets told the new shape
    with pytest.raises(ValueError, match=r"smoothgrad takes \(model, images, target=None, method=\.\.\.\)"):
        vislib.smoothgrad(vislib.saliency, fashion, x)
    with pytest.raises(ValueError, match="out of range"):
        vislib.smoothgrad(fashion, x, target=11)
