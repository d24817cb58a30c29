"""Class activation maps: CAM (Zhou et al. 2016), Grad-CAM (Selvaraju et al.
2017) and its counterfactual and guided variants, Grad-CAM++ and Score-CAM.

All share one call shape ``method(model, images, target=None, ...) ->
(N, H, W) float32`` at input resolution, normalised per image to [0, 1].
"""

from __future__ import annotations

import keras
import numpy as np

from .._core import checks, graph
from .._core.config import CourseNote
from .._core.course_model import as_course
from .._core.gradients import layer_gradients, resolve
from .._core.maps import finish, resize_maps
from ..representation.activations import activations
from .saliency import guided_backprop


def _default_layer(cm, layer: str | None) -> str:
    valid = graph.spatial_layer_names(cm.model)
    if layer is None and not cm.last_conv:
        if not valid:
            raise ValueError(f"model {cm.model.name!r} has no layer with a spatial (N, h, w, k) output: "
                             "the CAM family needs feature maps; use saliency or occlusion")
        raise ValueError(f"model {cm.model.name!r} has no conv layer to default to; pass layer= one of "
                         f"the layers with a spatial output: {valid}")
    name = layer if layer is not None else cm.last_conv
    return graph.check_layer(cm.model, name, valid, what="layer (a layer with a spatial output)")


def _finish(maps: np.ndarray, size: tuple[int, int], normalize: bool) -> np.ndarray:
    return finish(resize_maps(maps, size), normalize)


def gradcam(model, images, target=None, layer: str | None = None, counterfactual: bool = False,
            batch_size: int | None = None, normalize: bool = False) -> np.ndarray:
    """Grad-CAM: feature maps weighted by their average gradient, then ReLU.

    ``L = ReLU(sum_k a_k A^k)`` with ``a_k = mean_ij dS_c / dA^k_ij``.

    Selvaraju et al. *Grad-CAM: Visual Explanations from Deep Networks via
    Gradient-based Localization.* ICCV 2017.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        images: One image (H, W, C) or a batch (N, H, W, C) of display pixels.
        target: Class index, one per image, or None for each image's top-1.
        layer: Layer to look at (default: the CourseModel's ``last_conv``, the
            activated output of the last conv block);
            any layer with a spatial (N, h, w, k) output.
        counterfactual: Negate the gradients: the regions that argue
            *against* the class (Section 5 of the paper).
        batch_size: Images per pass (default from the model size).
        normalize: Scale each map to [0, 1] (default: raw values, as every method).

    Returns:
        float32 (N, H, W) at input resolution. A map is all zero where
        ``sum_k a_k A^k <= 0`` at every position: the method as defined,
        not an error; on small networks it is common (lesson 08 counts the
        share on the running profile).

    Warns:
        UserWarning: Once per call when some maps are all zero, naming how
            many, which images (up to 10), their targets and the layer, and
            suggesting ``counterfactual=True`` or another layer.

    Raises:
        ValueError: Unknown layer (the message lists valid ones), bad images
            or targets.
    """
    cm, x, t = resolve(model, images, target, top1_in_pass=True)
    name = _default_layer(cm, layer)
    acts, grads, z = layer_gradients(cm, x, t, name, batch_size)
    t = np.where(t < 0, z.argmax(axis=1), t)   # the top-1 classes the pass used
    if counterfactual:
        grads = -grads
    weights = grads.mean(axis=(1, 2), keepdims=True)
    maps = np.maximum((weights * acts).sum(axis=-1), 0)
    zero = np.flatnonzero(~maps.reshape(len(maps), -1).any(axis=1))   # the ReLU kept nothing
    if len(zero):
        import warnings
        more = ", ..." if len(zero) > 10 else ""
        images_ = ", ".join(str(i) for i in zero[:10]) + more
        targets_ = ", ".join(str(int(c)) for c in t[zero[:10]]) + more
        other = "counterfactual=False (the evidence for it)" if counterfactual else \
            "counterfactual=True (the evidence against it)"
        warnings.warn(f"gradcam: {len(zero)} of {len(maps)} maps are all zero (images [{images_}], "
                      f"targets [{targets_}]) at layer {name!r}: sum_k a_k A^k is <= 0 at every position "
                      f"of that layer, so the ReLU keeps nothing. Try {other} or another layer (layer=...).",
                      CourseNote, stacklevel=2)
    return _finish(maps, cm.input_size, normalize)


