"""Gradient maps: saliency (Simonyan et al. 2014) and guided backpropagation
(Springenberg et al. 2015).

Both differentiate the pre-softmax score of the target class with respect to
the display pixels and reduce the colour channels to one map. For a binary
model with ONE output unit (logit ``z``) the class scores are ``-z/2`` and
``+z/2`` (:mod:`vislib._graph`): the signed map of class 1 is ``+1/2 dz/dx``,
of class 0 ``-1/2 dz/dx``.
"""

from __future__ import annotations

import numpy as np

from . import _checks
from ._grad import input_gradients, resolve

REDUCTIONS = ("max", "mean", None)


def _reduce(grads: np.ndarray, reduce: str | None) -> np.ndarray:
    _checks.choice(reduce, REDUCTIONS, "reduce")
    if reduce is None:
        return grads.astype(np.float32)
    mag = np.abs(grads)
    out = mag.max(axis=-1) if reduce == "max" else mag.mean(axis=-1)
    return out.astype(np.float32)


def saliency(model, images, target=None, reduce: str | None = "max",
             batch_size: int | None = None) -> np.ndarray:
    """Image-specific class saliency: ``max_c |d S_target / d x_c|``.

    Simonyan, Vedaldi, Zisserman. *Deep Inside Convolutional Networks:
    Visualising Image Classification Models and Saliency Maps.* ICLR 2014.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        images: One image (H, W, C) or a batch (N, H, W, C) of display pixels.
        target: Class index, one per image, or None for each image's top-1.
        reduce: ``"max"`` (the paper: max over colour channels of the
            absolute gradient), ``"mean"``, or None for the signed gradient
            (N, H, W, C).
        batch_size: Images per gradient pass (default from the model size).

    Returns:
        float32 (N, H, W) raw gradient magnitudes (not normalised), or
        (N, H, W, C) signed gradients when ``reduce`` is None.

    Raises:
        ValueError: Bad images, targets or ``reduce``.
    """
    _checks.choice(reduce, REDUCTIONS, "reduce")
    course, x, t = resolve(model, images, target)
    grads, _ = input_gradients(course, x, t, batch_size)
    return _reduce(grads, reduce)


def guided_backprop(model, images, target=None, reduce: str | None = "max",
                    batch_size: int | None = None) -> np.ndarray:
    """Guided backpropagation: the input gradient with every ReLU passing
    back only positive gradients for positive inputs.

    Springenberg, Dosovitskiy, Brox, Riedmiller. *Striving for Simplicity:
    The All Convolutional Net.* ICLR workshop 2015.

    Computed on a copy of the model that shares its weights and gates the
    gradient after every ReLU (``vislib._grad.guided_model``); the caller's
    model is never modified. A ReLU6 (MobileNetV2, EfficientNet-Lite) gets the
    same gate: the gradient passes where its input lies in (0, 6) and the
    gradient is positive (the tests compare it with the rule written out).

    Args and returns as :func:`saliency`.
    """
    _checks.choice(reduce, REDUCTIONS, "reduce")
    course, x, t = resolve(model, images, target)
    grads, _ = input_gradients(course, x, t, batch_size, guided=True)
    return _reduce(grads, reduce)
