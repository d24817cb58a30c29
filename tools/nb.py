"""Build a lesson notebook from a Python list of cells (no outputs, clean).

Usage in a builder script::

    from tools.nb import build, md, code
    build("lessons/05_occlusion.ipynb", [md("# 05 · Occlusion ..."), code("..."), ...])

The shared setup cell (CONTRIBUTING.md) is inserted as the first code cell
automatically: do not add it yourself.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import nbformat

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


def md(text: str) -> nbformat.NotebookNode:
    """A markdown cell (leading/trailing blank lines stripped)."""
    return nbformat.v4.new_markdown_cell(text.strip("\n"))


def code(text: str) -> nbformat.NotebookNode:
    """A code cell without outputs."""
    return nbformat.v4.new_code_cell(text.strip("\n"))


def build(path: str | Path, cells: list) -> Path:
    """Write ``cells`` as a clean notebook, the setup cell after the first markdown cell."""
    cells = list(cells)
    first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
    if not (first_code < len(cells) and "vislib.setup(" in cells[first_code].source):
        insert_at = 1 if cells and cells[0].cell_type == "markdown" else 0
        cells.insert(insert_at, code(SETUP))
    nb = nbformat.v4.new_notebook()
    for i, cell in enumerate(cells):  # stable ids: a rebuild changes only the cells that changed
        cell["id"] = hashlib.sha1(f"{i}:{cell.cell_type}:{cell.source}".encode()).hexdigest()[:8]
    nb.cells = cells
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    nbformat.validate(nb)
    path = Path(path)
    path.write_text(nbformat.writes(nb) + "\n")
    return path


if __name__ == "__main__":
    print(__doc__)
    sys.exit(0)
