"""``make bench``: run every benchmark, print the tables, write benchmarks/RESULTS.md.

Usage: ``python benchmarks/run_all.py [--profiles ...] [--lessons ...] [--skip-course] [--skip-attribution] [--skip-xplique] [--skip-inference] [--resume]``
(``--skip-inference`` also skips the memory table of model building)

Raw lesson results go to ``benchmarks/course_raw.json`` after every lesson;
``--resume`` re-uses the ones that ran ok, so a killed run loses one lesson at most.

A skipped benchmark keeps its tables from the existing RESULTS.md, marked as
not re-run. tf-explain (``benchmarks/requirements.txt``, installed by ``make
bench``) is the occlusion reference; without it its row says n/a. xplique
(``benchmarks/requirements-nodeps.txt``, installed with ``--no-deps``) is the
reference of ``benchmarks/xplique_compare.py`` on its own profiles
(``--xplique-profiles``, default fashion_cnn and efficientnet_lite0); without it
that section says so.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


class _Tee(io.TextIOBase):
    def __init__(self, *streams):
        self.streams = streams

    def write(self, s):
        for st in self.streams:
            st.write(s)
            st.flush()
        return len(s)


def machine() -> str:
    import keras
    import numpy
    import tensorflow as tf
    import tf_keras_vis
    try:
        import xplique
        refs = f", xplique {xplique.__version__}"
    except ImportError:
        refs = ", xplique not installed"
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        mem = float("nan")
    return (f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}\n"
            f"- machine: {platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.platform()}\n"
            f"- python {platform.python_version()}, tensorflow {tf.__version__}, keras {keras.__version__}, "
            f"tf-keras-vis {getattr(tf_keras_vis, '__version__', '?')}{refs}, numpy {numpy.__version__}")


def _previous_sections(path: Path) -> dict[str, str]:
    """``{title: body}`` of the ``## `` sections of an earlier RESULTS.md."""
    if not path.exists():
        return {}
    out, title = {}, None
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
            out[title] = ""
        elif title is not None:
            if line.startswith("(not re-run:"):
                continue
            out[title] += line + "\n"
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profiles", nargs="*", default=["fashion_cnn", "efficientnet_lite0", "mobilenet_v2", "vgg16"])
    ap.add_argument("--lessons", nargs="*", default=None)
    ap.add_argument("--skip-course", action="store_true")
    ap.add_argument("--skip-attribution", action="store_true")
    ap.add_argument("--skip-xplique", action="store_true", help="skip the comparison with xplique")
    ap.add_argument("--xplique-profiles", nargs="*", default=["fashion_cnn", "efficientnet_lite0"],
                    help="profiles of the xplique comparison (independent of --profiles)")
    ap.add_argument("--skip-inference", action="store_true")
    ap.add_argument("--no-widgets", action="store_true", help="skip the widget sweeps of the lessons")
    ap.add_argument("--report-only", action="store_true",
                    help="write RESULTS.md from benchmarks/course_raw.json without running lessons")
    ap.add_argument("--resume", action="store_true",
                    help="keep lessons that already ran ok in benchmarks/course_raw.json (after a killed run)")
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sections = ["# Benchmark results", "", machine(), ""]
    previous = _previous_sections(Path(args.out))
    course_args = (["--profiles", *args.profiles] + (["--lessons", *args.lessons] if args.lessons else [])
                   + ["--json", str(HERE / "course_raw.json")] + (["--resume"] if args.resume or args.report_only else [])
                   + (["--report-only"] if args.report_only else [])
                   + (["--no-widgets"] if args.no_widgets else []))
    imagenet_profiles = [p for p in args.profiles if not p.startswith("fashion")]
    jobs = [("Forward passes: eager vs compiled (benchmarks/inference.py)", "inference",
             ["--profiles", *imagenet_profiles], args.skip_inference),
            ("Building and loading the ImageNet models: peak memory (benchmarks/memory.py)", "memory",
             ["--profiles", *imagenet_profiles], args.skip_inference or not imagenet_profiles),
            ("Attribution methods (benchmarks/attribution.py)", "attribution", [], args.skip_attribution),
            ("Attribution methods vs xplique (benchmarks/xplique_compare.py)", "xplique_compare",
             ["--profiles", *args.xplique_profiles], args.skip_xplique or not args.xplique_profiles),
            ("Lessons as students run them (benchmarks/course.py)", "course", course_args, args.skip_course)]
    for title, module, margv, skip in jobs:
        if skip:  # a skipped benchmark keeps the tables of its last run, marked as such
            if title in previous:
                sections += [f"## {title}", "", "(not re-run: tables from an earlier run, "
                             "machine and date of that run may differ from the header)", "",
                             previous[title].strip(), ""]
            continue
        buf = io.StringIO()
        start = time.time()
        print(f"== {title}", flush=True)
        with contextlib.redirect_stdout(_Tee(sys.stdout, buf)):
            try:
                __import__(module).main(margv)
            except SystemExit:
                pass
            except Exception as err:  # one broken benchmark must not hide the others
                print(f"benchmark {module} failed: {type(err).__name__}: {err}")
        text = buf.getvalue()
        tables = "\n".join(line for line in text.splitlines() if line.startswith("|") or not line.strip()
                           or line.startswith(("note", "Note", "*", "-")))
        sections += [f"## {title}", "", f"({time.time() - start:.0f} s)", "", tables.strip(), ""]
    analysis = HERE / "ANALYSIS.md"  # the hand-written reasons for the goal misses
    if analysis.exists():
        sections += [analysis.read_text().strip(), ""]
    Path(args.out).write_text("\n".join(sections) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
