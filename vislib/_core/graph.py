"""Shared model plumbing, written once: the sub-model that exposes inner
layers together with the pre-softmax class scores, and gradients through it.

Every explanation method goes through :func:`forward` so that

* the score is the pre-softmax logit (Simonyan et al. 2014 explain why the
  softmax output is the wrong thing to differentiate),
* the caller's model is never modified (no activation is swapped; the last
  Dense layer's kernel is applied by hand to its input instead), and
* a sub-model is built once per (model, layers) and reused across calls.

Models come in the shapes tutorials build them (:func:`flatten`): a
functional model, a ``keras.Sequential``, or either with a whole network
nested as one layer (the TensorFlow transfer-learning tutorial's
``x = base_model(x, training=False)``). Nested models are flattened into one
functional graph over the *same* layer objects, so every inner layer is
reachable by name from the model's input.

Class scores (:func:`score_head`): the input of the last softmax (or of a
sigmoid), or the output itself when the model ends in logits. A model with
ONE output unit (sigmoid, or a linear logit ``z`` trained with
``from_logits=True``) is a binary classifier with two classes whose scores
are ``[-z/2, +z/2]``: their softmax is exactly ``[1 - sigmoid(z),
sigmoid(z)]`` and its cross-entropy is the binary cross-entropy, so every
softmax-based method is right by construction, and a map of class 1 is
``+1/2 dz/dx``, of class 0 ``-1/2 dz/dx``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from .checks import count, pair

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
    and for the models derived from it (the guided-backpropagation copy, the
    flattened graph), which share its layers and so keep its weights alive."""
    for registry in _caches:
        try:
            value = registry.pop(model, None)
        except TypeError:
            continue
        derived = value.values() if isinstance(value, dict) else [value]
        for other in derived:
            if isinstance(other, keras.Model) and other is not model:
                forget(other)


_cache: "weakref.WeakKeyDictionary[keras.Model, dict]" = model_registry()
_flat: "weakref.WeakKeyDictionary[keras.Model, dict]" = model_registry()


def model_cache(model: keras.Model) -> dict:
    try:
        return _cache.setdefault(model, {})
    except TypeError:  # unhashable or not weak-referenceable: no caching
        return {}


# ------------------------------------------------------------------ graphs
def cached(model: keras.Model, key, build: Callable):
    """``build()`` once per (model, key), kept while the model lives: the one
    cache of the compiled functions (gradient tapes, forward passes) that every
    method builds for a model."""
    cache = model_cache(model)
    if key not in cache:
        cache[key] = build()
    return cache[key]


def graph_of(model) -> keras.Model | None:
    """The functional graph holding ``model``'s layers: the model itself, a
    Sequential's inner functional model, or None for a subclassed model (its
    own ``call``, no graph to look into).

    Raises:
        ValueError: A Sequential model that was never built.
    """
    if isinstance(model, keras.Sequential):
        graph = getattr(model, "_functional", None)
        if graph is None:
            raise ValueError(
                f"Sequential model {model.name!r} has no input shape yet (it was never built), so its "
                "layers have no inputs to explain: start it with an input, keras.Sequential("
                "[keras.Input((height, width, channels)), ...]), or call it once on images "
                "(model(images[:1])) before passing it to vislib")
        return graph
    if hasattr(model, "_nodes_by_depth") and hasattr(model, "_run_through_graph"):
        return model
    return None


def is_classifier(model: keras.Model) -> bool:
    """Whether the output is one row of class scores per image, (N, classes).
    A headless feature extractor (``VGG16(include_top=False)``) is not: its
    layers can be looked at (activations, patches, filters, receptive fields)
    but it has no class score to explain."""
    out = tuple(model.outputs[0].shape[1:])
    return len(out) == 1 and out[0] is not None


