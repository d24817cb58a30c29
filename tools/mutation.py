"""Mutation score of vislib's core method modules against their unit tests.

``make mutation`` (or ``.venv/bin/python -m tools.mutation --sample 120 --seed 0``)
generates one-line mutants of the explanation methods, the metrics and the
receptive-field arithmetic with :mod:`ast`, runs the tests that belong to the
mutated module against each mutant and prints killed / survived / timeout /
total per module and overall. Surviving mutants are listed (file:line,
original -> mutant) and every result is written to a JSON file.

Why a runner of its own and not ``mutmut`` or ``cosmic-ray`` (both install from
PyPI here): mutmut 3 imports the code once and ``fork()``s a child per mutant
with trampolines in every function; TensorFlow's thread pools are not
fork-safe, and mutmut mutates every string and log message. cosmic-ray runs one
test command per mutant too (the same cost as this runner: every pytest start
imports TensorFlow, ~10 s) but needs a session database, an execution engine
for two workers, and filters to leave out what is listed below. The operators
that matter for this course (a channel reduction, a ReLU gate, an axis, an
interpolation option) are a few lines of :mod:`ast` here.

Operators (each mutant changes one expression, usually on one line):
``compare`` ``<``/``<=``, ``>``/``>=``, ``==``/``!=``, ``is``/``is not``,
``in``/``not in``; ``arith`` ``+``/``-``, ``*``/``/``, ``//`` -> ``*``,
``**`` -> ``*``, ``&``/``|`` (also in ``+=`` etc.); ``constant`` 0 -> 1,
1 -> 0, n -> n + 1, True/False; ``reduction`` max/min, mean/sum,
argmax/argmin, maximum/minimum, any/all, floor/ceil (NumPy, TensorFlow,
methods and builtins); ``relu-abs`` ``relu(x)`` or ``np.maximum(x, 0)`` ->
``abs(x)`` and ``abs(x)`` -> ``relu(x)``; ``drop-call`` a clip or normalise
call replaced by its argument; ``axis`` ``axis=(1, 2)`` -> ``axis=(1,)``, an
integer ``axis=`` removed (reduce over all); ``negate`` an ``if``/``while``/
conditional-expression test negated, ``not x`` -> ``x``, ``-x`` -> ``x``,
``and``/``or``; ``option`` a string option used as a keyword default or a
keyword argument replaced by the next member of a tuple of string choices
that the module spells out (``"bilinear"`` -> ``"nearest"``, ``"max"`` -> ``"mean"``).

Left out, and why (a mutant there would be noise in the score, not a test gap):
docstrings and every other string (error messages; the only strings mutated
are the ``option`` choices above), f-strings, type annotations (never
evaluated: ``from __future__ import annotations``), decorators, ``warnings`` /
``logging`` / ``print`` / progress-bar calls, ``stacklevel=``, ``__all__``.
Two kinds are generated but counted apart and not run unless ``--categories``
names them: ``check``, every mutant inside a ``raise`` or ``assert``, in the
test of an ``if`` whose body ends in ``raise`` (an argument-check branch), or
in the arguments of a ``vislib._checks`` call (their tests are the
``pytest.raises`` cases); and ``plot``, every mutant in a function named
``plot*``/``show*`` or in a call on ``plt``/``ax``/``fig`` (figure sizes, font
sizes, tick rotation: nothing a unit test should pin). The score asked for
(issue 25) is that of the methods, the metrics and the receptive-field
arithmetic (category ``core``); the other two would only dilute it.

How a mutant is run: the tree (``--from-tree``, default this repository) is
copied once per worker to a temporary directory; the mutated module is written
into that copy only (never into the tree being mutated), and
``python -m pytest -x -q -p no:cacheprovider FILES`` runs there with
``PYTHONPATH`` on the copy (the editable install's finder comes after it on
``sys.path``; the runner checks which ``vislib`` the tests imported). FILES are
the module's test files from :data:`TESTS` (files absent from the tree are
skipped: ``tests/test_known_answers.py`` counts once it exists). One baseline
run of all those files first records which tests fail without any mutant
(they are deselected, and listed) and, with ``coverage``, which test executes
which line. A mutant inside a function (its body or a default) then runs the
tests of those files that executed any line of its module in the baseline (a
test that never enters the module cannot see the mutant), the tests covering
its line first; a module-level mutant (a constant read at import) runs all of
the files. A mutant whose line no test executes is marked ``covered: false``
(lines inside ``tf.function`` bodies are traced by AutoGraph from generated
code that coverage does not see, so for them this mark is a hint, not a
proof; for the same reason a module reached only through AutoGraph would need
the files' full run). Exit code 1 (a test failed) or 2 (collection or import
broke) is *killed*; 0 is *survived*; any other is *error* (left out of the
score). A run longer than its timeout (``--timeout-factor`` x the baseline
time of its tests + 60 s) is stopped and counted as *timeout*, which the score
counts as killed (the mutant made the tests hang or crawl: a user would
notice). The score is (killed + timeout) / (total - error).

Options: ``--modules`` (default: the ten core modules of :data:`TESTS`),
``--sample N --seed S`` (a random subset of the generated mutants, the same
subset for the same tree and seed), ``--limit N`` (the first N of those),
``--match REGEX`` (mutants whose ``module:line [operator] original -> mutated``
matches), ``--jobs`` (at most 2: the machine has two cores), ``--from-tree PATH``,
``--out PATH`` (default ``benchmarks/mutation.json``), ``--list`` (print the
mutants and stop), ``--categories core check plot``.
"""

from __future__ import annotations

