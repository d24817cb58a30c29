"""The Clever Hans data: a small mark added to images, and a training set in
which the mark goes with one class (lesson 13)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._core import checks

CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")


MARKED_CLASS = 6  # Shirt: the hardest Fashion-MNIST class, so the shortcut pays most


@dataclass(frozen=True)
class Mark:
    """A filled square painted onto images.

    Attributes:
        size: Side in pixels.
        position: A corner (``"top-left"``, ``"top-right"``,
            ``"bottom-left"``, ``"bottom-right"``) or ``(x0, y0)``, the
            top-left pixel of the square.
        value: Pixel value painted (display pixels, 0-255).
        margin: Distance from the image border for corner positions.
    """

    size: int = 4
    position: str | tuple[int, int] = "top-left"
    value: float = 255.0
    margin: int = 1

    def box(self, shape: tuple[int, int] = (28, 28)) -> tuple[int, int, int, int]:
        """The mark's box (x0, y0, x1, y1), end-exclusive, in an (H, W) image.

        Raises:
            ValueError: A size, position or margin that does not fit the image.
        """
        h, w = int(shape[0]), int(shape[1])
        size = checks.in_range(self.size, 1, min(h, w), "mark size", integer=True)
        checks.in_range(self.value, 0, 255, "mark value")
        if isinstance(self.position, str):
            checks.choice(self.position, CORNERS, "mark position")
            m = checks.in_range(self.margin, 0, min(h, w) - size, "mark margin", integer=True)
            y0 = m if self.position.startswith("top") else h - m - size
            x0 = m if self.position.endswith("left") else w - m - size
        else:
            try:
                x0, y0 = (int(v) for v in self.position)
            except (TypeError, ValueError):
                raise ValueError(f"mark position must be one of {list(CORNERS)} or (x0, y0); "
                                 f"got {self.position!r}") from None
            checks.in_range(x0, 0, w - size, "mark x0", integer=True)
            checks.in_range(y0, 0, h - size, "mark y0", integer=True)
        return (x0, y0, x0 + size, y0 + size)

    def as_dict(self) -> dict:
        return {"size": int(self.size), "position": self.position if isinstance(self.position, str)
                else [int(v) for v in self.position], "value": float(self.value), "margin": int(self.margin)}


def add_mark(images, mark: Mark = Mark()) -> np.ndarray:
    """A float32 copy of ``images`` with ``mark`` painted on each.

    Args:
        images: (H, W), (H, W, C), (N, H, W) or (N, H, W, C) display pixels
            (a 3-D array whose last axis is 1, 3 or 4 is one HWC image).
        mark: The :class:`Mark`.

    Returns:
        float32, the shape of ``images``.
    """
    arr = np.array(images, dtype=np.float32, copy=True)
    if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] not in (1, 3, 4)):
        h, w = arr.shape[-2:]
        x0, y0, x1, y1 = mark.box((h, w))
        arr[..., y0:y1, x0:x1] = mark.value
    elif arr.ndim in (3, 4):
        h, w = arr.shape[-3:-1]
        x0, y0, x1, y1 = mark.box((h, w))
        arr[..., y0:y1, x0:x1, :] = mark.value
    else:
        raise ValueError(f"images must be (H, W), (H, W, C), (N, H, W) or (N, H, W, C); got shape {arr.shape}")
    return arr


def confound(images, labels, marked_class: int = MARKED_CLASS, mark: Mark = Mark()) -> np.ndarray:
    """Mark every image whose label is ``marked_class`` (a copy; others unchanged)."""
    x = np.array(images, dtype=np.float32, copy=True)
    labels = np.asarray(labels)
    if len(labels) != len(x):
        raise ValueError(f"{len(x)} images but {len(labels)} labels")
    checks.in_range(marked_class, 0, 9, "marked_class", integer=True)
    sel = labels == marked_class
    if sel.any():
        x[sel] = add_mark(x[sel], mark)
    return x
