"""Repository-wide pytest hooks: a per-lesson time table after nbval runs,
so `make test` shows which lesson costs what (budget: 60 s each offline)."""

from __future__ import annotations

from collections import defaultdict

_LESSON_SECONDS: dict[str, float] = defaultdict(float)
_LESSON_FAILED: set[str] = set()


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _LESSON_SECONDS[path] += report.duration
        if report.failed:
            _LESSON_FAILED.add(path)


def pytest_terminal_summary(terminalreporter):
    if not _LESSON_SECONDS:
        return
    tr = terminalreporter
    tr.write_sep("-", "time per lesson (cells only; the kernel start adds ~5 s)")
    for path, secs in sorted(_LESSON_SECONDS.items()):
        flag = "FAILED" if path in _LESSON_FAILED else ("over 60 s" if secs > 60 else "")
        tr.write_line(f"{secs:7.1f} s  {path}  {flag}")
    tr.write_line(f"{sum(_LESSON_SECONDS.values()):7.1f} s  total")
