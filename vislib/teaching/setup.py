"""The shared first cell of every lesson: :func:`setup`."""

from __future__ import annotations

import contextlib
import os
import warnings

from .._core.config import FAST_ENV, CourseNote, fast


@contextlib.contextmanager
def _native_stderr_silenced():
    """File descriptor 2 sent to /dev/null while the block runs.

    TensorFlow's C++ start-up lines ("All log messages before
    absl::InitializeLog() is called are written to STDERR", the oneDNN and CPU
    feature notes) are written by absl before ``TF_CPP_MIN_LOG_LEVEL`` is read,
    straight to the process's stderr, which Jupyter shows as a red box in the
    first cell of every lesson. Python's own ``sys.stderr`` is not touched.
    """
    try:
        saved = os.dup(2)
    except OSError:          # no file descriptor 2 (some embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


# the lesson's first cell imports TensorFlow here (through the profiles): without its start-up lines
with _native_stderr_silenced():
    from ..models import profiles

_DONE = False


def quiet() -> None:
    """Silence TensorFlow's C++ logs and Keras' structure warnings.

    Keras' interactive logging stays on: turning it off empties ``model.summary()``
    (lesson 00 shows one), and vislib calls no Keras ``predict``/``fit`` with a
    progress bar (its training runs use ``verbose=0`` and a tqdm bar).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", message=".*structure of `inputs` doesn't match.*")
    warnings.filterwarnings("ignore", message=".*Skipping variable loading for optimizer.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import absl.logging
    absl.logging.set_verbosity(absl.logging.ERROR)
    with _native_stderr_silenced():
        import tensorflow as tf
    tf.get_logger().setLevel("ERROR")  # no retracing warnings when sliders change shapes


def notes_as_output() -> None:
    """Show :class:`~vislib._core.config.CourseNote` warnings as a ``note:`` line
    on stdout: in Jupyter a warning is a red stderr box, which reads as an error,
    while these are results (an empty Grad-CAM map is the method's answer).
    Other warnings are shown as before. Installed once, by :func:`setup`."""
    previous = warnings.showwarning
    if getattr(previous, "_vislib_notes", False):
        return

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, CourseNote):
            print(f"note: {message}")
            return
        previous(message, category, filename, lineno, file, line)
    show._vislib_notes = True
    warnings.showwarning = show


def return_freed_memory() -> bool:
    """Have glibc give large freed blocks back to the system at once.

    By default glibc raises its mmap threshold as large blocks are freed, so
    the big tensors of later passes come from the heap, and the heap keeps
    what they free (with up to 8 arenas per core, one per busy thread), so on a
    heavy network hundreds of MB of freed tensors stay resident. A fixed 1 MB
    threshold and two arenas lower the peak, at the price of zeroed fresh pages
    in every gradient pass: worth it for heavy models only, which is where
    :func:`setup` uses it. (Figures: ``benchmarks/ANALYSIS.md``.)

    Returns:
        Whether the setting took effect (False off glibc, e.g. on macOS).
    """
    import ctypes
    import ctypes.util
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    m_mmap_threshold, m_arena_max = -3, -8  # <malloc.h>
    return bool(mallopt(m_mmap_threshold, 1 << 20)) and bool(mallopt(m_arena_max, 2))


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
    notes_as_output()
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
    cm = profiles.load_model(model, weights=weights)
    if cm.heavy:  # VGG16: keep under Binder's 2 GB
        return_freed_memory()
    print(cm.summary_line())
    if fast():
        print(f"{FAST_ENV}=1: loops run on the short CI budget")
    return cm
