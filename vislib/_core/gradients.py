"""Gradients of the pre-softmax class score, written once for every
gradient-based method (saliency, guided backprop, SmoothGrad, Grad-CAM,
FGSM, class-model visualisation).

Two gradients are needed across the course:

* w.r.t. the **display pixels** (0-255 for photos): the tape sits outside the
  profile's preprocessing, so maps and adversarial perturbations live in the
  pixel space people look at;
* w.r.t. the **activations of an inner layer** (Grad-CAM and its family).

Both run in batches sized from the model (:func:`vislib._core.graph.batch_size_for`)
and use a compiled ``tf.function`` built once per model.

The input gradient takes one **backward ReLU rule** (:data:`RULES`,
:func:`rule_model`): the ordinary gradient (saliency), the deconvnet's
(Zeiler & Fergus 2014) or guided backpropagation's (Springenberg et al. 2015),
one switch on a weight-sharing copy of the model instead of three copies of
the method. :func:`vislib._core.graph.linear_part` (a layer's pre-activation with its own or
modified weights) is shared with LRP.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Iterator

import keras
import numpy as np
import tensorflow as tf

from . import checks, graph
from .course_model import CourseModel, as_course

def top1(cm: CourseModel, x: np.ndarray) -> np.ndarray:
    """Each image's top-1 class (argmax of the logits), shape (N,)."""
    return np.argmax(cm.logits(x), axis=1).astype(np.int64)


#: a target index meaning "this image's top-1 class, found in the gradient pass itself"
TOP1 = -1


def resolve(model, images, target, top1_in_pass: bool = False) -> tuple[CourseModel, np.ndarray, np.ndarray]:
    """The common first step of every explanation method.

    Args:
        model: A :class:`CourseModel` or a ``keras.Model``.
        images: One image or a batch, display pixels.
        target: None (each image's top-1), one class, or one class per image.
        top1_in_pass: For a method whose one pass over the images computes
            the logits anyway (:func:`input_gradients`, :func:`layer_gradients`):
            leave ``target=None`` as :data:`TOP1` so the pass picks the top-1
            class from its own logits, instead of a forward pass first.

    Returns:
        ``(cm, x, target_idx)``: the CourseModel, the checked float32 NHWC
        display images (a copy), and one class index per image (top-1 when
        ``target`` is None; :data:`TOP1` with ``top1_in_pass``).

    Raises:
        ValueError: Bad images (shape, channels, range) or bad targets.
    """
    cm = as_course(model)
    if cm.num_classes == 0:   # a headless feature extractor: say what it lacks
        graph.score_head(cm.model)
    x = cm.check(images)
    if target is None and top1_in_pass:
        return cm, x, np.full(len(x), TOP1, np.int64)
    top = top1(cm, x) if target is None else None
    idx = checks.targets(target, len(x), cm.num_classes, top)
    return cm, x, idx


def run_batched(fn, cm: CourseModel, x: np.ndarray, classes: np.ndarray,
                batch_size: int | None = None, *extra) -> tuple[np.ndarray, ...]:
    """Call a compiled ``fn(images, classes, *extra)`` batch by batch.

    Args:
        fn: A ``tf.function`` taking float32 images (n, H, W, C), int64
            classes (n,) and ``extra``, returning a tuple of tensors with the
            batch first.
        cm: The CourseModel (its model size picks the default batch size).
        x: Images (N, H, W, C).
        classes: One class index per image (N,).
        batch_size: Images per call (default from the model size).
        *extra: Further arguments passed unchanged to every call.

    Returns:
        ``fn``'s outputs, each concatenated over the batches as float32.
    """
    bs = graph.batch_size(cm.model, batch_size)
    parts = []
    for s in graph.batches(len(x), bs):
        out = fn(tf.convert_to_tensor(x[s], tf.float32), tf.convert_to_tensor(classes[s], tf.int64), *extra)
        parts.append([np.asarray(o, np.float32) for o in out])
    return tuple(np.concatenate(p) for p in zip(*parts))


