"""Execute every lesson and write a browsable static site (``make html``).

The profile comes from ``VISLIB_MODEL`` (default: vislib's default). Each
lesson is executed top to bottom with nbclient and exported to HTML with
nbconvert; ``site/index.html`` lists the lessons with their run times.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.nbexec import client  # noqa: E402  (nbclient with the missed-wakeup workaround)


def title_of(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "untitled"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="site")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    ap.add_argument("lessons", nargs="*", help="lesson files (default: all)")
    args = ap.parse_args(argv)
    out = ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)
    paths = [Path(p) for p in args.lessons] or sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    exporter = HTMLExporter()
    rows, failed = [], 0
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        start = time.time()
        status = "ok"
        try:
            client(nb, timeout=args.timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        except Exception as err:  # keep going: the page shows where it stopped
            status = f"failed: {type(err).__name__}"
            failed += 1
        seconds = time.time() - start
        body, _ = exporter.from_notebook_node(nb)
        (out / (path.stem + ".html")).write_text(body)
        rows.append((path.stem, title_of(nb), seconds, status))
        print(f"{path.name}: {status} in {seconds:.0f} s", flush=True)
    profile = os.environ.get("VISLIB_MODEL", "default (vgg16, offline fallback fashion_cnn)")
    items = "\n".join(
        f'<tr><td><a href="{html.escape(stem)}.html">{html.escape(title)}</a></td>'
        f"<td>{sec:.0f} s</td><td>{html.escape(status)}</td></tr>" for stem, title, sec, status in rows)
    (out / "index.html").write_text(f"""<!doctype html><html><head><meta charset="utf-8">
<title>CNN visualization course</title>
<style>body{{font-family:system-ui,sans-serif;max-width:46em;margin:2em auto;line-height:1.5}}
td{{padding:.2em 1em}}</style></head><body>
<h1>What CNNs learn, and why they decide what they decide</h1>
<p>Executed lessons, model profile <code>{html.escape(profile)}</code>, built {time.strftime('%Y-%m-%d %H:%M')}.</p>
<table><tr><th>lesson</th><th>run time</th><th>status</th></tr>
{items}</table></body></html>""")
    (out / "build.json").write_text(json.dumps(rows, indent=1))
    print(f"site written to {out}/index.html ({len(rows) - failed} ok, {failed} failed)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
