"""Gradients of the pre-softmax class score, written once for every
gradient-based method (saliency, guided backprop, SmoothGrad, Grad-CAM,
FGSM, class-model visualisation).

Two gradients are needed across the course:

* w.r.t. the **display pixels** (0-255 for photos): the tape sits outside the
  profile's preprocessing, so maps and adversarial perturbations live in the
  pixel space people look at;
* w.r.t. the **activations of an inner layer** (Grad-CAM and its family).

Both run in batches sized from the model (:func:`vislib._graph.batch_size_for`)
and use a compiled ``tf.function`` built once per model.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Iterator

import keras
import numpy as np
import tensorflow as tf

from . import _checks, _graph
from .profiles import CourseModel, as_course

_guided: "weakref.WeakKeyDictionary[keras.Model, keras.Model]" = _graph.model_registry()


def top1(course: CourseModel, x: np.ndarray) -> np.ndarray:
    """Each image's top-1 class (argmax of the logits), shape (N,)."""
    return np.argmax(course.logits(x), axis=1).astype(np.int64)


def resolve(model, images, target) -> tuple[CourseModel, np.ndarray, np.ndarray]:
    """The common first step of every explanation method.

    Returns:
        ``(course, x, target_idx)``: the profile, the checked float32 NHWC
        display images (a copy), and one class index per image (top-1 when
        ``target`` is None).

    Raises:
        ValueError: Bad images (shape, channels, range) or bad targets.
    """
    course = as_course(model)
    if course.num_classes == 0:   # a headless feature extractor: say what it lacks
        _graph.score_head(course.model)
    x = course.check(images)
    top = top1(course, x) if target is None else None
    idx = _checks.targets(target, len(x), course.num_classes, top)
    return course, x, idx