import argparse
import ast
import copy
import dataclasses
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: Core module -> the test files that exercise it (the runner skips files the
#: tree does not have). Lesson notebooks are not run: too slow per mutant.
TESTS: dict[str, list[str]] = {
    # test_model_kinds.py checks every method on nested, Sequential, binary and odd-head models
    "vislib/attribution/saliency.py": ["tests/test_saliency_cam.py", "tests/test_smoothgrad.py",
                           "tests/test_known_answers.py", "tests/test_model_kinds.py"],
    "vislib/attribution/cam.py": ["tests/test_cam_family.py", "tests/test_saliency_cam.py",
                      "tests/test_known_answers.py", "tests/test_model_kinds.py"],
    "vislib/attribution/occlusion.py": ["tests/test_occlusion.py", "tests/test_known_answers.py",
                            "tests/test_model_kinds.py"],
    "vislib/attribution/smoothgrad.py": ["tests/test_smoothgrad.py", "tests/test_known_answers.py",
                             "tests/test_model_kinds.py"],
    "vislib/_core/gradients.py": ["tests/test_saliency_cam.py", "tests/test_cam_family.py",
                        "tests/test_smoothgrad.py", "tests/test_model_kinds.py",
                        "tests/test_known_answers.py"],
    "vislib/evaluation/metrics.py": ["tests/test_metrics.py", "tests/test_known_answers.py",
                          "tests/test_model_kinds.py"],
    "vislib/representation/receptive_field.py": ["tests/test_receptive_field.py", "tests/test_patches.py",
                                  "tests/test_known_answers.py", "tests/test_model_kinds.py"],
    "vislib/adversarial/attacks.py": ["tests/test_adversarial.py", "tests/test_noise.py", "tests/test_model_kinds.py"],
    "vislib/_core/maps.py": ["tests/test_cam_family.py", "tests/test_plotting.py",
                         "tests/test_known_answers.py"],
    "vislib/representation/activations.py": ["tests/test_activations.py", "tests/test_patches.py",
                              "tests/test_known_answers.py", "tests/test_model_kinds.py"],
}

#: What ``make test`` sets; the runner sets the same for every pytest it starts.
TEST_ENV = {"VISLIB_MODEL": "fashion_cnn", "VISLIB_FAST": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONHASHSEED": "0"}

MAX_JOBS = 2

# ---------------------------------------------------------------- operators

_CMP_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
             ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
             ast.In: ast.NotIn, ast.NotIn: ast.In}
_EXACT_NEGATION = (ast.Eq, ast.NotEq, ast.Is, ast.IsNot, ast.In, ast.NotIn)
_BIN_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
             ast.FloorDiv: ast.Mult, ast.Pow: ast.Mult, ast.BitAnd: ast.BitOr,
             ast.BitOr: ast.BitAnd}
_OP_TEXT = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
            ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in",
            ast.NotIn: "not in", ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/",
            ast.FloorDiv: "//", ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|",
            ast.And: "and", ast.Or: "or"}
_ATTR_SWAP = {"max": "min", "min": "max", "amax": "amin", "amin": "amax", "nanmax": "nanmin",
              "nanmin": "nanmax", "mean": "sum", "sum": "mean", "nanmean": "nansum",
              "nansum": "nanmean", "argmax": "argmin", "argmin": "argmax",
              "maximum": "minimum", "minimum": "maximum", "reduce_max": "reduce_min",
              "reduce_min": "reduce_max", "reduce_mean": "reduce_sum",
              "reduce_sum": "reduce_mean", "any": "all", "all": "any", "floor": "ceil",
              "ceil": "floor", "reduce_any": "reduce_all", "reduce_all": "reduce_any"}
_NAME_SWAP = {"max": "min", "min": "max", "any": "all", "all": "any"}
_DROP_CALLS = {"clip", "clip_by_value", "normalize_map", "_normalize", "normalize"}
_MODULE_NAMES = {"np", "tf", "keras", "ops", "math", "numpy"}
_PLOT_PREFIXES = ("plot", "show", "_plot", "_show")
_PLOT_OBJECTS = {"plt", "ax", "axes", "fig", "matplotlib", "mpl"}
_QUIET_CALLS = {"warn", "warning", "info", "debug", "print", "progress", "tqdm", "log"}


