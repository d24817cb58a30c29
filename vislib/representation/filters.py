"""Convolution kernels as pictures: the first layer's filters (edge and colour
detectors once trained), deeper kernels one input channel at a time, and
snapshots of the first layer while a network trains.

Krizhevsky, Sutskever & Hinton. *ImageNet Classification with Deep
Convolutional Neural Networks.* NeurIPS 2012 (Figure 3: the 96 first-layer
kernels); Zeiler & Fergus. *Visualizing and Understanding Convolutional
Networks.* ECCV 2014.
"""

from __future__ import annotations

import keras
import numpy as np

from .._core import checks, graph
from .._core.course_model import CourseModel, as_course
from .._core.images import tile


def _is_bgr(cm: CourseModel) -> bool:
    """Whether the model feeds BGR to the network (Caffe-style VGG16 / ResNet50)."""
    return cm.preprocess_mode == "caffe"


def _kernel(layer) -> tuple[np.ndarray, str]:
    """(kernel (kh, kw, cin, cout), kind) of a convolution layer."""
    if isinstance(layer, keras.layers.SeparableConv2D):
        k = np.asarray(layer.depthwise_kernel.numpy())
        kind = "depthwise"
    elif isinstance(layer, keras.layers.DepthwiseConv2D):
        k = np.asarray(layer.kernel.numpy())
        kind = "depthwise"
    else:
        k = np.asarray(layer.kernel.numpy())
        kind = "conv"
    if kind == "depthwise":  # (kh, kw, cin, mult): every filter sees one input channel
        kh, kw, cin, mult = k.shape
        k = k.reshape(kh, kw, 1, cin * mult)
    return k.astype(np.float32), kind


#: a filter whose weights span less than this fraction of the layer's widest filter is drawn
#: flat grey: it is dead (all weights ~0), and stretching its rounding noise to full contrast
#: would draw a pattern that is not there. EfficientNet-Lite0's stem has 4 such filters of 32,
#: with weights below 1e-7 where the others reach about 1.
DEAD_SPAN = 1e-5


def _normalize_filters(k: np.ndarray) -> np.ndarray:
    """Scale each filter of (n, kh, kw, c) to [0, 1]; constant and dead filters
    (span below :data:`DEAD_SPAN` of the widest filter's) become flat 0.5."""
    lo = k.min(axis=(1, 2, 3), keepdims=True)
    span = k.max(axis=(1, 2, 3), keepdims=True) - lo
    live = (span > 0) & (span > DEAD_SPAN * span.max(initial=0.0))
    safe = np.where(live, span, 1.0)
    return np.where(live, (k - lo) / safe, 0.5).astype(np.float32)


def filters(model, layer: str | None = None, channel: int | None = None,
            normalize: bool = True) -> np.ndarray:
    """The kernels of a convolution layer, ready to display.

    A Conv2D kernel has shape (kh, kw, C_in, n_filters). When the layer sees
    an image (C_in = 1 or 3) each filter is a small image; deeper layers see
    dozens of channels, so one input ``channel`` at a time is returned.
    Depthwise layers (MobileNetV2) have one input channel per filter already.
    Kernels of Caffe-style profiles (VGG16, ResNet50) are flipped from BGR to
    RGB so that colours display right.

    Krizhevsky et al. 2012, Figure 3; Zeiler & Fergus 2014.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        layer: Name of a convolution layer (default: the CourseModel's first conv).
        channel: Input channel to show. ``None`` shows all channels of a
            first layer (C_in = 1 or 3) and channel 0 of deeper layers.
        normalize: Scale each filter to [0, 1] on its own (min to 0, max to 1;
            a dead filter, whose weights span less than :data:`DEAD_SPAN` of the
            layer's widest filter, is flat 0.5); False returns the raw weights.

    Returns:
        float32 (n_filters, kh, kw, C) with C = C_in for first layers (all
        channels) and C = 1 otherwise.

    Raises:
        ValueError: Unknown layer (the message lists the conv layers) or a
            channel outside 0..C_in-1.
    """
    cm = as_course(model)
    convs = graph.conv_layer_names(cm.model)
    name = layer if layer is not None else (cm.first_conv or (convs[0] if convs else None))
    graph.check_layer(cm.model, name, convs, what="conv layer")
    k, kind = _kernel(cm.model.get_layer(name))
    cin = k.shape[2]
    if channel is None:
        if cin not in (1, 3):
            channel = 0
    else:
        channel = checks.count(channel, "channel", low=0, high=cin - 1)
    if channel is not None:
        k = k[:, :, int(channel):int(channel) + 1, :]
    elif cin == 3 and _is_bgr(cm):
        k = k[:, :, ::-1, :]
    k = np.transpose(k, (3, 0, 1, 2))  # (n, kh, kw, c)
    return _normalize_filters(k) if normalize else np.ascontiguousarray(k, dtype=np.float32)


def filter_grid(kernels, ncols: int | None = None, scale: int = 8, pad: int = 1) -> np.ndarray:
    """Tile kernels into one uint8 image (nearest-neighbour upscaled), e.g. a GIF frame.

    Args:
        kernels: (n, kh, kw, 1 or 3) in [0, 1], as returned by :func:`filters`.
        ncols: Filters per row (default: about sqrt(n)).
        scale: Screen pixels per kernel weight.
        pad: Gap between filters in kernel weights (drawn white).

    Returns:
        uint8 (H, W, 3).
    """
    k = np.clip(checks.kernels(kernels), 0, 1)
    n, kh, kw, c = k.shape
    ncols = checks.count(ncols, "ncols", high=10_000) if ncols is not None else int(np.ceil(np.sqrt(n)))
    scale = checks.count(scale, "scale", high=100)
    pad = checks.count(pad, "pad", low=0, high=100)
    big = np.kron(k if c == 3 else np.repeat(k, 3, axis=-1), np.ones((1, scale, scale, 1), np.float32))
    mosaic = tile(big, ncols=ncols, pad=pad * scale)
    return np.round(np.nan_to_num(mosaic, nan=1.0) * 255).astype(np.uint8)


class FilterSnapshots(keras.callbacks.Callback):
    """A Keras callback that records a layer's kernels while the model trains.

    A snapshot is taken before training ("init"), then every ``every``
    batches (or at the end of every epoch when ``every`` is None).

    Attributes:
        frames: Kernels normalised per filter, (n, kh, kw, C) per snapshot.
        raw: The raw kernels per snapshot (same shapes).
        labels: One label per snapshot ("init", "epoch 1", "epoch 1, batch 20", ...).
    """

    def __init__(self, layer: str, every: int | None = None, channel: int | None = None) -> None:
        super().__init__()
        if every is not None:
            every = checks.count(every, "every")
        self.layer = layer
        self.every = every
        self.channel = channel
        self.frames: list[np.ndarray] = []
        self.raw: list[np.ndarray] = []
        self.labels: list[str] = []
        self._epoch = 0

    def _snap(self, label: str) -> None:
        raw = filters(self.model, self.layer, self.channel, normalize=False)
        self.raw.append(raw)
        self.frames.append(_normalize_filters(raw))
        self.labels.append(label)

    def on_train_begin(self, logs=None):
        graph.check_layer(self.model, self.layer, graph.conv_layer_names(self.model), what="conv layer")
        if not self.frames:
            self._snap("init")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.every and (batch + 1) % self.every == 0:
            self._snap(f"epoch {self._epoch + 1}, batch {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        if not self.every:
            self._snap(f"epoch {epoch + 1}")