def check_model(model: keras.Model, classifier: bool = True) -> None:
    """Refuse, with a ValueError saying what vislib needs, models it cannot
    explain: subclassed models (no layer graph), unbuilt Sequentials, more
    than one input or output, inputs that are not images, and (with
    ``classifier``) outputs that are not one row of class scores per image."""
    graph = graph_of(model)
    if graph is None:
        raise ValueError(
            f"model {model.name!r} is a subclassed keras.Model ({type(model).__name__} with its own call()): "
            "vislib needs its layer graph; build it with the functional API (keras.Input -> layers -> "
            "keras.Model(inputs, outputs)) or as a keras.Sequential")
    n_in, n_out = len(graph.inputs), len(graph.outputs)
    if n_in != 1 or n_out != 1:
        raise ValueError(
            f"model {model.name!r} has {n_in} input{'s' * (n_in != 1)} and {n_out} output"
            f"{'s' * (n_out != 1)}; vislib explains single-image classifiers: one image input "
            "(N, H, W, C) and one output of class scores (N, classes). Build a model with one "
            "input and one output from its layers (keras.Model(image_input, class_output))")
    shape = tuple(graph.inputs[0].shape[1:])
    if len(shape) != 3:
        raise ValueError(f"model {model.name!r}: input must be (H, W, C) images; got {shape}")
    out = tuple(graph.outputs[0].shape[1:])
    if classifier and (len(out) != 1 or out[0] is None):
        raise ValueError(f"model {model.name!r}: the output must be one row of class scores per image "
                         f"(N, classes); got (N, {', '.join(map(str, out))}). Add a classifier head "
                         "(e.g. GlobalAveragePooling2D() then Dense(classes))")


def needs_flatten(model: keras.Model) -> bool:
    """Whether ``model`` is a Sequential, nests another model as a layer, or
    takes integer pixels (``keras.Input(..., dtype="uint8")``: no gradient
    flows into an integer input, so the graph is rebuilt on a float32 one)."""
    if isinstance(model, keras.Sequential) or any(isinstance(layer, keras.Model) for layer in model.layers):
        return True
    graph = graph_of(model)
    if graph is None:   # subclassed: nothing to open up (check_model refuses it)
        return False
    dtype = str(getattr(graph.inputs[0], "dtype", "float32"))
    return "int" in dtype or dtype == "bool"


def rebuild(model: keras.Model, input_shape: tuple, wrap: Callable | None = None,
             unique: bool = False, name: str | None = None) -> keras.Model:
    """``model``'s graph run again, on a new float32 input of ``input_shape``,
    calling the *same* layer objects (no weights copied): nested models are
    walked into, each contributing its layers, plus an identity layer named
    as the nested model that carries its output (so ``layer=<base name>``
    still means "the base's output").

    Args:
        model: A functional or (built) Sequential model.
        input_shape: (H, W, C) of the new input.
        wrap: ``wrap(operation, output) -> output`` applied after every
            operation (the guided-backpropagation gates).
        unique: Refuse layer names that occur twice (a name in the outer
            model and in a nested one, or a layer called twice).
        name: Name of the new model (default ``model.name``).
    """
    seen: dict[str, list] = {}

    def record(layer) -> None:
        seen.setdefault(layer.name, []).append(layer)

    def visit(graph_model: keras.Model, x):
        graph = graph_of(graph_model)

        def operation_fn(op):
            inner = graph_of(op) if isinstance(op, keras.Model) else None
            if inner is not None:
                def call_nested(*args, **kwargs):  # training= / mask= of the nested call: vislib runs inference
                    out = visit(op, args[0])
                    if not isinstance(out, (list, tuple, dict)):
                        alias = keras.layers.Identity(name=op.name)
                        record(alias)
                        out = alias(out)
                    return out
                return call_nested

            def call(*args, **kwargs):
                out = op(*args, **kwargs)
                if isinstance(op, keras.layers.Layer):
                    record(op)
                return wrap(op, out) if wrap is not None else out
            return call

        return graph._run_through_graph(x, operation_fn=operation_fn)

    first = graph_of(model).inputs[0]
    inp = keras.Input(shape=tuple(input_shape), dtype="float32",
                      name=getattr(first._keras_history.operation, "name", None))
    out = visit(model, inp)
    if unique:
        twice = sorted(n for n, layers in seen.items() if len(layers) > 1)
        if twice:
            shared = [n for n in twice if len({id(layer) for layer in seen[n]}) == 1]
            listed = ", ".join(repr(n) for n in twice)
            raise ValueError(
                f"model {model.name!r}: layer name{'s' * (len(twice) > 1)} {listed} "
                f"occur{'s' * (len(twice) == 1)} more than once when its nested models are opened up"
                + (f" ({', '.join(map(repr, shared))}: one layer called more than once)" if shared
                   else " (the same name outside and inside a nested model)")
                + "; vislib finds layers by name, so each must be unique: give the outer layers other "
                  "names when building the model (e.g. Dense(1, name='head'))")
    return keras.Model(inp, out, name=name or model.name)


