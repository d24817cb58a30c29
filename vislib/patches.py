"""Max-activating patches: the image regions that excite one channel most.

Scan a set of images, keep the k strongest activations of one channel of a
layer, and crop each to the unit's exact receptive field
(:func:`vislib.receptive_field.receptive_field`), so what is shown is exactly
what the unit saw (Zeiler & Fergus 2014, Fig. 2; Girshick et al. 2014).
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from . import _checks, _graph
from .activations import activations as _activations
from .profiles import as_course
from .receptive_field import ReceptiveField, box, receptive_field


@dataclass(frozen=True)
class Patch:
    """One strong activation and the input region behind it.

    Attributes:
        value: The activation of the unit.
        image_index: Index of the image in the scanned set.
        position: (i, j) of the unit in the layer's output map.
        box: (y0, y1, x0, x1) of the full receptive field in input
            coordinates (may reach outside the image).
        crop: Display pixels of the field, shape (size_h, size_w, C), float32;
            where the field leaves the image the crop holds ``pad_value``.
        inside: Boolean (size_h, size_w) mask, True where the crop is in the image.
    """

    value: float
    image_index: int
    position: tuple[int, int]
    box: tuple[int, int, int, int]
    crop: np.ndarray
    inside: np.ndarray


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


def _top(maps: np.ndarray, k: int, one_per_image: bool) -> list[tuple[float, int, int, int]]:
    """(value, image, i, j) of the k largest entries of (N, h, w), descending."""
    n, h, w = maps.shape
    flat = maps.reshape(n, -1)
    if one_per_image:
        best = np.argmax(flat, axis=1)
        vals = flat[np.arange(n), best]
        order = np.argsort(-vals, kind="stable")[:k]
        return [(float(vals[m]), int(m), *divmod(int(best[m]), w)) for m in order]
    allv = flat.ravel()
    k = min(k, allv.size)
    idx = np.argpartition(-allv, k - 1)[:k]
    idx = idx[np.argsort(-allv[idx], kind="stable")]
    out = []
    for f in idx:
        m, rest = divmod(int(f), h * w)
        out.append((float(allv[f]), m, *divmod(rest, w)))
    return out


def max_activating_patches(model, layer: str, channel: int, images, k: int = 9,
                           batch_size: int | None = None, one_per_image: bool = True,
                           pad_value: float = 0.0, maps: np.ndarray | None = None) -> list[Patch]:
    """The k image regions that activate one channel of a layer most.

    Every image is run through the network (in batches); among all positions
    (i, j) of the channel's map the k largest activations are kept, and each
    is cropped to the unit's exact receptive field.

    Zeiler & Fergus. *Visualizing and Understanding Convolutional Networks.*
    ECCV 2014 (Fig. 2, the top-9 patches per feature map).

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        layer: A spatial layer (conv, pooling, ...; see ``course.conv_layers``).
        channel: Channel index in the layer's output.
        images: Display images (N, H, W, C), the set to search.
        k: Number of patches.
        batch_size: Images per forward pass (default from the model size).
        one_per_image: At most one patch per image (its strongest position),
            as in Zeiler & Fergus; False allows several from one image.
        pad_value: Display value where a field reaches outside the image.
        maps: This layer's activations for ``images`` (N, h, w, channels),
            e.g. from :func:`vislib.activations`, to reuse across channels
            instead of running the network again.

    Returns:
        ``k`` (or fewer, if there are fewer candidates) :class:`Patch`
        records sorted by ``value``, largest first.

    Raises:
        ValueError: Unknown / non-spatial layer, channel out of range, bad
            images, ``k`` < 1 or ``maps`` of the wrong shape.
    """
    course = as_course(model)
    x = course.check(images)
    rf = receptive_field(course, layer)  # validates the layer
    n_channels = int(course.model.get_layer(layer).output.shape[-1])
    _checks.in_range(channel, 0, n_channels - 1, "channel", integer=True)
    _checks.in_range(k, 1, 100_000, "k", integer=True)
    if maps is None:
        bs = batch_size or _graph.batch_size_for(course.model)
        parts = []
        for start in range(0, len(x), bs):  # keep one channel only: memory stays small
            a = _activations(course, x[start:start + bs], layer, batch_size=bs)[layer]
            parts.append(a[..., int(channel)])
        chan = np.concatenate(parts)
    else:
        maps = np.asarray(maps, dtype=np.float32)
        want = (len(x), *rf.map_size, n_channels)
        if maps.shape != want:
            raise ValueError(f"maps must be the activations of {layer!r} for these images, "
                             f"shape {want}; got {maps.shape}")
        chan = maps[..., int(channel)]
    out = []
    for value, m, i, j in _top(chan, int(k), one_per_image):
        crop, inside = crop_field(x[m], rf, i, j, pad_value)
        out.append(Patch(value=value, image_index=m, position=(i, j),
                         box=box(rf, i, j, clip=False), crop=crop, inside=inside))
    return out


def plot_patches(patches: list[Patch], ncols: int | None = None, size: float = 1.2,
                 title: str | None = None, fig=None, cmap: str = "gray"):
    """Draw patches in a grid with their activation values as titles.

    Areas outside the image (padding) are hatched in grey.

    Args:
        patches: From :func:`max_activating_patches`.
        ncols: Patches per row (default: about the square root of the count).
        size: Inches per patch.
        title: Title over the grid.
        fig: A Figure to draw into (default: a new one).
        cmap: Colormap for one-channel patches.

    Returns:
        The Figure.

    Raises:
        ValueError: No patches.
    """
    if not patches:
        raise ValueError("patches is empty; nothing to draw")
    n = len(patches)
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    if fig is None:
        fig = plt.figure(figsize=(size * ncols, size * nrows + (0.45 if title else 0.1)))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, p in zip(axes.ravel(), patches):
        img = np.clip(p.crop, 0, 255) / 255.0
        if img.shape[-1] == 1:
            ax.imshow(img[..., 0], cmap=cmap, vmin=0, vmax=1)
        else:
            ax.imshow(img)
        if not p.inside.all():
            ax.imshow(np.where(p.inside, np.nan, 0.5), cmap="gray", vmin=0, vmax=1, alpha=0.6)
        ax.set_title(f"{p.value:.2f} (#{p.image_index})", fontsize=7)
    for ax in axes.ravel():
        ax.set_xticks([]), ax.set_yticks([])
        if not ax.images:
            ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
