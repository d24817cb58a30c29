"""The course in a real browser (tools/browser_test.py, ``make browser-test``).

Headless Chromium opens notebooks through JupyterLab started as ``make lab`` starts it,
runs all cells and checks the page. Skipped when Chromium, its driver or selenium are
missing (``make browser-test`` installs them: Debian's chromium and chromium-driver,
tools/requirements-browser.txt). About 30 s per test on 2 cores.
"""
from __future__ import annotations

import json

import pytest

from tools import browser_test as bt


def _browser_or_skip():
    pytest.importorskip("selenium", reason="selenium not installed (pip install -r tools/requirements-browser.txt)")
    browser, driver = bt.find_chromium()
    if not (browser and driver):
        pytest.skip("no Chromium/chromedriver (apt-get install chromium chromium-driver, or make browser-test)")


def _cell(src: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": f"c{abs(hash(src)) % 10**8}",
            "metadata": {}, "outputs": [], "source": src}


def test_checks_catch_stderr_empty_output_and_a_dead_explorer(tmp_path, capsys):
    """The control: a notebook with a stderr line, an empty HTML output and an explorer
    whose figure does not depend on its Dropdown must fail exactly those checks."""
    _browser_or_skip()
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "cells": [
              _cell("import sys\nprint('a start-up line', file=sys.stderr)"),
              _cell("from IPython.display import HTML, display\ndisplay(HTML('<pre></pre>'))"),
              _cell("%matplotlib inline\nimport matplotlib.pyplot as plt\nimport ipywidgets as widgets\n"
                    "def show(name):\n    plt.plot([0, 1], [0, 1]); plt.title('always the same'); plt.show()\n"
                    "widgets.interactive(show, name=widgets.Dropdown(options=['a', 'b'], description='image'))"),
          ]}
    (tmp_path / "99_control.ipynb").write_text(json.dumps(nb))
    rc = bt.main(["99_control", "--notebook-dir", str(tmp_path), "--out", str(tmp_path / "shots"),
                  "--timeout", "120", "--redraw-timeout", "10"])
    out = capsys.readouterr().out
    failed = "\n".join(bt.FAILURES)
    assert rc == 1, out
    assert "no output area holds a stderr box" in failed and "a start-up line" in failed, out
    assert "no output area is empty" in failed, out
    assert "redraws its figure" in failed, out
    assert "every code cell ran" not in failed and "image outputs exist" not in failed, out
    assert (tmp_path / "99_control.ipynb").read_text() == json.dumps(nb)   # nothing saved into it
    assert (tmp_path / "shots" / "99_control-fashion_cnn" / "explorer0_dropdown_after.png").stat().st_size > 1000


def test_lesson_00_in_the_browser(tmp_path, capsys):
    """Lesson 00 as a newcomer meets it: every cell runs, no stderr box, no empty output,
    the explorer renders and changing its Dropdown redraws the figure."""
    _browser_or_skip()
    rc = bt.main(["00_start_here", "--profile", "fashion_cnn", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0, "\n".join(bt.FAILURES) + "\n\n" + out