def _gap_classifier(model: keras.Model) -> tuple[str, np.ndarray]:
    """(name of the feature layer before global average pooling, the class
    weights (k, classes)): the Dense layer that makes the class scores, walked
    back through Dropout / linear activations to a GlobalAveragePooling2D.

    For a one-unit binary model the weights of classes 0 and 1 are ``-w/2``
    and ``+w/2`` (its class scores are half the logit, see :mod:`vislib._core.graph`).
    """
    head = graph.score_head(model)
    linear = (None, keras.activations.linear)
    passes = (keras.layers.Dropout, keras.layers.Activation, keras.layers.Identity)
    dense = gap = None
    op, node = graph.producer(model.outputs[0])
    while isinstance(op, keras.layers.Identity):     # a nested model's name (vislib._core.graph.flatten)
        op, node = graph.producer(node.input_tensors[0])
    if isinstance(op, keras.layers.Dense) and graph.activation_name(op) is not None:
        dense = op                                   # Dense(classes, softmax / sigmoid)
    else:                                            # the scores are a tensor: the Dense that made it
        op, node = graph.producer(head.feed)
        for _ in range(4):
            if isinstance(op, keras.layers.Dense):
                dense = op if getattr(op, "activation", None) in linear else None
                break
            if not (isinstance(op, passes) and getattr(op, "activation", None) in linear):
                break
            op, node = graph.producer(node.input_tensors[0])
    if dense is not None:
        op, node = graph.producer(node.input_tensors[0])
        for _ in range(4):                           # through Dropout / linear activations
            if isinstance(op, keras.layers.GlobalAveragePooling2D):
                gap = op
                break
            if not (isinstance(op, passes) and getattr(op, "activation", None) in linear):
                break
            op, node = graph.producer(node.input_tensors[0])
    if gap is None:
        raise ValueError(f"cam() needs a classifier that is one Dense layer on global average pooling "
                         f"(like MobileNetV2 or fashion_gap; Dropout in between is fine); model {model.name!r} "
                         "is not one. Use vislib.gradcam, which works for every CNN.")
    feed, _ = graph.producer(node.input_tensors[0])
    kernel = np.asarray(dense.kernel, np.float32)
    if head.binary:
        kernel = np.concatenate([-0.5 * kernel, 0.5 * kernel], axis=1)
    return feed.name, kernel


def cam(model, images, target=None, batch_size: int | None = None, normalize: bool = False) -> np.ndarray:
    """Class activation mapping for global-average-pooling networks.

    ``M_c(x, y) = sum_k w^c_k f_k(x, y)``: the last feature maps weighted by
    the classifier's weights for class c (ReLU applied, as for Grad-CAM, so
    the two are equal on such networks).

    Zhou, Khosla, Lapedriza, Oliva, Torralba. *Learning Deep Features for
    Discriminative Localization.* CVPR 2016.

    Raises:
        ValueError: The model's classifier is not Dense-on-GAP.
    """
    cm, x, t = resolve(model, images, target)
    name, kernel = _gap_classifier(cm.model)
    acts = activations(cm, x, [name], batch_size)[name]
    maps = np.einsum("nhwk,kn->nhw", acts, kernel[:, t])
    return _finish(np.maximum(maps, 0), cm.input_size, normalize)


def guided_gradcam(model, images, target=None, layer: str | None = None,
                   batch_size: int | None = None, normalize: bool = False) -> np.ndarray:
    """Guided Grad-CAM: guided backpropagation times the (upsampled) Grad-CAM
    map, high-resolution and class-discriminative (Selvaraju et al. 2017).

    The Grad-CAM map, scaled to [0, 1], gates the guided-backpropagation map
    (max of ``|gradient|`` over colours), so the raw values keep the guided
    gradient's units.

    Returns:
        float32 (N, H, W); each scaled to [0, 1] with ``normalize=True``.
    """
    cm, x, t = resolve(model, images, target)
    heat = gradcam(cm, x, t, layer=layer, batch_size=batch_size, normalize=True)
    guided = guided_backprop(cm, x, t, batch_size=batch_size)
    return finish(guided * heat, normalize)


# ---- Grad-CAM++ and Score-CAM ----


