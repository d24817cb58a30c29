"""Reference solutions of the exercises, kept out of the student notebooks.

Every exercise cell of a lesson starts with blanks, ``name = None  # your answer``,
and checks each with ``vislib.check(name, expected, hint=..., name=...)``.
``lessons/solutions/NN_topic.py`` holds, for every blank, Python code for the
reference solution and for one plausible wrong answer (an off-by-one, a wrong
axis, ...), evaluated where the blank stands::

    EXERCISES = {
        "n_passes": {"solution": "((H - H // 4) // (H // 8) + 1) ** 2",
                     "wrong": "((H - H // 4) // (H // 8)) ** 2",
                     "why": "forgets the first position"},
    }

Commands (``python -m tools.solutions``)::

    write [05 ...]   write lessons/solutions/NN_topic.ipynb, the lesson with its solutions
                     filled in (generated, not committed: see .gitignore)
    run [05 ...]     execute each lesson once as the student gets it (every exercise cell
                     first with its blanks: every check must return None, "not answered"), with
                     the solutions filled in (every check must return True) and with the wrong
                     answers (every check must return False), in one kernel; prints a table

``tests/test_exercises.py`` runs the same under ``VISLIB_MODEL=fashion_cnn VISLIB_FAST=1``.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import runpy
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tools import lessons

SOLUTIONS = lessons.LESSONS / "solutions"
BLANK = re.compile(r"^(?P<var>[A-Za-z_]\w*)\s*=\s*None\b.*$")
MARK = "@@vislib-checks@@"

#: inserted after the setup cell: records what every ``vislib.check`` call returns
RECORDER = f'''# (tools.solutions) record what every vislib.check returns; the verdicts are vislib's own
_solution_checks = []
def _recording_check(*args, _check=vislib.check, **kwargs):
    result = _check(*args, **kwargs)
    _solution_checks.append(result)
    return result
vislib.check = _recording_check'''

REPORT = f'''# (tools.solutions) report and reset
print("{MARK}" + __import__("json").dumps(_solution_checks)); _solution_checks.clear()'''


def solutions_path(name: str) -> Path:
    return SOLUTIONS / f"{name}.py"


def load(name: str) -> dict[str, dict[str, str]]:
    """``EXERCISES`` of lesson ``name``: blank -> {"solution", "wrong", "why"}."""
    path = solutions_path(name)
    if not path.exists():
        raise FileNotFoundError(f"{path.relative_to(lessons.ROOT)} missing: every lesson with exercises has one")
    return runpy.run_path(str(path))["EXERCISES"]


def blanks(source: str) -> list[str]:
    """Variables the student fills in: lines ``name = None ...`` at the top level of a cell."""
    return [m["var"] for line in source.splitlines() if (m := BLANK.match(line))]


def checks(source: str) -> list[tuple[str | None, str]]:
    """``(answer variable, check name)`` of each ``vislib.check(...)`` call, in source order."""
    tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "check"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "vislib"):
            var = node.args[0].id if node.args and isinstance(node.args[0], ast.Name) else None
            label = next((k.value.value for k in node.keywords if k.arg == "name"
                          and isinstance(k.value, ast.Constant)), "exercise")
            found.append((node.lineno, var, label))
    return [(var, label) for _, var, label in sorted(found, key=lambda t: t[0])]


def _code(text: str) -> str:
    return "".join(text.split()).replace("'", '"')


def giveaways(source: str, exercises: dict | None = None) -> list[tuple[str, str]]:
    """``(answer variable, hint)`` of each check whose hint spells out code: its expected
    value's expression or the reference solution (a hint should teach the idea instead)."""
    src = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    found = []
    for node in ast.walk(ast.parse(src)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "check"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "vislib" and len(node.args) >= 2):
            continue
        var = node.args[0].id if isinstance(node.args[0], ast.Name) else None
        hint = next((k.value.value for k in node.keywords if k.arg == "hint" and isinstance(k.value, ast.Constant)), "")
        codes = [ast.get_source_segment(src, node.args[1]) or ""]
        if exercises and var in exercises:
            codes.append(exercises[var]["solution"])
        if any(len(_code(c)) >= 8 and _code(c) in _code(hint) for c in codes):
            found.append((var, hint))
    return found