def flatten(model: keras.Model, input_size: tuple[int, int] | None = None) -> keras.Model:
    """``model`` as one functional graph that vislib can look into.

    A functional model without nested models is returned as it is. A
    ``keras.Sequential``, or a model nesting another model as a layer (the
    transfer-learning pattern ``x = base_model(x, training=False)``), is
    rebuilt as one functional model over the *same* layer objects: no weight
    is copied, the caller's model is not changed (its ``layers``, weights
    and ``get_config()`` stay as they were), and every inner layer is
    reachable by name. Inference only: augmentation layers are identities and
    BatchNormalization uses its moving statistics, whatever ``training=`` the
    nested call was given. Built once per model and cached while it lives.

    Args:
        model: A ``keras.Model``.
        input_size: (height, width) to build the graph on, for a model whose
            input size is not fixed (``keras.Input((None, None, 3))``).

    Raises:
        ValueError: A model vislib cannot explain (:func:`check_model`), an
            input size that is not fixed and not given, an ``input_size`` the
            model cannot run on, layer names that are not unique once nested
            models are opened up.
    """
    check_model(model, classifier=False)   # a headless feature extractor is fine until a class score is asked for
    shape = tuple(graph_of(model).inputs[0].shape[1:])
    if input_size is not None:
        h, w = pair(input_size, "input_size")
        size = (h, w)
    elif shape[0] is None or shape[1] is None:
        raise ValueError(
            f"model {model.name!r} takes images of any size (input shape {shape}); vislib explains "
            "images of one size: pass vislib.as_course(model, input_size=(height, width)) (the same "
            "layers and weights on a fixed-size input) instead of the model")
    else:
        size = None
    if shape[2] is None:
        raise ValueError(f"model {model.name!r}: the number of input channels is not fixed {shape}; "
                         "build it with keras.Input((height, width, channels))")
    if (size is None or size == shape[:2]) and not needs_flatten(model):
        return model
    key = size
    try:
        cached = _flat.get(model)
    except TypeError:
        cached = None
    if cached is not None and key in cached:
        return cached[key]
    new_shape = (*(size if size is not None else shape[:2]), shape[2])
    try:
        flat = rebuild(model, new_shape, unique=True)
    except Exception as err:
        if size is None or (isinstance(err, ValueError) and "layer name" in str(err)):
            raise
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"model {model.name!r} cannot run on {size[0]}x{size[1]} images "
                         f"(input_size={input_size!r}): {first}") from err
    try:
        _flat.setdefault(model, {})[key] = flat
    except TypeError:
        pass
    return flat


def _node_ids(model: keras.Model) -> set:
    cache = model_cache(model)
    if "node_ids" not in cache:
        cache["node_ids"] = {id(n) for nodes in model._nodes_by_depth.values() for n in nodes}
    return cache["node_ids"]


def _own_node(model: keras.Model, layer):
    """The node of ``layer`` inside ``model``'s own graph (a layer shared by
    several models, e.g. by a flattened or guided copy, has one per model)."""
    own = _node_ids(model)
    for node in getattr(layer, "_inbound_nodes", []):
        if id(node) in own:
            return node
    return None


def layer_output(model: keras.Model, name: str):
    """The output tensor of layer ``name`` in ``model``'s own graph (not
    ``layer.output``, which is its first model's)."""
    layer = model.get_layer(name)
    node = _own_node(model, layer)
    return node.output_tensors[0] if node is not None else layer.output


def layer_input(model: keras.Model, layer) -> object:
    """The tensor feeding ``layer`` inside ``model``'s own graph."""
    node = _own_node(model, layer)
    return node.input_tensors[0] if node is not None else layer.input


def _shape_of(model: keras.Model, layer) -> tuple | None:
    node = _own_node(model, layer)
    try:
        return tuple((node.output_tensors[0] if node is not None else layer.output).shape)
    except (AttributeError, ValueError, IndexError):
        return None


def layer_names(model: keras.Model) -> list[str]:
    """Names of all layers of ``model`` in order."""
    return [layer.name for layer in model.layers]


