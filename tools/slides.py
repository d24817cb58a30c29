"""Static reveal.js slides of every lesson (``make slides``), for a lecture hall without network.

Each lesson is exported with nbconvert's slides exporter and the course template
``tools/slides_template`` (reveal.js and MathJax 3 loaded from copies next to the
decks, no CDN). The slide structure is the cells' ``slideshow`` metadata that
``python -m tools.lessons sync`` derives from the cell text (``tools.lessons.slide_types``);
the same metadata drives live slides in JupyterLab (``jupyterlab-rise``).

The decks show outputs: a lesson executed by ``make html`` under the same profile
(``build/executed/<profile>[-fast]/``, still matching the notebook) is reused, any other
is executed here (``--no-execute``: text and code only, no outputs). A lesson that
fails to execute fails the command (exit status 1). Output: ``slides/index.html``,
``slides/NN_topic.slides.html``, ``slides/reveal.js/``, ``slides/mathjax/``: copy the
whole folder to the lecture-hall machine.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools import build_site

TEMPLATE_DIR = Path(__file__).resolve().parent
REVEAL_PARTS = ["dist", "plugin/notes", "LICENSE"]


def executed(path: Path, profile: str, timeout: int, execute: bool,
             work: Path = build_site.BUILD) -> tuple[nbformat.NotebookNode, str]:
    """The lesson at ``path`` with outputs: the cached run when it still matches, else a new run."""
    nb = nbformat.read(path, as_version=4)
    if not execute:
        return nb, "not executed"
    cached = build_site.cache_dir(work, profile) / path.name
    if cached.exists():
        old = nbformat.read(cached, as_version=4)
        if (old.metadata.get("course_fingerprint") == build_site.fingerprint(nb)
                and old.metadata.get("course_build", {}).get("status") == "ok"):
            for new_cell, old_cell in zip(nb.cells, old.cells):  # the slide metadata of today
                old_cell.metadata = new_cell.metadata
            return old, "ok (from make html)"
    run, _, status = build_site.execute(path, timeout, cached.parent)
    return run, status


def exporter():
    from nbconvert import SlidesExporter
    return SlidesExporter(extra_template_basedirs=[str(TEMPLATE_DIR)], template_name="slides_template",
                          reveal_url_prefix="reveal.js", reveal_scroll=True, reveal_number="c/t")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="slides", help="output folder (default: slides/)")
    ap.add_argument("--profile", default=None,
                    help=f"model profile (default: VISLIB_MODEL, else {build_site.DEFAULT_PROFILE})")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    ap.add_argument("--no-execute", action="store_true", help="slides of the clean notebooks (no outputs)")
    ap.add_argument("--work", default=str(build_site.BUILD), help="executed notebooks (default: build/)")
    ap.add_argument("lessons", nargs="*", help="lesson files (default: all)")
    args = ap.parse_args(argv)
    profile = args.profile or os.environ.get("VISLIB_MODEL") or build_site.DEFAULT_PROFILE
    os.environ["VISLIB_MODEL"] = profile
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    out = Path(args.out) if Path(args.out).is_absolute() else ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)
    if not (build_site.vendor("reveal.js", out / "reveal.js", REVEAL_PARTS)
            and build_site.vendor("mathjax", out / "mathjax", build_site.MATHJAX_PARTS)):
        print("error: reveal.js / MathJax could not be copied from npm; no offline slides", file=sys.stderr)
        return 2
    start, rows, failed = time.time(), [], 0
    slides = exporter()
    for path in build_site.lesson_paths(args.lessons):
        t0 = time.time()
        nb, status = executed(path, profile, args.timeout, not args.no_execute, Path(args.work))
        failed += status.startswith("failed")
        build_site.replace_widgets(nb)
        body, _ = slides.from_notebook_node(nb, resources={"course_mathjax_url": "mathjax/es5/tex-chtml.js"})
        (out / f"{path.stem}.slides.html").write_text(body)
        n = sum(1 for c in nb.cells if c.metadata.get("slideshow", {}).get("slide_type") in ("slide", "subslide"))
        rows.append((path.stem, build_site.title_of(nb), n, status))
        print(f"{path.name}: {n} slides, {status} ({time.time() - t0:.0f} s)", flush=True)
    items = "\n".join(f'<li><a href="{html.escape(s)}.slides.html">{html.escape(t)}</a> '
                      f'({n} slides; {html.escape(st)})</li>' for s, t, n, st in rows)
    (out / "index.html").write_text(f"""<!doctype html><html><head><meta charset="utf-8">
<title>CNN visualization course: slides</title>
<style>body{{font-family:system-ui,sans-serif;max-width:46em;margin:2em auto;line-height:1.5}}</style>
</head><body><h1>What CNNs learn: slides</h1>
<p>Model profile <code>{html.escape(profile)}</code>. Arrow keys: right/left between sections, down/up within one;
<kbd>s</kbd> opens the speaker view, <kbd>Esc</kbd> the overview. Works without network: reveal.js and MathJax are
in this folder. The explorers' controls need a running kernel (present the notebook itself in JupyterLab with RISE).</p>
<ul>
{items}
</ul></body></html>""")
    print(f"slides written to {out}/index.html: {len(rows)} decks, {failed} failed, {time.time() - start:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
