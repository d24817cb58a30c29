"""Shared model plumbing, written once: the sub-model that exposes inner
layers together with the pre-softmax class scores, and gradients through it.

Every explanation method goes through :func:`forward` so that

* the score is the pre-softmax logit (Simonyan et al. 2014 explain why the
  softmax output is the wrong thing to differentiate),
* the caller's model is never modified (no activation is swapped; the last
  Dense layer's kernel is applied by hand to its input instead), and
* a sub-model is built once per (model, layers) and reused across calls.
"""

from __future__ import annotations

import weakref
from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

_SOFTMAX = keras.activations.get("softmax")
_caches: list = []


def model_registry() -> "weakref.WeakKeyDictionary":
    """A per-model cache (weak on the model) that :func:`forget` clears.

    Cached values (sub-models, compiled functions) refer to their model, so a
    weak key alone never lets it go: a temporary model (the copy that
    :func:`vislib.metrics.randomization_sanity` randomises) must be dropped
    from every cache explicitly."""
    registry: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
    _caches.append(registry)
    return registry


def forget(model: keras.Model) -> None:
    """Drop everything cached for ``model`` (sub-models, compiled functions),
    and for the models derived from it (the guided-backpropagation copy), which
    share its layers and so keep its weights alive."""
    for registry in _caches:
        try:
            value = registry.pop(model, None)
        except TypeError:
            continue
        if isinstance(value, keras.Model) and value is not model:
            forget(value)


_cache: "weakref.WeakKeyDictionary[keras.Model, dict]" = model_registry()


def _model_cache(model: keras.Model) -> dict:
    try:
        return _cache.setdefault(model, {})
    except TypeError:  # unhashable or not weak-referenceable: no caching
        return {}


def layer_names(model: keras.Model) -> list[str]:
    """Names of all layers of ``model`` in order."""
    return [layer.name for layer in model.layers]


def conv_layer_names(model: keras.Model) -> list[str]:
    """Names of the layers whose output is a 4-D feature map with learned
    spatial kernels (Conv2D, DepthwiseConv2D, SeparableConv2D), in order."""
    kinds = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)
    return [layer.name for layer in model.layers if isinstance(layer, kinds)]


def spatial_layer_names(model: keras.Model) -> list[str]:
    """Names of all layers with a 4-D (N, H, W, C) output (conv, pooling,
    activation, ...): the layers Grad-CAM or activations can look at."""
    out = []
    for layer in model.layers:
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4 and not isinstance(layer, keras.layers.InputLayer):
            out.append(layer.name)
    return out


def check_layer(model: keras.Model, name: str, valid: Sequence[str] | None = None,
                what: str = "layer") -> str:
    """Return ``name`` if it is one of ``valid`` (default: all layers of the
    model); else raise a ValueError listing the valid names."""
    valid = list(valid) if valid is not None else layer_names(model)
    if not isinstance(name, str) or name not in valid:
        raise ValueError(f"unknown {what} {name!r} for model {model.name!r}; valid choices: {valid}")
    return name


def _layer_input(model: keras.Model, layer) -> object:
    """The tensor feeding ``layer`` inside ``model``'s own graph (a layer
    shared by several models, e.g. in a guided-backprop copy, has one input
    per model)."""
    outs = [id(t) for t in model.outputs]
    for node in getattr(layer, "_inbound_nodes", []):
        if any(id(t) in outs for t in node.output_tensors):
            return node.input_tensors[0]
    return layer.input


def _score_head(model: keras.Model):
    """(tensor feeding the scores, function mapping it to pre-softmax scores)."""
    last = model.layers[-1]
    act = getattr(last, "activation", None)
    if isinstance(last, keras.layers.Activation) and act is _SOFTMAX:
        return _layer_input(model, last), None
    if isinstance(last, keras.layers.Dense) and act is _SOFTMAX:
        kernel, bias = last.kernel, last.bias

        def head(h):
            z = ops.matmul(h, kernel)
            return z + bias if bias is not None else z

        return _layer_input(model, last), head
    if isinstance(last, keras.layers.Softmax):
        return _layer_input(model, last), None
    return model.outputs[0], None


def forward(model: keras.Model, layers: Sequence[str] = ()) -> Callable:
    """A function ``f(x) -> (list of layer outputs, logits)`` for ``model``.

    ``x`` is the model's own (preprocessed) input. The function is built once
    per (model, layers) and cached while the model lives.

    Args:
        model: A functional Keras model whose last layer is the classifier.
        layers: Names of inner layers whose outputs are wanted too.

    Raises:
        ValueError: A layer name the model does not have.
    """
    layers = tuple(layers)
    names = layer_names(model)
    for name in layers:
        check_layer(model, name, names)
    cache = _model_cache(model)
    key = ("forward", layers)
    if key in cache:
        return cache[key]
    feed, head = _score_head(model)
    outputs = [model.get_layer(name).output for name in layers] + [feed]
    try:
        sub = keras.Model(model.inputs, outputs, name=f"{model.name}_exposed")
    except ValueError as err:  # e.g. a nested base model (see FACTS.md)
        raise ValueError(f"cannot expose layers {list(layers)} of model {model.name!r}: {err}. "
                         "Build nested bases on the outer input "
                         "(e.g. VGG16(include_top=False, input_tensor=inp)).") from err

    def run(x):
        outs = sub(x, training=False)
        if not isinstance(outs, (list, tuple)):
            outs = [outs]
        outs = list(outs)
        logits = outs.pop()
        if head is not None:
            logits = head(logits)
        return outs, logits

    cache[key] = run
    return run


