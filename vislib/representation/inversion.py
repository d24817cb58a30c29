"""Feature inversion: which image has these activations?

Given an image ``x0`` and a layer ``l``, find an image ``x`` whose
activations at ``l`` match ``x0``'s, starting from noise, with priors that
keep it natural:

    ||phi_l(x) - phi_l(x0)||^2 / ||phi_l(x0)||^2  +  lambda_alpha R_alpha(x)  +  lambda_tv TV^beta(x)

What survives in ``x`` is what the layer keeps of ``x0``; what the layer
discards (exact colours, positions, details that do not matter for the
class) comes back different. Mahendran & Vedaldi show that early layers keep
an almost photographic copy and deep layers only "what matters": object
parts at varying places, textures, rough colours.

Mahendran & Vedaldi. *Understanding Deep Image Representations by Inverting
Them.* CVPR 2015 (and *Visualizing Deep Convolutional Neural Networks Using
Natural Pre-Images*, IJCV 2016, which adds the jitter used here).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import tensorflow as tf

from .._core import checks, graph
from .._core.config import budget
from .._core.course_model import CourseModel, as_course
from .._core.progress import progress
from . import optimize


class Inversion(NamedTuple):
    """The result of :func:`invert` for N images.

    Attributes:
        images: (N, H, W, C) reconstructions in display pixels (uint8 for
            0-255 profiles, else float32).
        feature_error: (N,) relative error of the reconstruction's
            activations, ``||phi(x) - phi(x0)|| / ||phi(x0)||``.
        start_error: (N,) the same for the starting image (noise around grey):
            what "no reconstruction at all" scores.
        pixel_error: (N,) root mean square difference between reconstruction
            and original, as a fraction of the pixel range.
        losses: (steps,) the objective (summed over images) at every step.
        frames: (F, N, H, W, C) snapshots, the first one the start image.
        frame_steps: (F,) steps taken when each frame was recorded.
    """

    images: np.ndarray
    feature_error: np.ndarray
    start_error: np.ndarray
    pixel_error: np.ndarray
    losses: np.ndarray
    frames: np.ndarray
    frame_steps: np.ndarray


def _step(cm: CourseModel, layer: str, alpha: float, beta: float):
    """The compiled step for (model, layer): Adam on the centred display image."""
    def build():
        run = graph.forward(cm.model, (layer,))
        lo, hi = (float(v) for v in cm.pixel_range)
        center, half = (lo + hi) / 2.0, (hi - lo) / 2.0

        def features(u):
            (a,), _ = run(cm.preprocess(center + half * u))
            return tf.reshape(a, (tf.shape(a)[0], -1))

        @tf.function(reduce_retracing=True)
        def step(u, m, s, k, target, norm, lam_alpha, lam_tv, lr, params):
            with tf.GradientTape() as tape:
                tape.watch(u)
                a = features(optimize.transform(u, params))
                fit = tf.reduce_sum(tf.square(a - target), axis=1) / norm        # per image
                prior = (lam_alpha * tf.reduce_mean(tf.pow(tf.abs(u) + 1e-8, alpha), axis=(1, 2, 3))
                         + lam_tv * optimize.total_variation(u, beta))
                loss = tf.reduce_sum(fit + prior)
            g = tape.gradient(loss, u)
            u, m, s = optimize.adam(u, -g, m, s, k, lr)                            # descend
            return tf.clip_by_value(u, -1.0, 1.0), m, s, loss

        @tf.function(reduce_retracing=True)
        def error(u, target):
            a = features(u)
            return tf.norm(a - target, axis=1) / (tf.norm(target, axis=1) + 1e-12)

        return features, step, error
    return graph.cached(cm.model, ("invert", layer, float(alpha), float(beta), id(cm.preprocess)), build)


def invert(model, images, layer: str, steps: int | None = None, lr: float = 0.05,
           alpha: float = 6.0, lambda_alpha: float = 1e-3, beta: float = 2.0,
           lambda_tv: float | None = None, jitter: int = 0,
           record_every: int | None = None, seed: int = 0) -> Inversion:
    """Reconstruct images from their activations at ``layer``.

    Minimises ``||phi(x) - phi(x0)||^2 / ||phi(x0)||^2 + lambda_alpha *
    mean|x|^alpha + lambda_tv * TV^beta(x)`` over the image ``x`` in display
    pixels scaled to [-1, 1] (Mahendran & Vedaldi 2015: the feature loss
    normalised by the target's energy, the alpha-norm that keeps pixels in
    range, the total variation that suppresses the high-frequency noise
    gradient descent creates), with Adam from uniform noise of +-0.1 around
    grey, optionally shifted by up to ``jitter`` pixels at each step
    (Mahendran & Vedaldi 2016), and clipped to the pixel range.

    Mahendran & Vedaldi. *Understanding Deep Image Representations by
    Inverting Them.* CVPR 2015.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model`` with a
            known pixel range.
        images: One image (H, W, C) or a batch (N, H, W, C) of display pixels.
        layer: The layer whose activations are matched (any layer but the
            input and the last).
        steps: Optimiser steps (default ``vislib.budget(200, 50)``).
        lr: Adam's learning rate, in units of half the pixel range.
        alpha: Exponent of the alpha-norm prior (the paper uses 6).
        lambda_alpha: Weight of the alpha-norm prior.
        beta: Exponent of the total variation (the paper uses 1-2).
        lambda_tv: Weight of the total variation (default: the input's
            side / 224, i.e. 1.0 at 224 px and 0.125 at 28 px: neighbouring
            pixels of a small image differ more, so the same weight would
            blur it).
        jitter: Largest random shift per step in pixels (default 0, as in
            the 2015 paper; the 2016 version jitters). The error is measured
            on the unshifted image, and deep features are not shift-invariant
            enough for that: on EfficientNet-Lite0's pooled features 100 steps
            reach a relative error of 0.26 without jitter and 0.86 with 4 px.
        record_every: Keep a frame every this many steps (default steps // 10).
        seed: Seed of the start image and of the jitter.

    Returns:
        An :class:`Inversion`.

    Raises:
        ValueError: Unknown layer, images of the wrong shape or range, option
            values out of range.
    """
    cm = as_course(model)
    lo, hi = cm.pixel_range
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("invert needs the model's pixel range; wrap the model with "
                         "vislib.as_course(model, pixel_range=(low, high), ...)")
    graph.check_layer(cm.model, layer, graph.inner_layer_names(cm.model))
    x0 = cm.check(images)
    steps = optimize.check_steps(steps, budget(200, 50))
    every = optimize.check_record_every(record_every, steps)
    seed = checks.count(seed, "seed", low=0, high=2**32 - 1)
    checks.in_range(lr, 1e-6, 10, "lr")
    checks.in_range(alpha, 1, 12, "alpha")
    checks.in_range(lambda_alpha, 0, 1e6, "lambda_alpha")
    checks.in_range(beta, 1, 4, "beta")
    size = min(cm.input_size)
    lambda_tv = size / 224 if lambda_tv is None else checks.in_range(lambda_tv, 0, 1e6, "lambda_tv")
    jitter, _, _ = optimize.check_transforms(jitter, 0.0, 0.0, size)

    center, half = (lo + hi) / 2.0, (hi - lo) / 2.0
    features, step, error = _step(cm, layer, float(alpha), float(beta))
    target = features(tf.constant((x0 - center) / half))
    norm = tf.reduce_sum(tf.square(target), axis=1) + 1e-12
    rng = np.random.default_rng(seed)
    u = tf.constant(rng.uniform(-0.1, 0.1, x0.shape).astype(np.float32))
    m, s = tf.zeros_like(u), tf.zeros_like(u)
    moves = optimize.draw_transforms(rng, steps, jitter, 0.0, 0.0)
    consts = [tf.constant(float(v)) for v in (lambda_alpha, lambda_tv, lr)]

    def display(u) -> np.ndarray:
        return optimize.to_display(center + half * np.asarray(u), lo, hi, (lo, hi) == (0.0, 255.0))

    start_error = np.asarray(error(u, target))
    losses, frames, frame_steps = [], [display(u)], [0]
    for k in progress(range(steps), desc=f"inverting {layer}", total=steps):
        u, m, s, loss = step(u, m, s, tf.constant(k + 1), target, norm, *consts, tf.constant(moves[k]))
        losses.append(float(loss))
        if (k + 1) % every == 0 or k + 1 == steps:
            frames.append(display(u))
            frame_steps.append(k + 1)
    out = frames[-1]
    final = (np.asarray(out, np.float32) - center) / half                 # what is shown is what is scored
    feature_error = np.asarray(error(tf.constant(final), target))
    pixel_error = np.sqrt(np.mean((final - (x0 - center) / half) ** 2, axis=(1, 2, 3))) / 2.0
    return Inversion(out, feature_error.astype(np.float32), start_error.astype(np.float32),
                     pixel_error.astype(np.float32), np.asarray(losses, np.float32),
                     np.stack(frames), np.asarray(frame_steps, np.int64))