def _chunks(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def run_batched(fn, course: CourseModel, x: np.ndarray, classes: np.ndarray,
                batch_size: int | None = None, *extra) -> tuple[np.ndarray, ...]:
    """Call a compiled ``fn(images, classes, *extra)`` batch by batch.

    Args:
        fn: A ``tf.function`` taking float32 images (n, H, W, C), int64
            classes (n,) and ``extra``, returning a tuple of tensors with the
            batch first.
        course: The profile (its model size picks the default batch size).
        x: Images (N, H, W, C).
        classes: One class index per image (N,).
        batch_size: Images per call (default from the model size).
        *extra: Further arguments passed unchanged to every call.

    Returns:
        ``fn``'s outputs, each concatenated over the batches as float32.
    """
    bs = _graph.batch_size(course.model, batch_size)
    parts = []
    for s in _chunks(len(x), bs):
        out = fn(tf.convert_to_tensor(x[s], tf.float32), tf.convert_to_tensor(classes[s], tf.int64), *extra)
        parts.append([np.asarray(o, np.float32) for o in out])
    return tuple(np.concatenate(p) for p in zip(*parts))


def _input_grad_fn(course: CourseModel, keras_model: keras.Model):
    cache = _graph._model_cache(keras_model)
    key = ("input_grad", id(course.preprocess))
    if key not in cache:
        run = _graph.forward(keras_model)
        preprocess = course.preprocess

        @tf.function(reduce_retracing=True)
        def grad(x, t, sign):
            with tf.GradientTape() as tape:
                tape.watch(x)
                _, z = run(preprocess(x))
                score = tf.reduce_sum(tf.gather(z, t, batch_dims=1)) * sign
            return tape.gradient(score, x), z

        cache[key] = grad
    return cache[key]


def input_gradients(course: CourseModel, x: np.ndarray, target_idx: np.ndarray,
                    batch_size: int | None = None, guided: bool = False,
                    sign: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """d logit[target] / d display pixel, batched.

    Args:
        course: The profile (``as_course(model)``).
        x: Checked display images (N, H, W, C) float32.
        target_idx: One class index per image (N,).
        batch_size: Images per gradient pass (default from the model size).
        guided: Use the guided-backpropagation clone (Springenberg et al. 2015).
        sign: Multiply the score by this (``-1`` for "against the class").

    Returns:
        ``(grads, logits)``: float32 (N, H, W, C) and (N, classes).
    """
    keras_model = guided_model(course.model) if guided else course.model
    fn = _input_grad_fn(course, keras_model)
    return run_batched(fn, course, x, target_idx, batch_size, tf.constant(float(sign)))


def _layer_grad_fn(course: CourseModel, layer: str):
    cache = _graph._model_cache(course.model)
    key = ("layer_grad", layer, id(course.preprocess))
    if key not in cache:
        run = _graph.forward(course.model, (layer,))
        preprocess = course.preprocess

        @tf.function(reduce_retracing=True)
        def grad(x, t):
            with tf.GradientTape() as tape:
                (a,), z = run(preprocess(x))
                score = tf.reduce_sum(tf.gather(z, t, batch_dims=1))
            return a, tape.gradient(score, a), z

        cache[key] = grad
    return cache[key]


def layer_gradients(course: CourseModel, x: np.ndarray, target_idx: np.ndarray, layer: str,
                    batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Activations of ``layer`` and d logit[target] / d activations, batched.

    Returns:
        ``(acts, grads, logits)``: (N, h, w, k), (N, h, w, k), (N, classes) float32.

    Raises:
        ValueError: ``layer`` is not a layer with a spatial output.
    """
    _graph.check_layer(course.model, layer, _graph.spatial_layer_names(course.model))
    return run_batched(_layer_grad_fn(course, layer), course, x, target_idx, batch_size)


# ---- guided backpropagation: a weight-sharing copy with gated ReLU gradients ----

@tf.custom_gradient
def _positive_gradient(x):
    def grad(dy):
        return tf.nn.relu(dy)
    return tf.identity(x), grad


@contextlib.contextmanager
def temporary_traces() -> Iterator[None]:
    """Forget the custom gradients registered while the block runs.

    Traced inside a ``tf.function``, ``tf.custom_gradient`` (the guided gate
    below, tf-keras-vis' guided ReLU) registers its gradient in TensorFlow's
    global registry under a fresh name, and that entry holds the traced graph,
    and with it every variable the graph read, for the life of the process.
    For a temporary model (the copy :func:`vislib.metrics.randomization_sanity`
    randomises) that is a whole copy of its weights, 528 MB for VGG16. Use
    only around code that traces functions of temporary models alone: their
    graphs cannot take gradients afterwards.
    """
    try:
        from tensorflow.python.framework import ops
        registry = ops._gradient_registry._registry
        before = set(registry)
    except (ImportError, AttributeError, TypeError):  # another TensorFlow: keep its entries
        registry = None
    try:
        yield
    finally:
        if isinstance(registry, dict):
            for name in [n for n in registry if n not in before and str(n).startswith("CustomGradient-")]:
                del registry[name]


class GuidedGate(keras.layers.Layer):
    """Identity forward; backward passes only positive gradients.

    Placed right after a ReLU, whose own backward pass keeps only positive
    inputs, it yields the guided-backpropagation rule of Springenberg et al.
    (2015): ``R_in = (z > 0) * max(R_out, 0)``; after a ReLU6, whose backward
    pass also stops where it saturates, ``R_in = (0 < z < 6) * max(R_out, 0)``.
    """

    def call(self, x):
        return _positive_gradient(x)


def _is_relu(layer) -> bool:
    if isinstance(layer, keras.layers.ReLU):
        return True
    if not isinstance(layer, keras.layers.Layer):  # keras.ops.relu / relu6 on a symbolic tensor
        return type(layer).__name__ in ("Relu", "Relu6")
    act = getattr(layer, "activation", None)
    relus = {keras.activations.relu, keras.activations.get("relu")}
    if act in relus:
        return True
    return getattr(act, "__name__", "") in {"relu", "relu6"}


def guided_model(model: keras.Model) -> keras.Model:
    """A copy of ``model`` that shares its layers and weights but gates the
    gradient after every ReLU (guided backpropagation), inside nested models
    too (the graph is walked as :func:`vislib._graph.flatten` walks it).
    Built once per model; the caller's model is not modified."""
    if model in _guided:
        return _guided[model]

    def gate(op, out):
        if _is_relu(op):
            name = f"{op.name}_guided" if isinstance(op, keras.layers.Layer) else None
            out = GuidedGate(name=name)(out)
        return out

    shape = tuple(_graph._graph_of(model).inputs[0].shape[1:])
    clone = _graph._rebuild(model, shape, wrap=gate, name=f"{model.name}_guided")
    try:
        _guided[model] = clone
    except TypeError:
        pass
    return clone
