"""vislib.data: odd images, sample photos, Fashion-MNIST offline, prefetch."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import vislib
from vislib import data
from vislib.data import datasets
from vislib.data import images as image_io
from vislib.models.profiles import prefetch


@pytest.fixture
def photo():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "LA", "P", "CMYK", "1", "I;16", "I", "F"])
def test_load_image_converts_every_mode_to_rgb(tmp_path, photo, mode):
    img = Image.fromarray(photo)
    if mode == "I;16":
        img = Image.fromarray(photo[..., 0].astype(np.uint16) * 257)
    elif mode in ("I", "F"):
        img = img.convert("L").convert(mode)
    else:
        img = img.convert(mode)
    path = tmp_path / ("x.tif" if mode in ("I;16", "I", "F") else "x.png" if mode != "CMYK" else "x.jpg")
    img.save(path)
    out = data.load_image(path)
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8
    if mode in ("L", "I;16", "I", "F", "LA"):  # gray stays gray
        assert np.array_equal(out[..., 0], out[..., 1])
    if mode == "I;16":  # 16-bit scaled to 8-bit, not clipped
        assert abs(int(out[..., 0].max()) - int(photo[..., 0].max())) <= 1


def test_load_image_rgba_composited_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:2, :, 3] = 255  # top half opaque red-ish, bottom transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = data.load_image(tmp_path / "a.png")
    assert tuple(out[0, 0]) == (200, 0, 0)
    assert tuple(out[3, 3]) == (255, 255, 255)


def test_load_image_resizes(tmp_path, photo):
    Image.fromarray(photo).save(tmp_path / "p.png")
    assert data.load_image(tmp_path / "p.png", size=(8, 9)).shape == (8, 9, 3)
    assert data.load_image(tmp_path / "p.png", size=5).shape == (5, 5, 3)


@pytest.mark.parametrize("case", ["missing", "empty", "not_image", "folder", "bad_size"])
def test_load_image_errors_name_the_path(tmp_path, photo, case):
    path = tmp_path / "img.png"
    kwargs = {}
    if case == "empty":
        path.write_bytes(b"")
    elif case == "not_image":
        path.write_text("hello, I am text")
    elif case == "folder":
        path = tmp_path
    elif case == "bad_size":
        Image.fromarray(photo).save(path)
        kwargs = {"size": (0, 10)}
    with pytest.raises(ValueError) as err:
        data.load_image(path, **kwargs)
    if case == "bad_size":   # the message names the option, the bad value and the valid range
        assert "size" in str(err.value) and "=0" in str(err.value) and "1 <=" in str(err.value), err.value
    else:                    # the message names the file
        assert str(path) in str(err.value), err.value


def test_load_image_refuses_huge_images(tmp_path, monkeypatch):
    Image.new("L", (300, 300)).save(tmp_path / "big.png")
    monkeypatch.setattr(image_io, "MAX_PIXELS", 300 * 300 - 1)
    with pytest.raises(ValueError, match="megapixels|too large"):
        data.load_image(tmp_path / "big.png")


def test_to_rgb_uint8_handles_arrays():
    assert data.to_rgb_uint8(np.ones((3, 4), bool)).max() == 255
    assert data.to_rgb_uint8(np.full((3, 4, 1), 0.5, np.float32))[0, 0, 0] == 128
    assert data.to_rgb_uint8(np.full((2, 2), 65535, np.uint16))[0, 0, 0] == 255
    for bad in (np.zeros((0, 3)), np.zeros((2, 2, 5)), np.full((2, 2), np.nan)):
        with pytest.raises(ValueError):
            data.to_rgb_uint8(bad)


def test_sample_images_are_annotated_rgb_photos():
    samples = vislib.sample_images()
    assert [s.name for s in samples] == ["chelsea", "coffee", "astronaut", "rocket", "china", "flower"]
    for s in samples:
        h, w = s.image.shape[:2]
        assert s.image.dtype == np.uint8 and s.image.shape[2] == 3
        assert s.boxes, s.name
        for x0, y0, x1, y1 in s.boxes:
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h, (s.name, s.boxes)
        for x0, y0, x1, y1 in s.boxes_at((224, 224)):
            assert 0 <= x0 < x1 <= 224 and 0 <= y0 < y1 <= 224
        assert s.label is None or 0 <= s.label < 1000
    with pytest.raises(ValueError, match="chelsea"):
        vislib.sample_images(["nope"])


def test_fashion_mnist_offline(fashion_data):
    (x, y), (xt, yt) = fashion_data.train, fashion_data.test
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert x.dtype == np.uint8 and set(np.unique(y)) == set(range(10))
    assert fashion_data.class_names[9] == "Ankle boot"


def test_ensure_fashion_mnist_copies_from_debian(tmp_path, monkeypatch):
    src = tmp_path / "debian"
    src.mkdir()
    for f in datasets.FASHION_FILES:
        (src / f).write_bytes(b"x")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(datasets, "FASHION_DEBIAN", src)
    dest = data.ensure_fashion_mnist(verbose=False, install=False)
    assert sorted(p.name for p in dest.iterdir()) == sorted(datasets.FASHION_FILES)


def test_ensure_fashion_mnist_says_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(datasets, "FASHION_DEBIAN", tmp_path / "nothing")
    with pytest.raises(RuntimeError, match="dataset-fashion-mnist"):
        data.ensure_fashion_mnist(verbose=False, install=False)


def test_object_boxes_bound_the_item():
    img = np.zeros((28, 28), np.uint8)
    img[5:20, 8:12] = 200
    assert data.object_boxes(img) == [(8, 5, 12, 20)]
    assert data.object_boxes(np.zeros((2, 10, 10, 1))) == [(0, 0, 10, 10)] * 2


def test_examples_suit_the_profile(fashion):
    images, labels, names = vislib.examples(fashion, 4)
    assert images.shape == (4, 28, 28, 1) and images.dtype == np.float32
    assert list(labels) == [0, 1, 2, 3] and names[1] == "Trouser"


def test_examples_for_imagenet_profile_are_sample_photos(mobilenet_random):
    images, labels, names = vislib.examples(mobilenet_random, 3)
    assert images.shape == (3, 224, 224, 3) and names == ["chelsea", "coffee", "astronaut"]
    assert labels[0] == 281 and labels[2] == -1


def test_example_boxes_match_the_examples(fashion, mobilenet_random):
    images, labels, _ = vislib.examples(fashion, 3)
    boxes = vislib.example_boxes(fashion, images)
    assert [len(b) for b in boxes] == [1, 1, 1]
    for img, (b,) in zip(images, boxes):  # the box holds every bright pixel of the item
        x0, y0, x1, y1 = b
        inside = np.zeros(img.shape[:2], bool)
        inside[y0:y1, x0:x1] = True
        assert img[..., 0][~inside].max() <= 0.1 * 255 and img[..., 0][inside].max() > 100
    photos, _, names = vislib.examples(mobilenet_random, 2)
    pboxes = vislib.example_boxes(mobilenet_random, photos)
    cat = pboxes[names.index("chelsea")]
    assert cat and all(0 <= x0 < x1 <= 224 and 0 <= y0 < y1 <= 224 for x0, y0, x1, y1 in cat)
    with pytest.raises(ValueError, match="sample photos"):
        vislib.example_boxes(mobilenet_random, np.zeros((50, 224, 224, 3), np.float32))


def test_flowers_offline_raises_a_clear_error(offline_keras_home):
    with pytest.raises(RuntimeError, match="flowers"):
        vislib.flowers(limit=1)


def test_prefetch_offline_reports_instead_of_crashing(offline_keras_home, fashion, fashion_data, capsys):
    """Offline, prefetch says which items failed and exits non-zero; the
    offline profile's items succeed (Fashion-MNIST, loaded this session, and
    the trained model, put into the empty cache)."""
    offline_keras_home.add_course_model("fashion_cnn")
    report = prefetch(["fashion_cnn", "flowers"], verbose=False)
    assert report["fashion_mnist"] == "ok" and report["fashion_cnn"] == "ok"
    assert report["flowers"].startswith("failed")
    from vislib.__main__ import main
    assert main(["prefetch", "no_such_profile"]) == 2
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err


def test_flowers_reads_an_archive_of_the_tf_flowers_layout(tmp_path, monkeypatch):
    """The real archive cannot be downloaded here; a small one with the same
    layout (flower_photos/<class>/*.jpg, photos of odd sizes) stands in for it."""
    from PIL import Image
    root = tmp_path / "flower_photos"
    rng = np.random.default_rng(0)
    for c, cls in enumerate(vislib.data.FLOWER_CLASSES):
        (root / cls).mkdir(parents=True)
        for i in range(10):
            h, w = 40 + 7 * i, 60 - 3 * i
            Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / cls / f"{c}_{i}.jpg")
    import keras
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: str(tmp_path))
    fl = vislib.flowers(size=(32, 32), limit=10, split=(0.7, 0.1, 0.2))
    assert fl["class_names"] == list(vislib.data.FLOWER_CLASSES)
    sizes = {part: len(fl[part][0]) for part in ("train", "val", "test")}
    assert sizes == {"train": 35, "val": 5, "test": 10}
    for part in sizes:
        x, y = fl[part]
        assert x.shape[1:] == (32, 32, 3) and x.dtype == np.uint8 and len(y) == len(x)
        assert np.bincount(y, minlength=5).tolist() == [sizes[part] // 5] * 5
    # the parts are disjoint: no photo is in two of them
    flat = {part: {fl[part][0][i].tobytes() for i in range(len(fl[part][0]))} for part in sizes}
    assert not (flat["train"] & flat["test"]) and not (flat["train"] & flat["val"])
    small = vislib.flowers(size=(32, 32), limit=4)     # 2 train, 0 validation, 2 test photos per class
    assert len(small["train"][0]) == 10 and small["val"][0].shape == (0, 32, 32, 3)
    ds = vislib.flowers(size=(32, 32), limit=10, as_arrays=False)["test"]
    img, label = next(iter(ds))
    assert tuple(img.shape) == (32, 32, 3) and 0 <= int(label) < 5