def inner_layer_names(model: keras.Model) -> list[str]:
    """Every layer between the input and the output layer: what a method that
    reads a layer's activations (inversion, TCAV) can be pointed at."""
    return [n for n in layer_names(model)[:-1] if not isinstance(model.get_layer(n), keras.layers.InputLayer)]


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
        shape = _shape_of(model, layer)
        if shape is not None and len(shape) == 4 and not isinstance(layer, keras.layers.InputLayer):
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


# ------------------------------------------------------------ class scores
def activation_name(op) -> str | None:
    """``"softmax"`` / ``"sigmoid"`` when ``op`` ends in one, else None."""
    if isinstance(op, keras.layers.Softmax):
        return "softmax"
    if isinstance(op, (keras.layers.Dense, keras.layers.Activation)):
        name = getattr(getattr(op, "activation", None), "__name__", "")
    elif isinstance(op, keras.layers.Layer):
        return None
    else:  # keras.ops.softmax / sigmoid called on a symbolic tensor
        name = type(op).__name__.lower()
    if name in ("softmax", "softmax_v2"):
        return "softmax"
    return "sigmoid" if name == "sigmoid" else None


@dataclass(frozen=True)
class ScoreHead:
    """Where the class scores come from.

    Attributes:
        feed: The tensor (in the model's graph) the scores are computed from.
        fn: ``fn(feed) -> scores`` (None: the feed is the scores).
        kind: ``"softmax"`` (the model outputs softmax probabilities),
            ``"sigmoid"`` (one sigmoid per class, multi-label), ``"logits"``
            (the model outputs scores), ``"binary_sigmoid"`` / ``"binary_logit"``
            (one output unit: two classes, scores ``[-z/2, +z/2]``).
        classes: Number of classes (2 for one output unit).
    """

    feed: object
    fn: Callable | None
    kind: str
    classes: int

    @property
    def binary(self) -> bool:
        return self.kind.startswith("binary")


#: the layers whose fused activation vislib can take off (:func:`pre_activation`)
LINEAR_KINDS = (keras.layers.Dense, keras.layers.Conv2D, keras.layers.DepthwiseConv2D)


def linear_part(layer, x, kernel=None, bias=None):
    """``layer``'s pre-activation on ``x`` (Dense, Conv2D, DepthwiseConv2D),
    with its own kernel and bias, or the ``kernel`` / ``bias`` given (a
    modified copy: LRP's ``w+``, a BatchNorm folded in). ``bias=False``: none."""
    kernel = layer.kernel if kernel is None else kernel
    if bias is None:
        bias = layer.bias if getattr(layer, "use_bias", True) else None
    if isinstance(layer, keras.layers.Dense):
        z = ops.matmul(x, kernel)
    elif isinstance(layer, keras.layers.DepthwiseConv2D):
        z = ops.depthwise_conv(x, kernel, strides=layer.strides, padding=layer.padding,
                               dilation_rate=layer.dilation_rate, data_format=layer.data_format)
    else:
        z = layer.convolution_op(x, kernel)
    if bias is not None and bias is not False:
        z = z + ops.cast(bias, z.dtype)
    return z


def pre_activation(layer) -> Callable:
    """``f(h)``: what a Dense, Conv2D or DepthwiseConv2D layer computes from its
    input ``h`` before its fused activation, with the layer's own kernel and bias
    (shared, not copied): the class scores before a softmax, a unit before its
    ReLU. The one place the course takes a layer's activation off (class
    scores, activation maximization, the deconvnet's ReLU rule, LRP).

    Raises:
        ValueError: Another kind of layer (named, with the supported kinds).
    """
    if not isinstance(layer, LINEAR_KINDS):
        raise ValueError(f"layer {layer.name!r} is a {type(layer).__name__}; vislib can take the fused "
                         f"activation off {[k.__name__ for k in LINEAR_KINDS]} only")
    return lambda h: linear_part(layer, h)


class Apply(keras.layers.Layer):
    """A layer that applies ``fn`` (e.g. :func:`pre_activation` of another
    layer) and owns no weights: the weights ``fn`` reads stay the other
    layer's, so a view built with it shares them and costs no memory."""

    def __init__(self, fn: Callable, **kwargs):
        super().__init__(**kwargs)
        self._fn = [fn]  # a list: Keras does not track (and own) what fn holds

    def call(self, h):
        return self._fn[0](h)


