"""Where people look, measured in class, and compared with where the network looks.

The first source paper's experiment, as a classroom exercise: every student
draws the region(s) they used to recognise each photo (the drawing widget is
:func:`vislib.plotting.widgets.draw_regions`), the answers are saved as one
small JSON file per student, and a lecturer aggregates a folder of them into
a *human attention map* per photo: on a 20 x 20 grid, the share of students
whose regions cover each cell (the grid the paper used for its human
regions). The maps are then compared with an explanation method's maps by
the pointing game, the intersection over union of the thresholded maps and
the rank correlation of the cells.

Zeiler & Fergus (ECCV 2014) compared occlusion maps with object locations;
the human-attention comparison follows Das, Agrawal, Zitnick, Parikh, Batra.
*Human Attention in Visual Question Answering: Do Humans and Deep Networks
Look at the Same Regions?* EMNLP 2016 (human regions vs. model attention by
rank correlation), and the pointing game of Zhang et al. (ECCV 2016).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .._core import checks

#: cells per side of the grid the answers are counted on
GRID = 20
#: the file format written by :func:`save_answer` (checked when reading)
FORMAT = "vislib-human-attention/1"


@dataclass(frozen=True)
class Answer:
    """One student's regions: ``regions[name]`` is a list of (x0, y0, x1, y1)
    boxes in pixels of an image of ``size`` (height, width), end-exclusive."""

    student: str
    size: tuple[int, int]
    regions: dict


def _boxes(boxes, size: tuple[int, int], where: str) -> list[tuple[float, float, float, float]]:
    out = []
    h, w = size
    for b in boxes:
        if len(b) != 4 or not all(isinstance(v, (int, float, np.integer, np.floating)) for v in b):
            raise ValueError(f"{where}: a box must be 4 numbers (x0, y0, x1, y1); got {b!r}")
        x0, y0, x1, y1 = (float(v) for v in b)
        if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
            raise ValueError(f"{where}: box {b!r} is not inside the {w}x{h} image with x0 < x1 and y0 < y1")
        out.append((x0, y0, x1, y1))
    return out


def save_answer(folder, student: str, regions: Mapping[str, Sequence], size: tuple[int, int]) -> Path:
    """Write one student's regions to ``folder/<student>.json`` (created).

    Args:
        folder: Where the class's answers are collected.
        student: A name or pseudonym (letters, digits, ``-``, ``_``, ``.``).
        regions: Image name -> list of (x0, y0, x1, y1) boxes in pixels.
        size: (height, width) of the images the boxes were drawn on.

    Raises:
        ValueError: A bad name, size or box (the message says which).
    """
    if not isinstance(student, str) or not re.fullmatch(r"[\w.-]{1,64}", student):
        raise ValueError(f"student must be 1-64 letters, digits, '-', '_' or '.'; got {student!r}")
    size = checks.pair(size, "size", 1, 8192)
    clean = {str(name): [list(b) for b in _boxes(boxes, size, f"{student}/{name}")]
             for name, boxes in regions.items()}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{student}.json"
    path.write_text(json.dumps({"format": FORMAT, "student": student, "size": list(size), "regions": clean},
                               indent=1))
    return path


def load_answers(folder) -> list[Answer]:
    """Every ``*.json`` answer in ``folder``, sorted by student.

    Raises:
        ValueError: No answers, or a file that is not an answer (named, with why).
    """
    folder = Path(folder)
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        raise ValueError(f"no answers (*.json) in {str(folder)!r}; students save them with "
                         "vislib.draw_regions(..., folder=...)")
    out = []
    for f in files:
        try:
            d = json.loads(f.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{f.name} is not a JSON answer file: {err}") from None
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ValueError(f"{f.name} is not a vislib human-attention answer (format {FORMAT!r})")
        size = checks.pair(d.get("size"), f"{f.name}: size", 1, 8192)
        regions = {name: _boxes(b, size, f"{f.name}/{name}") for name, b in dict(d.get("regions", {})).items()}
        out.append(Answer(str(d.get("student", f.stem)), size, regions))
    return sorted(out, key=lambda a: a.student)


def cell_cover(boxes, size: tuple[int, int], grid: int = GRID) -> np.ndarray:
    """(grid, grid) bool: the cells whose centre lies inside any of ``boxes``."""
    h, w = size
    cy = (np.arange(grid) + 0.5) * h / grid
    cx = (np.arange(grid) + 0.5) * w / grid
    out = np.zeros((grid, grid), bool)
    for x0, y0, x1, y1 in boxes:
        out |= ((cy >= y0) & (cy < y1))[:, None] & ((cx >= x0) & (cx < x1))[None, :]
    return out


def human_attention(answers: Sequence[Answer], names: Sequence[str], size: tuple[int, int] | None = None,
                    grid: int = GRID) -> np.ndarray:
    """The share of students whose regions cover each cell, per image.

    Args:
        answers: From :func:`load_answers`.
        names: The images, in the order of the method maps to compare with.
        size: (height, width) of the returned maps (default: the answers' size).
        grid: Cells per side (the paper's 20).

    Returns:
        float32 (N, H, W) in [0, 1], constant over each cell. A student who
        drew nothing on an image counts as covering nothing.

    Raises:
        ValueError: No answers, answers drawn on images of different sizes,
            or an image no student answered.
    """
    if not answers:
        raise ValueError("no answers to aggregate")
    sizes = {a.size for a in answers}
    if len(sizes) != 1:
        raise ValueError(f"answers were drawn on images of different sizes {sorted(sizes)}; aggregate them apart")
    (drawn,) = sizes
    size = checks.pair(size if size is not None else drawn, "size", 1, 8192)
    grid = checks.count(grid, "grid", high=min(drawn))
    missing = [n for n in names if not any(n in a.regions for a in answers)]
    if missing:
        raise ValueError(f"no student answered {missing}; answered: {sorted({n for a in answers for n in a.regions})}")
    maps = []
    for n in names:
        share = np.mean([cell_cover(a.regions.get(n, []), drawn, grid) for a in answers], axis=0)
        rows = np.minimum((np.arange(size[0]) * grid) // size[0], grid - 1)
        cols = np.minimum((np.arange(size[1]) * grid) // size[1], grid - 1)
        maps.append(share[rows][:, cols])
    return np.stack(maps).astype(np.float32)


def _cells(maps: np.ndarray, grid: int) -> np.ndarray:
    """(N, H, W) -> (N, grid, grid) cell means (H and W multiples of grid or not)."""
    n, h, w = maps.shape
    ry = np.minimum((np.arange(h) * grid) // h, grid - 1)
    rx = np.minimum((np.arange(w) * grid) // w, grid - 1)
    out = np.zeros((n, grid, grid))
    np.add.at(out, (slice(None), ry[:, None], rx[None, :]), maps)
    count = np.zeros((grid, grid))
    np.add.at(count, (ry[:, None], rx[None, :]), 1)
    return out / count


def compare(human: np.ndarray, maps: np.ndarray, agree: float = 0.5, top: float = 0.2,
            grid: int = GRID) -> dict[str, np.ndarray]:
    """How well a method's maps match the human attention maps, per image.

    Args:
        human: (N, H, W) from :func:`human_attention`.
        maps: (N, H, W) of an explanation method for the same images.
        agree: A cell is *human-attended* when at least this share of the
            students covered it.
        top: The method's thresholded map keeps this share of the cells with
            the highest mean value.
        grid: Cells per side.

    Returns:
        ``{"pointing": hit (1/0), "iou": IoU of the method's top cells with the
        human-attended cells, "spearman": rank correlation over the cells}``,
        each float32 (N,). Spearman is NaN where either map is constant.

    Raises:
        ValueError: Shapes differ or options out of range.
    """
    from scipy.stats import spearmanr
    human, maps = np.asarray(human, np.float64), np.asarray(maps, np.float64)
    if human.ndim != 3 or human.shape != maps.shape:
        raise ValueError(f"human and maps must both be (N, H, W) of one shape; got {human.shape} and {maps.shape}")
    checks.in_range(agree, 0.0, 1.0, "agree")
    checks.in_range(top, 0.0, 1.0, "top")
    grid = checks.count(grid, "grid", high=min(human.shape[1:]))
    hc, mc = _cells(human, grid), _cells(maps, grid)
    out = {"pointing": [], "iou": [], "spearman": []}
    k = max(1, int(round(top * grid * grid)))
    for h, m in zip(hc, mc):
        attended = h >= agree - 1e-9
        peak = np.unravel_index(np.argmax(m), m.shape)
        out["pointing"].append(float(attended[peak]))
        chosen = np.zeros(m.size, bool)
        chosen[np.argsort(-m.ravel(), kind="stable")[:k]] = True
        chosen = chosen.reshape(m.shape)
        union = (chosen | attended).sum()
        out["iou"].append(float((chosen & attended).sum() / union) if union else 0.0)
        const = np.ptp(h) == 0 or np.ptp(m) == 0
        out["spearman"].append(np.nan if const else float(spearmanr(h.ravel(), m.ravel())[0]))
    return {key: np.asarray(v, np.float32) for key, v in out.items()}


__all__ = ["Answer", "GRID", "save_answer", "load_answers", "cell_cover", "human_attention", "compare"]
