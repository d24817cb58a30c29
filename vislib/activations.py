"""Feature maps and feature vectors: what each layer computes for an image.

``activations`` returns the maps of any layers from one sub-model (built once
per model and set of layers, through :func:`vislib._graph.forward`);
``features`` returns the "FC7" vector per image that lesson 02 embeds.

Zeiler & Fergus. *Visualizing and Understanding Convolutional Networks.*
ECCV 2014; Yosinski et al. *Understanding Neural Networks Through Deep
Visualization.* ICML Deep Learning Workshop 2015.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from . import _checks, _graph
from .plotting import normalize_map, plot_tiles
from ._progress import progress
from .profiles import as_course


def _layer_tuple(model, layers) -> tuple[str, ...]:
    """Layer names in the model's own order, without duplicates (one cache key
    per set of layers, whatever order the caller lists them in)."""
    if isinstance(layers, str):
        layers = [layers]
    layers = list(layers)
    if not layers:
        raise ValueError("layers is empty; pass a layer name or a list of names")
    names = _graph.layer_names(model)
    for name in layers:
        _graph.check_layer(model, name, names)
    wanted = set(layers)
    return tuple(n for n in names if n in wanted)


def _batch(course, batch_size: int | None) -> int:
    return _graph.batch_size(course.model, batch_size, kind="forward")


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
    course = as_course(model)
    x = course.check(images)
    asked = [layers] if isinstance(layers, str) else list(layers)
    key = _layer_tuple(course.model, asked)
    run = _graph.compiled_forward(course.model, key)
    bs = _batch(course, batch_size)
    parts: list[list[np.ndarray]] = [[] for _ in key]
    for start in range(0, len(x), bs):
        outs, _ = run(course.preprocess(x[start:start + bs]))
        for j, out in enumerate(outs):
            parts[j].append(np.asarray(out, dtype=np.float32))
    by_name = {name: np.concatenate(p) for name, p in zip(key, parts)}
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
        layer: Layer name (default: the profile's feature layer, e.g. VGG16 ``fc2``).
        batch_size: Images per pass (default from the model's activation memory);
            the result does not depend on it.
        show_progress: Show a progress bar (default: when there are 4 or more batches).

    Returns:
        float32 (N, D).

    Raises:
        ValueError: Unknown layer, bad images or batch size.
    """
    course = as_course(model)
    x = course.check(images)
    name = layer if layer is not None else course.feature_layer
    _graph.check_layer(course.model, name, _graph.layer_names(course.model))
    run = _graph.compiled_forward(course.model, (name,))
    bs = _batch(course, batch_size)
    starts = range(0, len(x), bs)
    show = len(starts) >= 4 if show_progress is None else bool(show_progress)
    out = []
    for start in progress(starts, total=len(starts), desc=f"features of {name}", show=show):
        (h,), _ = run(course.preprocess(x[start:start + bs]))
        h = tf.convert_to_tensor(h)
        if len(h.shape) == 4:
            h = tf.reduce_mean(h, axis=(1, 2))
        elif len(h.shape) != 2:
            h = tf.reshape(h, (tf.shape(h)[0], -1))
        out.append(np.asarray(h, dtype=np.float32))
    return np.concatenate(out)


def plot_activations(maps, ncols: int | None = None, max_channels: int | None = 64,
                     channels: Sequence[int] | None = None, size: float = 1.1,
                     cmap: str = "gray", normalize: bool = True, fig=None,
                     suptitle: str | None = None):
    """Every channel of one layer's output for one image, as a grid of maps.

    Args:
        maps: (h, w, k) or (1, h, w, k) activations (from :func:`activations`).
        ncols: Maps per row (default: about sqrt of the count, at most 16).
        max_channels: Draw at most this many channels (None: all).
        channels: Which channels to draw (default: 0, 1, 2, ...).
        size: Inches per map.
        cmap: Matplotlib colormap.
        normalize: Scale each map to its own [min, max]; False shares one
            scale across the maps, so weak channels look dark.
        fig: A Figure to draw into.
        suptitle: A title over the grid.

    Returns:
        The Figure.

    Raises:
        ValueError: Wrong shape or channel indices.
    """
    m = np.asarray(maps, dtype=np.float32)
    if m.ndim == 4 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 3:
        raise ValueError(f"maps must be (h, w, k) for one image; got shape {m.shape}")
    k = m.shape[-1]
    if channels is not None and (isinstance(channels, str) or np.ndim(channels) != 1 or len(channels) == 0):
        raise ValueError(f"channels must be a non-empty list of channel indices 0..{k - 1}; got {channels!r}")
    chans = list(range(k)) if channels is None else [_checks.count(c, "channels", low=0, high=k - 1)
                                                      for c in channels]
    if max_channels is not None:
        chans = chans[:_checks.count(max_channels, "max_channels", high=100_000)]
    if ncols is not None:
        ncols = _checks.count(ncols, "ncols", high=10_000)
    sel = np.moveaxis(m[..., chans], -1, 0)                 # (n, h, w)
    if normalize:
        sel, vmin, vmax = normalize_map(sel), 0.0, 1.0
    else:
        vmin, vmax = float(sel.min()), float(sel.max())
    many = len(chans) > 16                                  # numbered on the edges instead of per map
    return plot_tiles(sel, ncols=ncols, labels=None if many else [str(c) for c in chans],
                      index_ticks=chans if many else None, cmap=cmap, vmin=vmin, vmax=vmax,
                      size=size, fig=fig, suptitle=suptitle)
