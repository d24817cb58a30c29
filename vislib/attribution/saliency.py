"""Gradient maps: saliency (Simonyan et al. 2014), the deconvnet (Zeiler &
Fergus 2014) and guided backpropagation (Springenberg et al. 2015).

The three differ only in what a rectifier passes back of the signal ``dy``
arriving from above (``z``: its forward input), one switch in
:func:`vislib._core.gradients.rule_model`:

=================  =============================  ==========================
method             backward rule at a ReLU        gates on
=================  =============================  ==========================
saliency           ``(z > 0) * dy``               the forward input
deconvnet          ``max(dy, 0)``                 the backward signal
guided_backprop    ``(z > 0) * max(dy, 0)``       both
=================  =============================  ==========================

All three differentiate the pre-softmax score of the target class with respect to
the display pixels and reduce the colour channels to one map. For a binary
model with ONE output unit (logit ``z``) the class scores are ``-z/2`` and
``+z/2`` (:mod:`vislib._core.graph`): the signed map of class 1 is ``+1/2 dz/dx``,
of class 0 ``-1/2 dz/dx``.
"""

from __future__ import annotations

import numpy as np

from .._core.gradients import input_gradients, resolve
from .._core.maps import check_reduce, finish_channels

REDUCTIONS = ("max", "mean", None)


def _rule_map(model, images, target, reduce, batch_size, normalize, rule: str) -> np.ndarray:
    check_reduce(reduce, normalize, REDUCTIONS)
    cm, x, t = resolve(model, images, target, top1_in_pass=True)
    grads, _ = input_gradients(cm, x, t, batch_size, rule=rule)
    return finish_channels(grads, reduce, normalize)


def saliency(model, images, target=None, reduce: str | None = "max",
             batch_size: int | None = None, normalize: bool = False) -> np.ndarray:
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
        normalize: Scale each map to [0, 1] (:func:`vislib.normalize_map`);
            default False: raw values.

    Returns:
        float32 (N, H, W) raw gradient magnitudes (not normalised), or
        (N, H, W, C) signed gradients when ``reduce`` is None.

    Raises:
        ValueError: Bad images, targets, ``reduce`` or ``normalize``
            (``normalize=True`` needs a reduction).
    """
    return _rule_map(model, images, target, reduce, batch_size, normalize, "gradient")


def deconvnet(model, images, target=None, reduce: str | None = "max",
              batch_size: int | None = None, normalize: bool = False) -> np.ndarray:
    """The deconvnet's image-space projection of a class score: the input
    gradient with every rectifier passing back ``max(dy, 0)``, whatever its
    forward input was.

    Zeiler, Fergus. *Visualizing and Understanding Convolutional Networks.*
    ECCV 2014 (the backward rule as Springenberg et al. 2015 and Simonyan
    et al. 2014 write it for a class score).

    The forward pass enters only through the max-pooling switches and the
    linear layers' transposes: the ReLU pattern does not, so the map hardly
    depends on which units are active (the tests change that pattern and the
    map stays). Computed on a weight-sharing copy
    (``vislib._core.gradients.rule_model(model, "deconvnet")``); a ReLU fused
    into a Dense or conv layer is split into the layer's linear part and the
    activation there. ReLU6 gets the same rule (no forward gate at 0 or 6).

    Args and returns as :func:`saliency`.
    """
    return _rule_map(model, images, target, reduce, batch_size, normalize, "deconvnet")


def guided_backprop(model, images, target=None, reduce: str | None = "max",
                    batch_size: int | None = None, normalize: bool = False) -> np.ndarray:
    """Guided backpropagation: the input gradient with every ReLU passing
    back only positive gradients for positive inputs.

    Springenberg, Dosovitskiy, Brox, Riedmiller. *Striving for Simplicity:
    The All Convolutional Net.* ICLR workshop 2015.

    Computed on a copy of the model that shares its weights and gates the
    gradient after every ReLU (``vislib._core.gradients.rule_model(model, "guided")``); the caller's
    model is never modified. A ReLU6 (MobileNetV2, EfficientNet-Lite) gets the
    same gate: the gradient passes where its input lies in (0, 6) and the
    gradient is positive (the tests compare it with the rule written out).

    Args and returns as :func:`saliency`.
    """
    return _rule_map(model, images, target, reduce, batch_size, normalize, "guided")