def _two_scores(pre: Callable | None) -> Callable:
    def scores(h):
        z = pre(h) if pre is not None else h
        return ops.concatenate([-0.5 * z, 0.5 * z], axis=-1)
    return scores


def producer(tensor) -> tuple:
    """``(operation, node)`` that made a symbolic ``tensor`` in its graph: the
    one place vislib reads Keras' graph bookkeeping (``_keras_history``)."""
    op, index = tensor._keras_history[0], tensor._keras_history[1]
    return op, op._inbound_nodes[index]


def score_head(model: keras.Model) -> ScoreHead:
    """How to get the pre-softmax class scores of ``model`` (cached per model).

    The output's last operation decides: a Dense layer with a softmax or
    sigmoid (its kernel is applied to its input by hand, the layer is not
    changed), a softmax / sigmoid layer or op (its input), or anything else
    (the output is taken as the scores: a model that ends in logits, or in
    global average pooling of class maps). One output unit makes two classes
    (see the module docstring).

    Raises:
        ValueError: A softmax over one unit (always 1: nothing to explain);
            an output that is not one row of class scores per image.
    """
    cache = model_cache(model)
    if "score_head" in cache:
        return cache["score_head"]
    if not is_classifier(model):
        check_model(model)   # says what the output is and how to add a classifier head
    out = model.outputs[0]
    units = int(out.shape[-1])
    op, node = producer(out)
    while isinstance(op, keras.layers.Identity):   # the name of a nested model ending the graph (flatten)
        op, node = producer(node.input_tensors[0])
    act = activation_name(op)
    if act == "softmax" and units == 1:
        raise ValueError(
            f"model {model.name!r} ends in a softmax over ONE unit ({op.name!r}), which is 1 for every "
            "image: it cannot be trained or explained. For two classes use Dense(1, activation='sigmoid') "
            "(or Dense(1) with from_logits=True) or Dense(2, activation='softmax')")
    if act is not None:
        feed = node.input_tensors[0]
        pre = pre_activation(op) if isinstance(op, keras.layers.Dense) else None
    else:
        feed, pre = out, None
    if units == 1:
        head = ScoreHead(feed, _two_scores(pre), "binary_sigmoid" if act else "binary_logit", 2)
    else:
        head = ScoreHead(feed, pre, act or "logits", units)
    cache["score_head"] = head
    return head


def num_classes(model: keras.Model) -> int:
    """Number of classes: output units, or 2 for a one-unit binary model."""
    return score_head(model).classes


def forward(model: keras.Model, layers: Sequence[str] = ()) -> Callable:
    """A function ``f(x) -> (list of layer outputs, logits)`` for ``model``.

    ``x`` is the model's own (preprocessed) input. The function is built once
    per (model, layers) and cached while the model lives.

    Args:
        model: A functional Keras model (:func:`flatten` makes one) whose
            output is the classifier's.
        layers: Names of inner layers whose outputs are wanted too.

    Raises:
        ValueError: A layer name the model does not have.
    """
    layers = tuple(layers)
    names = layer_names(model)
    for name in layers:
        check_layer(model, name, names)
    cache = model_cache(model)
    key = ("forward", layers)
    if key in cache:
        return cache[key]
    # a headless feature extractor: its layers only; its "scores" are its raw output (never a class
    # score: every class explanation asks score_head, which refuses it with what to add)
    head = score_head(model) if is_classifier(model) else ScoreHead(model.outputs[0], None, "features", 0)
    outputs = [layer_output(model, name) for name in layers] + [head.feed]
    try:
        sub = keras.Model(model.inputs, outputs, name=f"{model.name}_exposed")
    except ValueError as err:
        raise ValueError(f"cannot expose layers {list(layers)} of model {model.name!r}: {err}. "
                         "Pass the model through vislib.as_course first (it opens up nested models)") from err
    fn = head.fn

    def run(x):
        outs = sub(x, training=False)
        if not isinstance(outs, (list, tuple)):
            outs = [outs]
        outs = list(outs)
        logits = outs.pop()
        if fn is not None:
            logits = fn(logits)
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
    cache = model_cache(model)
    key = ("compiled_forward", tuple(layers))
    if key not in cache:
        fn = tf.function(forward(model, layers), input_signature=[_input_spec(model)])
        cache[key] = lambda x: fn(tf.cast(x, tf.float32))
    return cache[key]


