"""Lesson sources: ``lessons/src/NN_topic.py`` (jupytext percent format) is the
lesson; ``lessons/NN_topic.ipynb`` is what students open, generated from it.

The two are paired by ``lessons/jupytext.toml``: JupyterLab with jupytext writes
both files on every save. Without jupytext, edit the source and run ``sync``::

    python -m tools.lessons check          # every notebook equals its source and is clean
    python -m tools.lessons sync [05 ...]  # rewrite notebooks from sources: no outputs, stable ids
    python -m tools.lessons import 05      # rewrite a source from a notebook edited without jupytext

A notebook "equals" its source when both have the same cells: same types, same
text. Outputs are not compared here; ``check`` and ``tests/test_notebooks_clean.py``
refuse them.

Slides: ``sync`` writes RISE / reveal.js slide metadata into every cell, derived from the
cell text by :func:`slide_types` (the sources keep no cell metadata), so the notebooks
present as they are (``jupyterlab-rise``) and ``make slides`` exports static decks.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "lessons"
SOURCES = LESSONS / "src"
CONFIG = LESSONS / "jupytext.toml"
FORMAT = "py:percent"
PATTERN = "[0-9][0-9]_*"

#: The first code cell of every lesson (CONTRIBUTING.md, "Lessons").
SETUP = '''# Setup: the same first cell in every lesson (profile, seeds, quiet logs; installs the course on Colab)
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if "google.colab" in sys.modules and not os.path.isdir("/content/cnn-vis-course"):
    !git clone -q --depth 1 https://github.com/cnn-vis-course/cnn-vis-course /content/cnn-vis-course
    %pip install -q -e /content/cnn-vis-course
    sys.path.insert(0, "/content/cnn-vis-course")
import numpy as np
import matplotlib.pyplot as plt
import ipywidgets as widgets
import vislib

cm = vislib.setup()  # the active model profile: VISLIB_MODEL, else vgg16 (offline: efficientnet_lite0)'''

#: notebook metadata of every generated notebook
METADATA = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"}}


def lesson_names() -> list[str]:
    """Stems of every lesson that has a notebook or a source (``05_occlusion``, ...)."""
    stems = {p.stem for p in LESSONS.glob(PATTERN + ".ipynb")} | {p.stem for p in SOURCES.glob(PATTERN + ".py")}
    return sorted(stems)


def notebook_path(name: str) -> Path:
    return LESSONS / f"{name}.ipynb"


def source_path(name: str) -> Path:
    return SOURCES / f"{name}.py"


def select(args: list[str] | None = None) -> list[str]:
    """Lesson stems for ``args`` (``05``, ``05_occlusion``, a path); all lessons when empty.

    Raises:
        ValueError: an argument names no lesson (the message lists the valid ones).
    """
    names = lesson_names()
    if not args:
        return names
    chosen = []
    for arg in args:
        stem = Path(arg).stem
        hits = [n for n in names if n == stem or n.split("_", 1)[0] == stem]
        if len(hits) != 1:
            raise ValueError(f"no lesson {arg!r}; valid: {', '.join(names)} (or their numbers)")
        chosen.append(hits[0])
    return chosen


def _config():
    from jupytext.config import load_jupytext_configuration_file
    return load_jupytext_configuration_file(str(CONFIG))


def read_source(name: str) -> nbformat.NotebookNode:
    """The lesson's source parsed into a notebook (cells only)."""
    import jupytext
    return jupytext.read(source_path(name), fmt=FORMAT, config=_config())


