"""Drawing, kept apart from computing: functions here take arrays and return
arrays (``overlay``) or matplotlib Axes / Figures; none calls ``plt.show()``."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from .._core.images import tile
from .._core.maps import normalize_map, resize_maps


def _display(image) -> np.ndarray:
    """An image as something ``imshow`` draws right: uint8 RGB or 2-D gray."""
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.dtype != np.uint8:
        arr = np.clip(np.round(arr.astype(np.float32) * (255.0 if arr.max() <= 1.0 else 1.0)), 0, 255)
        arr = arr.astype(np.uint8)
    return arr


def clip_outliers(heatmap: np.ndarray, outlier_perc: float = 1.0) -> np.ndarray:
    """Cap a map at its ``100 - outlier_perc`` percentile, for display.

    Gradient maps of trained networks (saliency, guided backprop, guided
    Grad-CAM) put their maximum on a few pixels; scaled to that maximum, the
    rest of the map is drawn near zero and the overlay looks blank. Capping
    the top ``outlier_perc`` percent of values, as captum's
    ``visualize_image_attr(outlier_perc=2)`` does, shows the structure (the
    cat's eyes, the cup's rims). Smooth maps (the CAM family) barely change.

    Args:
        heatmap: (H, W) map.
        outlier_perc: Percent of the highest values capped, in [0, 50).

    Returns:
        float32 (H, W), the capped map.
    """
    if not 0.0 <= float(outlier_perc) < 50.0:
        raise ValueError(f"outlier_perc={outlier_perc!r} is out of range; valid: 0 <= outlier_perc < 50")
    m = np.asarray(heatmap, dtype=np.float32)
    if outlier_perc == 0:
        return m
    return np.minimum(m, np.percentile(m, 100.0 - float(outlier_perc))).astype(np.float32)


def overlay(image, heatmap, alpha: float = 0.5, cmap: str = "jet", outlier_perc: float = 1.0) -> np.ndarray:
    """Blend a heat map over an image.

    Args:
        image: (H, W), (H, W, 1) or (H, W, 3), uint8 or floats in [0, 1] / [0, 255].
        heatmap: (h, w) map; resized to the image when sizes differ, its top
            ``outlier_perc`` percent capped (:func:`clip_outliers`) and
            normalised to [0, 1].
        alpha: Weight of the heat map, in [0, 1].
        cmap: Matplotlib colormap name.
        outlier_perc: Percent of the highest map values drawn at full colour
            (0 draws the raw maximum; gradient maps then look blank).

    An all-zero map comes out in the colormap's lowest colour everywhere;
    label such a panel with :func:`label_zero_map` (``plot_attributions``
    does).

    Returns:
        uint8 RGB (H, W, 3).

    Raises:
        ValueError: Bad shapes, alpha outside [0, 1], unknown colormap.
    """
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha={alpha!r} is out of range; valid: 0 <= alpha <= 1")
    if cmap not in mpl.colormaps:
        raise ValueError(f"unknown colormap {cmap!r}; e.g. 'jet', 'viridis', 'inferno', 'RdBu_r'")
    img = _display(image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, -1)
    if img.ndim != 3 or img.shape[-1] != 3:
        raise ValueError(f"image must be (H, W), (H, W, 1) or (H, W, 3); got shape {np.shape(image)}")
    hm = np.asarray(heatmap, dtype=np.float32)
    if hm.ndim != 2:
        raise ValueError(f"heatmap must be (H, W); got shape {hm.shape}")
    if hm.shape != img.shape[:2]:
        hm = resize_maps(hm[None], img.shape[:2])[0]
    colored = mpl.colormaps[cmap](normalize_map(clip_outliers(hm, outlier_perc)))[..., :3] * 255.0
    out = (1 - alpha) * img.astype(np.float32) + alpha * colored
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


ZERO_MAP_LABEL = "all-zero map"


def label_zero_map(ax, heatmap, text: str = ZERO_MAP_LABEL) -> bool:
    """Write ``text`` across an Axes whose map is zero everywhere.

    An all-zero map (Grad-CAM where ``sum_k a_k A^k <= 0`` at every position,
    an empty counterfactual map) is drawn by :func:`overlay` in the colormap's
    lowest colour, which looks like "nothing matters" rather than "this map is
    empty"; the label says which it is.

    Args:
        ax: The Axes the map is drawn in.
        heatmap: The map drawn there, any shape.
        text: The label.

    Returns:
        Whether the map was all zero (and the label written).
    """
    if np.any(np.asarray(heatmap)):
        return False
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=9, color="white",
            bbox={"facecolor": "black", "alpha": 0.6, "edgecolor": "none", "pad": 2})
    return True


def show_images(images, titles: Sequence[str] | None = None, cols: int | None = None,
                size: float = 2.2, cmap: str = "gray", axes=None):
    """A grid of images; returns the array of Axes."""
    images = list(images) if not isinstance(images, np.ndarray) or images.ndim == 4 or (
        images.ndim == 3 and images.shape[-1] not in (1, 3)) else [images]
    n = len(images)
    cols = cols or min(n, 6)
    rows = int(np.ceil(n / cols))
    if axes is None:
        _, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    axes = np.asarray(axes).reshape(-1)
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i < n:
            ax.imshow(_display(images[i]), cmap=cmap, vmin=0, vmax=255)
            if titles is not None and i < len(titles):
                ax.set_title(titles[i], fontsize=9)
    return axes


def plot_tiles(images, ncols: int | None = None, labels: Sequence[str] | None = None,
               label_colors: Sequence[str] | None = None, cmap: str = "gray",
               vmin: float | None = None, vmax: float | None = None, size: float = 1.0,
               fig=None, suptitle: str | None = None, background: str = "white",
               fontsize: float = 7, index_ticks: Sequence[int] | None = None):
    """Draw a grid of maps or images as one mosaic (one Axes, one ``imshow``).

    Args:
        images: As for :func:`tile`. RGB values are floats in [0, 1] or
            0..255 (uint8 or values above 1).
        ncols: Images per row (default: about sqrt(n), at most 16).
        labels: One short label per image, written above it.
        label_colors: One colour per label (default: black).
        cmap: Colormap of one-channel images.
        vmin, vmax: Colour limits of one-channel images (default: data range).
        size: Inches per image.
        fig: A Figure or SubFigure to draw into (default: a new one).
        suptitle: A title over the grid.
        background: Colour of the gaps.
        fontsize: Label font size.
        index_ticks: Instead of one label per image (a text object costs
            about 1.5 ms to draw), number the grid on its edges: each row by
            the first of these indices in it, each column by its offset.

    Returns:
        The Figure (or SubFigure) drawn into.
    """
    items = list(images) if not isinstance(images, np.ndarray) else images
    n = len(items)
    if n == 0:
        raise ValueError("images is empty; nothing to draw")
    ncols = int(ncols or min(16, int(np.ceil(np.sqrt(n)))))
    h = max(np.shape(im)[0] for im in items)
    top = int(np.ceil(0.25 * h)) if labels is not None else 0
    pad = max(1, h // 14)
    mosaic = tile(items, ncols=ncols, pad=pad, top=top)
    if fig is None:
        aspect = mosaic.shape[0] / mosaic.shape[1]
        fig = plt.figure(figsize=(size * ncols, size * ncols * aspect + (0.4 if suptitle else 0)))
    ax = fig.add_subplot()
    ax.set_axis_off()
    if mosaic.ndim == 3:
        if np.nanmax(mosaic, initial=0) > 1.0:
            mosaic = mosaic / 255.0
        back = np.asarray(mpl.colors.to_rgb(background), np.float32)
        mosaic = np.where(np.isnan(mosaic), back, np.clip(mosaic, 0, 1))
        ax.imshow(mosaic, interpolation="nearest")
    else:
        ax.imshow(mosaic, cmap=mpl.colormaps[cmap].with_extremes(bad=background),
                  vmin=vmin, vmax=vmax, interpolation="nearest")
    w = max(np.shape(im)[1] for im in items)
    if index_ticks is not None and labels is None:
        ax.set_axis_on()
        ax.tick_params(length=0, labelsize=fontsize, pad=1)
        for side in ax.spines.values():
            side.set_visible(False)
        rows = range(int(np.ceil(n / ncols)))
        ax.set_yticks([r * (h + pad) + pad + h / 2 for r in rows], [str(index_ticks[r * ncols]) for r in rows])
        ax.set_xticks([q * (w + pad) + pad + w / 2 for q in range(min(ncols, n))],
                      [f"+{q}" for q in range(min(ncols, n))])
    if labels is not None:
        for i, text in enumerate(list(labels)[:n]):
            r, q = divmod(i, ncols)
            x = q * (w + pad) + pad + w / 2
            y = r * (h + pad + top) + pad + top - 0.5
            color = label_colors[i] if label_colors is not None else "black"
            ax.text(x, y, str(text), ha="center", va="bottom", fontsize=fontsize, color=color, clip_on=False)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


def plot_topk(pairs: Sequence[tuple[str, float]], ax=None, highlight: str | None = None, color: str = "C0"):
    """Horizontal bars of (class name, probability), best on top; returns the Axes."""
    ax = ax or plt.gca()
    names = [p[0] for p in pairs][::-1]
    probs = [p[1] for p in pairs][::-1]
    colors = ["C3" if n == highlight else color for n in names]
    ax.barh(range(len(names)), probs, color=colors)
    # names written on the bars, not as tick labels: a tick label sits outside the Axes and is
    # cut off by the figure edge or the image beside it ("-shirt/top") whatever the layout
    ax.set_yticks([])
    ax.set_xlim(0, 1)
    ax.set_title("probability", fontsize=9, loc="left")   # above: an x label is cut off in a short figure
    for i, (name, p) in enumerate(zip(names, probs)):
        label = f"{name if len(name) <= 32 else name[:31] + '…'}  {p:.2f}"
        inside = p > 0.55   # long bar: the label fits inside it, in white
        ax.text(p - 0.01 if inside else p + 0.01, i, label, va="center", ha="right" if inside else "left",
                fontsize=8, color="white" if inside else "black", clip_on=True)
    return ax


def plot_predictions(cm, images, titles: Sequence[str] | None = None, top: int = 5, probs=None):
    """Each image next to its top-k bar chart; returns the Figure."""
    probs = cm.predict(images) if probs is None else probs
    decoded = cm.decode(probs, top=top)
    n = len(decoded)
    fig, axes = plt.subplots(n, 2, figsize=(7, 2.2 * n), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1.4]})
    for i in range(n):
        axes[i, 0].imshow(_display(images[i]), cmap="gray", vmin=0, vmax=255)
        axes[i, 0].axis("off")
        if titles is not None:
            axes[i, 0].set_title(titles[i], fontsize=9)
        plot_topk(decoded[i], ax=axes[i, 1])
        if i < n - 1:
            axes[i, 1].set_xlabel("")
            axes[i, 1].tick_params(labelbottom=False)
    fig.tight_layout()
    return fig


def draw_boxes(ax, boxes, color: str = "lime", labels: Sequence[str] | None = None, lw: float = 2.0):
    """Draw (x0, y0, x1, y1) boxes on an Axes; returns the Axes."""
    from matplotlib.patches import Rectangle
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec=color, lw=lw))
        if labels is not None and i < len(labels):
            ax.text(x0, y0, labels[i], color=color, fontsize=8, va="bottom")
    return ax


def plot_attributions(images, maps: Mapping[str, np.ndarray], titles: Sequence[str] | None = None,
                      alpha: float = 0.5, cmap: str = "jet", size: float = 2.2, show_image: bool = True,
                      outlier_perc: float = 1.0):
    """Rows = images, columns = methods, each map overlaid on its image.

    Args:
        images: (N, H, W, C) display images.
        maps: ``{method name: (N, H, W) maps}``.
        titles: One title per image (e.g. class and probability).
        alpha: Overlay weight.
        cmap: Colormap.
        size: Inches per panel.
        show_image: Whether the first column shows the plain image.
        outlier_perc: Percent of each map's highest values capped for
            display (:func:`clip_outliers`).

    A panel whose map is zero everywhere is labelled "all-zero map"
    (:func:`label_zero_map`).

    Returns:
        The Figure.
    """
    images = np.asarray(images)
    n = len(images)
    for name, m in maps.items():
        if np.shape(m)[0] != n:
            raise ValueError(f"maps[{name!r}] has {np.shape(m)[0]} maps for {n} images")
    cols = len(maps) + int(show_image)
    fig, axes = plt.subplots(n, cols, figsize=(size * cols, size * n), squeeze=False)
    for i in range(n):
        c = 0
        if show_image:
            axes[i, 0].imshow(_display(images[i]), cmap="gray", vmin=0, vmax=255)
            axes[i, 0].set_title(titles[i] if titles is not None else "image", fontsize=9)
            c = 1
        for j, (name, m) in enumerate(maps.items()):
            axes[i, c + j].imshow(overlay(images[i], m[i], alpha=alpha, cmap=cmap, outlier_perc=outlier_perc))
            label_zero_map(axes[i, c + j], m[i])
            if i == 0 or not show_image:
                axes[i, c + j].set_title(name, fontsize=9)
    for ax in axes.ravel():
        ax.axis("off")
    fig.tight_layout()
    return fig
