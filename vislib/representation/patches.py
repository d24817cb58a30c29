"""Max-activating patches: the image regions that excite one channel most.

Scan a set of images, keep the k strongest activations of one channel of a
layer, and crop each to the unit's exact receptive field
(:func:`vislib.representation.receptive_field.receptive_field`), so what is shown is exactly
what the unit saw (Zeiler & Fergus 2014, Fig. 2; Girshick et al. 2014).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._core import checks, graph
from .._core.course_model import as_course
from .activations import activations as _activations
from .receptive_field import ReceptiveField, box, receptive_field


@dataclass(frozen=True, eq=False)
class Patch:
    """One strong activation and the input region behind it.

    Attributes:
        value: The activation of the unit.
        image_index: Index of the image in the scanned set.
        position: (i, j) of the unit in the layer's output map.
        box: (y0, y1, x0, x1) of the full receptive field in input
            coordinates (may reach outside the image).
        channel: The channel.
        crop: Display pixels of the field, shape (size_h, size_w, C), float32;
            where the field leaves the image the crop holds ``pad_value``
            (cut on demand, so thousands of patches cost no memory).
        inside: Boolean (size_h, size_w) mask, True where the crop is in the image.
    """

    value: float
    image_index: int
    position: tuple[int, int]
    box: tuple[int, int, int, int]
    channel: int = 0
    rf: ReceptiveField | None = field(default=None, repr=False)
    image: np.ndarray | None = field(default=None, repr=False)
    pad_value: float = field(default=0.0, repr=False)

    @property
    def crop(self) -> np.ndarray:
        return crop_field(self.image, self.rf, *self.position, self.pad_value)[0]

    @property
    def inside(self) -> np.ndarray:
        return crop_field(self.image, self.rf, *self.position, self.pad_value)[1]


def crop_field(image: np.ndarray, rf: ReceptiveField, i: int, j: int,
               pad_value: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The receptive field of unit (i, j) cut out of one image (H, W, C).

    Returns:
        ``(crop, inside)``: (size_h, size_w, C) float32, padded with
        ``pad_value`` where the field leaves the image, and the mask of
        real pixels.
    """
    image = np.asarray(image, dtype=np.float32)
    H, W = image.shape[:2]
    y0, y1, x0, x1 = box(rf, i, j, clip=False)
    cy0, cy1, cx0, cx1 = box(rf, i, j, (H, W))
    crop = np.full((y1 - y0, x1 - x0, image.shape[-1]), pad_value, np.float32)
    inside = np.zeros(crop.shape[:2], bool)
    crop[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0] = image[cy0:cy1, cx0:cx1]
    inside[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0] = True
    return crop, inside


