"""Class activation maps: CAM (Zhou et al. 2016), Grad-CAM (Selvaraju et al.
2017) and its counterfactual and guided variants, Grad-CAM++ and Score-CAM.

All share one call shape ``method(model, images, target=None, ...) ->
(N, H, W) float32`` at input resolution, normalised per image to [0, 1].
"""

from __future__ import annotations

import keras
import numpy as np

from . import _graph
from ._grad import layer_gradients, resolve
from .plotting import normalize_map
from .resize import resize_maps


def _default_layer(course, layer: str | None) -> str:
    valid = _graph.spatial_layer_names(course.model)
    name = layer if layer is not None else course.last_conv
    return _graph.check_layer(course.model, name, valid, what="layer (a layer with a spatial output)")


def _finish(maps: np.ndarray, size: tuple[int, int], normalize: bool = True) -> np.ndarray:
    maps = resize_maps(maps, size)
    return normalize_map(maps) if normalize else maps.astype(np.float32)


def gradcam(model, images, target=None, layer: str | None = None, counterfactual: bool = False,
            batch_size: int | None = None, normalize: bool = True) -> np.ndarray:
    """Grad-CAM: feature maps weighted by their average gradient, then ReLU.

    ``L = ReLU(sum_k a_k A^k)`` with ``a_k = mean_ij dS_c / dA^k_ij``.

    Selvaraju et al. *Grad-CAM: Visual Explanations from Deep Networks via
    Gradient-based Localization.* ICCV 2017.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        images: One image (H, W, C) or a batch (N, H, W, C) of display pixels.
        target: Class index, one per image, or None for each image's top-1.
        layer: Layer to look at (default: the profile's last conv layer);
            any layer with a spatial (N, h, w, k) output.
        counterfactual: Negate the gradients: the regions that argue
            *against* the class (Section 5 of the paper).
        batch_size: Images per pass (default from the model size).
        normalize: Scale each map to [0, 1] (default).

    Returns:
        float32 (N, H, W) at input resolution.

    Raises:
        ValueError: Unknown layer (the message lists valid ones), bad images
            or targets.
    """
    course, x, t = resolve(model, images, target)
    name = _default_layer(course, layer)
    acts, grads, _ = layer_gradients(course, x, t, name, batch_size)
    if counterfactual:
        grads = -grads
    weights = grads.mean(axis=(1, 2), keepdims=True)
    maps = np.maximum((weights * acts).sum(axis=-1), 0)
    return _finish(maps, course.input_size, normalize)


def _gap_classifier(model: keras.Model) -> tuple[str, np.ndarray]:
    """(name of the feature layer before global average pooling, Dense kernel)."""
    last = model.layers[-1]
    dense = last if isinstance(last, keras.layers.Dense) else None
    if dense is None and len(model.layers) > 1 and isinstance(model.layers[-2], keras.layers.Dense):
        dense = model.layers[-2]
    gap = None
    if dense is not None:
        node = _graph._layer_input(model, dense)
        seen = 0
        while node is not None and seen < 4:  # through Dropout / identity layers
            op = node._keras_history.operation
            if isinstance(op, keras.layers.GlobalAveragePooling2D):
                gap = op
                break
            if not isinstance(op, (keras.layers.Dropout, keras.layers.Activation)) or \
                    getattr(op, "activation", None) not in (None, keras.activations.linear):
                break
            node = op.input
            seen += 1
    if gap is None:
        raise ValueError(f"cam() needs a classifier that is one Dense layer on global average pooling "
                         f"(like MobileNetV2 or fashion_gap); model {model.name!r} is not one. "
                         "Use vislib.gradcam, which works for every CNN.")
    feed = gap.input._keras_history.operation
    return feed.name, np.asarray(dense.kernel)


def cam(model, images, target=None, batch_size: int | None = None, normalize: bool = True) -> np.ndarray:
    """Class activation mapping for global-average-pooling networks.

    ``M_c(x, y) = sum_k w^c_k f_k(x, y)``: the last feature maps weighted by
    the classifier's weights for class c (ReLU applied, as for Grad-CAM, so
    the two are equal on such networks).

    Zhou, Khosla, Lapedriza, Oliva, Torralba. *Learning Deep Features for
    Discriminative Localization.* CVPR 2016.

    Raises:
        ValueError: The model's classifier is not Dense-on-GAP.
    """
    course, x, t = resolve(model, images, target)
    name, kernel = _gap_classifier(course.model)
    acts = _acts(course, x, name, batch_size)
    maps = np.einsum("nhwk,kn->nhw", acts, kernel[:, t])
    return _finish(np.maximum(maps, 0), course.input_size, normalize)


def _acts(course, x: np.ndarray, name: str, batch_size: int | None) -> np.ndarray:
    run = _graph.forward(course.model, (name,))
    bs = batch_size or _graph.batch_size_for(course.model)
    out = []
    for s in range(0, len(x), bs):
        (a,), _ = run(course.preprocess(x[s:s + bs]))
        out.append(np.asarray(a, np.float32))
    return np.concatenate(out)


def guided_gradcam(model, images, target=None, layer: str | None = None,
                   batch_size: int | None = None) -> np.ndarray:
    """Guided Grad-CAM: guided backpropagation times the (upsampled) Grad-CAM
    map, high-resolution and class-discriminative (Selvaraju et al. 2017).

    Returns:
        float32 (N, H, W), normalised per image to [0, 1].
    """
    from .saliency import guided_backprop
    course, x, t = resolve(model, images, target)
    heat = gradcam(course, x, t, layer=layer, batch_size=batch_size)
    guided = guided_backprop(course, x, t, batch_size=batch_size)
    return normalize_map(guided * heat)