def compiled_call(model: keras.Model) -> Callable:
    """Class probabilities ``(N, classes)`` for preprocessed inputs, compiled
    once (see :func:`compiled_forward`): the model's own output when it is a
    softmax (or one sigmoid per class), else the softmax of the class scores
    (:func:`score_head`): ``[1 - sigmoid(z), sigmoid(z)]`` for a one-unit
    binary model, ``softmax(z)`` for a model that outputs logits."""
    cache = model_cache(model)
    if "compiled_call" not in cache:
        head = score_head(model)
        if head.kind in ("softmax", "sigmoid"):
            # a new Model over the same layers: the cached function must not hold ``model``
            # itself, or the weak-keyed cache entry would keep it alive for ever
            sub = keras.Model(model.inputs, model.outputs, name=f"{model.name}_call")
            fn = tf.function(lambda x: sub(x, training=False), input_signature=[_input_spec(model)])
        else:
            run = forward(model)
            fn = tf.function(lambda x: tf.nn.softmax(run(x)[1], axis=-1), input_signature=[_input_spec(model)])
        cache["compiled_call"] = lambda x: fn(tf.cast(x, tf.float32))
    return cache["compiled_call"]


def logits_function(model: keras.Model) -> Callable:
    """A compiled ``f(x) -> logits`` (N, classes) for ``model``'s own
    (preprocessed) input ``x``: the class scores before the softmax, found
    without modifying the model (:func:`score_head`). Class-model
    visualization maximises these, not the probabilities, so that a class
    cannot win by pushing the others down (Simonyan et al. 2014).
    """
    run = forward(model)
    return lambda x: run(x)[1]


def batches(n: int, size: int) -> list[slice]:
    """Slices of at most ``size`` items covering ``range(n)``: the one batch
    loop (the size comes from :func:`batch_size`)."""
    return [slice(start, min(n, start + size)) for start in range(0, n, size)]


def batched(fn: Callable, x: np.ndarray, size: int):
    """``fn`` applied to ``x`` batch by batch, outputs concatenated as float32
    numpy arrays: one array, or a tuple when ``fn`` returns a tuple or list."""
    parts = [fn(x[s]) for s in batches(len(x), size)]
    if parts and isinstance(parts[0], (tuple, list)):
        return tuple(np.concatenate([np.asarray(p[j], np.float32) for p in parts]) for j in range(len(parts[0])))
    return np.concatenate([np.asarray(p, np.float32) for p in parts])


def logits(model: keras.Model, x: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Pre-softmax class scores of ``model`` for preprocessed inputs ``x`` (N, ...)."""
    run = compiled_forward(model)
    return batched(lambda b: run(b)[1], x, batch_size)


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
    cache = model_cache(model)
    key = ("batch_size", kind, budget_mb)
    if key in cache:
        return cache[key]
    sizes = [0]
    for layer in model.layers:
        shape = _shape_of(model, layer)
        if shape is None:
            continue
        sizes.append(int(np.prod([d for d in shape[1:] if d is not None])))
    per_image = sum(sizes) if kind == "gradient" else 3 * max(sizes)
    mb = per_image * 4 / 2**20
    size = int(max(1, min(256, budget_mb // max(mb, 1e-3))))
    cache[key] = size
    return size


# ---- a view of the model that ends in the class scores (Grad-CAM++, Score-CAM, class models) ----

_linear: "weakref.WeakKeyDictionary[keras.Model, keras.Model]" = model_registry()


def linear_model(model: keras.Model) -> keras.Model:
    """A model with the same input and layers as ``model`` whose output is the
    pre-softmax score (what tf-keras-vis' ``ReplaceToLinear`` makes, without
    cloning or modifying anything).

    The layers and weights are shared, so it costs no memory; built once per
    model and cached while the model lives.

    Args:
        model: A functional model.
    """
    per_model = _linear.setdefault(model, {}) if _weakable(model) else {}
    if None in per_model:
        return per_model[None]
    head = score_head(model)
    out = head.feed if head.fn is None else Apply(head.fn, name=f"{model.name}_scores")(head.feed)
    linear = keras.Model(model.inputs, out, name=f"{model.name}_linear")
    per_model[None] = linear
    return linear


def _weakable(model) -> bool:
    try:
        weakref.ref(model)
        return True
    except TypeError:
        return False
