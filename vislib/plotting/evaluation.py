"""Figures of evaluations: sanity checks, deletion/insertion curves and
training histories."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .._core import checks
from ..evaluation.metrics import HIGHER_IS_BETTER, SanityResult
from .images import overlay


def plot_sanity(result: SanityResult, images=None, image: int = 0, max_cols: int = 8,
                size: float = 1.6, axes=None):
    """One row of maps for image ``image`` as the cascade goes down; returns the Axes.

    Args:
        result: From :func:`randomization_sanity`.
        images: Display images, to overlay the maps (optional).
        image: Which image of the batch to show.
        max_cols: Show at most this many steps (evenly chosen, first and last kept).
    """
    max_cols = checks.count(max_cols, "max_cols", high=1000)
    image = checks.count(image, "image", low=0, high=result.maps.shape[1] - 1)
    steps = len(result.layers)
    cols = np.unique(np.round(np.linspace(0, steps - 1, min(steps, max_cols))).astype(int))
    if axes is None:
        _, axes = plt.subplots(1, len(cols), figsize=(size * len(cols), size * 1.25), squeeze=False)
    axes = np.asarray(axes).reshape(-1)
    for ax, s in zip(axes, cols):
        m = result.maps[s, image]
        if images is not None:
            ax.imshow(overlay(np.asarray(images)[image], m))
        else:
            ax.imshow(m, cmap="jet")
        ax.set_title(f"{result.layers[s]}\nrho={result.correlations[s, image]:.2f}", fontsize=8)
        ax.axis("off")
    return axes


def plot_metrics(results: Mapping[str, Mapping[str, np.ndarray]], reference: Mapping[str, float] | None = None,
                 size: tuple[float, float] = (3.0, 2.6)):
    """Bar charts, one panel per metric, mean +- standard error per method.

    Args:
        results: From :func:`evaluate`.
        reference: Optional ``{metric: value}`` drawn as a dashed line (e.g.
            what a random map scores).

    Returns:
        The Figure.
    """
    if not results:
        raise ValueError("results is empty")
    metrics = list(next(iter(results.values())))
    names = list(results)
    fig, axes = plt.subplots(1, len(metrics), figsize=(size[0] * len(metrics), size[1]), squeeze=False)
    for ax, k in zip(axes[0], metrics):
        vals = [np.asarray(results[m][k], np.float32) for m in names]
        mean = [float(v.mean()) for v in vals]
        err = [float(v.std() / np.sqrt(max(len(v), 1))) for v in vals]
        ax.bar(range(len(names)), mean, yerr=err, color=[f"C{i % 10}" for i in range(len(names))])
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
        arrow = "higher is better" if HIGHER_IS_BETTER.get(k, True) else "lower is better"
        ax.set_title(f"{k}\n({arrow})", fontsize=9)
        ax.set_ylim(0, 1.05)
        if reference and k in reference:
            ax.axhline(reference[k], ls="--", color="k", lw=1)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------- plotting
def plot_histories(histories: Mapping[str, Mapping[str, Sequence[float]]],
                   metrics: Sequence[str] = ("accuracy", "loss"), fine_tune_from: int | None = None,
                   axes=None):
    """Training (dashed) and validation (solid) curves, one panel per metric.

    Args:
        histories: ``{run name: Keras history dict}`` (e.g. ``result.histories``).
        metrics: Metrics to draw (each panel shows ``m`` and ``val_m``).
        fine_tune_from: Draw a vertical line where fine-tuning began.
        axes: Existing Axes (one per metric), else a new figure.

    Returns:
        The Figure.

    Raises:
        ValueError: Empty histories or a metric none of them has.
    """
    if not histories:
        raise ValueError("histories is empty; pass {name: history dict}")
    for m in metrics:
        if not any(m in h or f"val_{m}" in h for h in histories.values()):
            have = sorted({k for h in histories.values() for k in h})
            raise ValueError(f"unknown metric {m!r}; valid choices: {have}")
    if axes is None:
        fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.2), squeeze=False)
        axes = axes[0]
    else:
        axes = np.atleast_1d(axes)
        fig = axes[0].figure
    for ax, m in zip(axes, metrics):
        for i, (run, h) in enumerate(histories.items()):
            if m in h:
                ax.plot(np.arange(1, len(h[m]) + 1), h[m], "--", color=f"C{i}", label=f"{run} (train)")
            if f"val_{m}" in h:
                ax.plot(np.arange(1, len(h[f"val_{m}"]) + 1), h[f"val_{m}"], "-o", ms=3, color=f"C{i}",
                        label=f"{run} (validation)")
        if fine_tune_from is not None:
            ax.axvline(fine_tune_from + 0.5, color="gray", lw=1, ls=":")
            ax.text(fine_tune_from + 0.6, ax.get_ylim()[1], "fine-tuning", fontsize=7, va="top", color="gray")
        ax.set_xlabel("epoch")
        ax.set_ylabel(m)
        if m == "accuracy":
            ax.set_ylim(0, 1)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig
