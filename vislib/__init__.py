"""vislib: the small Keras helper package behind the CNN visualization course.

Every explanation method has one call shape::

    method(model, images, target=None, **options) -> np.ndarray (N, H, W) float32

where ``model`` is a :class:`CourseModel` (from :func:`load_model`) or a bare
``keras.Model``, ``images`` is one image (H, W, C) or a batch (N, H, W, C) in
the profile's display pixels, and ``target`` is a class index, one per image,
or None for each image's top-1 class.

Names are imported lazily, so ``import vislib`` is quick and a lesson pays
only for what it uses.
"""

from __future__ import annotations

import importlib
import sys
import types

__version__ = "0.1.0"

# public name -> module that defines it (one idea per module)
_EXPORTS = {
    # foundation
    "load_model": "profiles", "CourseModel": "profiles", "as_course": "profiles", "PROFILES": "profiles",
    "setup": "course", "budget": "_config", "fast": "_config",
    "load_image": "data", "sample_images": "data", "fashion_mnist": "data", "flowers": "data",
    "examples": "data", "example_boxes": "data", "object_boxes": "data",
    "explorer": "widgets", "check": "exercises", "claim": "exercises",
    "overlay": "plotting", "show_images": "plotting", "plot_topk": "plotting",
    "plot_predictions": "plotting", "normalize_map": "plotting", "draw_boxes": "plotting",
    "tile": "plotting", "plot_tiles": "plotting",
    # what the network has learned (lessons 01-04, 11)
    "filters": "filters", "plot_filters": "filters", "FilterSnapshots": "filters", "save_gif": "filters",
    "activations": "activations", "features": "activations", "plot_activations": "activations",
    "embed": "embedding", "plot_embedding": "embedding", "nearest_neighbors": "embedding",
    "knn_accuracy": "embedding",
    "receptive_field": "receptive_field",
    "max_activating_patches": "patches", "plot_patches": "patches",
    "activation_maximization": "actmax", "class_model": "actmax", "plot_frames": "actmax", "plot_run": "actmax",
    # where the network looks (lessons 05-08)
    "occlusion": "occlusion", "saliency": "saliency", "guided_backprop": "saliency",
    "smoothgrad": "smoothgrad", "cam": "cam", "gradcam": "cam", "guided_gradcam": "cam",
    "gradcam_plus_plus": "cam", "scorecam": "cam", "scorecam_channels": "cam", "SCORECAM_AUTO_MAPS": "cam",
    "plot_attributions": "plotting",
    # fooling the network (lessons 09-10)
    "fgsm": "adversarial", "iterative_fgsm": "adversarial", "attack_success": "adversarial",
    "transfer_table": "adversarial", "perlin_noise": "noise", "uniform_noise": "noise",
    "gaussian_noise": "noise", "universal_perturbation": "noise",
    # judging explanations (lessons 12-13)
    "metrics": None, "transfer": None, "data": None, "cleverhans": None,
}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'vislib' has no attribute {name!r}")
    module = _EXPORTS[name]
    if module is None:
        return importlib.import_module(f".{name}", __name__)
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """Keeps ``vislib.cam`` the function when the module ``vislib/cam.py`` is
    imported: Python's import system would otherwise set the package
    attribute to the submodule, shadowing the function of the same name."""

    def __setattr__(self, name, value):
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == name and hasattr(value, name):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))


__all__ = sorted(k for k in _EXPORTS)