def gradcam_plus_plus(model, images, target=None, layer: str | None = None,
                      batch_size: int | None = None, normalize: bool = False) -> np.ndarray:
    """Grad-CAM++: Grad-CAM whose channel weights average only the positive
    gradients, each position weighted by higher-order derivatives
    (``a_ij^k = g^2 / (2 g^2 + sum_ab A_ab^k g^3)``), so several instances of
    a class all show up.

    Chattopadhay, Sarkar, Howlader, Balasubramanian. *Grad-CAM++: Improved
    Visual Explanations for Deep Convolutional Networks.* WACV 2018.

    Computed from the same compiled pass as Grad-CAM (the activations and
    their gradient), with the formula of the authors' code as
    ``tf_keras_vis.gradcam_plus_plus.GradcamPlusPlus`` writes it: the higher
    derivatives are powers of the first, ``exp(S)`` times ``g^2`` and ``g^3``
    (exact for a score that is the exponential of the logit); the ``exp(S)``
    factors cancel in ``a_ij^k`` and only scale the map, so they are left
    out, which also keeps confident logits from overflowing. The alphas are
    normalised to sum to 1 per channel, the channel weights are
    ``sum_ij a_ij^k ReLU(g_ij^k)``, and the map is ReLU'd. The tests compare
    it with tf-keras-vis.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        images: One image (H, W, C) or a batch (N, H, W, C) of display pixels.
        target: Class index, one per image, or None for each image's top-1.
        layer: Layer to look at (default: the CourseModel's ``last_conv``, the
            activated output of the last conv block);
            any layer with a spatial (N, h, w, k) output.
        batch_size: Images per pass (default from the model size).
        normalize: Scale each map to [0, 1] (default: raw values).

    Returns:
        float32 (N, H, W) at input resolution; each scaled to [0, 1] with
        ``normalize=True``.

    Raises:
        ValueError: Unknown layer (the message lists valid ones), bad images
            or targets.
    """
    cm, x, t = resolve(model, images, target, top1_in_pass=True)
    name = _default_layer(cm, layer)
    acts, grads, _ = layer_gradients(cm, x, t, name, batch_size)
    a, g = acts.astype(np.float64), grads.astype(np.float64)
    g2, g3 = g * g, g * g * g
    denom = 2.0 * g2 + g3 * a.sum(axis=(1, 2), keepdims=True)
    alphas = g2 / (denom + (g2 == 0))                       # 0 where the gradient is 0
    norm = alphas.sum(axis=(1, 2), keepdims=True)
    alphas = alphas / (norm + (norm == 0))
    weights = (alphas * np.maximum(g, 0)).sum(axis=(1, 2), keepdims=True)
    maps = np.maximum((weights * a).sum(axis=-1), 0).astype(np.float32)
    return _finish(maps, cm.input_size, normalize)


