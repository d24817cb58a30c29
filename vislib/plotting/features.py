"""Figures of what a network has learned: filters, activation maps, maximally
activating patches, embeddings and activation-maximization runs."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from .._core import checks
from .._core.maps import normalize_map
from ..representation.actmax import Visualization
from ..representation.filters import filter_grid
from ..representation.patches import Patch
from .images import _display, plot_tiles


def _as_rgb01(img) -> np.ndarray:
    is_bytes = np.asarray(img).dtype == np.uint8
    img = np.asarray(img, np.float32)
    img = img / 255.0 if is_bytes or img.max() > 1.0 else img
    return img[..., 0] if img.shape[-1] == 1 else np.clip(img, 0, 1)

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
    chans = list(range(k)) if channels is None else [checks.count(c, "channels", low=0, high=k - 1)
                                                      for c in channels]
    if max_channels is not None:
        chans = chans[:checks.count(max_channels, "max_channels", high=100_000)]
    if ncols is not None:
        ncols = checks.count(ncols, "ncols", high=10_000)
    sel = np.moveaxis(m[..., chans], -1, 0)                 # (n, h, w)
    if normalize:
        sel, vmin, vmax = normalize_map(sel), 0.0, 1.0
    else:
        vmin, vmax = float(sel.min()), float(sel.max())
    many = len(chans) > 16                                  # numbered on the edges instead of per map
    return plot_tiles(sel, ncols=ncols, labels=None if many else [str(c) for c in chans],
                      index_ticks=chans if many else None, cmap=cmap, vmin=vmin, vmax=vmax,
                      size=size, fig=fig, suptitle=suptitle)


def plot_run(vis: Visualization, title: str = "", axes=None, cmap: str = "gray"):
    """The final image of an optimisation next to its score per step.

    Args:
        vis: What :func:`class_model` or :func:`activation_maximization` returned.
        title: Title over the image.
        axes: Two Axes to draw in (image, curve); default a new 1x2 figure.
        cmap: Colour map for single-channel images.

    Returns:
        The two Axes.
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(6.5, 2.8))
    image_ax, curve_ax = axes
    image_ax.imshow(_as_rgb01(vis.image), cmap=cmap, vmin=0, vmax=1)
    image_ax.set_title(title, fontsize=9)
    image_ax.axis("off")
    curve_ax.plot(np.arange(1, len(vis.scores) + 1), vis.scores)
    curve_ax.set_xlabel("step")
    curve_ax.set_ylabel("score")
    return axes


def plot_frames(vis: Visualization, max_frames: int = 8, size: float = 1.4, cmap: str = "gray", fig=None):
    """Frames of an optimisation side by side, with their step and score.

    Returns:
        The Figure.
    """
    max_frames = checks.count(max_frames, "max_frames", high=1000)
    idx = np.unique(np.linspace(0, len(vis.frames) - 1, min(max_frames, len(vis.frames))).round().astype(int))
    if fig is None:
        fig = plt.figure(figsize=(size * len(idx), size + 0.4))
    axes = fig.subplots(1, len(idx), squeeze=False)[0]
    for ax, k in zip(axes, idx):
        ax.imshow(_as_rgb01(vis.frames[k]), cmap=cmap, vmin=0, vmax=1)
        s = int(vis.frame_steps[k])
        label = f"step {s}" + (f"\n{vis.scores[s - 1]:.1f}" if s > 0 else "")
        ax.set_title(label, fontsize=7)
        ax.axis("off")
    return fig


