"""Execute every lesson and build the course website (``make html``).

Every lesson is executed top to bottom under one model profile (``--profile``,
else ``VISLIB_MODEL``, else ``efficientnet_lite0``: the real ImageNet network that
needs no download) with nbclient (``tools.nbexec.client``). The executed
notebooks become a Jupyter Book 1.x (Sphinx: navigation between lessons,
search, MathJax) together with an index page, a page on the model profiles
(README's table) and the lessons' references. The site is written to ``--out``
(default ``site/``); the executed notebooks stay in ``build/executed/<profile>[-fast]/``
for ``make slides``.

An interactive explorer cannot work on a static page: its widget is replaced by
a note that it needs a running kernel, followed by the figure it drew for its
default settings (taken from the widget state nbclient recorded).

A lesson that fails to execute fails the build (exit status 1) after the
remaining lessons ran and the site was written (its page shows where it
stopped). MathJax 3 is copied from npm next to the pages when ``npm`` can fetch
it, so the site needs no network in the reader's browser; without npm the pages
load MathJax from a CDN (a warning says so).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.nbexec import client  # nbclient with the missed-wakeup workaround

DEFAULT_PROFILE = "efficientnet_lite0"
BUILD = ROOT / "build"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
KERNEL_NOTE = ("**Interactive explorer**: its controls need a running Python kernel. Open this lesson "
               "in JupyterLab (`make lab`), on Binder or on Colab to use them.")
#: npm packages copied next to the pages and slides (pinned: the pages depend on their layout)
NPM_PACKAGES = {"reveal.js": "5.2.1", "mathjax": "3.2.2"}


# ---------------------------------------------------------------------------- lessons

def lesson_paths(args: list[str] | None = None) -> list[Path]:
    if args:
        return [Path(p).resolve() for p in args]
    return sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))


def title_of(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "untitled"


def fingerprint(nb) -> str:
    """Hash of the cells' types and text: an executed copy belongs to this notebook."""
    text = json.dumps([(c.cell_type, c.source) for c in nb.cells])
    return hashlib.sha1(text.encode()).hexdigest()


def _outputs_of(model_id: str, state: dict, seen: set | None = None) -> list:
    """Outputs captured by the Output widgets inside widget ``model_id`` (depth first)."""
    seen = set() if seen is None else seen
    if model_id in seen or model_id not in state:
        return []
    seen.add(model_id)
    model = state[model_id].get("state", {})
    found = list(model.get("outputs", [])) if model.get("_model_name") == "OutputModel" else []
    for child in model.get("children", []):
        if isinstance(child, str) and child.startswith("IPY_MODEL_"):
            found += _outputs_of(child[len("IPY_MODEL_"):], state, seen)
    return found


def replace_widgets(nb) -> int:
    """Replace every widget view by the kernel note and the outputs its Output widgets hold.

    Removes the recorded widget state (a static page would need the widget manager from a CDN to
    render it). Returns how many widget views were replaced."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    replaced = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW) if out.get("output_type") in ("display_data", "execute_result") else None
            if view is None:
                outputs.append(out)
                continue
            replaced += 1
            outputs.append(nbformat.v4.new_output("display_data", data={
                "text/markdown": KERNEL_NOTE,
                "text/html": f'<div class="admonition note kernel-note"><p>{_md_to_html(KERNEL_NOTE)}</p></div>',
                "text/plain": KERNEL_NOTE}))
            for captured in _outputs_of(view.get("model_id", ""), state):
                outputs.append(nbformat.from_dict(captured))
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return replaced


def _md_to_html(text: str) -> str:
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def execute(path: Path, timeout: int, cache: Path | None = None) -> tuple[nbformat.NotebookNode, float, str]:
    """Run the notebook at ``path``; returns (executed notebook, seconds, status).

    ``status`` is ``"ok"`` or ``"failed: <error>"``; the notebook holds the outputs up to the
    failing cell. With ``cache``, the executed notebook is written to ``cache/<name>.ipynb``."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata["course_fingerprint"] = fingerprint(nb)
    start = time.time()
    status = "ok"
    try:
        client(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
               resources={"metadata": {"path": str(path.parent)}}).execute()
    except Exception as err:  # noqa: BLE001  (any failure: keep going, the page shows where it stopped)
        first = str(err).strip().splitlines()
        status = f"failed: {type(err).__name__}" + (f" ({first[-1][:120]})" if first else "")
    seconds = time.time() - start
    nb.metadata["course_build"] = {"status": status, "seconds": round(seconds, 1),
                                   "profile": os.environ.get("VISLIB_MODEL", ""),
                                   "fast": os.environ.get("VISLIB_FAST", "")}
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, cache / path.name)
    return nb, seconds, status