def _linear_upsampling(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix of 1-D linear interpolation with the ends aligned: applied on both axes it
    equals ``scipy.ndimage.zoom(a, ..., order=1, mode="nearest")`` (what tf-keras-vis' Score-CAM
    uses) to float precision, at a small fraction of its cost."""
    m = np.zeros((n_out, n_in), np.float32)
    if n_in == 1 or n_out == 1:
        m[:, 0] = 1
        return m
    pos = np.arange(n_out) * (n_in - 1) / (n_out - 1)
    lo = np.minimum(np.floor(pos).astype(int), n_in - 2)
    frac = (pos - lo).astype(np.float32)
    m[np.arange(n_out), lo] = 1 - frac
    m[np.arange(n_out), lo + 1] = frac
    return m


#: Score-CAM's default (``max_channels="auto"``): at most this many feature maps per image
SCORECAM_AUTO_MAPS = 128


def scorecam_channels(model, layer: str | None = None, max_channels: int | str | None = "auto") -> int:
    """How many feature maps :func:`scorecam` uses per image at ``layer``.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        layer: Layer to look at (default: the CourseModel's ``last_conv``, the
            activated output of the last conv block).
        max_channels: As for :func:`scorecam`: None (all), ``"auto"`` or a
            whole number in [1, channels].

    Returns:
        The number of maps, in [1, channels].

    Raises:
        ValueError: Unknown layer, or ``max_channels`` not None, ``"auto"``
            or a whole number in [1, channels] (the message names the value
            and the valid range).
    """
    cm = as_course(model)
    name = _default_layer(cm, layer)
    channels = int(cm.model.get_layer(name).output.shape[-1])
    if max_channels is None:
        return channels
    if isinstance(max_channels, str):
        if max_channels != "auto":
            raise ValueError(f"unknown max_channels {max_channels!r}; valid choices: None (all {channels} maps "
                             f"of {name!r}), 'auto' or a whole number in [1, {channels}]")
        return min(channels, SCORECAM_AUTO_MAPS)
    try:
        return checks.in_range(max_channels, 1, channels, "max_channels", integer=True)
    except ValueError as err:
        raise ValueError(f"{err} (layer {name!r} has {channels} feature maps); "
                         "or pass None (all maps) or 'auto'") from None


def scorecam(model, images, target=None, layer: str | None = None, max_channels: int | str | None = "auto",
             batch_size: int | None = None, normalize: bool = False) -> np.ndarray:
    """Score-CAM: gradient-free; each feature map, upsampled and scaled to
    [0, 1], masks the input, and the softmax probability of the target class
    for that masked input is the map's weight: ``L = ReLU(sum_k s_k A^k)``.

    Wang, Wang, Du, Yang, Zhang, Ding, Mardziel, Hu. *Score-CAM:
    Score-Weighted Visual Explanations for Convolutional Neural Networks.*
    CVPR workshops 2020.

    Computed here in batches, as tf-keras-vis' ``Scorecam`` computes it
    (bilinear upsampling, each map scaled to [0, 1], masks applied to the
    preprocessed input, softmax of the pre-softmax scores; the tests compare
    the two): ``Scorecam`` builds all masked copies of an image at once and
    runs them through Keras' ``predict``; here only ``batch_size`` copies exist
    at a time, run through the compiled forward pass, so memory stays bounded.

    It costs one forward pass per feature map and image. Maps that are zero
    everywhere (common after a ReLU) add nothing to the sum and are skipped,
    which changes no result. (Costs: ``benchmarks/ANALYSIS.md``.)

    **Faster Score-CAM** keeps only the maps with the largest spatial variance
    ("use only channels with large variances as mask images": the README of
    github.com/tabayashi0117/Score-CAM, about 10x faster on VGG16 there), as
    the ``max_N`` option of tf-keras-vis' ``Scorecam`` does: it ranks the
    channels by ``tf.math.reduce_std`` over the spatial axes and keeps the
    ``tf.math.top_k`` (``tf_keras_vis/scorecam.py``, 0.8.7). Here each image
    keeps its own N maps, ties going to the lower channel index as in
    ``top_k`` (tf-keras-vis keeps the union of the images' top N over a batch;
    for one image the two are the same, which the tests check).

    The default ``max_channels="auto"`` uses every map of a layer with at most
    :data:`SCORECAM_AUTO_MAPS` (128) channels, as the paper does, and the 128
    of largest variance of a wider layer: on a wide layer most of the map's
    sum comes from the high-variance maps (low-variance maps after a ReLU are
    mostly all zero), so the two maps agree closely at a fraction of the
    cost (``tests/test_real_network.py`` checks r > 0.98 against all maps on
    EfficientNet-Lite0's 1280-map ``top_activation``).

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        images: One image (H, W, C) or a batch (N, H, W, C) of display pixels.
        target: Class index, one per image, or None for each image's top-1.
        layer: Layer to look at (default: the CourseModel's ``last_conv``, the
            activated output of the last conv block).
        max_channels: ``"auto"`` (default, see above), None (every map, as
            in the paper) or a whole number N in [1, channels]: the N maps of
            largest spatial variance. More maps than the layer has is an error
            (as in tf-keras-vis), not a silent "all".
        batch_size: Masked inputs per forward pass (default from the model size).
        normalize: Scale each map to [0, 1] (default: raw values).

    Returns:
        float32 (N, H, W) at input resolution; each scaled to [0, 1] with
        ``normalize=True``.

    Raises:
        ValueError: Unknown layer, ``max_channels`` not None, ``"auto"`` or a
            whole number in [1, channels], bad images or targets.
    """
    from scipy.special import softmax
    cm, x, t = resolve(model, images, target)
    name = _default_layer(cm, layer)
    channels = int(cm.model.get_layer(name).output.shape[-1])
    k = scorecam_channels(cm, name, max_channels)
    acts_of = graph.compiled_forward(cm.model, (name,))
    logits_of = graph.compiled_forward(cm.model)
    bs = graph.batch_size(cm.model, batch_size, kind="forward")
    H, W = cm.input_size
    eps = keras.config.epsilon()
    maps = []
    for i in range(len(x)):
        seed = np.asarray(cm.preprocess(x[i:i + 1]), np.float32)
        (a,), _ = acts_of(seed)
        a = np.asarray(a, np.float32)[0]                      # (h, w, channels)
        if k < channels:                                      # the k maps of largest variance
            a = a[..., np.sort(np.argsort(-a.var(axis=(0, 1)), kind="stable")[:k])]
        a = a[..., a.reshape(-1, a.shape[-1]).any(axis=0)]   # an all-zero map adds 0 x its weight: skip it
        rows, cols = _linear_upsampling(a.shape[0], H), _linear_upsampling(a.shape[1], W)
        weights = np.empty(a.shape[-1], np.float32)
        for s in range(0, a.shape[-1], bs):
            up = np.einsum("Hh,hwk,Ww->kHW", rows, a[..., s:s + bs], cols, optimize=True)   # bilinear
            lo, hi = up.min(axis=(1, 2), keepdims=True), up.max(axis=(1, 2), keepdims=True)
            masks = ((up - lo) / (hi - lo + eps))[..., None]                    # (b, H, W, 1)
            _, z = logits_of(seed * masks)
            weights[s:s + bs] = softmax(np.asarray(z, np.float64), axis=1)[:, t[i]]
        maps.append(np.maximum(a @ weights, 0))
    return _finish(np.stack(maps), cm.input_size, normalize)
