"""Drawing, kept apart from computing: functions here take arrays and return
arrays (``overlay``) or matplotlib Axes / Figures; none calls ``plt.show()``."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np


def _display(image) -> np.ndarray:
    """An image as something ``imshow`` draws right: uint8 RGB or 2-D gray."""
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.dtype != np.uint8:
        arr = np.clip(np.round(arr.astype(np.float32) * (255.0 if arr.max() <= 1.0 else 1.0)), 0, 255)
        arr = arr.astype(np.uint8)
    return arr


def normalize_map(heatmap: np.ndarray) -> np.ndarray:
    """Scale each map of (H, W) or (N, H, W) to [0, 1] (constant maps give 0)."""
    m = np.asarray(heatmap, dtype=np.float32)
    single = m.ndim == 2
    m = m[None] if single else m
    if m.ndim != 3:
        raise ValueError(f"heatmap must be (H, W) or (N, H, W); got shape {m.shape}")
    lo = m.min(axis=(1, 2), keepdims=True)
    span = m.max(axis=(1, 2), keepdims=True) - lo
    out = np.where(span > 0, (m - lo) / np.where(span > 0, span, 1), 0).astype(np.float32)
    return out[0] if single else out


def overlay(image, heatmap, alpha: float = 0.5, cmap: str = "jet") -> np.ndarray:
    """Blend a heat map over an image.

    Args:
        image: (H, W), (H, W, 1) or (H, W, 3), uint8 or floats in [0, 1] / [0, 255].
        heatmap: (h, w) map; resized to the image when sizes differ and
            normalised to [0, 1].
        alpha: Weight of the heat map, in [0, 1].
        cmap: Matplotlib colormap name.

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
        from .resize import resize_maps
        hm = resize_maps(hm[None], img.shape[:2])[0]
    colored = mpl.colormaps[cmap](normalize_map(hm))[..., :3] * 255.0
    out = (1 - alpha) * img.astype(np.float32) + alpha * colored
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


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


def plot_topk(pairs: Sequence[tuple[str, float]], ax=None, highlight: str | None = None, color: str = "C0"):
    """Horizontal bars of (class name, probability), best on top; returns the Axes."""
    ax = ax or plt.gca()
    names = [p[0] for p in pairs][::-1]
    probs = [p[1] for p in pairs][::-1]
    colors = ["C3" if n == highlight else color for n in names]
    ax.barh(range(len(names)), probs, color=colors)
    ax.set_yticks(range(len(names)), [n[:22] for n in names], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability")
    for i, p in enumerate(probs):
        ax.text(min(p + 0.02, 0.8), i, f"{p:.2f}", va="center", fontsize=8)
    return ax


def plot_predictions(course, images, titles: Sequence[str] | None = None, top: int = 5, probs=None):
    """Each image next to its top-k bar chart; returns the Figure."""
    probs = course.predict(images) if probs is None else probs
    decoded = course.decode(probs, top=top)
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
                      alpha: float = 0.5, cmap: str = "jet", size: float = 2.2, show_image: bool = True):
    """Rows = images, columns = methods, each map overlaid on its image.

    Args:
        images: (N, H, W, C) display images.
        maps: ``{method name: (N, H, W) maps}``.
        titles: One title per image (e.g. class and probability).
        alpha: Overlay weight.
        cmap: Colormap.
        size: Inches per panel.
        show_image: Whether the first column shows the plain image.

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
            axes[i, c + j].imshow(overlay(images[i], m[i], alpha=alpha, cmap=cmap))
            if i == 0 or not show_image:
                axes[i, c + j].set_title(name, fontsize=9)
    for ax in axes.ravel():
        ax.axis("off")
    fig.tight_layout()
    return fig
