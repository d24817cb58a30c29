"""Feature maps and feature vectors: what each layer computes for an image.

``activations`` returns the maps of any layers from one sub-model (built once
per model and set of layers, through :func:`vislib._core.graph.forward`);
``features`` returns the "FC7" vector per image that lesson 02 embeds.

Zeiler & Fergus. *Visualizing and Understanding Convolutional Networks.*
ECCV 2014; Yosinski et al. *Understanding Neural Networks Through Deep
Visualization.* ICML Deep Learning Workshop 2015.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from .._core import graph
from .._core.course_model import as_course
from .._core.progress import progress


def _layer_tuple(model, layers) -> tuple[str, ...]:
    """Layer names in the model's own order, without duplicates (one cache key
    per set of layers, whatever order the caller lists them in)."""
    if isinstance(layers, str):
        layers = [layers]
    layers = list(layers)
    if not layers:
        raise ValueError("layers is empty; pass a layer name or a list of names")
    names = graph.layer_names(model)
    for name in layers:
        graph.check_layer(model, name, names)
    wanted = set(layers)
    return tuple(n for n in names if n in wanted)


def _batch(cm, batch_size: int | None) -> int:
    return graph.batch_size(cm.model, batch_size, kind="forward")


def activations(model, images, layers: str | Sequence[str],
                batch_size: int | None = None) -> dict[str, np.ndarray]:
    """The outputs of one or more layers for a batch of images.

    All layers come from one sub-model (``model.inputs -> [layer outputs]``)
    built once per (model, set of layers) and cached, run in batches.

    Zeiler & Fergus 2014; Yosinski et al. 2015.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        images: One image (H, W, C) or a batch (N, H, W, C) of display pixels.
        layers: A layer name or a list of names.
        batch_size: Images per pass (default from the model's activation memory).

    Returns:
        ``{layer name: float32 array}``, (N, h, w, k) for conv / pooling layers
        and (N, units) for dense layers, in the order the layers were given.

    Raises:
        ValueError: Unknown layer (the message lists valid ones), bad images.
    """
    cm = as_course(model)
    x = cm.check(images)
    asked = [layers] if isinstance(layers, str) else list(layers)
    key = _layer_tuple(cm.model, asked)
    run = graph.compiled_forward(cm.model, key)
    bs = _batch(cm, batch_size)
    outs = graph.batched(lambda b: tuple(run(cm.preprocess(b))[0]), x, bs)
    by_name = dict(zip(key, outs))
    return {name: by_name[name] for name in dict.fromkeys(asked)}


def features(model, images, layer: str | None = None, batch_size: int | None = None,
             show_progress: bool | None = None) -> np.ndarray:
    """One feature vector per image: the "FC7" codes of Krizhevsky et al. 2012.

    Spatial outputs (N, h, w, k) are global-average-pooled to (N, k), so any
    layer gives one vector per image.

    Krizhevsky, Sutskever & Hinton, NeurIPS 2012 (Section 6.1: images whose
    4096-d last hidden vectors are close look alike to the network).

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        images: One image (H, W, C) or a batch (N, H, W, C) of display pixels.
        layer: Layer name (default: the CourseModel's feature layer, e.g. VGG16 ``fc2``).
        batch_size: Images per pass (default from the model's activation memory);
            the result does not depend on it.
        show_progress: Show a progress bar (default: when there are 4 or more batches).

    Returns:
        float32 (N, D).

    Raises:
        ValueError: Unknown layer, bad images or batch size.
    """
    cm = as_course(model)
    x = cm.check(images)
    name = layer if layer is not None else cm.feature_layer
    graph.check_layer(cm.model, name, graph.layer_names(cm.model))
    run = graph.compiled_forward(cm.model, (name,))
    bs = _batch(cm, batch_size)
    parts = graph.batches(len(x), bs)
    show = len(parts) >= 4 if show_progress is None else bool(show_progress)
    out = []
    for s in progress(parts, total=len(parts), desc=f"features of {name}", show=show):
        (h,), _ = run(cm.preprocess(x[s]))
        h = tf.convert_to_tensor(h)
        if len(h.shape) == 4:
            h = tf.reduce_mean(h, axis=(1, 2))
        elif len(h.shape) != 2:
            h = tf.reshape(h, (tf.shape(h)[0], -1))
        out.append(np.asarray(h, dtype=np.float32))
    return np.concatenate(out)


