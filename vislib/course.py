"""The shared first cell of every lesson: :func:`setup`."""

from __future__ import annotations

import os
import warnings

from ._config import FAST_ENV, fast

_DONE = False


def quiet() -> None:
    """Silence TensorFlow's C++ logs, Keras' structure warnings and progress bars."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", message=".*structure of `inputs` doesn't match.*")
    warnings.filterwarnings("ignore", message=".*Skipping variable loading for optimizer.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import absl.logging
    absl.logging.set_verbosity(absl.logging.ERROR)
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")  # no retracing warnings when sliders change shapes
    import keras
    keras.utils.disable_interactive_logging()  # no Keras bars from tf-keras-vis' predict()


def setup(model: str | None = None, seed: int = 0, weights: str | None = "imagenet"):
    """Prepare a lesson: quiet logs, seeds, plotting defaults, the model profile.

    Args:
        model: Profile name; default ``$VISLIB_MODEL``, else ``vgg16`` (falling
            back to the offline ``fashion_cnn`` when ImageNet weights cannot be had).
        seed: Seed for Python, NumPy and TensorFlow.
        weights: Passed to :func:`vislib.load_model`. ``VISLIB_WEIGHTS=none``
            in the environment forces random weights (the architecture only:
            how CI and the benchmarks run ImageNet profiles offline).

    Returns:
        The :class:`vislib.CourseModel` of the active profile.
    """
    quiet()
    if os.environ.get("VISLIB_WEIGHTS", "").strip().lower() in ("none", "random"):
        weights = None
    import keras
    import matplotlib as mpl
    keras.utils.set_random_seed(seed)
    mpl.rcParams.update({"figure.dpi": 100, "figure.figsize": (8, 4), "axes.titlesize": 10,
                         "image.interpolation": "nearest", "axes.spines.top": False,
                         "axes.spines.right": False,
                         # a fixed title height: the automatic one measures every tick label of
                         # the Axes on each draw, 20 ms per titled Axes (a third of a widget redraw)
                         "axes.titley": 1.0})
    from .profiles import load_model
    course = load_model(model, weights=weights)
    print(course.summary_line())
    if fast():
        print(f"{FAST_ENV}=1: loops run on the short CI budget")
    return course
