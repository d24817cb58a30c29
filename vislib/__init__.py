"""vislib: the small Keras helper package behind the CNN visualization course.

Every explanation method has one call shape::

    method(model, images, target=None, **options) -> np.ndarray (N, H, W) float32

where ``model`` is a :class:`CourseModel` (from :func:`load_model`) or a bare
``keras.Model``, ``images`` is one image (H, W, C) or a batch (N, H, W, C) in
the CourseModel's display pixels, and ``target`` is a class index, one per image,
or None for each image's top-1 class.

Names are imported lazily, so ``import vislib`` is quick and a lesson pays
only for what it uses.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it, grouped as the course teaches
_EXPORTS = {
    # models and data (lesson 00)
    "load_model": "models.profiles", "PROFILES": "models.profiles", "weights_cached": "models.profiles",
    "CourseModel": "_core.course_model", "as_course": "_core.course_model",
    "setup": "teaching.setup", "budget": "_core.config", "fast": "_core.config",
    "load_image": "data.images", "sample_images": "data.samples", "examples": "data.samples",
    "example_boxes": "data.samples", "object_boxes": "data.samples",
    "fashion_mnist": "data.datasets", "flowers": "data.datasets",
    "check": "teaching.exercises", "claim": "teaching.exercises",
    "logits_function": "_core.graph", "spatial_layer_names": "_core.graph", "conv_layer_names": "_core.graph",
    "normalize_map": "_core.maps", "resize_maps": "_core.maps",
    # figures and widgets
    "explorer": "plotting.widgets", "draw_regions": "plotting.widgets", "overlay": "plotting.images", "show_images": "plotting.images",
    "plot_topk": "plotting.images", "plot_predictions": "plotting.images", "draw_boxes": "plotting.images",
    "tile": "plotting.images", "plot_tiles": "plotting.images", "plot_attributions": "plotting.images",
    "clip_outliers": "plotting.images", "label_zero_map": "plotting.images",
    "plot_filters": "plotting.features", "save_gif": "plotting.features", "plot_activations": "plotting.features",
    "plot_embedding": "plotting.features", "plot_patches": "plotting.features", "plot_frames": "plotting.features",
    "plot_run": "plotting.features", "plot_sanity": "plotting.evaluation", "plot_metrics": "plotting.evaluation",
    "plot_histories": "plotting.evaluation",
    # what the network has learned (lessons 01-04, 11)
    "filters": "representation.filters", "FilterSnapshots": "representation.filters",
    "activations": "representation.activations", "features": "representation.activations",
    "embed": "representation.embedding", "nearest_neighbors": "representation.embedding", "knn_accuracy": "representation.embedding",
    "receptive_field": "representation.receptive_field",
    "max_activating_patches": "representation.patches",
    "activation_maximization": "representation.actmax", "class_model": "representation.actmax",
    "random_views": "representation.optimize", "invert": "representation.inversion",
    "tcav": "representation.tcav", "concept_activation_vector": "representation.tcav",
    "concept_images": "data.concepts",
    # where the network looks (lessons 05-08)
    "occlusion": "attribution.occlusion", "occlusion_grid": "attribution.occlusion",
    "upsample_grid": "attribution.occlusion", "saliency": "attribution.saliency",
    "guided_backprop": "attribution.saliency", "smoothgrad": "attribution.smoothgrad",
    "cam": "attribution.cam", "gradcam": "attribution.cam", "guided_gradcam": "attribution.cam",
    "gradcam_plus_plus": "attribution.cam", "scorecam": "attribution.cam",
    # propagation methods and their axioms (lesson 14)
    "deconvnet": "attribution.saliency", "integrated_gradients": "attribution.integrated_gradients",
    "lrp": "attribution.lrp", "lrp_rules": "attribution.lrp",
    "scorecam_channels": "attribution.cam", "SCORECAM_AUTO_MAPS": "attribution.cam",
    # fooling the network (lesson 09)
    "fgsm": "adversarial.attacks", "iterative_fgsm": "adversarial.attacks", "attack_success": "adversarial.attacks",
    "transfer_table": "adversarial.attacks", "perlin_noise": "adversarial.noise", "uniform_noise": "adversarial.noise",
    "gaussian_noise": "adversarial.noise", "universal_perturbation": "adversarial.noise",
}
# modules lessons use by name: vislib.metrics.deletion(...), vislib.transfer.compare(...)
_MODULES = {"metrics": "evaluation.metrics", "cleverhans": "evaluation.cleverhans", "human": "evaluation.human",
            "transfer": "models.transfer",
            "profiles": "models.profiles"}


def __getattr__(name: str):
    if name in _MODULES:
        value = importlib.import_module(f".{_MODULES[name]}", __name__)
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    else:
        raise AttributeError(f"module 'vislib' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS) + list(_MODULES))


__all__ = sorted(list(_EXPORTS) + list(_MODULES))