def exercise_cells(nb) -> list[int]:
    """Indices of code cells that check answers."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "vislib.check(" in c.source]


def fill(source: str, exercises: dict, which: str) -> str:
    """``source`` with every blank replaced by its ``which`` ("solution" or "wrong") code."""
    out = []
    for line in source.splitlines():
        m = BLANK.match(line)
        if m and m["var"] in exercises:
            code = exercises[m["var"]][which].strip("\n")
            tag = "reference solution" if which == "solution" else f"WRONG: {exercises[m['var']].get('why', '')}"
            if "\n" in code:                      # statements that end by assigning the variable
                out += [f"# {m['var']}: {tag}", code]
            else:
                out.append(f"{m['var']} = {code}   # {tag}")
        else:
            out.append(line)
    return "\n".join(out)


def problems(name: str) -> list[str]:
    """What is wrong with lesson ``name``'s exercises without running anything: a blank with
    no solution or wrong answer, an entry for no blank, a blank checked not exactly once."""
    nb = nbformat.read(lessons.notebook_path(name), as_version=4)
    cells = exercise_cells(nb)
    if not cells:
        return []
    try:
        ex = load(name)
    except FileNotFoundError as err:
        return [str(err)]
    found = []
    all_blanks = [v for i in cells for v in blanks(nb.cells[i].source)]
    for i in cells:
        src = nb.cells[i].source
        checked = [v for v, _ in checks(src)]
        for var, label in checks(src):
            if var not in blanks(src):
                found.append(f"{name}: check {label!r} does not check a blank (`{var} = None` line) of its cell")
        for var in blanks(src):
            if checked.count(var) != 1:
                found.append(f"{name}: blank {var!r} is checked {checked.count(var)} times, not once")
        for var, hint in giveaways(src, ex):
            found.append(f"{name}: the hint of {var!r} spells out the solution ({hint!r}): teach the idea instead")
    for var in all_blanks:
        entry = ex.get(var)
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) and entry[k].strip()
                                                  for k in ("solution", "wrong")):
            found.append(f"{name}: blank {var!r} has no solution and wrong answer in "
                         f"{solutions_path(name).relative_to(lessons.ROOT)}")
        elif entry["solution"].strip() == entry["wrong"].strip():
            found.append(f"{name}: the wrong answer of {var!r} is the solution")
    for var in sorted(set(ex) - set(all_blanks)):
        found.append(f"{name}: {solutions_path(name).relative_to(lessons.ROOT)} has {var!r}, which is no blank")
    return found


def solution_notebook(name: str) -> nbformat.NotebookNode:
    """Lesson ``name`` with its reference solutions filled in (and the wrong answers as comments)."""
    nb = nbformat.read(lessons.notebook_path(name), as_version=4)
    ex = load(name)
    for i in exercise_cells(nb):
        cell = nb.cells[i]
        wrong = []
        for v in blanks(cell.source):
            code, why = ex[v]["wrong"].strip(), ex[v].get("why", "")
            if "\n" in code:
                wrong += [f"#   ({v}: {why})"] + [f"#   {line}" for line in code.splitlines()]
            else:
                wrong.append(f"#   {v} = {code}   # {why}")
        cell.source = fill(cell.source, ex, "solution") + (
            "\n\n# Plausible wrong answers, each refused by its check:\n" + "\n".join(wrong) if wrong else "")
    note = nbformat.v4.new_markdown_cell(
        f"**Solutions** (generated by `python -m tools.solutions write` from `lessons/{name}.ipynb` and "
        f"`lessons/solutions/{name}.py`; edit those, not this file).")
    nb.cells.insert(1, note)
    nb.metadata["jupytext"] = {"formats": "ipynb"}     # not paired with a source (lessons/jupytext.toml)
    for i, c in enumerate(nb.cells):
        c["id"] = f"sol{i:05d}"
    return nb


def write(names: list[str]) -> list[Path]:
    SOLUTIONS.mkdir(exist_ok=True)
    out = []
    for name in names:
        if not exercise_cells(nbformat.read(lessons.notebook_path(name), as_version=4)):
            continue
        path = SOLUTIONS / f"{name}.ipynb"
        path.write_text(lessons.render(solution_notebook(name)))
        out.append(path)
    return out


@dataclass
class Run:
    """What executing one lesson with its solutions and wrong answers gave."""
    name: str
    exercises: list[tuple[str, str]] = field(default_factory=list)   # (blank, check name) in check order
    solution: list = field(default_factory=list)                      # what each check returned
    wrong: list = field(default_factory=list)
    blank: list = field(default_factory=list)
    seconds: float = 0.0
    wrong_seconds: float = 0.0

    def failures(self) -> list[str]:
        out = []
        if len(self.solution) != len(self.exercises) or len(self.wrong) != len(self.exercises):
            out.append(f"{self.name}: {len(self.exercises)} checks expected, the solution run recorded "
                       f"{len(self.solution)} and the wrong-answer run {len(self.wrong)}")
        if len(self.blank) != len(self.exercises):
            out.append(f"{self.name}: {len(self.exercises)} checks expected, the run with the blanks "
                       f"recorded {len(self.blank)}")
        for (var, label), ok in zip(self.exercises, self.blank):
            if ok is not None:
                out.append(f"{self.name}: exercise {label!r}: the unanswered blank {var!r} gives "
                           f"{ok} (expected None, 'not answered')")
        for (var, label), ok in zip(self.exercises, self.solution):
            if ok is not True:
                out.append(f"{self.name}: exercise {label!r}: the reference solution of {var!r} is refused "
                           f"(check returned {ok})")
        for (var, label), ok in zip(self.exercises, self.wrong):
            if ok is not False:
                out.append(f"{self.name}: exercise {label!r}: the wrong answer of {var!r} is "
                           + ("accepted" if ok else f"not refused (check returned {ok})"))
        return out


def _recorded(cell) -> list:
    text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
    line = next((ln for ln in text.splitlines() if ln.startswith(MARK)), None)
    if line is None:
        raise RuntimeError(f"no check results in the output of {cell.source!r}")
    return json.loads(line[len(MARK):])


def run(name: str, timeout: int = 600) -> Run:
    """Execute lesson ``name`` once, every exercise cell three times in place: as the student
    gets it (with its blanks), with the solutions and with the wrong answers.

    So this run also executes every cell of the notebook as committed (what ``pytest --nbval-lax``
    would check), and ``make test`` needs no second nbval run of the lessons under this profile.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell fails (the lesson, a solution or a wrong answer).
    """
    from tools.nbexec import client

    nb = nbformat.read(lessons.notebook_path(name), as_version=4)
    ex = load(name)
    result = Run(name)
    cells = []
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    reports = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if i in exercise_cells(nb):
            result.exercises += checks(cell.source)
            cells += [nbformat.v4.new_code_cell(cell.source), nbformat.v4.new_code_cell(REPORT)]
            reports.append(("blank", len(cells) - 1))
            cells += [nbformat.v4.new_code_cell(fill(cell.source, ex, "solution")), nbformat.v4.new_code_cell(REPORT)]
            reports.append(("solution", len(cells) - 1))
            cells += [nbformat.v4.new_code_cell(fill(cell.source, ex, "wrong")), nbformat.v4.new_code_cell(REPORT)]
            reports.append(("wrong", len(cells) - 1))
        else:
            cells.append(nbformat.v4.new_code_cell(cell.source))
        if i == first_code:
            cells.append(nbformat.v4.new_code_cell(RECORDER))
    run_nb = nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)
    start = time.monotonic()
    timings = {}

    def on_cell_executed(cell, cell_index, execute_reply):  # nbclient hook: the wrong-answer cells' time
        timings[cell_index] = time.monotonic()
    c = client(run_nb, timeout=timeout, kernel_name="python3",
               resources={"metadata": {"path": str(lessons.LESSONS)}}, on_cell_executed=on_cell_executed)
    c.execute()
    result.seconds = time.monotonic() - start
    for kind, idx in reports:
        getattr(result, kind).extend(_recorded(run_nb.cells[idx]))
        if kind == "wrong":
            result.wrong_seconds += timings[idx] - timings[idx - 2]   # the wrong cell and its report
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.solutions", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["write", "run", "check"],
                        help="write: solution notebooks; run: execute with the blanks, solutions and wrong answers; "
                             "check: every blank has a solution and a wrong answer (no kernel)")
    parser.add_argument("lesson", nargs="*", help="numbers (05) or names; default: every lesson")
    args = parser.parse_args(argv)
    try:
        names = lessons.select(args.lesson)
    except ValueError as err:
        parser.error(str(err))
    if args.command == "write":
        for p in write(names):
            print("wrote", p.relative_to(lessons.ROOT))
        return 0
    if args.command == "check":
        found = [p for n in names for p in problems(n)]
        print("\n".join(found) or f"{len(names)} lessons: every blank has a solution and a wrong answer")
        return 1 if found else 0
    bad, total = [], time.monotonic()
    for name in names:
        if not exercise_cells(nbformat.read(lessons.notebook_path(name), as_version=4)):
            continue
        try:
            r = run(name)
        except Exception as err:          # a cell failed: report it, go on with the next lesson
            what = (f"{err.ename}: {err.evalue}" if hasattr(err, "ename") else f"{type(err).__name__}: {err}")
            bad.append(f"{name}: a cell failed: {what[:400]}")
            print(bad[-1])
            continue
        bad += r.failures()
        verdict = lambda v: {True: "ok", False: "refused", None: "unanswered"}.get(v, str(v))  # noqa: E731
        for (var, label), s, w, e in zip(r.exercises, r.solution, r.wrong, r.blank):
            print(f"{name:28s} {label:36s} blank {verdict(e):10s} solution {verdict(s):10s} wrong {verdict(w)}")
        print(f"{name:28s} {r.seconds:6.1f} s (wrong answers {r.wrong_seconds:.1f} s)")
    print(f"total {time.monotonic() - total:.0f} s")
    print("\n".join(bad) or "every blank unanswered, every solution accepted, every wrong answer refused")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
