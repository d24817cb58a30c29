"""Course-wide settings read from the environment, in one place.

``VISLIB_MODEL`` chooses the model profile (see :func:`vislib.load_model`).
``VISLIB_FAST=1`` shrinks every long loop in the course (training epochs,
optimisation steps, sample counts) to a CI-sized budget; lessons and vislib
read it through :func:`budget` instead of writing ``if CI:`` themselves.
"""

from __future__ import annotations

import os
from pathlib import Path

MODEL_ENV = "VISLIB_MODEL"
FAST_ENV = "VISLIB_FAST"


def fast() -> bool:
    """Whether the course runs on the small CI budget (``VISLIB_FAST=1``)."""
    return os.environ.get(FAST_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def budget(normal: int, fast_value: int) -> int:
    """Pick a loop length: ``normal`` for students, ``fast_value`` under ``VISLIB_FAST=1``.

    Args:
        normal: Value used in ordinary runs.
        fast_value: Value used when the course runs on its CI budget.

    Returns:
        One of the two values.
    """
    return fast_value if fast() else normal


def keras_home() -> Path:
    """The Keras cache folder (``$KERAS_HOME``, default ``~/.keras``)."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()


def cache_dir() -> Path:
    """vislib's own cache inside the Keras cache (trained course models)."""
    path = keras_home() / "vislib"
    path.mkdir(parents=True, exist_ok=True)
    return path


def repo_data_dir() -> Path:
    """The course's ``data/`` folder (``$VISLIB_DATA`` overrides)."""
    env = os.environ.get("VISLIB_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "data"


class CourseNote(UserWarning):
    """A warning that is the method's answer, for the student to read, not an
    error (Grad-CAM's all-zero maps, a profile falling back offline). In a
    lesson, :func:`vislib.setup` shows it as a plain ``note:`` line in the
    cell's output instead of Jupyter's red stderr box; elsewhere it is an
    ordinary ``UserWarning``."""
