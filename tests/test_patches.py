"""Max-activating patches are the arg-max activations, cropped to the field."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import vislib  # noqa: E402
from vislib.representation.patches import crop_field  # noqa: E402
from vislib.representation.receptive_field import box, receptive_field  # noqa: E402


@pytest.fixture(scope="module")
def fashion_images(fashion):
    images, _, _ = vislib.examples(fashion, 40)
    return images


@pytest.mark.parametrize("layer,channel", [("block1_conv1", 3), ("block2_conv1", 10), ("block2_pool", 5)])
def test_patches_are_the_argmax(fashion, fashion_images, layer, channel):
    acts = vislib.activations(fashion, fashion_images, layer)[layer][..., channel]
    patches = vislib.max_activating_patches(fashion, layer, channel, fashion_images, k=9, batch_size=16)
    assert len(patches) == 9
    values = [p.value for p in patches]
    assert values == sorted(values, reverse=True)
    # one per image: the k best per-image maxima, and each value is that image's maximum
    per_image = acts.reshape(len(acts), -1).max(1)
    np.testing.assert_allclose(values, np.sort(per_image)[::-1][:9], rtol=1e-5)
    assert len({p.image_index for p in patches}) == 9
    rf = receptive_field(fashion, layer)
    for p in patches:
        i, j = p.position
        assert acts[p.image_index, i, j] == pytest.approx(p.value, rel=1e-5)
        assert p.crop.shape == (*rf.size, 1)
        assert p.box == box(rf, i, j, clip=False)
        y0, y1, x0, x1 = box(rf, i, j)
        inside = p.crop[p.inside].ravel()
        np.testing.assert_array_equal(np.sort(inside),
                                      np.sort(fashion_images[p.image_index, y0:y1, x0:x1].ravel()))


def test_several_per_image_and_precomputed_maps(fashion, fashion_images):
    layer = "block2_conv1"
    maps = vislib.activations(fashion, fashion_images, layer)[layer]
    many = vislib.max_activating_patches(fashion, layer, 7, fashion_images, k=20, one_per_image=False, maps=maps)
    flat = np.sort(maps[..., 7].ravel())[::-1][:20]
    np.testing.assert_allclose([p.value for p in many], flat, rtol=1e-5)
    scanned = vislib.max_activating_patches(fashion, layer, 7, fashion_images, k=20, one_per_image=False,
                                            batch_size=7)
    assert [(p.image_index, p.position) for p in scanned] == [(p.image_index, p.position) for p in many]


def test_padding_outside_image(fashion, fashion_images):
    rf = receptive_field(fashion, "block2_conv1")  # start -3: unit (0, 0) reaches outside
    crop, inside = crop_field(fashion_images[0], rf, 0, 0, pad_value=-1.0)
    assert crop.shape == (8, 8, 1)
    assert not inside[:3].any() and not inside[:, :3].any() and inside[3:, 3:].all()
    assert (crop[~inside] == -1).all()
    np.testing.assert_array_equal(crop[3:, 3:], fashion_images[0, :5, :5])


def test_runs_on_imagenet_architecture(imagenet_random):
    cm = imagenet_random
    images = cm.prepare(np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)))
    layer = cm.conv_layers[len(cm.conv_layers) // 2]
    patches = vislib.max_activating_patches(cm, layer, 0, images, k=2)
    rf = receptive_field(cm, layer)
    assert len(patches) == 2 and all(p.crop.shape == (*rf.size, 3) for p in patches)
    fig = vislib.plot_patches(patches, title=layer)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.texts] == [f"{p.value:.2f} (#{p.image_index})" for p in patches]


def test_bad_input(fashion, fashion_images):
    with pytest.raises(ValueError, match="channel"):
        vislib.max_activating_patches(fashion, "block1_conv1", 32, fashion_images)
    with pytest.raises(ValueError, match="valid choices"):
        vislib.max_activating_patches(fashion, "fc7", 0, fashion_images)
    with pytest.raises(ValueError, match="k"):
        vislib.max_activating_patches(fashion, "block1_conv1", 0, fashion_images, k=0)
    with pytest.raises(ValueError, match="channel"):
        vislib.max_activating_patches(fashion, "block1_conv1", "some", fashion_images)
    with pytest.raises(ValueError, match="maps"):
        vislib.max_activating_patches(fashion, "block1_conv1", 0, fashion_images, maps=np.zeros((2, 3)))
    with pytest.raises(ValueError):
        vislib.plot_patches([])


def test_all_channels_in_one_scan_match_single_calls(fashion, fashion_images):
    layer = "block2_conv1"
    every = vislib.max_activating_patches(fashion, layer, "all", fashion_images, k=5, batch_size=9)
    assert sorted(every) == list(range(64))
    for c in (0, 17, 63):
        one = vislib.max_activating_patches(fashion, layer, c, fashion_images, k=5)
        assert [(p.image_index, p.position) for p in every[c]] == [(p.image_index, p.position) for p in one]
        assert all(p.channel == c for p in every[c])
    two = vislib.max_activating_patches(fashion, layer, [3, 4], fashion_images, k=2)
    assert sorted(two) == [3, 4]
    # precomputed maps (lesson 04) are scanned in the same batches and give the same patches
    maps = vislib.activations(fashion, fashion_images, layer)[layer]
    given = vislib.max_activating_patches(fashion, layer, "all", fashion_images, k=5, batch_size=9, maps=maps)
    for c in range(64):
        assert [(p.image_index, p.position) for p in given[c]] == [(p.image_index, p.position) for p in every[c]], c
        np.testing.assert_allclose([p.value for p in given[c]], [p.value for p in every[c]], rtol=1e-5)


def test_efficientnet_lite0_patches_through_depthwise_convs_and_adds(lite0, lite0_photos):
    """On the real network: the patches of a residual sum (block3b_add, after depthwise convs and
    BatchNorm) and of the activated head are each photo's arg-max, cropped to the exact field."""
    images = lite0_photos[0]
    for layer, channel in [("block3b_add", 5), ("top_activation", 100)]:
        acts = vislib.activations(lite0, images, layer)[layer][..., channel]
        rf = receptive_field(lite0, layer)
        patches = vislib.max_activating_patches(lite0, layer, channel, images, k=4)
        per_image = acts.reshape(len(acts), -1).max(1)
        np.testing.assert_allclose([p.value for p in patches], np.sort(per_image)[::-1][:4], rtol=1e-4)
        for p in patches:
            assert acts[p.image_index][p.position] == pytest.approx(p.value, rel=1e-4)
            assert p.crop.shape == (*rf.size, 3) and p.box == box(rf, *p.position, clip=False)
            y0, y1, x0, x1 = box(rf, *p.position)
            np.testing.assert_array_equal(p.crop[p.inside].reshape(y1 - y0, x1 - x0, 3),
                                          images[p.image_index, y0:y1, x0:x1])
    assert rf.size == (851, 851)  # a head unit sees more than the 224-pixel photo: mostly padding
    assert not p.inside.all() and p.inside.sum() == 224 * 224