def cache_dir(work: Path, profile: str) -> Path:
    """Where the executed notebooks of ``profile`` go (``-fast``: run with ``VISLIB_FAST=1``)."""
    return Path(work) / "executed" / (profile + ("-fast" if os.environ.get("VISLIB_FAST") == "1" else ""))


# ---------------------------------------------------------------------------- vendored JavaScript

def vendor(package: str, dest: Path, parts: list[str]) -> bool:
    """Copy ``parts`` of npm ``package`` (version :data:`NPM_PACKAGES`) to ``dest``.

    Installs into ``build/npm`` once (``npm install``; a package registry is needed the first
    time only). Returns False (with a message) when npm cannot provide it."""
    version = NPM_PACKAGES[package]
    prefix = BUILD / "npm"
    pkg = prefix / "node_modules" / package
    installed = pkg / "package.json"
    if not installed.exists() or json.loads(installed.read_text()).get("version") != version:
        npm = shutil.which("npm")
        if npm is None:
            print(f"warning: npm not found, cannot copy {package} {version}", file=sys.stderr)
            return False
        prefix.mkdir(parents=True, exist_ok=True)
        run = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-save", "--no-audit", "--no-fund",
                              "--ignore-scripts", f"{package}@{version}"], capture_output=True, text=True, check=False)
        if run.returncode != 0 or not installed.exists():
            print(f"warning: npm install {package}@{version} failed:\n{run.stderr[-800:]}", file=sys.stderr)
            return False
    for part in parts:
        src, target = pkg / part, dest / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, dirs_exist_ok=True)
        else:
            shutil.copy2(src, target)
    return True


#: the parts of MathJax 3 that render TeX offline (CHTML fonts, extensions loaded on demand, menu)
MATHJAX_PARTS = ["es5/tex-chtml.js", "es5/output/chtml/fonts/woff-v2", "es5/input/tex/extensions",
                 "es5/ui", "es5/a11y", "LICENSE"]


# ---------------------------------------------------------------------------- book pages

def readme_section(heading: str) -> str:
    """The README section under ``## heading`` (up to the next ``## ``), heading excluded."""
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    return match.group(1).strip() if match else ""


def references_of(nb) -> str:
    """The markdown under a lesson's ``References`` heading (empty when it has none)."""
    found, out = False, []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if re.match(r"^#{1,3} ", line):
                found = "references" in line.lower()
                continue
            if found:
                out.append(line)
        if found:
            out.append("")
    return "\n".join(out).strip()


def write_book(src: Path, lessons: list[tuple[str, nbformat.NotebookNode]], rows: list[dict], profile: str) -> None:
    """Write the Jupyter Book source (config, toc, pages, executed notebooks) into ``src``."""
    if src.exists():
        shutil.rmtree(src)
    (src / "lessons").mkdir(parents=True)
    for stem, nb in lessons:
        nbformat.write(nb, src / "lessons" / f"{stem}.ipynb")
    fast = " with `VISLIB_FAST=1` (shortened loops)" if os.environ.get("VISLIB_FAST") == "1" else ""
    table = "\n".join(f"| [{r['title']}](lessons/{r['stem']}.ipynb) | {r['seconds']:.0f} s | {r['status'].replace('|', '/')} |"
                      for r in rows)
    first_par = (ROOT / "README.md").read_text().split("\n\n")[2].strip()
    (src / "intro.md").write_text(f"""# What CNNs learn, and why they decide what they decide

{first_par}

This site shows every lesson executed under the model profile **`{profile}`**{fast},
built {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. The sliders and dropdowns of the
explorers need a running kernel: open the notebooks in JupyterLab (`make lab`), on Binder or on
Colab to use them. [Model profiles](profiles.md) says which networks the course can use,
[References](references.md) lists the papers.

| lesson | run time | status |
|---|---|---|
{table}
""")
    (src / "profiles.md").write_text("# Model profiles\n\n" + readme_section("Model profiles") + "\n")
    refs = "\n\n".join(f"## {title_of(nb)}\n\n{references_of(nb) or '(none)'}" for stem, nb in lessons)
    (src / "references.md").write_text("# References\n\nThe papers each lesson builds on.\n\n" + refs + "\n")
    toc = {"format": "jb-book", "root": "intro",
           "parts": [{"caption": "Lessons", "chapters": [{"file": f"lessons/{stem}"} for stem, _ in lessons]},
                     {"caption": "About the course", "chapters": [{"file": "profiles"}, {"file": "references"}]}]}
    config = {
        "title": "What CNNs learn", "author": "The CNN visualization course",
        "only_build_toc_files": True,
        "execute": {"execute_notebooks": "off"},
        "html": {"use_repository_button": False, "use_issues_button": False, "home_page_in_navbar": True},
        "sphinx": {"config": {"html_show_copyright": False, "suppress_warnings": ["mystnb.unknown_mime_type"],
                              "nb_merge_streams": True}},
        "parse": {"myst_enable_extensions": ["dollarmath", "amsmath", "html_image"]},
    }
    import yaml
    (src / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))