@dataclasses.dataclass
class Mutant:
    """One mutant: where, what, and (after the run) what the tests said."""

    id: str
    module: str
    line: int
    col: int
    operator: str
    category: str
    original: str
    mutated: str
    cover_lines: list[int]
    scope: str = "function"
    source: str = dataclasses.field(default="", repr=False)
    covered: bool | None = None
    status: str = ""
    seconds: float = 0.0
    killed_by: str = ""
    tests_run: int | None = None  # test ids run (None: all the module's test files)

    def record(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("source")
        return d


def _choice_sets(path: Path) -> list[tuple[str, ...]]:
    """Tuples/lists/sets of >= 2 string constants (and maybe None) written
    in the module: the option spellings (``FILLS = ("gray", "mean", "blur")``,
    ``REDUCTIONS = ("max", "mean", None)``). Only the module's own sets, so an
    option is replaced by a spelling its own code accepts (a ``mode=`` of
    SciPy or a ``cmap=`` never gets an occlusion fill)."""
    sets = []
    if True:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                vals = [e.value for e in node.elts if isinstance(e, ast.Constant)
                        and isinstance(e.value, str)]
                others = [e for e in node.elts if not (isinstance(e, ast.Constant)
                                                       and (isinstance(e.value, str) or e.value is None))]
                if len(vals) >= 2 and not others and len(set(vals)) == len(vals):
                    sets.append(tuple(vals))
    return sets


def _is_check_body(body: list[ast.stmt]) -> bool:
    """An ``if`` body that only builds a message and raises: an argument check."""
    return (bool(body) and isinstance(body[-1], ast.Raise)
            and all(isinstance(s, (ast.Raise, ast.Assign, ast.AnnAssign, ast.Expr)) for s in body))


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _base_name(node: ast.expr) -> str:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def _is_module_attr(func: ast.expr) -> bool:
    """``np.clip`` / ``tf.nn.relu`` (a library function), not ``array.clip`` (a method)."""
    return isinstance(func, ast.Attribute) and _base_name(func.value) in _MODULE_NAMES


def _is_zero(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and not isinstance(node.value, bool) \
        and isinstance(node.value, (int, float)) and node.value == 0


def _parse_expr(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


class _Generator:
    """Walks one module and collects its mutants."""

    def __init__(self, path: Path, rel: str, choice_sets: list[tuple[str, ...]]):
        self.rel = rel
        self.src = path.read_text()
        self.srcb = self.src.encode()
        self.tree = ast.parse(self.src)
        self.dump = ast.dump(self.tree)
        self.lines = [ln.decode() for ln in self.srcb.splitlines()]  # the tokenizer's line breaks
        starts, pos = [], 0
        for line in self.src.encode().splitlines(keepends=True):
            starts.append(pos)
            pos += len(line)
        starts.append(pos)
        self.line_start = starts
        self.walk_index = {id(n): i for i, n in enumerate(ast.walk(self.tree))}
        self.choice_sets = choice_sets
        self.check_names = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and node.module == "_checks":
                self.check_names |= {a.asname or a.name for a in node.names}
        self.mutants: list[Mutant] = []
        self.seen: set[str] = set()
        self.failed = 0

    # -- source positions (ast columns are UTF-8 byte offsets)
    def _off(self, line: int, col: int) -> int:
        return self.line_start[line - 1] + col

    def _span(self, node: ast.AST) -> tuple[int, int]:
        return self._off(node.lineno, node.col_offset), self._off(node.end_lineno, node.end_col_offset)

    def _seg(self, node: ast.AST) -> str:
        a, b = self._span(node)
        return self.srcb[a:b].decode()

    def _splice(self, a: int, b: int, text: str) -> str:
        return (self.srcb[:a] + text.encode() + self.srcb[b:]).decode()

    # -- emitting
    def _expected(self, node: ast.AST, fn) -> tuple[str, ast.AST]:
        tree = copy.deepcopy(self.tree)
        nodes = list(ast.walk(tree))
        target = nodes[self.walk_index[id(node)]]
        new = fn(target)
        for parent in nodes:
            for field, value in ast.iter_fields(parent):
                if value is target:
                    setattr(parent, field, new)
                    return ast.dump(tree), new
                if isinstance(value, list):
                    for i, v in enumerate(value):
                        if v is target:
                            value[i] = new
                            return ast.dump(tree), new
        raise RuntimeError("node not found")

    def emit(self, node: ast.AST, ctx: dict, operator: str, fn, text: str | None = None,
             line: int | None = None):
        """Add the mutant ``fn(node)``; ``text`` is the mutated source when a
        minimal edit is known (checked against the expected tree)."""
        expected, new = self._expected(node, fn)
        if expected == self.dump or expected in self.seen:
            return
        candidates = [text] if text is not None else []
        a, b = self._span(node)
        if isinstance(new, ast.expr):
            body = ast.unparse(new)
            if not isinstance(new, (ast.Name, ast.Attribute, ast.Call, ast.Constant, ast.Subscript,
                                    ast.Tuple, ast.List)) or body.startswith("-"):
                body = f"({body})"
            candidates.append(self._splice(a, b, body))
        for cand in candidates:
            try:
                if ast.dump(ast.parse(cand)) == expected:
                    break
            except SyntaxError:
                pass
        else:
            self.failed += 1
            return
        self.seen.add(expected)
        line = line or node.lineno
        orig_lines = self.lines[line - 1:node.end_lineno]
        new_lines = [ln.decode() for ln in cand.encode().splitlines()]
        extra = len(new_lines) - len(self.lines)
        mut_lines = new_lines[line - 1:node.end_lineno + extra]
        n = sum(1 for m in self.mutants if m.line == line)
        self.mutants.append(Mutant(
            id=f"{self.rel}:{line}:{node.col_offset}:{operator}:{n}", module=self.rel, line=line,
            col=node.col_offset, operator=operator,
            category="check" if ctx["check"] else "plot" if ctx.get("plot") else "core",
            original=" ".join(s.strip() for s in orig_lines),
            mutated=" ".join(s.strip() for s in mut_lines),
            cover_lines=[ctx["default_body"]] if ctx.get("default_body") else [line, *ctx["stmts"]],
            scope="function" if (ctx["func"] is not None or ctx.get("default_body")) else "module",
            source=cand))

    def _op_text(self, node: ast.AST, gaps: list[tuple[ast.AST, ast.AST, type]], new_op: type | None,
                 ) -> str | None:
        """Source with the operator tokens in the given gaps replaced (None if not found)."""
        out = self.srcb
        for left, right, old in reversed(gaps):
            a = self._off(left.end_lineno, left.end_col_offset)
            b = self._off(right.lineno, right.col_offset)
            gap = out[a:b].decode()
            pat = r"\s+".join(re.escape(w) for w in _OP_TEXT[old].split())
            if re.sub(r"[\s()\\]", "", gap) != _OP_TEXT[old].replace(" ", ""):
                return None
            new_text = _OP_TEXT[new_op or {ast.And: ast.Or, ast.Or: ast.And}[old]]
            gap2 = re.sub(pat, new_text, gap, count=1)
            out = out[:a] + gap2.encode() + out[b:]
        return out.decode()

    # -- the walk
    def run(self) -> list[Mutant]:
        self.visit(self.tree, {"check": False, "stmts": [], "func": None})
        return self.mutants

    def visit(self, node: ast.AST, ctx: dict):
        if isinstance(node, ast.stmt):
            ctx = {**ctx, "stmts": [node.lineno, *ctx["stmts"]]}
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.Pass,
                             ast.JoinedStr)):
            return
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            return  # docstring
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__"
                                                for t in node.targets):
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.name.startswith(_PLOT_PREFIXES):
                ctx = {**ctx, "plot": True}
            body = node.body[1:] if (node.body and isinstance(node.body[0], ast.Expr)
                                     and isinstance(node.body[0].value, ast.Constant)) else node.body
            first = body[0].lineno if body else node.lineno
            dctx = {**ctx, "default_body": first}
            for d in [*node.args.defaults, *[k for k in node.args.kw_defaults if k is not None]]:
                self.visit(d, dctx)
            for s in node.body:
                self.visit(s, {**ctx, "func": node})
            return
        if isinstance(node, ast.ClassDef):
            for s in node.body:
                self.visit(s, ctx)
            return
        if isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.visit(node.value, ctx)
            return
        if isinstance(node, (ast.Raise, ast.Assert)):
            ctx = {**ctx, "check": True}
        if isinstance(node, ast.Call):
            name = _call_name(node.func)
            if name in _QUIET_CALLS or _base_name(node.func) in {"warnings", "logging", "logger", "log"}:
                return
            if _base_name(node.func) in _PLOT_OBJECTS:
                ctx = {**ctx, "plot": True}
            if _base_name(node.func) == "_checks" or (isinstance(node.func, ast.Name)
                                                     and node.func.id in self.check_names):
                ctx = {**ctx, "check": True}
        self.mutate(node, ctx)
        if isinstance(node, ast.If):
            self.visit(node.test, {**ctx, "check": ctx["check"] or _is_check_body(node.body)})
            for s in [*node.body, *node.orelse]:
                self.visit(s, ctx)
            return
        for field, value in ast.iter_fields(node):
            if field in ("annotation", "returns", "type_comment", "decorator_list"):
                continue
            if isinstance(node, ast.keyword) and node.arg == "stacklevel":
                return
            for child in (value if isinstance(value, list) else [value]):
                if isinstance(child, ast.AST):
                    self.visit(child, ctx)

    def mutate(self, node: ast.AST, ctx: dict):
        def put(op, fn, text=None):
            self.emit(node, ctx, op, fn, text)

        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in _CMP_SWAP:
                    new_op = _CMP_SWAP[type(op)]
                    left = node.left if i == 0 else node.comparators[i - 1]

                    def fn(t, i=i, new_op=new_op):
                        t.ops[i] = new_op()
                        return t
                    put("compare", fn, self._op_text(node, [(left, node.comparators[i], type(op))], new_op))
        elif isinstance(node, ast.BinOp) and type(node.op) in _BIN_SWAP:
            if not any(isinstance(s, ast.JoinedStr) or (isinstance(s, ast.Constant)
                                                        and isinstance(s.value, str))
                       for s in (node.left, node.right)):
                new_op = _BIN_SWAP[type(node.op)]

                def fn(t, new_op=new_op):
                    t.op = new_op()
                    return t
                put("arith", fn, self._op_text(node, [(node.left, node.right, type(node.op))], new_op))
        elif isinstance(node, ast.AugAssign) and type(node.op) in _BIN_SWAP:
            new_op = _BIN_SWAP[type(node.op)]
            a = self._off(node.target.end_lineno, node.target.end_col_offset)
            b = self._off(node.value.lineno, node.value.col_offset)
            gap = self.srcb[a:b].decode()
            old = _OP_TEXT[type(node.op)] + "="
            text = None
            if gap.strip() == old:
                text = self._splice(a, b, gap.replace(old, _OP_TEXT[new_op] + "="))

            def fn(t, new_op=new_op):
                t.op = new_op()
                return t
            put("arith", fn, text)
        elif isinstance(node, ast.BoolOp):
            gaps = list(zip(node.values[:-1], node.values[1:], [type(node.op)] * (len(node.values) - 1)))

            def fn(t):
                t.op = ast.Or() if isinstance(t.op, ast.And) else ast.And()
                return t
            put("negate", fn, self._op_text(node, gaps, None))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            put("negate", lambda t: t.operand, self._splice(*self._span(node), f"({self._seg(node.operand)})"))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
                and not isinstance(node.operand, ast.Constant):
            put("negate", lambda t: t.operand, self._splice(*self._span(node), f"({self._seg(node.operand)})"))
        elif isinstance(node, (ast.If, ast.While, ast.IfExp)) and not (
                isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not)) and not (
                isinstance(node.test, ast.Compare) and len(node.test.ops) == 1
                and type(node.test.ops[0]) in _EXACT_NEGATION):
            # (``not (a == b)`` is the ``compare`` mutant ``a != b``: not made twice)
            test = node.test
            check = ctx["check"] or (isinstance(node, ast.If) and _is_check_body(node.body))
            self.emit(test, {**ctx, "check": check}, "negate",
                      lambda t: ast.UnaryOp(op=ast.Not(), operand=t),
                      self._splice(*self._span(test), f"not ({self._seg(test)})"))
        elif isinstance(node, ast.Constant) and not isinstance(node.value, (str, bytes)) \
                and node.value is not None and node.value is not Ellipsis:
            v = node.value
            if isinstance(v, bool):
                new = not v
            elif isinstance(v, (int, float)):
                new = type(v)(1) if v == 0 else type(v)(0) if v == 1 else v + 1
            else:
                return
            put("constant", lambda t, new=new: ast.Constant(value=new))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            pass  # options: handled from the parent (keyword / default), below
        elif isinstance(node, ast.Call):
            self._mutate_call(node, ctx)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return
        # string options as keyword values and defaults
        if isinstance(node, ast.keyword) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            self._option(node.value, ctx)

    def _option(self, const: ast.Constant, ctx: dict):
        for choices in self.choice_sets:
            if const.value in choices:
                new = choices[(choices.index(const.value) + 1) % len(choices)]
                self.emit(const, ctx, "option", lambda t, new=new: ast.Constant(value=new))
                return

    def _mutate_call(self, node: ast.Call, ctx: dict):
        func = node.func
        name = _call_name(func)
        # reductions
        if isinstance(func, ast.Attribute) and func.attr in _ATTR_SWAP:
            new = _ATTR_SWAP[func.attr]
            b = self._off(func.end_lineno, func.end_col_offset)
            text = self._splice(b - len(func.attr.encode()), b, new)

            def fn(t, new=new):
                t.func.attr = new
                return t
            self.emit(node, ctx, "reduction", fn, text)
        elif isinstance(func, ast.Name) and func.id in _NAME_SWAP:
            new = _NAME_SWAP[func.id]

            def fn(t, new=new):
                t.func.id = new
                return t
            self.emit(node, ctx, "reduction", fn, self._splice(*self._span(func), new))
        # relu <-> abs
        if name == "relu" and isinstance(func, ast.Attribute) and node.args:
            base = ast.unparse(func.value)
            base = "tf.math" if base == "tf.nn" else base
            self.emit(node, ctx, "relu-abs",
                      lambda t, base=base: ast.Call(func=_parse_expr(f"{base}.abs"), args=[t.args[0]],
                                                    keywords=[]))
        if name == "maximum" and len(node.args) == 2 and not node.keywords and _is_module_attr(func):
            other = [a for a in node.args if not _is_zero(a)]
            if len(other) == 1:
                base = ast.unparse(func.value)
                self.emit(node, ctx, "relu-abs",
                          lambda t, base=base, k=node.args.index(other[0]):
                          ast.Call(func=_parse_expr(f"{base}.abs"), args=[t.args[k]], keywords=[]))
        if name == "abs" and len(node.args) == 1:
            if isinstance(func, ast.Name):
                make = lambda t: ast.Call(func=ast.Name("max"), args=[t.args[0], ast.Constant(0)], keywords=[])
            elif _base_name(func) == "np" or _base_name(func) == "numpy":
                base = ast.unparse(func.value)
                make = lambda t, base=base: ast.Call(func=_parse_expr(f"{base}.maximum"),
                                                     args=[t.args[0], ast.Constant(0)], keywords=[])
            elif _base_name(func) == "tf":
                make = lambda t: ast.Call(func=_parse_expr("tf.nn.relu"), args=[t.args[0]], keywords=[])
            else:
                base = ast.unparse(func.value)
                make = lambda t, base=base: ast.Call(func=_parse_expr(f"{base}.relu"), args=[t.args[0]],
                                                     keywords=[])
            self.emit(node, ctx, "relu-abs", make)
        # a clip / normalise call dropped
        if name in _DROP_CALLS:
            if _is_module_attr(func) or isinstance(func, ast.Name):
                if node.args:
                    self.emit(node, ctx, "drop-call", lambda t: t.args[0],
                              self._splice(*self._span(node), f"({self._seg(node.args[0])})"))
            elif isinstance(func, ast.Attribute):
                self.emit(node, ctx, "drop-call", lambda t: t.func.value,
                          self._splice(*self._span(node), f"({self._seg(func.value)})"))
        # axis
        for k, kw in enumerate(node.keywords):
            if kw.arg != "axis":
                continue
            v = kw.value
            if isinstance(v, ast.Tuple) and len(v.elts) > 1:
                def fn(t, k=k):
                    t.keywords[k].value.elts.pop()
                    return t
                self.emit(node, ctx, "axis", fn)
            elif isinstance(v, ast.Constant) or (isinstance(v, ast.UnaryOp) and isinstance(v.operand, ast.Constant)):
                def fn(t, k=k):
                    t.keywords.pop(k)
                    return t
                self.emit(node, ctx, "axis", fn)


