"""Noise images (Perlin noise as in Co et al. 2018, uniform, Gaussian) and the
universal perturbation (Moosavi-Dezfooli et al. 2017)."""

from __future__ import annotations

import numpy as np
import pytest

import vislib
from vislib.adversarial.attacks import attack_success
from vislib.adversarial.noise import gaussian_noise, perlin_noise, uniform_noise, universal_perturbation


def _roughness(img):
    """Mean absolute difference between horizontal neighbours."""
    return float(np.abs(np.diff(img[..., 0], axis=1)).mean())


def test_perlin_is_deterministic_for_a_seed_and_in_range():
    a = perlin_noise((32, 48), octaves=3, seed=7)
    b = perlin_noise((32, 48), octaves=3, seed=7)
    c = perlin_noise((32, 48), octaves=3, seed=8)
    assert a.shape == (32, 48, 1) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() <= 255 and a.max() - a.min() > 200  # uses the range


def test_perlin_is_smooth_and_octaves_add_detail():
    smooth = perlin_noise(64, octaves=1, seed=0)
    detailed = perlin_noise(64, octaves=5, seed=0)
    white = uniform_noise(64, seed=0)
    assert _roughness(smooth) < _roughness(detailed) < _roughness(white) / 3


def test_perlin_shapes_colour_and_sine_map(fashion, mobilenet_random):
    assert perlin_noise(fashion).shape == (28, 28, 1)
    rgb = perlin_noise(mobilenet_random, octaves=2, color=True, seed=1)
    assert rgb.shape == (224, 224, 3)
    assert not np.array_equal(rgb[..., 0], rgb[..., 1])
    gray3 = perlin_noise((16, 16, 3), seed=1)
    assert np.array_equal(gray3[..., 0], gray3[..., 2])
    sine = perlin_noise(64, seed=0, sine_frequency=8.0)
    assert sine.min() >= 0 and sine.max() <= 255
    assert _roughness(sine) > _roughness(perlin_noise(64, seed=0))  # sin folds the noise into bands


def test_uniform_and_gaussian_noise_are_valid_images():
    u = uniform_noise((20, 30, 3), seed=0)
    g = gaussian_noise((20, 30, 3), seed=0, std=200)
    assert u.shape == g.shape == (20, 30, 3)
    assert u.min() >= 0 and u.max() <= 255 and g.min() >= 0 and g.max() <= 255
    assert np.array_equal(u, uniform_noise((20, 30, 3), seed=0))
    assert abs(float(gaussian_noise(200, seed=1, std=10).mean()) - 127.5) < 2


def test_universal_perturbation_is_bounded_and_beats_random_noise(fashion, fashion_data):
    x = fashion_data.test[0][:120, :, :, None].astype("float32")
    eps = 40.0
    v = universal_perturbation(fashion, x[:80], epsilon=eps, steps=8)
    assert v.shape == (28, 28, 1) and np.abs(v).max() <= eps + 1e-4
    held_out = x[80:]
    fooled = attack_success(fashion, held_out, np.clip(held_out + v, 0, 255))
    rng = np.random.default_rng(0)
    random_rates = [attack_success(fashion, held_out, np.clip(held_out + eps * rng.choice([-1.0, 1.0], v.shape), 0, 255))
                    for _ in range(3)]
    assert fooled > max(random_rates) + 0.1, (fooled, random_rates)  # one pattern, images it never saw
    img = universal_perturbation(fashion, x[:10], epsilon=eps, steps=2, as_image=True)
    assert img.min() >= 0 and img.max() <= 255 and np.abs(img - 127.5).max() <= eps + 1e-4


def test_bad_inputs_raise(fashion):
    with pytest.raises(ValueError, match="size"):
        perlin_noise((0, 5))
    with pytest.raises(ValueError, match="size"):
        perlin_noise("big")
    with pytest.raises(ValueError, match="channels"):
        uniform_noise((8, 8, 2))
    with pytest.raises(ValueError, match="octaves"):
        perlin_noise(16, octaves=0)
    with pytest.raises(ValueError, match="high"):
        uniform_noise(8, low=100, high=50)
    with pytest.raises(ValueError, match="epsilon"):
        universal_perturbation(fashion, np.zeros((2, 28, 28, 1)), epsilon=-3)


@pytest.mark.parametrize("name", ["vgg16_random", "mobilenet_random", "resnet_random"])
def test_noise_images_run_on_imagenet_architectures(name, request):
    course = request.getfixturevalue(name)
    images = np.stack([perlin_noise(course, seed=0, color=True), uniform_noise(course), gaussian_noise(course)])
    assert course.predict(images).shape == (3, 1000)
    assert vislib.gradcam(course, images[:1]).shape == (1, 224, 224)
    v = universal_perturbation(course, images[:2], epsilon=8, steps=1)
    assert v.shape == (224, 224, 3) and np.abs(v).max() <= 8 + 1e-4


def test_universal_perturbation_fools_the_real_network_on_all_photos(lite0, lite0_photos):
    # measured on the six sample photos (epsilon 16, 3 steps): 6 of 6 flipped; random +-16 patterns flip 2 to 4
    images = lite0_photos[0]
    v = universal_perturbation(lite0, images, epsilon=16, steps=3)
    assert v.shape == (224, 224, 3) and np.abs(v).max() <= 16 + 1e-4
    fooled = attack_success(lite0, images, np.clip(images + v, 0, 255))
    rng = np.random.default_rng(0)
    random_rates = [attack_success(lite0, images, np.clip(images + 16 * rng.choice([-1.0, 1.0], v.shape), 0, 255))
                    for _ in range(3)]
    assert fooled >= 5 / 6 and fooled - np.mean(random_rates) >= 2 / 6, (fooled, random_rates)