def _input_spec(model: keras.Model) -> tf.TensorSpec:
    return tf.TensorSpec((None, *model.inputs[0].shape[1:]), tf.float32)


def compiled_forward(model: keras.Model, layers: Sequence[str] = ()) -> Callable:
    """:func:`forward` compiled with ``tf.function`` (one trace for every batch
    size), for eager callers that only read the outputs.

    Calling a Keras model eagerly keeps every intermediate output until the
    call returns and pays Python dispatch per layer; the compiled graph frees
    each output once it is consumed. Measured on 2 cores: MobileNetV2 at
    224x224 runs 37.7 images/s at batch 1 compiled vs 5.6 eager, 72.9 vs 14.1
    at batch 4, and batch 16 adds 0.06 GB compiled vs 1.0 GB eager
    (``benchmarks/inference.py`` prints the current figures).

    Use :func:`forward` inside code that is itself traced or differentiated:
    gradients between two outputs of one compiled call do not exist.
    """
    cache = _model_cache(model)
    key = ("compiled_forward", tuple(layers))
    if key not in cache:
        fn = tf.function(forward(model, layers), input_signature=[_input_spec(model)])
        cache[key] = lambda x: fn(tf.cast(x, tf.float32))
    return cache[key]


def compiled_call(model: keras.Model) -> Callable:
    """``model(x, training=False)`` compiled once (see :func:`compiled_forward`):
    the model's own output, e.g. softmax probabilities."""
    cache = _model_cache(model)
    if "compiled_call" not in cache:
        # a new Model over the same layers: the cached function must not hold ``model``
        # itself, or the weak-keyed cache entry would keep it alive for ever
        sub = keras.Model(model.inputs, model.outputs, name=f"{model.name}_call")
        fn = tf.function(lambda x: sub(x, training=False), input_signature=[_input_spec(model)])
        cache["compiled_call"] = lambda x: fn(tf.cast(x, tf.float32))
    return cache["compiled_call"]


def logits(model: keras.Model, x: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Pre-softmax class scores of ``model`` for preprocessed inputs ``x`` (N, ...)."""
    run = compiled_forward(model)
    out = [np.asarray(run(x[i:i + batch_size])[1])
           for i in range(0, len(x), batch_size)]
    return np.concatenate(out).astype(np.float32)


#: default memory budget per batch, MB, by kind of pass
BUDGET_MB = {"gradient": 256.0, "forward": 96.0}


def batch_size(model: keras.Model, requested=None, kind: str = "gradient") -> int:
    """The one batch-size rule of the library: ``requested`` if given (a whole
    number >= 1, else a ValueError naming it), otherwise
    :func:`batch_size_for` the model.

    Every public ``batch_size=`` option goes through here, so ``-1``, ``0``,
    ``2.5`` or ``"8"`` get the same clear error everywhere.
    """
    if requested is None:
        return batch_size_for(model, kind=kind)
    from ._checks import count
    return count(requested, "batch_size")


def batch_size_for(model: keras.Model, budget_mb: float | None = None, kind: str = "gradient") -> int:
    """A batch size sized from the model's activations, so big models (VGG16)
    stay under Binder's 2 GB while small ones run in large batches.

    Args:
        model: The Keras model.
        budget_mb: Memory one batch may take (default :data:`BUDGET_MB`).
        kind: ``"gradient"``: a gradient tape keeps every layer's output for
            the backward pass, so one image costs the float32 size of all
            layer outputs. ``"forward"``: compiled inference
            (:func:`compiled_forward`) frees outputs as it goes, so one image
            costs about 3 of the largest layer output. Measured on 2 cores:
            MobileNetV2 inference is fastest at batch 4 (72.9 images/s; 52.5
            at 16), input gradients run 22.6 images/s at batch 4 vs 17.7 at 1
            for 0.11 GB more; the defaults give 4 and 3.

    Returns:
        An int in [1, 256].
    """
    if kind not in BUDGET_MB:
        raise ValueError(f"unknown kind {kind!r}; valid choices: {list(BUDGET_MB)}")
    budget_mb = BUDGET_MB[kind] if budget_mb is None else float(budget_mb)
    cache = _model_cache(model)
    key = ("batch_size", kind, budget_mb)
    if key in cache:
        return cache[key]
    sizes = [0]
    for layer in model.layers:
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        sizes.append(int(np.prod([d for d in shape[1:] if d is not None])))
    per_image = sum(sizes) if kind == "gradient" else 3 * max(sizes)
    mb = per_image * 4 / 2**20
    size = int(max(1, min(256, budget_mb // max(mb, 1e-3))))
    cache[key] = size
    return size