class _TopK:
    """Running top-k (value, image, i, j) per channel over batches of maps."""

    def __init__(self, n_channels: int, k: int, one_per_image: bool):
        self.k, self.one = k, one_per_image
        self.values = np.full((n_channels, 0), -np.inf, np.float32)
        self.meta = np.zeros((n_channels, 0, 3), np.int64)

    def update(self, maps: np.ndarray, offset: int) -> None:
        b, h, w, c = maps.shape
        flat = maps.reshape(b, h * w, c)
        if self.one:  # each image's best position per channel
            arg = np.argmax(flat, axis=1)                                   # (B, C)
            vals = np.take_along_axis(flat, arg[:, None, :], axis=1)[:, 0]  # (B, C)
            img = np.broadcast_to(np.arange(b)[:, None], (b, c))
            cand_v = vals.T
            cand_m = np.stack([img.T + offset, arg.T // w, arg.T % w], -1)
        else:
            cand_v = flat.reshape(b * h * w, c).T                           # (C, B*h*w)
            img, rest = np.divmod(np.arange(b * h * w), h * w)
            m = np.stack([img + offset, rest // w, rest % w], -1)
            cand_m = np.broadcast_to(m, (c, *m.shape))
        v = np.concatenate([self.values, cand_v], 1)
        m = np.concatenate([self.meta, cand_m], 1)
        if v.shape[1] > self.k:
            keep = np.argpartition(-v, self.k - 1, axis=1)[:, :self.k]
            v = np.take_along_axis(v, keep, 1)
            m = np.take_along_axis(m, keep[..., None], 1)
        self.values, self.meta = v, m

    def result(self, row: int) -> list[tuple[float, int, int, int]]:
        v, m = self.values[row], self.meta[row]
        order = np.lexsort((m[:, 2], m[:, 1], m[:, 0], -v))  # largest first, ties by position
        return [(float(v[o]), int(m[o, 0]), int(m[o, 1]), int(m[o, 2])) for o in order]


def max_activating_patches(model, layer: str, channel, images, k: int = 9,
                           batch_size: int | None = None, one_per_image: bool = True,
                           pad_value: float = 0.0, maps: np.ndarray | None = None):
    """The k image regions that activate one channel of a layer most.

    Every image is run through the network in batches; among all positions
    (i, j) of the channel's map the k largest activations are kept (a running
    top-k, so memory does not grow with the number of images), and each is
    cropped to the unit's exact receptive field.

    Zeiler & Fergus. *Visualizing and Understanding Convolutional Networks.*
    ECCV 2014 (Fig. 2, the top-9 patches per feature map).

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        layer: A spatial layer (conv, pooling, ...; see ``cm.conv_layers``).
        channel: A channel index, a list of them, or ``"all"``: one scan
            serves every channel asked for.
        images: Display images (N, H, W, C), the set to search.
        k: Number of patches per channel.
        batch_size: Images per forward pass (default from the model size).
        one_per_image: At most one patch per image (its strongest position),
            as in Zeiler & Fergus; False allows several from one image.
        pad_value: Display value where a field reaches outside the image.
        maps: This layer's activations for ``images`` (N, h, w, channels),
            e.g. from :func:`vislib.activations`, to use instead of running
            the network again.

    Returns:
        For one channel, up to ``k`` :class:`Patch` records sorted by
        ``value``, largest first; for a list or ``"all"``, a dict
        ``{channel: list of Patch}``.

    Raises:
        ValueError: Unknown / non-spatial layer, channel out of range, bad
            images, ``k`` < 1 or ``maps`` of the wrong shape.
    """
    cm = as_course(model)
    x = cm.check(images)
    rf = receptive_field(cm, layer)  # validates the layer
    n_channels = int(cm.model.get_layer(layer).output.shape[-1])
    single = not (isinstance(channel, str) or np.ndim(channel) == 1)
    if isinstance(channel, str):
        checks.choice(channel, ["all"], "channel")
        chans = list(range(n_channels))
    else:
        chans = [channel] if single else list(channel)
        if not chans:
            raise ValueError("channel is an empty list; pass a channel index, a list or 'all'")
        chans = [checks.count(c, "channel", low=0, high=n_channels - 1) for c in chans]
    k = checks.count(k, "k", high=100_000)
    checks.in_range(pad_value, -1e6, 1e6, "pad_value")
    top = _TopK(len(chans), k, one_per_image)
    if maps is not None:
        maps = np.asarray(maps, dtype=np.float32)
        want = (len(x), *rf.map_size, n_channels)
        if maps.shape != want:
            raise ValueError(f"maps must be the activations of {layer!r} for these images, "
                             f"shape {want}; got {maps.shape}")
    every = chans == list(range(n_channels))   # "all": no fancy-indexed copy of the maps
    bs = graph.batch_size(cm.model, batch_size, kind="forward")
    # given maps are scanned in the same batches as the network's outputs: the same result either
    # way, and a batch's temporaries instead of a copy of every map (lesson 04 on 2000 clothes:
    # 0.37 GB over its cached activations)
    for s in graph.batches(len(x), bs):
        a = maps[s] if maps is not None else _activations(cm, x[s], layer, batch_size=bs)[layer]
        top.update(a if every else a[..., chans], s.start)
    out = {}
    for row, c in enumerate(chans):
        out[c] = [Patch(value=value, image_index=m, position=(i, j), box=box(rf, i, j, clip=False),
                        channel=c, rf=rf, image=x[m], pad_value=pad_value)
                  for value, m, i, j in top.result(row)]
    return out[chans[0]] if single else out