def cells(nb) -> list[tuple[str, str]]:
    """``(cell_type, source)`` of every cell: what a notebook and its source must share."""
    return [(c["cell_type"], "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
            for c in nb["cells"]]


def slide_types(cell_list: list[tuple[str, str]]) -> list[str]:
    """The reveal.js slide type of every cell, from the cells' text alone (deterministic):

    - a markdown cell whose first line is a ``# `` or ``## `` heading opens a slide, one with
      ``### `` a subslide (vertical, below the section's slide);
    - the shared setup cell (:data:`SETUP`) is ``skip``: not on a slide (run all cells
      before presenting);
    - a code cell directly after a markdown cell stays on that slide (``-``): the text and
      the code it introduces are seen together;
    - every other cell (a code cell after code, text after code) opens a subslide, so one
      slide rarely holds more than one output.
    """
    types, previous = [], None
    for kind, text in cell_list:
        first = text.lstrip("\n").split("\n", 1)[0]
        if kind == "markdown" and first.startswith(("# ", "## ")):
            slide = "slide"
        elif kind == "markdown" and first.startswith("### "):
            slide = "subslide"
        elif kind == "code" and text == SETUP:
            types.append("skip")
            continue                                  # a skipped cell is not "previous"
        elif kind == "code" and previous == "markdown":
            slide = "-"
        else:
            slide = "subslide"
        types.append(slide)
        previous = kind
    return types


def clean_notebook(cell_list: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A notebook of ``cell_list`` without outputs. A cell's id hashes its type and text (and
    how many equal cells came before it), so an edit changes the id of the edited cell only:
    inserting or moving a cell leaves the others' ids alone. Each cell's metadata is its slide
    type (:func:`slide_types`) and nothing else."""
    nb = nbformat.v4.new_notebook()
    make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell,
            "raw": nbformat.v4.new_raw_cell}
    seen: dict[tuple[str, str], int] = {}
    for (kind, text), slide in zip(cell_list, slide_types(cell_list)):
        repeat = seen[kind, text] = seen.get((kind, text), -1) + 1
        cell = make[kind](text)
        cell["metadata"] = {"slideshow": {"slide_type": slide}}
        cell["id"] = hashlib.sha1(f"{kind}:{text}".encode() + (f":{repeat}".encode() if repeat else b"")).hexdigest()[:8]
        nb.cells.append(cell)
    nb.metadata = {k: dict(v) for k, v in METADATA.items()}
    nbformat.validate(nb)
    return nb


def render(nb) -> str:
    """The committed text of a notebook."""
    return nbformat.writes(nb) + "\n"


def differences(name: str) -> list[str]:
    """Why the notebook of lesson ``name`` and its source disagree (empty: they agree)."""
    nb_path, src_path = notebook_path(name), source_path(name)
    missing = [str(p.relative_to(ROOT)) for p in (nb_path, src_path) if not p.exists()]
    if missing:
        return [f"{name}: {' and '.join(missing)} missing"]
    a = cells(read_source(name))
    b = cells(nbformat.read(nb_path, as_version=4))
    problems = []
    if len(a) != len(b):
        problems.append(f"{name}: source has {len(a)} cells, notebook {len(b)}")
    for i, ((ka, ta), (kb, tb)) in enumerate(zip(a, b)):
        if ka != kb:
            problems.append(f"{name}: cell {i} is {ka} in the source, {kb} in the notebook")
        elif ta != tb:
            la, lb = ta.splitlines(), tb.splitlines()
            j = next((j for j, (x, y) in enumerate(zip(la, lb)) if x != y), min(len(la), len(lb)))
            problems.append(f"{name}: cell {i} ({ka}) differs at line {j + 1}: "
                            f"source {la[j] if j < len(la) else '<end>'!r}, "
                            f"notebook {lb[j] if j < len(lb) else '<end>'!r}")
        if len(problems) >= 3:
            break
    if not problems and source_path(name).read_text() != source_text(nbformat.read(nb_path, as_version=4)):
        # same cells, other layout (e.g. blank lines between cells): JupyterLab's jupytext then refuses
        # to open the pair ("File Load Error": the notebook is newer and differs from its source)
        problems.append(f"{name}: source is not in jupytext's layout (run: python -m tools.lessons import {name})")
    return problems


def dirty_cells(nb) -> list[int]:
    """Indices of code cells that carry outputs or an execution count."""
    return [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
            and (c.get("outputs") or c.get("execution_count") is not None)]


def sync(names: list[str]) -> list[str]:
    """Rewrite the notebooks of ``names`` from their sources; returns the ones that changed."""
    changed = []
    for name in names:
        text = render(clean_notebook(cells(read_source(name))))
        path = notebook_path(name)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(name)
    return changed


def source_text(nb) -> str:
    """The percent-format source of a notebook (what JupyterLab's jupytext writes)."""
    import jupytext
    return jupytext.writes(clean_notebook(cells(nb)), fmt=FORMAT, config=_config())


def import_notebooks(names: list[str]) -> list[str]:
    """Rewrite the sources of ``names`` from their notebooks; returns the ones that changed."""
    changed = []
    for name in names:
        text = source_text(nbformat.read(notebook_path(name), as_version=4))
        path = source_path(name)
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(name)
    return changed


def check(names: list[str]) -> list[str]:
    """Every problem of ``names``: notebook and source disagree, outputs, wrong setup cell,
    or a notebook that is not exactly what ``sync`` writes (metadata, cell ids)."""
    problems = []
    for name in names:
        differ = differences(name)
        problems += differ
        if not notebook_path(name).exists():
            continue
        nb = nbformat.read(notebook_path(name), as_version=4)
        dirty = dirty_cells(nb)
        if dirty:
            problems.append(f"{name}: cells {dirty} carry outputs (run: python -m tools.lessons sync {name})")
        code = [t for k, t in cells(nb) if k == "code"]
        if not code or code[0] != SETUP:
            problems.append(f"{name}: the first code cell is not tools.lessons.SETUP")
        if not dirty and not differ and notebook_path(name).read_text() != render(clean_notebook(cells(nb))):
            problems.append(f"{name}: metadata or cell ids differ from what sync writes "
                            f"(run: python -m tools.lessons sync {name})")
    return problems
