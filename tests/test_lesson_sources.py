"""Every lesson notebook equals its jupytext source lessons/src/NN_topic.py
(cells, cell types, text), lesson 00 included; tools.lessons finds disagreements."""

from __future__ import annotations

import shutil

import nbformat
import pytest

from tools import lessons

NAMES = lessons.lesson_names()


def test_every_lesson_has_a_notebook_and_a_source():
    assert "00_start_here" in NAMES and len(NAMES) >= 14
    missing = [str(p.relative_to(lessons.ROOT)) for n in NAMES
               for p in (lessons.notebook_path(n), lessons.source_path(n)) if not p.exists()]
    assert not missing, f"missing (python -m tools.lessons sync / import): {missing}"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_equals_its_source(name):
    problems = lessons.differences(name)
    assert not problems, "\n".join(problems) + f"\nrun: python -m tools.lessons sync {name}"


@pytest.fixture
def copy_of_lessons(tmp_path, monkeypatch):
    """lessons/ copied to tmp_path, tools.lessons pointed at the copy."""
    root = tmp_path / "lessons"
    shutil.copytree(lessons.LESSONS, root, ignore=shutil.ignore_patterns("solutions", ".ipynb_checkpoints"))
    monkeypatch.setattr(lessons, "LESSONS", root)
    monkeypatch.setattr(lessons, "SOURCES", root / "src")
    monkeypatch.setattr(lessons, "CONFIG", root / "jupytext.toml")
    return root


def test_an_edited_notebook_or_source_is_caught_and_sync_repairs_it(copy_of_lessons):
    name = "05_occlusion"
    nb = nbformat.read(lessons.notebook_path(name), as_version=4)
    i = [j for j, c in enumerate(nb.cells) if c.cell_type == "code"][1]
    nb.cells[i].source += "\nprint('edited in the notebook only')"
    nbformat.write(nb, lessons.notebook_path(name))
    problems = lessons.differences(name)
    assert len(problems) == 1 and f"cell {i} (code) differs" in problems[0], problems
    assert lessons.sync([name]) == [name] and not lessons.differences(name)

    src = lessons.source_path(name)
    src.write_text(src.read_text() + "\n# %%\nprint('a new cell in the source only')\n")
    assert any("cells" in p for p in lessons.differences(name))
    assert lessons.sync([name]) == [name] and not lessons.differences(name)
    assert lessons.sync([name]) == []                       # stable: a second sync changes nothing


def test_a_cell_type_change_is_caught(copy_of_lessons):
    name = "00_start_here"
    nb = nbformat.read(lessons.notebook_path(name), as_version=4)
    md = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown")
    nb.cells[md] = nbformat.v4.new_raw_cell(nb.cells[md].source)
    nbformat.write(nb, lessons.notebook_path(name))
    assert any(f"cell {md} is markdown in the source, raw in the notebook" in p for p in lessons.differences(name))


def test_outputs_are_not_a_disagreement_but_still_unclean(copy_of_lessons):
    """A notebook run and saved agrees with its source; the clean check still refuses it."""
    name = "03_activations"
    nb = nbformat.read(lessons.notebook_path(name), as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    code.execution_count = 1
    nbformat.write(nb, lessons.notebook_path(name))
    assert not lessons.differences(name)
    assert any("carry outputs" in p for p in lessons.check([name]))
    lessons.sync([name])
    assert not lessons.check([name])


def test_committed_notebooks_are_what_sync_writes():
    """Clean, first cell SETUP, no extra metadata (widget state, versions), stable cell ids."""
    problems = lessons.check(NAMES)
    assert not problems, "\n".join(problems)


def test_select_names_lessons_and_refuses_others():
    assert lessons.select(["05"]) == ["05_occlusion"]
    assert lessons.select(["lessons/src/05_occlusion.py"]) == ["05_occlusion"]
    with pytest.raises(ValueError, match="no lesson '99'.*00_start_here"):
        lessons.select(["99"])


def test_cell_ids_follow_the_cells_not_their_positions():
    cells = [("markdown", "# T"), ("code", "x = 1"), ("code", "x = 1"), ("code", "y = 2")]
    ids = [c["id"] for c in lessons.clean_notebook(cells).cells]
    assert len(set(ids)) == 4                                          # equal cells get distinct ids
    moved = [c["id"] for c in lessons.clean_notebook([("code", "new")] + cells).cells]
    assert moved[1:] == ids                                            # inserting a cell keeps the others' ids