def build_book(src: Path, out: Path) -> int:
    """``jupyter-book build`` of ``src``; the HTML is copied into ``out``. Returns the exit status."""
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(src), "--builder", "html"]
    rc = subprocess.run(cmd, check=False).returncode
    html_dir = src / "_build" / "html"
    if rc == 0 and html_dir.is_dir():  # copied over, not replaced: ``out`` may hold other files
        shutil.copytree(html_dir, out, dirs_exist_ok=True)
    return rc


# ---------------------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="site", help="where the HTML goes (default: site/)")
    ap.add_argument("--profile", default=None, help=f"model profile (default: VISLIB_MODEL, else {DEFAULT_PROFILE})")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    ap.add_argument("--no-book", action="store_true", help="execute only (the executed notebooks for make slides)")
    ap.add_argument("--work", default=str(BUILD), help="executed notebooks and the book source (default: build/)")
    ap.add_argument("lessons", nargs="*", help="lesson files (default: all)")
    args = ap.parse_args(argv)
    profile = args.profile or os.environ.get("VISLIB_MODEL") or DEFAULT_PROFILE
    os.environ["VISLIB_MODEL"] = profile  # the kernels inherit it
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    out = (ROOT / args.out) if not Path(args.out).is_absolute() else Path(args.out)
    work = Path(args.work)
    cache = cache_dir(work, profile)
    start = time.time()
    rows, lessons, failed = [], [], 0
    for path in lesson_paths(args.lessons):
        nb, seconds, status = execute(path, args.timeout, cache)
        failed += status != "ok"
        widgets = replace_widgets(nb)
        lessons.append((path.stem, nb))
        rows.append({"stem": path.stem, "title": title_of(nb), "seconds": seconds, "status": status,
                     "explorers": widgets})
        print(f"{path.name}: {status} in {seconds:.0f} s", flush=True)
    rc_book = 0
    if not args.no_book:
        src = work / "book"
        write_book(src, lessons, rows, profile)
        # not in the book's _static/: Jupyter Book would add every .js file there to every page
        mathjax = vendor("mathjax", src / "_vendor" / "mathjax", MATHJAX_PARTS)
        if mathjax:
            write_book_config_mathjax(src)
        else:
            print("warning: MathJax comes from a CDN: formulas need network in the reader's browser", file=sys.stderr)
        rc_book = build_book(src, out)
        pages = len(list(out.rglob("*.html"))) if out.exists() else 0
        print(f"site written to {out}/index.html: {pages} HTML pages", flush=True)
    work.mkdir(parents=True, exist_ok=True)
    (work / "site-build.json").write_text(json.dumps(
        {"profile": profile, "fast": os.environ.get("VISLIB_FAST", ""), "seconds": round(time.time() - start, 1),
         "lessons": rows}, indent=1))
    print(f"{len(rows) - failed} lessons ok, {failed} failed, {time.time() - start:.0f} s in all")
    if rc_book:
        print(f"jupyter-book build failed (exit {rc_book})", file=sys.stderr)
    return 1 if failed or rc_book else 0


def write_book_config_mathjax(src: Path) -> None:
    """Point the book's MathJax at the copy in ``_vendor`` (served from ``_static/mathjax``; no CDN)."""
    import yaml
    config = yaml.safe_load((src / "_config.yml").read_text())
    config["sphinx"]["config"].update({"html_static_path": ["_vendor"], "mathjax_path": "mathjax/es5/tex-chtml.js"})
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))


if __name__ == "__main__":
    sys.exit(main())
