"""Lessons are committed clean and share one setup cell and one skeleton."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

LESSONS = sorted((Path(__file__).resolve().parent.parent / "lessons").glob("[0-9][0-9]_*.ipynb"))
SKELETON = ["What you will learn", "idea", "By hand", "With vislib", "Explore", "What to notice",
            "Exercises", "Summary", "References"]


def test_there_are_lessons():
    assert LESSONS, "no lessons found"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_has_no_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_starts_with_the_shared_setup_cell(path):
    from tools.lessons import SETUP
    nb = json.loads(path.read_text())
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "".join(first["source"]) == SETUP, f"{path.name}: the first code cell is not tools.lessons.SETUP"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_follows_the_skeleton(path):
    nb = json.loads(path.read_text())
    heads = [line for c in nb["cells"] if c["cell_type"] == "markdown"
             for line in "".join(c["source"]).splitlines() if line.startswith("#")]
    text = "\n".join(heads).lower()
    missing = [s for s in SKELETON if s.lower() not in text]
    assert not missing, f"{path.name}: headings missing {missing}"
    assert "vislib.explorer(" in path.read_text() or "explorer(" in path.read_text(), "no widget explorer"


def test_readme_links_every_lesson_and_only_existing_ones():
    import re
    root = LESSONS[0].parent.parent
    linked = set(re.findall(r"\(lessons/([0-9][0-9]_[\w.-]+\.ipynb)\)", (root / "README.md").read_text()))
    names = {p.name for p in LESSONS}
    assert not linked - names, f"README links missing lessons: {sorted(linked - names)}"
    assert not names - linked, f"README does not list: {sorted(names - linked)}"
