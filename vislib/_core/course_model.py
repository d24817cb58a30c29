"""The model-plus-metadata object every vislib function takes: a
:class:`CourseModel` (from :func:`vislib.load_model`, or :func:`as_course`
around a bare ``keras.Model``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

import keras
import numpy as np
from keras import ops

from . import checks, graph
from .images import center_crop, resize, to_rgb_uint8


def unit_preprocess(x):
    return ops.convert_to_tensor(x, "float32") / 255.0


def keras_preprocess(fn: Callable) -> Callable:
    """Keras' numpy preprocessing works in place on float arrays; always go
    through a tensor so the caller's array is never modified."""
    def pre(x):
        return fn(ops.convert_to_tensor(x, "float32"))
    pre.__name__ = getattr(fn, "__module__", "preprocess").split(".")[-1] + ".preprocess_input"
    pre.__doc__ = fn.__doc__
    return pre


def deprocess_for(mode: str) -> Callable[[np.ndarray], np.ndarray]:
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
        preprocess_mode: Keras' preprocessing mode: ``"caffe"`` (BGR, mean
            subtracted), ``"tf"`` (-1..1), ``"unit"`` (0..1) or ``"none"``.
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
    preprocess_mode: str = "none"
    weights: str | None = None
    description: str = ""
    extras: dict = field(default_factory=dict)
    gflops: float = 0.0

    #: a forward pass above this many GFLOPs makes a network "heavy"
    HEAVY_GFLOPS = 5.0

    @property
    def heavy(self) -> bool:
        """Whether one forward pass costs over :data:`HEAVY_GFLOPS` billion
        multiply-adds (VGG16; not MobileNetV2, ResNet50 or EfficientNet-Lite0).
        Lessons run shorter loops on heavy networks (:meth:`pick`) so that each
        still finishes in minutes on a laptop."""
        return self.gflops > self.HEAVY_GFLOPS

    def pick(self, clothes, photos, heavy=None):
        """A size or a choice that depends on the network, written once: the
        course's one rule for how much a lesson computes.

        ``clothes`` on the small 28x28 models (one forward pass costs about
        nothing), ``photos`` on the ImageNet networks, ``heavy`` (default:
        ``photos``) on a network over :data:`HEAVY_GFLOPS` (VGG16), so a lesson
        finishes in minutes on a laptop everywhere. Wrap the result in
        :func:`vislib.budget` for a shorter run under ``VISLIB_FAST=1``.

        Example: ``samples = cm.pick(clothes=25, photos=10, heavy=8)``.
        """
        if self.channels == 1 or self.input_size[0] <= 64:
            return clothes
        return photos if heavy is None or not self.heavy else heavy

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
        return checks.as_batch(images, self.input_shape, self.pixel_range, name)

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
        bs = graph.batch_size(self.model, batch_size, kind="forward")
        run = graph.compiled_call(self.model)
        return graph.batched(lambda b: run(self.preprocess(b)), x, bs)

    def logits(self, images, batch_size: int | None = None) -> np.ndarray:
        """Pre-softmax class scores (N, classes) for display images
        (``[-z/2, +z/2]`` for a one-unit binary model with logit ``z``)."""
        x = self.check(images)
        return graph.logits(self.model, np.asarray(self.preprocess(x)),
                             graph.batch_size(self.model, batch_size, kind="forward"))

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
            kind = graph.score_head(self.model).kind
            if kind == "binary_logit":
                raise ValueError(f"probs has shape {probs.shape}: the one output of model {self.name!r} is a "
                                 "logit, not a probability; pass course.predict(images) (N, 2)")
            if kind == "binary_sigmoid":
                probs = np.concatenate([1 - probs, probs], axis=1)
        if probs.ndim != 2 or probs.shape[1] != self.num_classes:
            raise ValueError(f"probs must have shape (N, {self.num_classes}); got {probs.shape}")
        top = checks.count(top, "top", high=self.num_classes)
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
    one functional graph over the same layers (:func:`vislib._core.graph.flatten`):
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
        if input_size is None and not graph.needs_flatten(model.model):
            return model
        net = graph.flatten(model.model, input_size)
        if net is model.model:
            return model
        graph.score_head(net)
        size = tuple(int(d) for d in net.inputs[0].shape[1:3])
        return dataclasses.replace(model, model=net, input_size=size, conv_layers=graph.conv_layer_names(net))
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a vislib CourseModel or a keras.Model; got {type(model).__name__}")
    net = graph.flatten(model, input_size)
    shape = tuple(net.inputs[0].shape[1:])
    # refuses a softmax over one unit up front; a headless feature extractor has no classes (its
    # layers can still be looked at; asking for a class score says what is missing)
    n_classes = graph.num_classes(net) if graph.is_classifier(net) else 0
    convs = graph.conv_layer_names(net)
    return CourseModel(
        model=net, name=model.name, input_size=(shape[0], shape[1]), channels=shape[2],
        preprocess=_identity, deprocess=_deprocess_identity,
        class_names=[f"class_{i}" for i in range(n_classes)],
        conv_layers=convs, first_conv=convs[0] if convs else "", last_conv=convs[-1] if convs else "",
        feature_layer=net.layers[-2].name if len(net.layers) > 1 else "",
        pixel_range=(-np.inf, np.inf), weights="unknown", description="user model")
