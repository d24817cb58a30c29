"""Thin ipywidgets explorers whose callbacks stay testable.

:func:`explorer` wraps ``ipywidgets.interactive`` and records the callback
with its controls in :data:`EXPLORERS`, so tests and ``benchmarks/course.py``
can call the function behind every slider directly (nbval never moves one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

EXPLORERS: list["Explorer"] = []


@dataclass
class Explorer:
    """A registered widget callback and its controls."""

    fn: Callable
    controls: dict
    heavy: tuple[str, ...] = ()
    name: str = ""
    choices: dict = field(default_factory=dict)


def _choices(widget) -> list:
    import ipywidgets as w
    if hasattr(widget, "options") and widget.options:
        opts = list(widget.options)
        return [o[1] if isinstance(o, tuple) else o for o in opts]
    if isinstance(widget, (w.IntSlider, w.FloatSlider, w.FloatLogSlider)):
        lo, hi = widget.min, widget.max
        vals = [lo, (lo + hi) / 2, hi]
        return [int(round(v)) for v in vals] if isinstance(widget, w.IntSlider) else vals
    if isinstance(widget, w.Checkbox):
        return [False, True]
    return [widget.value]


def explorer(fn: Callable, heavy: tuple[str, ...] | list[str] = (), **controls):
    """Build an interactive explorer for ``fn`` and register it.

    Args:
        fn: Pure callback: compute with one vislib call, draw one figure.
        heavy: Names of controls whose change needs a new forward pass
            (get ``continuous_update=False``); all others must be served from
            cached results.
        **controls: ipywidgets controls (or anything ``interactive`` accepts).

    Returns:
        The ``ipywidgets.interactive`` widget (display it as the cell's value).
    """
    import ipywidgets as w
    for name in heavy:
        if name not in controls:
            raise ValueError(f"heavy control {name!r} is not one of {list(controls)}")
        if hasattr(controls[name], "continuous_update"):
            controls[name].continuous_update = False
    widget = w.interactive(fn, **controls)
    EXPLORERS.append(Explorer(fn=fn, controls=controls, heavy=tuple(heavy), name=fn.__name__,
                              choices={k: _choices(v) if isinstance(v, w.ValueWidget) else [v]
                                       for k, v in controls.items()}))
    return widget


def defaults(ex: Explorer) -> dict:
    """The current value of each control of ``ex``."""
    return {k: getattr(v, "value", v) for k, v in ex.controls.items()}