def _default_options(gen: _Generator):
    """String options as function defaults (``method="bilinear"``)."""
    for node in ast.walk(gen.tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body[1:] if (node.body and isinstance(node.body[0], ast.Expr)
                                     and isinstance(node.body[0].value, ast.Constant)) else node.body
            first = body[0].lineno if body else node.lineno
            for d in [*node.args.defaults, *[k for k in node.args.kw_defaults if k is not None]]:
                if isinstance(d, ast.Constant) and isinstance(d.value, str):
                    gen._option(d, {"check": False, "stmts": [], "func": None, "default_body": first,
                                    "plot": node.name.startswith(_PLOT_PREFIXES)})


def generate(tree: Path, modules: list[str]) -> tuple[list[Mutant], int]:
    """Every mutant of ``modules`` (paths relative to ``tree``), in file order."""
    out, failed = [], 0
    for rel in modules:
        gen = _Generator(tree / rel, rel, _choice_sets(tree / rel))
        gen.run()
        _default_options(gen)
        gen.mutants.sort(key=lambda m: (m.line, m.col, m.operator))
        out += gen.mutants
        failed += gen.failed
    return out, failed


# ---------------------------------------------------------------- running

PLUGIN = r'''
"""pytest plugin of tools/mutation.py (written to a temporary directory)."""
import json, os, time

_t0 = time.time()
_OUT = os.environ.get("MUTATION_BASELINE_OUT")
_cov = None
if _OUT and os.environ.get("MUTATION_COVER_DIR"):
    import coverage
    _cov = coverage.Coverage(data_file=None, include=[os.path.join(os.environ["MUTATION_COVER_DIR"], "*.py")])
    _cov.start()
_records = {}
_first_fail = []


def _lines(env):
    path = os.environ.get(env)
    if not path:
        return []
    with open(path) as f:
        return [s for s in f.read().splitlines() if s]


def pytest_collection_modifyitems(session, config, items):
    skip = set(_lines("MUTATION_DESELECT"))
    if skip:
        gone = [it for it in items if it.nodeid in skip]
        items[:] = [it for it in items if it.nodeid not in skip]
        if gone:
            config.hook.pytest_deselected(items=gone)
    first = set(_lines("MUTATION_FIRST"))
    if first:
        items.sort(key=lambda it: it.nodeid not in first)


import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if _cov is not None:
        _cov.switch_context(item.nodeid)
    yield


def pytest_runtest_logreport(report):
    rec = _records.setdefault(report.nodeid, {"outcome": "passed", "seconds": 0.0})
    rec["seconds"] += report.duration
    if report.failed:
        rec["outcome"] = "failed"
        if not _first_fail:
            _first_fail.append(report.nodeid)
            path = os.environ.get("MUTATION_FAIL_OUT")
            if path:
                with open(path, "w") as f:
                    f.write(report.nodeid)


def pytest_collectreport(report):
    if report.failed and not _first_fail:
        _first_fail.append("collection: " + report.nodeid)
        path = os.environ.get("MUTATION_FAIL_OUT")
        if path:
            with open(path, "w") as f:
                f.write(_first_fail[0])


def pytest_sessionfinish(session, exitstatus):
    if not _OUT:
        return
    import sys
    vis = sys.modules.get("vislib")
    lines = {}
    if _cov is not None:
        _cov.stop()
        data = _cov.get_data()
        for fname in data.measured_files():
            ctx = data.contexts_by_lineno(fname)
            lines[fname] = {str(k): sorted(c for c in v if c) for k, v in ctx.items()}
    with open(_OUT, "w") as f:
        json.dump({"tests": _records, "wall": time.time() - _t0, "lines": lines,
                   "vislib": getattr(vis, "__file__", None)}, f)
'''


class Runner:
    """Copies of the tree, the baseline, and one pytest per mutant."""

    def __init__(self, tree: Path, jobs: int, timeout_factor: float, verbose: bool = True):
        self.tree = tree
        self.jobs = jobs
        self.timeout_factor = timeout_factor
        self.tmp = Path(tempfile.mkdtemp(prefix="vislib-mutation-"))
        (self.tmp / "plugin").mkdir()
        (self.tmp / "plugin" / "_mutation_plugin.py").write_text(PLUGIN)
        self.workers = []
        ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", "site",
                                        "*.egg-info", "node_modules", ".ipynb_checkpoints")
        for i in range(jobs):
            dst = self.tmp / f"w{i}"
            shutil.copytree(tree, dst, ignore=ignore)
            self.workers.append(dst)
        self.free = list(self.workers)
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.baseline: dict = {}
        self.verbose = verbose

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def env(self, worker: Path, **extra) -> dict:
        env = dict(os.environ)
        for k, v in TEST_ENV.items():
            env.setdefault(k, v)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["MPLBACKEND"] = "Agg"
        env["PYTHONPATH"] = os.pathsep.join([str(worker), str(self.tmp / "plugin")])
        for k in ("MUTATION_BASELINE_OUT", "MUTATION_COVER_DIR", "MUTATION_FIRST",
                  "MUTATION_DESELECT", "MUTATION_FAIL_OUT"):
            env.pop(k, None)
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def pytest(self, worker: Path, files: list[str], timeout: float | None, **extra
               ) -> tuple[int | None, float, str]:
        """Run pytest in ``worker``; returns (exit code or None on timeout, seconds, output tail)."""
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
               "-p", "_mutation_plugin", *files]
        if extra.pop("no_x", False):
            cmd.remove("-x")
        t0 = time.time()
        proc = subprocess.Popen(cmd, cwd=worker, env=self.env(worker, **extra), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the pytest we started and its children
            out, _ = proc.communicate()
            rc = None
        return rc, time.time() - t0, out.decode(errors="replace")[-3000:]

    def run_baseline(self, files: list[str]) -> dict:
        worker = self.workers[0]
        out = self.tmp / "baseline.json"
        rc, secs, tail = self.pytest(worker, files, None, no_x=True, MUTATION_BASELINE_OUT=out,
                                     MUTATION_COVER_DIR=worker / "vislib")
        if not out.exists():
            raise SystemExit(f"baseline run produced no record (exit {rc}):\n{tail}")
        base = json.loads(out.read_text())
        if not str(base["vislib"] or "").startswith(str(worker)):
            raise SystemExit(f"tests imported vislib from {base['vislib']}, not from the copy {worker}")
        base["exit"], base["seconds"], base["tail"] = rc, secs, tail
        base["failed"] = sorted(n for n, r in base["tests"].items() if r["outcome"] == "failed")
        tests_time = sum(r["seconds"] for r in base["tests"].values())
        base["overhead"] = max(5.0, secs - tests_time)  # interpreter + TensorFlow import + collection
        cov = {}
        for fname, lines in base.pop("lines").items():
            rel = os.path.relpath(fname, worker)
            cov[rel] = {int(k): v for k, v in lines.items()}
        base["coverage"] = cov
        self.baseline = base
        return base

    def files_seconds(self, selection: list[str]) -> float:
        """Baseline seconds of a selection (test files or test ids)."""
        sel = set(selection)
        tests = self.baseline["tests"]
        return self.baseline["overhead"] + sum(r["seconds"] for n, r in tests.items()
                                               if n in sel or n.split("::")[0] in sel)

    def covering(self, m: Mutant) -> list[str]:
        """Tests that executed the mutated line (else the nearest enclosing statement)."""
        lines = self.baseline["coverage"].get(m.module, {})
        m.covered = bool(lines.get(m.cover_lines[0])) if m.scope == "function" else None
        for ln in m.cover_lines:
            if lines.get(ln):
                return lines[ln]
        return []

    def selection(self, m: Mutant, files: list[str]) -> list[str]:
        """What pytest runs for ``m``: for a mutant inside a function (body or
        default), the tests of ``files`` that executed any line of its module in
        the baseline (a test that never enters the module cannot see the
        mutant); for a module-level mutant (a constant read at import), all of
        ``files``."""
        if m.scope != "function":
            return files
        tests = sorted({t for lines in self.baseline["coverage"].get(m.module, {}).values()
                        for t in lines if t.split("::")[0] in files})
        return tests or files

    def run_mutant(self, m: Mutant, files: list[str]) -> Mutant:
        with self.cond:
            while not self.free:
                self.cond.wait()
            worker = self.free.pop()
        try:
            target = worker / m.module
            original = target.read_bytes()
            first = self.tmp / f"{worker.name}.first"
            first.write_text("\n".join(self.covering(m)))
            deselect = self.tmp / "deselect"
            fail_out = self.tmp / f"{worker.name}.fail"
            fail_out.unlink(missing_ok=True)
            selection = self.selection(m, files)
            m.tests_run = len(selection) if selection is not files else None
            timeout = self.timeout_factor * self.files_seconds(selection) + 60
            target.write_text(m.source)
            try:
                rc, secs, tail = self.pytest(worker, selection, timeout, MUTATION_FIRST=first,
                                             MUTATION_DESELECT=deselect, MUTATION_FAIL_OUT=fail_out)
            finally:
                target.write_bytes(original)
            m.seconds = round(secs, 1)
            if rc is None:
                m.status = "timeout"
            elif rc == 0:
                m.status = "survived"
            elif rc in (1, 2):
                m.status = "killed"
                m.killed_by = fail_out.read_text() if fail_out.exists() else f"exit {rc}"
            else:
                m.status = "error"
                m.killed_by = f"exit {rc}: " + tail[-300:]
            return m
        finally:
            with self.cond:
                self.free.append(worker)
                self.cond.notify()


def _change(before: str, after: str, context: int = 25) -> str:
    """``...old... -> ...new...``: the changed part of a line with some context."""
    i = 0
    while i < min(len(before), len(after)) and before[i] == after[i]:
        i += 1
    j = 0
    while j < min(len(before), len(after)) - i and before[-1 - j] == after[-1 - j]:
        j += 1
    a = max(0, i - context)

    def cut(s):
        mid = s[a:len(s) - j + context]
        return ("..." if a else "") + mid + ("..." if len(s) - j + context < len(s) else "")
    return f"{cut(before)} -> {cut(after)}"


def _files_for(tree: Path, module: str) -> list[str]:
    return [f for f in TESTS[module] if (tree / f).exists()]


def _summary(mutants: list[Mutant], modules: list[str]) -> dict:
    rows = {}
    for mod in [*modules, "overall"]:
        ms = [m for m in mutants if mod == "overall" or m.module == mod]
        if not ms:
            continue
        c = {s: sum(m.status == s for m in ms) for s in ("killed", "timeout", "survived", "error")}
        c["total"] = len(ms)
        c["uncovered_survivors"] = sum(m.status == "survived" and m.covered is False for m in ms)
        scored = c["total"] - c["error"]
        c["score"] = round((c["killed"] + c["timeout"]) / scored, 3) if scored else None
        rows[mod] = c
    return rows


def _print_table(rows: dict):
    print(f"\n{'module':28s} {'killed':>7s} {'timeout':>8s} {'survived':>9s} {'error':>6s} "
          f"{'total':>6s} {'score':>6s}")
    for mod, c in rows.items():
        score = "-" if c["score"] is None else f"{100 * c['score']:.0f} %"
        print(f"{mod:28s} {c['killed']:7d} {c['timeout']:8d} {c['survived']:9d} {c['error']:6d} "
              f"{c['total']:6d} {score:>6s}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--modules", nargs="+", default=list(TESTS),
                   help="modules to mutate (paths like vislib/attribution/cam.py or names like attribution/cam)")
    p.add_argument("--sample", type=int, default=None, help="run a random subset of N mutants")
    p.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    p.add_argument("--limit", type=int, default=None, help="run only the first N (after --sample)")
    p.add_argument("--match", default=None, metavar="REGEX",
                   help="only mutants whose 'module:line [operator] original -> mutated' matches REGEX")
    p.add_argument("--jobs", type=int, default=MAX_JOBS, help=f"parallel pytest runs (1..{MAX_JOBS})")
    p.add_argument("--from-tree", type=Path, default=REPO, help="the tree to mutate (default: this repo)")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "mutation.json",
                   help="JSON results (default benchmarks/mutation.json)")
    p.add_argument("--timeout-factor", type=float, default=3.0,
                   help="a mutant's timeout: factor x baseline seconds of its test files + 60 s")
    p.add_argument("--categories", nargs="+", default=["core"], choices=["core", "check", "plot"],
                   help="which mutants to run (default core; check: argument checks, plot: drawing code)")
    p.add_argument("--list", action="store_true", help="print the mutants and exit")
    args = p.parse_args(argv)

    tree = args.from_tree.resolve()
    modules = []
    for m in args.modules:
        rel = m if m.endswith(".py") else f"vislib/{m}.py"
        if rel not in TESTS:
            p.error(f"--modules: {m!r} has no test table entry; valid: {sorted(TESTS)}")
        modules.append(rel)
    if not 1 <= args.jobs <= MAX_JOBS:
        p.error(f"--jobs must be 1..{MAX_JOBS}; got {args.jobs}")

    mutants, failed = generate(tree, modules)
    by_cat = {c: sum(m.category == c for m in mutants) for c in ("core", "check", "plot")}
    pool = [m for m in mutants if m.category in args.categories]
    per_mod = {mod: sum(m.module == mod for m in pool) for mod in modules}
    print(f"{len(mutants)} mutants generated in {len(modules)} modules: " + ", ".join(
        f"{c} {n}{'' if c in args.categories else ' (not run)'}" for c, n in by_cat.items())
          + f"; {failed} not generated (no clean edit)")
    print(f"  {' '.join(args.categories)} by module: "
          + ", ".join(f"{Path(k).stem} {v}" for k, v in per_mod.items()))
    if args.match:
        pool = [m for m in pool if re.search(args.match, f"{m.module}:{m.line} [{m.operator}] "
                                                        f"{m.original} -> {m.mutated}")]
    chosen = pool
    if args.sample is not None and args.sample < len(pool):
        chosen = random.Random(args.seed).sample(pool, args.sample)
        chosen.sort(key=lambda m: (modules.index(m.module), m.line, m.col, m.id))
    if args.limit is not None:
        chosen = chosen[:args.limit]
    if args.list:
        for m in chosen:
            print(f"{m.category:5s} {m.module}:{m.line} [{m.operator}] {m.original}  ->  {m.mutated}")
        return 0
    files_of = {mod: _files_for(tree, mod) for mod in modules}
    for mod, files in files_of.items():
        if not files:
            p.error(f"no test file of {mod} in {tree}: {TESTS[mod]}")
    all_files = sorted({f for m in chosen for f in files_of[m.module]})
    print(f"running {len(chosen)} mutants from {tree} with {args.jobs} workers; test files: "
          + " ".join(Path(f).name for f in all_files), flush=True)

    runner = Runner(tree, args.jobs, args.timeout_factor)
    try:
        t0 = time.time()
        base = runner.run_baseline(all_files)
        (runner.tmp / "deselect").write_text("\n".join(base["failed"]))
        print(f"baseline: {len(base['tests'])} tests in {base['seconds']:.0f} s "
              f"(import + collection {base['overhead']:.0f} s); failing without any mutant, "
              f"deselected: {base['failed'] or 'none'}", flush=True)
        t1 = time.time()
        done = []

        def one(m):
            r = runner.run_mutant(m, files_of[m.module])
            with runner.lock:
                done.append(r)
                k = len(done)
            by = f"  [{r.killed_by}]" if r.killed_by and r.status != "killed" else \
                f"  [{r.killed_by.split('::')[-1][:50]}]" if r.killed_by else ""
            print(f"[{k}/{len(chosen)}] {r.status.upper():8s} {r.module}:{r.line} [{r.operator}] "
                  f"{_change(r.original, r.mutated)} ({r.seconds:.0f} s){by}", flush=True)
            return r

        with ThreadPoolExecutor(args.jobs) as ex:
            list(ex.map(one, chosen))
        elapsed = time.time() - t1
    finally:
        runner.cleanup()

    rows = _summary(chosen, modules)
    _print_table(rows)
    per_min = len(chosen) / (elapsed / 60) if elapsed else 0.0
    print(f"\n{len(chosen)} mutants in {elapsed / 60:.1f} min ({per_min:.1f} mutants/minute; "
          f"baseline {(t1 - t0) / 60:.1f} min). Timeouts count as killed.")
    survivors = [m for m in chosen if m.status == "survived"]
    if survivors:
        print(f"\nsurviving mutants ({len(survivors)}):")
        for m in survivors:
            cov = "  (line not executed by any test)" if m.covered is False else ""
            print(f"  {m.module}:{m.line} [{m.operator}] {m.original}  ->  {m.mutated}{cov}")
    errors = [m for m in chosen if m.status == "error"]
    for m in errors:
        print(f"  error: {m.module}:{m.line} {m.killed_by[:200]}")
    commit = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or None
    dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "--", "vislib", "tests"],
                           capture_output=True, text=True).stdout.strip() != ""
    result = {
        "tree": str(tree), "commit": commit, "tree_modified": dirty, "modules": modules,
        "generated": len(mutants), "generated_by_category": by_cat, "categories_run": args.categories,
        "sample": args.sample, "seed": args.seed,
        "limit": args.limit, "match": args.match, "jobs": args.jobs, "timeout_factor": args.timeout_factor,
        "test_files": {m: files_of[m] for m in modules},
        "baseline": {"tests": len(base["tests"]), "seconds": round(base["seconds"], 1),
                     "overhead_seconds": round(base["overhead"], 1), "failing_deselected": base["failed"]},
        "minutes": round(elapsed / 60, 2), "mutants_per_minute": round(per_min, 2),
        "summary": rows, "survivors": [m.record() for m in survivors],
        "mutants": [m.record() for m in chosen],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
