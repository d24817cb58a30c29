"""Thin ipywidgets explorers whose callbacks stay testable.

:func:`explorer` wraps ``ipywidgets.interactive`` and records the callback
with its controls in :data:`EXPLORERS`, so tests and ``benchmarks/course.py``
can call the function behind every slider directly (nbval never moves one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..evaluation.human import save_answer

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


class RegionDrawer:
    """The drawing task of the human-attention experiment: one photo at a time,
    the student drags boxes around what made them recognise it and presses
    Submit (or Skip); after the last photo the answer file is written.

    Built by :func:`draw_regions`. ``widget`` is what the cell displays;
    :meth:`submit` and :meth:`skip` are what the widget's buttons call (tests
    and lecturers can call them too); ``path`` is the saved file once done.
    """

    #: smallest side, in screen pixels, an image is shown at for drawing
    DRAW_SIZE = 224

    def __init__(self, images, names, student: str, folder, size):
        from jupyter_bbox_widget import BBoxWidget
        import ipywidgets as w
        self._save = save_answer
        self.images, self.names, self.student, self.folder, self.size = images, list(names), student, folder, size
        self.regions: dict[str, list] = {}
        self.index = 0
        self.path = None
        # small images (28x28 clothes) are shown enlarged, pixel for pixel, so a box can be drawn;
        # the boxes are saved in the image's own pixels
        self.scale = max(1, -(-self.DRAW_SIZE // min(size)))
        self.bbox = BBoxWidget(image=_data_url(images[0], self.scale), classes=["looked here"], hide_buttons=False)
        self.status = w.HTML()
        self.widget = w.VBox([self.status, self.bbox])
        self.bbox.on_submit(self.submit)
        self.bbox.on_skip(self.skip)
        self._show()

    def _show(self):
        if self.index < len(self.names):
            self.status.value = (f"<b>{self.student}</b>: photo {self.index + 1} of {len(self.names)} "
                                 f"(<i>{self.names[self.index]}</i>). Draw a box around every part you used to "
                                 "recognise it, then Submit.")
        else:
            self.status.value = f"Thank you, {self.student}: your answers are saved in <code>{self.path}</code>."

    def _next(self):
        self.index += 1
        if self.index < len(self.names):
            self.bbox.image = _data_url(self.images[self.index], self.scale)
            self.bbox.bboxes = []
        else:
            self.path = self._save(self.folder, self.student, self.regions, self.size)
        self._show()

    def submit(self, *_):
        """Keep the boxes drawn on the current photo and go to the next."""
        if self.index >= len(self.names):
            return
        s, (h, w) = self.scale, self.size
        self.regions[self.names[self.index]] = [
            [max(0.0, b["x"] / s), max(0.0, b["y"] / s), min(w, (b["x"] + b["width"]) / s),
             min(h, (b["y"] + b["height"]) / s)]
            for b in self.bbox.bboxes if b.get("width", 0) > 0 and b.get("height", 0) > 0]
        self._next()

    def skip(self, *_):
        """No answer for the current photo (it counts as no region drawn)."""
        if self.index < len(self.names):
            self.regions[self.names[self.index]] = []
            self._next()


def _data_url(image, scale: int = 1) -> str:
    import base64
    import io

    import numpy as np
    from PIL import Image
    arr = np.asarray(image)
    arr = np.clip(arr, 0, 255).astype("uint8")
    arr = arr[..., 0] if arr.ndim == 3 and arr.shape[-1] == 1 else arr
    if scale > 1:
        arr = np.repeat(np.repeat(arr, scale, axis=0), scale, axis=1)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def draw_regions(images, names, student: str, folder="answers") -> RegionDrawer:
    """The classroom human-attention experiment's drawing task.

    Args:
        images: The photos (N, H, W, C) display pixels 0-255, as the class sees them.
        names: One name per photo (the key of the answers).
        student: A name or pseudonym for the answer file.
        folder: Where answers are collected (the lecturer aggregates it with
            :func:`vislib.evaluation.human.load_answers`).

    Returns:
        A :class:`RegionDrawer`; display its ``.widget``.

    Raises:
        ValueError: Images and names of different lengths, or a bad student name.
    """
    import re

    import numpy as np
    images = np.asarray(images)
    if images.ndim not in (3, 4) or len(images) != len(names) or len(names) == 0:
        raise ValueError(f"need one name per image: {len(names)} names for images of shape {images.shape}")
    if not isinstance(student, str) or not re.fullmatch(r"[\w.-]{1,64}", student):
        raise ValueError(f"student must be 1-64 letters, digits, '-', '_' or '.'; got {student!r}")
    return RegionDrawer(images, names, student, folder, tuple(int(s) for s in images.shape[1:3]))
