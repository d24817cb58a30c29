"""The course in a real browser, as a newcomer meets it (``make browser-test``).

Starts JupyterLab the way ``make lab`` does (``jupyter lab --notebook-dir=lessons``, here
with ``--no-browser``, a free port and a known token), opens a lesson in headless
Chromium, runs every cell through JupyterLab's *Run > Run All Cells* menu, waits for the
kernel to be idle, then checks what is on the page:

- the notebook opened (no "File Load Error" dialog), every code cell ran (an execution
  count in each prompt), and no output is an error;
- no output area holds a stderr box (the red box of start-up logs and warnings), and none
  is empty (a box with nothing to see, e.g. a Keras summary printed into the void);
- the explorer's controls rendered (an ipywidgets Dropdown or slider), no widget failed
  to display, and the page holds image outputs that loaded;
- changing an explorer's Dropdown (another option) and a slider (one step by keyboard)
  redraws its figure: the image's bytes differ before and after, and no stderr box appears.

``python tools/browser_test.py [LESSON ...|all] [--profile NAME]``: lessons in one
JupyterLab session (default 00_start_here; a fresh workspace per lesson).

Screenshots (PNG) of the whole notebook, scrolled one screen at a time, and of the
explorer before and after the change go to ``--out`` (default ``build/browser-test/``,
git-ignored). Each failed check prints a line starting with ``FAIL``; the exit status is
1 when any check failed, 2 when the test could not run (no browser, server did not
start). JupyterLab and its kernel are shut down afterwards, also on failure.

The kernel inherits ``VISLIB_MODEL`` (default here ``fashion_cnn``) and ``VISLIB_FAST``
(default ``1``) but *not* ``TF_CPP_MIN_LOG_LEVEL``: the lessons' setup cell must keep
TensorFlow quiet by itself, as it does for someone who types ``make lab``. The
JupyterLab settings and workspaces are fresh (a temporary folder), with autosave off so
that the run never writes outputs into the committed notebook (checked afterwards).

Needs Chromium and its driver: Debian's ``chromium`` and ``chromium-driver`` (installed
with apt-get when missing and running as root; ``CHROMIUM`` and ``CHROMEDRIVER`` name
other binaries) and the ``selenium`` package (tools/requirements-browser.txt).
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"

FAILURES: list[str] = []


class CannotRun(Exception):
    """The test could not be set up (exit status 2)."""


def log(msg: str) -> None:
    print(msg, flush=True)


def check(ok: bool, what: str, detail: str = "") -> bool:
    """Record one check: print ``ok`` or ``FAIL`` with what was seen."""
    line = f"{'ok  ' if ok else 'FAIL'}  {what}" + (f": {detail}" if detail else "")
    log(line)
    if not ok:
        FAILURES.append(line)
    return ok


# ---------------------------------------------------------------- browser and driver
def _find(env: str, names: list[str], paths: list[str]) -> str | None:
    if os.environ.get(env):
        return os.environ[env] if os.access(os.environ[env], os.X_OK) else None
    for n in names:
        if shutil.which(n):
            return shutil.which(n)
    return next((p for p in paths if os.access(p, os.X_OK)), None)


def find_chromium() -> tuple[str | None, str | None]:
    browser = _find("CHROMIUM", ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"],
                    ["/usr/lib/chromium/chromium"])
    driver = _find("CHROMEDRIVER", ["chromedriver"], ["/usr/lib/chromium/chromedriver"])
    return browser, driver


def ensure_chromium(install: bool) -> tuple[str, str]:
    browser, driver = find_chromium()
    if browser and driver:
        return browser, driver
    if install and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing Debian's chromium and chromium-driver with apt-get (a few minutes) ...")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        cmd = ["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"]
        if subprocess.run(cmd, check=False, env=env, stdout=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], check=False, env=env, stdout=subprocess.DEVNULL)
            subprocess.run(cmd, check=False, env=env, stdout=subprocess.DEVNULL)
        browser, driver = find_chromium()
        if browser and driver:
            return browser, driver
    missing = " and ".join(n for n, p in (("Chromium", browser), ("its driver (chromedriver)", driver)) if not p)
    raise CannotRun(
        f"the browser test needs {missing}. On Debian/Ubuntu: "
        "`sudo apt-get install chromium chromium-driver` (make browser-test does this itself when run "
        "as root); elsewhere install Chromium or Chrome with the matching chromedriver and set "
        "CHROMIUM=/path/to/browser CHROMEDRIVER=/path/to/chromedriver.")


# ---------------------------------------------------------------- JupyterLab, as `make lab`
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_command(port: int, token: str, settings: Path, workspaces: Path) -> list[str]:
    jupyter = Path(sys.executable).parent / "jupyter"
    cmd = [str(jupyter), "lab"] if jupyter.exists() else [sys.executable, "-m", "jupyter", "lab"]
    # the `make lab` command line without a display: --notebook-dir=lessons --no-browser --ip --port
    cmd += ["--notebook-dir=lessons", "--no-browser", "--ip=127.0.0.1", f"--port={port}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    # a known token, and fresh settings and workspaces (a newcomer's JupyterLab)
    cmd += [f"--IdentityProvider.token={token}", f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={workspaces}"]
    return cmd


def write_settings(settings: Path) -> None:
    """Fresh user settings: autosave off (never write outputs into lessons/), no news poll."""
    for plugin, values in {
        "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }.items():
        f = settings / f"{plugin}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(values))


def wait_for_server(proc: subprocess.Popen, url: str, timeout: float, logfile: Path) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise CannotRun(f"JupyterLab exited with status {proc.returncode}:\n{tail(logfile)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise CannotRun(f"JupyterLab did not answer {url.split('?')[0]} within {timeout:.0f} s:\n{tail(logfile)}")


def tail(path: Path, n: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def stop_lab(proc: subprocess.Popen | None, base: str, token: str) -> None:
    """Shut the kernels down through the REST API, then the server (its process group)."""
    if proc is None or proc.poll() is not None:
        return
    shutdown_kernels(base, token)
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


# ---------------------------------------------------------------- the page
JS_STATE = """
const cells = [...document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')];
const code = cells.filter(c => c.classList.contains('jp-CodeCell'));
const prompts = code.map(c => (c.querySelector('.jp-InputArea-prompt') || {}).textContent || '');
const ind = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
const bar = document.querySelector('#jp-main-statusbar');
return {cells: cells.length, code: code.length, prompts: prompts,
        status: ind ? ind.getAttribute('data-status') : null,
        statusbar: bar ? bar.innerText.replace(/\\s+/g, ' ') : ''};
"""

JS_OUTPUTS = """
const cells = [...document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')];
const where = el => cells.indexOf(el.closest('.jp-Cell'));
const q = s => [...document.querySelectorAll('.jp-NotebookPanel ' + s)];
const boxes = mime => q(`.jp-OutputArea-output[data-mime-type="${mime}"]`)
    .map(e => ({cell: where(e), text: e.textContent.slice(0, 400)}));
const imgs = q('.jp-OutputArea-output img').map(i => ({cell: where(i), ok: i.complete && i.naturalWidth > 0,
    w: i.naturalWidth, h: i.naturalHeight, shown: Math.round(i.getBoundingClientRect().width)}));
const wide = q('.jp-OutputArea-output').filter(o => o.scrollWidth > o.clientWidth + 1)
    .map(o => ({cell: where(o), scroll: o.scrollWidth, client: o.clientWidth}));
const outs = q('.jp-OutputArea-output');
const text = outs.map(o => o.textContent).join('\\n');
// an output with nothing in it that still takes room (a closed widget, e.g. a finished tqdm bar, takes none)
const empty = outs.filter(o => !o.textContent.trim()
        && !o.querySelector('img, svg, canvas, iframe, video, .jupyter-widgets')
        && (o.getAttribute('data-mime-type') || o.getBoundingClientRect().height > 4))
    .map(o => ({cell: where(o), mime: o.getAttribute('data-mime-type'), html: o.innerHTML}));
return {stderr: boxes('application/vnd.jupyter.stderr'), errors: boxes('application/vnd.jupyter.error'),
        images: imgs, wide: wide, empty: empty, outputs: outs.length,
        widgets: q('.jupyter-widgets').length, interact: q('.widget-interact').length,
        dropdowns: q('.widget-dropdown select').length, sliders: q('.widget-slider').length,
        widget_errors: (text.match(/Error displaying widget[^\\n]*/g) || []),
        loading: (text.match(/Loading widget\\.\\.\\./g) || []).length};
"""


def png_size(data: bytes) -> tuple[int, int]:
    return struct.unpack(">II", data[16:24]) if data[:8] == b"\x89PNG\r\n\x1a\n" else (0, 0)


class Shots:
    def __init__(self, out: Path):
        self.out, self.rows = out, []

    def save(self, name: str, data: bytes) -> Path:
        path = self.out / name
        path.write_bytes(data)
        w, h = png_size(data)
        self.rows.append((name, w, h, len(data)))
        return path


def wait_until(fn, timeout: float, step: float = 0.5):
    t0 = time.time()
    while True:
        value = fn()
        if value or time.time() - t0 > timeout:
            return value
        time.sleep(step)


def run_all_cells(driver) -> None:
    """JupyterLab's menu Run > Run All Cells, clicked as a user would."""
    from selenium.webdriver.common.by import By
    driver.find_element(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-Notebook").click()
    items = driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item")
    run = [i for i in items if i.text.strip() == "Run"]
    if not run:
        raise CannotRun(f"no 'Run' menu in JupyterLab's menu bar (saw {[i.text for i in items]})")
    run[0].click()
    # the menu entry "Run All Cells" (command runmenu:run-all in JupyterLab 4, notebook:run-all-cells before)
    entry = wait_until(lambda: [li for li in driver.find_elements(By.CSS_SELECTOR, ".lm-Menu li.lm-Menu-item")
                                if li.get_attribute("data-command") in ("runmenu:run-all", "notebook:run-all-cells")
                                or li.text.strip().startswith("Run All Cells")], 10)
    if not entry:
        seen = driver.execute_script("return [...document.querySelectorAll('.lm-Menu li')]"
                                     ".map(e => e.outerHTML.slice(0, 160))")
        raise CannotRun(f"the Run menu has no 'Run All Cells' entry; menu items: {seen}")
    entry[0].click()


def notebook_scroller(driver):
    return driver.execute_script(
        "const n = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')"
        " || document.querySelector('.jp-NotebookPanel .jp-Notebook'); return n;")


def screenshot_notebook(driver, shots: Shots, prefix: str) -> int:
    """Viewport screenshots while scrolling the notebook one screen at a time."""
    sc = notebook_scroller(driver)
    total, view = driver.execute_script("return [arguments[0].scrollHeight, arguments[0].clientHeight]", sc)
    n, top = 0, 0
    while True:
        driver.execute_script("arguments[0].scrollTop = arguments[1]", sc, top)
        time.sleep(0.4)
        shots.save(f"{prefix}_{n:02d}.png", driver.get_screenshot_as_png())
        n += 1
        top += max(view - 80, 200)             # overlap a little, so that no line falls between two shots
        if top >= total - 40 or n >= 60:
            break
    driver.execute_script("arguments[0].scrollTop = 0", sc)
    return n


def explorer_image(box):
    """(short hash of the explorer's last image's src, number of images), read in one go:
    the image element is replaced while the figure redraws."""
    srcs = box.parent.execute_script(
        "return [...arguments[0].querySelectorAll('img')].map(i => i.getAttribute('src') || '')", box)
    if not srcs:
        return None, 0
    return hashlib.sha1(srcs[-1].encode()).hexdigest()[:12], len(srcs)


def test_explorers(driver, shots: Shots, timeout: float = 60) -> None:
    """Change a Dropdown of the first explorer that has one, and a slider of the first
    explorer that has one (the same explorer when it has both kinds), and see the figure change."""
    from selenium.webdriver.common.by import By
    boxes = driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .widget-interact")
    if not check(bool(boxes), "an explorer (ipywidgets interactive) rendered", f"{len(boxes)} found"):
        return
    has = {kind: next((k for k, b in enumerate(boxes) if b.find_elements(By.CSS_SELECTOR, css)), None)
           for kind, css in (("dropdown", ".widget-dropdown select"), ("slider", ".widget-slider .noUi-handle"))}
    if not check(any(v is not None for v in has.values()), "an explorer has a Dropdown or slider to change",
                 f"{len(boxes)} explorers"):
        return
    for kind, k in has.items():
        if k is not None:
            change_control(driver, boxes[k], k, kind, shots, timeout)


def change_control(driver, box, k: int, kind: str, shots: Shots, timeout: float) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    time.sleep(0.5)
    before, n_before = explorer_image(box)
    check(before is not None, f"explorer {k} shows a figure (an image output)", f"{n_before} image(s)")
    shots.save(f"explorer{k}_{kind}_before.png", box.screenshot_as_png)
    if kind == "dropdown":
        widget = box.find_element(By.CSS_SELECTOR, ".widget-dropdown")
        label = widget.find_element(By.CSS_SELECTOR, "label").text
        sel = Select(widget.find_element(By.CSS_SELECTOR, "select"))
        old = sel.first_selected_option.text
        options = [o.text for o in sel.options]
        new = next((o for o in options if o != old), None)
        if not check(new is not None, f"the Dropdown '{label}' has another option", f"{options}"):
            return
        sel.select_by_visible_text(new)
        what = f"Dropdown '{label}': {old!r} -> {new!r}"
    else:
        widget = box.find_element(By.CSS_SELECTOR, ".widget-slider")
        label = widget.find_element(By.CSS_SELECTOR, "label").text
        readout = widget.find_elements(By.CSS_SELECTOR, ".widget-readout")
        old = readout[0].text if readout else "?"
        handle = widget.find_element(By.CSS_SELECTOR, ".noUi-handle")
        at_end = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
        handle.click()                              # focus the handle, then one step by keyboard
        handle.send_keys(Keys.ARROW_LEFT if at_end else Keys.ARROW_RIGHT)
        time.sleep(0.3)
        new = readout[0].text if readout else "?"
        what = f"slider '{label}': {old} -> {new}"
        if not check(new != old, f"the slider '{label}' moved by keyboard", what):
            return
    t0 = time.time()
    after = wait_until(lambda: (explorer_image(box)[0] not in (None, before)) and explorer_image(box)[0], timeout)
    dt = time.time() - t0
    check(bool(after), f"changing the explorer's control redraws its figure ({what})",
          f"image {before} -> {after or 'unchanged'} in {dt:.1f} s")
    time.sleep(1.0)
    n_after = explorer_image(box)[1]
    check(n_after == n_before, "the explorer still shows one figure after the change (no stacking)",
          f"{n_before} image(s) before, {n_after} after")
    shots.save(f"explorer{k}_{kind}_after.png", box.screenshot_as_png)


def start_browser(args, browser: str, driver_path: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for a in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
              f"--window-size={args.width},{args.height}"):
        opts.add_argument(a)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        opts.add_argument("--no-sandbox")       # Chromium refuses to run as root with its sandbox
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    driver.set_page_load_timeout(120)
    return driver


def cell_name(nb: dict, idx: int) -> str:
    """'cell 5 `cm.model.summary(line_length=90)`': the notebook's cell number and first code line."""
    if not 0 <= idx < len(nb["cells"]):
        return f"cell {idx}"
    src = "".join(nb["cells"][idx]["source"]).strip().splitlines()
    first = next((ln for ln in src if ln.strip() and not ln.lstrip().startswith("#")), src[0] if src else "")
    return f"cell {idx} `{first.strip()[:70]}`"


def server_warnings(logfile: Path | None, n: int = 3) -> str:
    """The last warning/error lines of JupyterLab's log (e.g. jupytext refusing a notebook)."""
    if logfile is None:
        return ""
    lines = [ln for ln in tail(logfile, 400).splitlines() if ln.startswith(("[W", "[E", "[C"))]
    return "\n".join(ln[:1500] for ln in lines[-n:])


def lesson_run(args, driver, url: str, nb: dict, shots: Shots) -> dict:
    """Open one notebook, Run All Cells, check the page, change the explorer, take screenshots."""
    n_cells = len(nb["cells"])
    n_code = sum(c["cell_type"] == "code" for c in nb["cells"])
    times = {}
    t0 = time.time()
    driver.get(url)
    dialog = "return [...document.querySelectorAll('.jp-Dialog')].map(d => d.innerText.slice(0, 600))"
    page = wait_until(lambda: driver.execute_script(JS_STATE)["cells"] == n_cells
                      or driver.execute_script(dialog), 120)
    if driver.execute_script(dialog):               # e.g. "File Load Error for NN_topic.ipynb"
        shots.save("error_dialog.png", driver.get_screenshot_as_png())
        raise CannotRun(f"JupyterLab shows a dialog instead of the notebook: "
                        f"{driver.execute_script(dialog)[0]!r}")
    if not page:
        shots.save("error_page.png", driver.get_screenshot_as_png())
        raise CannotRun(f"JupyterLab did not show the notebook's {n_cells} cells within 120 s "
                        f"(title {driver.title!r}, {driver.execute_script(JS_STATE)}); "
                        f"the server's last warnings:\n{server_warnings(args.logfile)}")

    def kernel_idle():                              # the status bar says "Python 3 (ipykernel) | Idle"
        s = driver.execute_script(JS_STATE)
        return s["status"] == "idle" and "| Idle" in s["statusbar"] and "No Kernel" not in s["statusbar"]
    idle = wait_until(kernel_idle, 180)
    times["open notebook + kernel idle"] = time.time() - t0
    if not idle:
        shots.save("error_kernel.png", driver.get_screenshot_as_png())
        raise CannotRun(f"the kernel did not become idle: {driver.execute_script(JS_STATE)}")
    shots.save("00_opened.png", driver.get_screenshot_as_png())

    t1 = time.time()
    run_all_cells(driver)

    def finished():
        s = driver.execute_script(JS_STATE)
        done = (s["status"] == "idle" and "| Idle" in s["statusbar"]
                and not any("*" in p for p in s["prompts"]))
        return s if done else None
    time.sleep(2)
    state, stable = None, 0
    deadline = time.time() + args.timeout
    while time.time() < deadline and stable < 3:    # idle and no [*] three polls in a row
        state = finished()
        stable = stable + 1 if state else 0
        time.sleep(1)
    times["run all cells"] = time.time() - t1
    if stable < 3:
        shots.save("error_timeout.png", driver.get_screenshot_as_png())
        check(False, f"the notebook finished within {args.timeout:.0f} s",
              f"still running: {driver.execute_script(JS_STATE)}")
        return times
    time.sleep(2)                                   # let widgets and images finish rendering

    check(state["cells"] == n_cells, "every cell of the notebook is on the page",
          f"{state['cells']} of {n_cells} cells ({state['code']} code cells, {n_code} in the file)")
    ran = [p for p in state["prompts"] if any(ch.isdigit() for ch in p)]
    check(len(ran) == state["code"] == n_code, "every code cell ran (an execution count in its prompt)",
          f"{len(ran)} of {n_code}" + ("" if len(ran) == n_code else f"; prompts {state['prompts']}"))

    out = driver.execute_script(JS_OUTPUTS)
    check(not out["errors"], "no cell shows an error (traceback)",
          "; ".join(f"{cell_name(nb, e['cell'])}: {e['text'][:200]!r}" for e in out["errors"])
          or "0 error outputs")
    check(not out["stderr"], "no output area holds a stderr box",
          "; ".join(f"{cell_name(nb, e['cell'])}: {e['text'][:300]!r}" for e in out["stderr"])
          or "0 stderr outputs")
    check(not out["empty"], "no output area is empty (an output with nothing to see)",
          "; ".join(f"{cell_name(nb, e['cell'])}: {e['mime']} {e['html'][:80]!r}" for e in out["empty"])
          or f"{out['outputs']} outputs, none empty")
    check(not out["widget_errors"] and not out["loading"], "every widget displayed",
          f"{out['widget_errors'][:3]} {out['loading']} still 'Loading widget...'" if out["widget_errors"]
          or out["loading"] else "no 'Error displaying widget', no 'Loading widget...'")
    broken = [i for i in out["images"] if not i["ok"]]
    check(len(out["images"]) >= 1 and not broken, "image outputs exist and loaded",
          f"{len(out['images'])} images in cells {sorted({i['cell'] for i in out['images']})}"
          + (f", {len(broken)} broken" if broken else ""))
    for i in out["images"]:
        log(f"      image in {cell_name(nb, i['cell'])}: {i['w']}x{i['h']} px, shown {i['shown']} px wide")
    for w in out["wide"]:
        log(f"note  the output of {cell_name(nb, w['cell'])} is wider than its area and scrolls sideways: "
            f"{w['scroll']} px in {w['client']} px")
    if args.require_explorer or out["interact"]:
        check(out["dropdowns"] + out["sliders"] >= 1, "the explorer's controls rendered (Dropdown or slider)",
              f"{out['widgets']} .jupyter-widgets elements, {out['interact']} explorers, "
              f"{out['dropdowns']} Dropdowns, {out['sliders']} sliders")
        t2 = time.time()
        test_explorers(driver, shots, args.redraw_timeout)
        times["explorer change"] = time.time() - t2
        seen = {(e["cell"], e["text"]) for e in out["stderr"]}
        new = [e for e in driver.execute_script(JS_OUTPUTS)["stderr"] if (e["cell"], e["text"]) not in seen]
        check(not new, "changing the explorers added no stderr box",
              "; ".join(f"{cell_name(nb, e['cell'])}: {e['text'][:300]!r}" for e in new) or "none added")
    else:
        log("      no explorer in this lesson")
    n = screenshot_notebook(driver, shots, "notebook")
    log(f"      {n} screenshots of the notebook, scrolled one screen at a time")
    return times


def saved_by_lab(path: Path, original: bytes) -> bool:
    """Whether ``path`` now holds the original notebook's cells with outputs (JupyterLab saved
    it). A notebook changed otherwise (someone edited or regenerated it meanwhile) is left alone."""
    now = path.read_bytes()
    if now == original:
        return False
    try:
        old, new = json.loads(original), json.loads(now)
    except ValueError:
        return False
    def text(nb):
        return ["".join(c["source"]) for c in nb["cells"]]
    same = text(old) == text(new)
    ran = any(c.get("outputs") or c.get("execution_count") for c in new["cells"] if c["cell_type"] == "code")
    return same and ran


def shutdown_kernels(base: str, token: str) -> None:
    try:
        with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=5) as r:
            kernels = json.load(r)
        for k in kernels:
            req = urllib.request.Request(f"{base}/api/kernels/{k['id']}?token={token}", method="DELETE")
            urllib.request.urlopen(req, timeout=15).close()
    except OSError:
        pass


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("lessons", nargs="*", default=["00_start_here"],
                    help="notebooks in lessons/ to open, e.g. 00_start_here 05_occlusion, or 'all' "
                         "(default 00_start_here)")
    ap.add_argument("--profile", default=os.environ.get("VISLIB_MODEL", "fashion_cnn"),
                    help="VISLIB_MODEL of the kernel (default $VISLIB_MODEL, else fashion_cnn)")
    ap.add_argument("--fast", default=os.environ.get("VISLIB_FAST", "1"), help="VISLIB_FAST (default 1)")
    ap.add_argument("--out", default=str(ROOT / "build" / "browser-test"), help="screenshot folder")
    ap.add_argument("--timeout", type=float, default=900, help="seconds for Run All Cells per lesson")
    ap.add_argument("--redraw-timeout", type=float, default=60,
                    help="seconds for the explorer's figure to change (default 60)")
    ap.add_argument("--width", type=int, default=1440, help="browser window width (default 1440)")
    ap.add_argument("--height", type=int, default=900, help="browser window height (default 900)")
    ap.add_argument("--install", action="store_true",
                    help="apt-get install chromium chromium-driver when missing (as root)")
    ap.add_argument("--notebook-dir", default="lessons", help=argparse.SUPPRESS)  # the tests' own notebooks
    args = ap.parse_args(argv)
    FAILURES.clear()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # run the clean-up below on kill

    t_start = time.time()
    nb_dir = (ROOT / args.notebook_dir).resolve()
    names = args.lessons
    if names == ["all"]:
        names = sorted(p.stem for p in nb_dir.glob("[0-9][0-9]_*.ipynb"))
    args.logfile = None
    args.require_explorer = names == ["00_start_here"] or names[:1] == ["00_start_here"]
    paths = [nb_dir / (n if n.endswith(".ipynb") else f"{n}.ipynb") for n in names]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        log(f"error: no notebook {', '.join(missing)}")
        return 2
    originals = {p: p.read_bytes() for p in paths}
    had_checkpoints = (nb_dir / ".ipynb_checkpoints").exists()

    out_root = Path(args.out)
    proc, base, token, driver = None, "", secrets.token_hex(16), None
    tmp = Path(tempfile.mkdtemp(prefix="browser-test-"))
    all_shots: list[tuple[Path, Shots]] = []
    times: dict = {}
    status = 2
    try:
        try:
            import selenium
        except ImportError:
            raise CannotRun("the browser test needs selenium: pip install -r tools/requirements-browser.txt")
        browser, driver_path = ensure_chromium(args.install)
        version = subprocess.run([browser, "--version"], check=False, capture_output=True, text=True).stdout.strip()
        log(f"browser: {version} ({browser}), driver {driver_path}, selenium {selenium.__version__}")

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        write_settings(tmp / "settings")
        env = dict(os.environ, VISLIB_MODEL=args.profile, VISLIB_FAST=args.fast)
        env.pop("TF_CPP_MIN_LOG_LEVEL", None)          # the setup cell must silence TensorFlow itself
        cmd = lab_command(port, token, tmp / "settings", tmp / "workspaces")
        if args.notebook_dir != "lessons":
            cmd[cmd.index("--notebook-dir=lessons")] = f"--notebook-dir={nb_dir}"
        log(f"starting: VISLIB_MODEL={args.profile} VISLIB_FAST={args.fast} "
            + " ".join(c.replace(token, "<token>") for c in cmd))
        out_root.mkdir(parents=True, exist_ok=True)
        logfile = out_root / "jupyterlab.log"
        args.logfile = logfile
        t0 = time.time()
        with open(logfile, "w") as lf:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=lf, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        wait_for_server(proc, f"{base}/api/status?token={token}", 90, logfile)
        times["JupyterLab start"] = time.time() - t0
        t0 = time.time()
        driver = start_browser(args, browser, driver_path)
        times["browser start"] = time.time() - t0
        viewport = driver.execute_script("return [window.innerWidth, window.innerHeight]")
        log(f"      browser viewport {viewport[0]}x{viewport[1]} px")
        for path in paths:
            log(f"== {path.stem} under VISLIB_MODEL={args.profile} ==")
            out = out_root / f"{path.stem}-{args.profile}"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            shots = Shots(out)
            all_shots.append((out, shots))
            nb = json.loads(originals[path])
            try:                                        # ?reset: a fresh workspace, only this notebook open
                for k, v in lesson_run(args, driver, f"{base}/lab/tree/{path.name}?reset&token={token}", nb,
                                       shots).items():
                    times[f"{path.stem}: {k}"] = v
            except CannotRun as err:
                check(False, f"{path.stem} opened and ran", str(err))
            except Exception as err:  # noqa: BLE001 -- a selenium or page error: report it, go on
                check(False, f"{path.stem}: the browser session ran to the end",
                      f"{type(err).__name__}: {str(err)[:300]}")
                with contextlib.suppress(Exception):
                    shots.save("error.png", driver.get_screenshot_as_png())
            finally:
                shutdown_kernels(base, token)          # one kernel at a time on small machines
        status = 1 if FAILURES else 0
    except CannotRun as err:
        log(f"error: the browser test could not run: {err}")
        FAILURES.append("could not run")
        status = 2
    except Exception as err:  # noqa: BLE001 -- a selenium or page error: say what and where, then clean up
        import traceback
        traceback.print_exc()
        check(False, "the browser session ran to the end", f"{type(err).__name__}: {str(err)[:300]}")
        status = 1
    finally:
        if driver is not None:
            driver.quit()
        stop_lab(proc, base, token)
        shutil.rmtree(tmp, ignore_errors=True)
        if not had_checkpoints:
            shutil.rmtree(nb_dir / ".ipynb_checkpoints", ignore_errors=True)
        for p, data in originals.items():             # autosave is off: JupyterLab must not have saved
            if saved_by_lab(p, data):
                p.write_bytes(data)
                check(False, f"{p.name} is unchanged on disk", "JupyterLab saved outputs into it; restored")
                status = max(status, 1)
    for out, shots in all_shots:
        rel = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
        for name, w, h, size in shots.rows:
            log(f"      screenshot {rel}/{name}: {w}x{h} px, {size / 1024:.0f} KiB")
    for k, v in times.items():
        log(f"      time: {k} {v:.1f} s")
    total = time.time() - t_start
    what = f"browser test of {' '.join(p.stem for p in paths)} under {args.profile}"
    if status == 0:
        log(f"{what}: all checks passed in {total:.0f} s")
    else:
        log(f"{what}: {len(FAILURES)} failed in {total:.0f} s")
        for f in FAILURES:
            log(f"  {f}")
    return status


if __name__ == "__main__":
    sys.exit(main())