def plot_embedding(points, labels=None, class_names: Sequence[str] | None = None, thumbnails=None,
                   ax=None, zoom: float = 0.6, max_thumbnails: int = 150, seed: int = 0,
                   point_size: float = 12.0, legend: bool = True):
    """Scatter 2-D points coloured by class, optionally with image thumbnails.

    Args:
        points: (N, 2) from :func:`embed`.
        labels: (N,) integer classes (None: one colour).
        class_names: Names of the classes for the legend.
        thumbnails: (N, H, W, C) display images drawn at their points
            (a random subset of ``max_thumbnails``), framed in their class colour.
        ax: Axes to draw on (default: a new figure).
        zoom: Thumbnail scale (1 = one image pixel per screen pixel).
        max_thumbnails: At most this many thumbnails.
        seed: Which random subset gets thumbnails.
        point_size: Marker size.
        legend: Draw a legend of the classes.

    Returns:
        The Axes.

    Raises:
        ValueError: Bad shapes.
    """
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage
    p = checks.feature_matrix(points, "points", min_rows=1)
    if p.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2); got {p.shape}")
    n = len(p)
    y = np.zeros(n, np.int64) if labels is None else checks.labels(labels, n)
    ax = ax or plt.subplots(figsize=(7, 6))[1]
    classes = np.unique(y)
    cmap = mpl.colormaps["tab10" if len(classes) <= 10 else "tab20"]
    color_of = {c: cmap(i % cmap.N) for i, c in enumerate(classes)}
    for c in classes:
        sel = y == c
        name = (class_names[int(c)] if class_names is not None and 0 <= int(c) < len(class_names)
                else str(c))
        ax.scatter(p[sel, 0], p[sel, 1], s=point_size, color=color_of[c], label=name, alpha=0.8)
    if thumbnails is not None:
        thumbs = np.asarray(thumbnails)
        if len(thumbs) != n:
            raise ValueError(f"thumbnails must hold {n} images, one per point; got {len(thumbs)}")
        rng = np.random.default_rng(seed)
        pick = rng.choice(n, min(n, checks.count(max_thumbnails, "max_thumbnails", low=0)), replace=False)
        for i in pick:
            img = _display(thumbs[i])
            box = OffsetImage(img, zoom=zoom, cmap="gray" if img.ndim == 2 else None)
            ab = AnnotationBbox(box, (p[i, 0], p[i, 1]), frameon=True, pad=0.1,
                                bboxprops={"edgecolor": color_of[y[i]], "lw": 1.5})
            ax.add_artist(ab)
    if legend and (labels is not None):
        ax.legend(fontsize=8, markerscale=1.5, loc="best", framealpha=0.8)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def plot_filters(kernels, ncols: int | None = None, titles: Sequence[str] | None = None,
                 size: float = 0.9, fig=None, suptitle: str | None = None):
    """Draw kernels (from :func:`filters`) as a grid of small images.

    Args:
        kernels: (n, kh, kw, 1 or 3) in [0, 1]; one channel is drawn in gray.
        ncols: Filters per row (default: about sqrt(n), at most 16).
        titles: One short title per filter (e.g. its index).
        size: Inches per filter.
        fig: A Figure to draw into (default: a new one).
        suptitle: A title over the grid.

    Returns:
        The Figure.

    Raises:
        ValueError: Wrong kernel shape.
    """
    k = np.clip(checks.kernels(kernels), 0, 1)
    if ncols is not None:
        ncols = checks.count(ncols, "ncols", high=10_000)
    return plot_tiles(k, ncols=ncols, labels=titles, vmin=0.0, vmax=1.0, size=size, fig=fig, suptitle=suptitle)


def save_gif(frames, path, duration: float = 0.4, ncols: int | None = None, scale: int = 8) -> Path:
    """Save frames as an animated GIF (Pillow).

    Args:
        frames: A list of kernel arrays (n, kh, kw, 1 or 3) in [0, 1] (e.g.
            ``FilterSnapshots.frames``; each is tiled with :func:`filter_grid`)
            or of uint8 images (H, W, 3) / (H, W).
        path: Output file (``.gif``).
        duration: Seconds per frame.
        ncols: Filters per row when frames are kernels.
        scale: Screen pixels per kernel weight when frames are kernels.

    Returns:
        The path written.

    Raises:
        ValueError: No frames, or frames of different shapes.
    """
    from PIL import Image
    frames = list(frames)
    if not frames:
        raise ValueError("save_gif() got no frames")
    checks.in_range(duration, 0.01, 60.0, "duration")
    images = []
    for f in frames:
        f = np.asarray(f)
        if f.ndim == 4:
            f = filter_grid(f, ncols=ncols, scale=scale)
        elif f.dtype != np.uint8:
            f = np.clip(np.round(f.astype(np.float32) * (255.0 if f.max() <= 1.0 else 1.0)), 0, 255)
            f = f.astype(np.uint8)
        if f.ndim == 3 and f.shape[-1] == 1:
            f = f[..., 0]
        images.append(f)
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise ValueError(f"frames have different shapes {sorted(shapes)}")
    path = Path(path)
    pil = [Image.fromarray(im) for im in images]
    pil[0].save(path, save_all=True, append_images=pil[1:], duration=int(duration * 1000), loop=0)
    return path


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
    if ncols is not None:
        ncols = checks.count(ncols, "ncols", high=10_000)
    tiles = []
    for p in patches:
        img = np.clip(np.asarray(p.crop, np.float32), 0, 255) / 255.0
        if not p.inside.all():                       # padding outside the image: greyed out
            inside = p.inside.reshape(p.inside.shape[:2] + (1,) * (img.ndim - 2))
            img = np.where(inside, img, 0.4 * img + 0.3)
        tiles.append(img)
    return plot_tiles(tiles, ncols=ncols or int(np.ceil(np.sqrt(len(tiles)))), cmap=cmap, vmin=0.0, vmax=1.0,
                      labels=[f"{p.value:.2f} (#{p.image_index})" for p in patches], size=size, fig=fig,
                      suptitle=title)
