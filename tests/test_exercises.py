"""Every exercise can be solved, and refuses a plausible wrong answer (issue 22).

Each lesson runs once in a kernel, every exercise cell three times in place: as committed,
with the student's ``name = None`` blanks (every ``vislib.check`` must return None, "not
answered"), with the reference solutions of ``lessons/solutions/NN_topic.py`` (every check
must return True) and with the wrong answers (every check must return False). Since every
cell of the committed notebook runs, this is also the lesson run under this profile
(``make test`` runs nbval only under the other profiles). The kernel runs are
cheap only on the offline model, so they run under ``VISLIB_MODEL=fashion_cnn
VISLIB_FAST=1`` only (``make test`` sets both; 455 s of worker time for all 15 lessons on 2026-12-03,
the slowest 13 (90 s), 12 (47 s) and 11 (39 s): 35% of the unit tests' 1289 s);
the other tests here need no kernel: every blank has a solution and a wrong answer, and no
hint spells out its solution's code.
"""

from __future__ import annotations

import os

import nbformat
import pytest

from tools import lessons, solutions

WITH_EXERCISES = [n for n in lessons.lesson_names()
                  if lessons.notebook_path(n).exists()
                  and solutions.exercise_cells(nbformat.read(lessons.notebook_path(n), as_version=4))]
CHEAP = os.environ.get("VISLIB_MODEL") == "fashion_cnn" and os.environ.get("VISLIB_FAST") == "1"


def test_every_lesson_has_exercises():
    assert set(WITH_EXERCISES) == set(lessons.lesson_names())


@pytest.mark.parametrize("name", WITH_EXERCISES)
def test_exercises_come_last(name):
    # the solutions run executes the exercise cells with their blanks first: it runs the notebook
    # exactly as committed only if no other code cell follows (and so could see a solution's value)
    nb = nbformat.read(lessons.notebook_path(name), as_version=4)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    ex = solutions.exercise_cells(nb)
    assert code[-len(ex):] == ex, f"{name}: code cells after an exercise cell"


@pytest.mark.parametrize("name", WITH_EXERCISES)
def test_every_blank_has_a_solution_and_a_wrong_answer(name):
    problems = solutions.problems(name)
    assert not problems, "\n".join(problems)


CELL = '''a = None   # your answer
b = None
vislib.check(a, 3, hint="three", name="1. a")
vislib.check(b, [1, 2], name="2. b");'''


def test_fill_puts_code_where_the_blanks_were():
    ex = {"a": {"solution": "1 + 2", "wrong": "2", "why": "off by one"},
          "b": {"solution": "x = [1, 2]\nb = x", "wrong": "[2, 1]", "why": "reversed"}}
    solved = solutions.fill(CELL, ex, "solution")
    assert solved.splitlines()[0] == "a = 1 + 2   # reference solution"
    assert "x = [1, 2]\nb = x" in solved and "b = None" not in solved
    assert solutions.fill(CELL, ex, "wrong").splitlines()[0] == "a = 2   # WRONG: off by one"
    assert solutions.blanks(CELL) == ["a", "b"]
    assert solutions.checks(CELL) == [("a", "1. a"), ("b", "2. b")]


def test_a_wrong_answer_that_passes_or_a_refused_solution_is_reported():
    r = solutions.Run("99_toy", exercises=[("a", "1. a"), ("b", "2. b")],
                      solution=[True, None], wrong=[False, True], blank=[None, False])
    failures = r.failures()
    assert any("'2. b': the reference solution of 'b' is refused (check returned None)" in f for f in failures)
    assert any("'2. b': the wrong answer of 'b' is accepted" in f for f in failures)
    assert any("'2. b': the unanswered blank 'b' gives False" in f for f in failures)
    assert not any("'1. a'" in f for f in failures)
    assert "the solution run recorded 0" in solutions.Run("99_toy", [("a", "1. a")], [], [False], [None]).failures()[0]
    assert "the run with the blanks recorded 0" in solutions.Run("99_toy", [("a", "1. a")], [True], [False]).failures()[0]


def test_solution_notebooks_fill_in_every_blank():
    nb = solutions.solution_notebook("05_occlusion")
    cells = solutions.exercise_cells(nb)
    assert cells and not any(solutions.blanks(nb.cells[i].source) for i in cells)
    assert nb.metadata["jupytext"] == {"formats": "ipynb"}      # not paired with a source


@pytest.mark.exercises
@pytest.mark.skipif(not CHEAP, reason="executes the lesson: only under VISLIB_MODEL=fashion_cnn VISLIB_FAST=1")
@pytest.mark.parametrize("name", WITH_EXERCISES)
def test_solutions_pass_and_wrong_answers_fail(name):
    result = solutions.run(name)
    failures = result.failures()
    assert not failures, "\n".join(failures)


def test_a_hint_that_spells_out_the_solution_is_reported():
    cell = ('a = None\nvislib.check(a, np.abs(g).mean(axis=-1), hint="np.abs(g).mean(axis=-1)", name="1")\n'
            'b = None\nvislib.check(b, x.shape[1], hint="one row per image: how many columns?", name="2")')
    assert solutions.giveaways(cell) == [("a", "np.abs(g).mean(axis=-1)")]
    assert solutions.giveaways(cell, {"b": {"solution": "x.shape[-1]", "wrong": "x.shape[0]"}}) == [
        ("a", "np.abs(g).mean(axis=-1)")]
    spelled = {"b": {"solution": "x.shape[-1]", "wrong": "x.shape[0]"}}
    assert ("b", "use x.shape[-1]") in solutions.giveaways(cell.replace("one row per image: how many columns?",
                                                                         "use x.shape[-1]"), spelled)