def pick_targets(t, z):
    """``t`` with every :data:`TOP1` entry replaced by that row's argmax of
    the logits ``z`` (tensors; inside a compiled pass that computes ``z``)."""
    return tf.where(t < 0, tf.argmax(z, axis=-1, output_type=tf.int64), t)


def _input_grad_fn(cm: CourseModel, keras_model: keras.Model):
    def build():
        run = graph.forward(keras_model)
        preprocess = cm.preprocess

        @tf.function(reduce_retracing=True)
        def grad(x, t, sign):
            with tf.GradientTape() as tape:
                tape.watch(x)
                _, z = run(preprocess(x))
                score = tf.reduce_sum(tf.gather(z, pick_targets(t, z), batch_dims=1)) * sign
            return tape.gradient(score, x), z
        return grad
    return graph.cached(keras_model, ("input_grad", id(cm.preprocess)), build)


def input_gradients(cm: CourseModel, x: np.ndarray, target_idx: np.ndarray,
                    batch_size: int | None = None, rule: str = "gradient",
                    sign: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """d logit[target] / d display pixel, batched.

    Args:
        cm: The CourseModel (``as_course(model)``).
        x: Checked display images (N, H, W, C) float32.
        target_idx: One class index per image (N,); :data:`TOP1` for the
            image's top-1 class by this pass's own logits.
        batch_size: Images per gradient pass (default from the model size).
        rule: The backward ReLU rule (:data:`RULES`): ``"gradient"`` (the
            model's own gradient), ``"guided"`` (guided backpropagation,
            Springenberg et al. 2015), ``"deconvnet"`` (Zeiler & Fergus 2014);
            see :func:`rule_model`.
        sign: Multiply the score by this (``-1`` for "against the class").

    Returns:
        ``(grads, logits)``: float32 (N, H, W, C) and (N, classes).
    """
    keras_model = rule_model(cm.model, rule)
    fn = _input_grad_fn(cm, keras_model)
    return run_batched(fn, cm, x, target_idx, batch_size, tf.constant(float(sign)))


def _layer_grad_fn(cm: CourseModel, layer: str):
    def build():
        run = graph.forward(cm.model, (layer,))
        preprocess = cm.preprocess

        @tf.function(reduce_retracing=True)
        def grad(x, t):
            with tf.GradientTape() as tape:
                (a,), z = run(preprocess(x))
                score = tf.reduce_sum(tf.gather(z, pick_targets(t, z), batch_dims=1))
            return a, tape.gradient(score, a), z
        return grad
    return graph.cached(cm.model, ("layer_grad", layer, id(cm.preprocess)), build)


def layer_gradients(cm: CourseModel, x: np.ndarray, target_idx: np.ndarray, layer: str,
                    batch_size: int | None = None,
                    spatial: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Activations of ``layer`` and d logit[target] / d activations, batched.

    Args:
        spatial: Accept only layers with a spatial (N, h, w, k) output (the
            CAM family); False accepts any inner layer (TCAV).

    Returns:
        ``(acts, grads, logits)``: (N, h, w, k) (or the layer's own shape), the
        same for the gradients, (N, classes) float32.

    Raises:
        ValueError: ``layer`` is not a layer of the accepted kind.
    """
    net = cm.model
    graph.check_layer(net, layer, graph.spatial_layer_names(net) if spatial else graph.inner_layer_names(net))
    return run_batched(_layer_grad_fn(cm, layer), cm, x, target_idx, batch_size)


# ---- backward ReLU rules: a weight-sharing copy with the rectifiers' backward pass replaced ----

#: the backward ReLU rules: what a rectifier passes back of the signal ``dy`` arriving from above
#: (``z``: the rectifier's forward input)
RULES = ("gradient", "guided", "deconvnet")


@tf.custom_gradient
def _positive_gradient(x):
    def grad(dy):
        return tf.nn.relu(dy)
    return tf.identity(x), grad


@tf.custom_gradient
def _signal_sign_only(out, z):
    """``out`` forward; backward nothing through ``out`` (so no forward mask)
    and ``max(dy, 0)`` straight to the rectifier's input ``z``."""
    def grad(dy):
        return tf.zeros_like(out), tf.nn.relu(dy)
    return tf.identity(out), grad


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


class ReluRule(keras.layers.Layer):
    """The backward ReLU rule after one rectifier (forward: the identity).

    * ``"guided"`` (Springenberg et al. 2015), called on the rectifier's
      output: passes back only positive signals, and the rectifier's own
      backward pass keeps only positive inputs, so
      ``R_in = (z > 0) * max(R_out, 0)``; after a ReLU6, whose backward pass
      also stops where it saturates, ``(0 < z < 6) * max(R_out, 0)``.
    * ``"deconvnet"`` (Zeiler & Fergus 2014), called on ``[output, z]``: no
      signal goes back through the rectifier (so no forward mask at all) and
      ``max(R_out, 0)`` goes straight to its input ``z``, for ReLU and ReLU6
      alike.
    """

    def __init__(self, rule: str = "guided", **kwargs):
        super().__init__(**kwargs)
        self.rule = checks.choice(rule, RULES[1:], "rule")

    def call(self, inputs):
        if self.rule == "deconvnet":
            out, z = inputs
            return _signal_sign_only(out, z)
        return _positive_gradient(inputs)

    def compute_output_spec(self, inputs):
        first = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        return keras.KerasTensor(first.shape, first.dtype)

    def get_config(self):
        return {**super().get_config(), "rule": self.rule}


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


def _fused(op) -> bool:
    """Whether ``op`` computes something before its rectifier (Conv2D(activation="relu"))."""
    return isinstance(op, keras.layers.Layer) and not isinstance(op, (keras.layers.ReLU, keras.layers.Activation))


_rule_models: "weakref.WeakKeyDictionary[keras.Model, dict]" = graph.model_registry()


def rule_model(model: keras.Model, rule: str = "guided") -> keras.Model:
    """``model`` with one backward ReLU rule at every rectifier (ReLU, ReLU6,
    ``activation="relu"``), inside nested models too (the graph is walked as
    :func:`vislib._core.graph.flatten` walks it).

    * ``"gradient"``: the model itself (the ordinary gradient; saliency);
    * ``"guided"``: a :class:`ReluRule` gate after every rectifier (guided
      backpropagation, Springenberg et al. 2015);
    * ``"deconvnet"``: every rectifier's backward pass replaced by
      ``max(dy, 0)`` (Zeiler & Fergus 2014); a rectifier fused into a
      Dense or conv layer is split into the layer's linear part
      (:func:`vislib._core.graph.pre_activation`, same weights) and the activation.

    The copy shares the caller's layers and weights and is built once per
    (model, rule); the caller's model is not modified.

    Raises:
        ValueError: An unknown ``rule``; a rectifier fused into a layer type
            :func:`vislib._core.graph.pre_activation` cannot split (deconvnet only).
    """
    checks.choice(rule, RULES, "rule")
    if rule == "gradient":
        return model
    try:
        cached = _rule_models.setdefault(model, {})
    except TypeError:
        cached = {}
    if rule in cached:
        return cached[rule]

    def gate(op, out):
        if not _is_relu(op):
            return out
        name = f"{op.name}_{rule}" if isinstance(op, keras.layers.Layer) else None
        if rule == "guided":
            return ReluRule("guided", name=name)(out)
        history = out._keras_history
        x_in = history.operation._inbound_nodes[history.node_index].input_tensors[0]
        if _fused(op):
            z = graph.Apply(graph.pre_activation(op), name=f"{op.name}_linear")(x_in)
            out = keras.layers.Activation(op.activation, name=f"{op.name}_activation")(z)
        else:
            z = x_in
        return ReluRule("deconvnet", name=name)([out, z])

    shape = tuple(graph.graph_of(model).inputs[0].shape[1:])
    clone = graph.rebuild(model, shape, wrap=gate, name=f"{model.name}_{rule}")
    cached[rule] = clone
    return clone


