"""The course website (``make html``) and slides (``make slides``), without executing lessons.

What is checked: the slide metadata rule of ``tools.lessons``; the book that
``tools/build_site.py`` writes around executed notebooks (index, navigation between
lessons, profiles page, references, explorers replaced by a note and their figure),
built for real by Jupyter Book from fake executed notebooks; slide decks that load
nothing from the network; a lesson that fails makes the builder exit non-zero.
"""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
import yaml

from tools import build_site, lessons, slides

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ slide metadata

def types_of(nb):
    return [c.metadata["slideshow"]["slide_type"] for c in nb.cells]


def test_slide_types_follow_the_headings():
    cells = [("markdown", "# 99 · Title\nintro"), ("code", lessons.SETUP), ("markdown", "## The idea\ntext"),
             ("code", "x = 1"), ("code", "plot(x)"), ("markdown", "### Detail"), ("markdown", "more text"),
             ("code", "y = 2"), ("markdown", "text after code"), ("markdown", "\n## Heading after a blank line")]
    nb = lessons.clean_notebook(cells)
    assert types_of(nb) == ["slide", "skip", "slide", "-", "subslide", "subslide", "subslide", "-",
                            "subslide", "slide"]
    assert all(set(c.metadata) == {"slideshow"} for c in nb.cells)          # nothing else in the metadata
    assert types_of(lessons.clean_notebook(cells)) == types_of(nb)          # deterministic


def test_a_heading_deeper_than_three_or_inside_the_text_opens_no_slide():
    nb = lessons.clean_notebook([("markdown", "# T"), ("markdown", "#### small"), ("markdown", "text\n## later")])
    assert types_of(nb) == ["slide", "subslide", "subslide"]


def test_every_lesson_notebook_carries_the_slide_metadata_sync_writes():
    for name in lessons.lesson_names():
        nb = nbformat.read(lessons.notebook_path(name), as_version=4)
        assert types_of(nb) == lessons.slide_types(lessons.cells(nb)), name
        assert types_of(nb)[0] == "slide", f"{name}: the title cell must open the first slide"
        setup = next(c for c in nb.cells if c.cell_type == "code")
        assert setup.metadata["slideshow"]["slide_type"] == "skip"


# ------------------------------------------------------------------ fake executed notebooks

def png(color) -> str:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def fake_lesson(number: int, word: str, with_explorer: bool = False):
    """An 'executed' lesson: title, maths, a figure, optionally an explorer, references."""
    nb = lessons.clean_notebook([
        ("markdown", f"# {number:02d} · Fake lesson {word}\nThe {word} lesson, $a^2 + b^2$."),
        ("code", "print('hi')"),
        ("markdown", "## References\n- Someone et al. (2014), *The paper about " + word + "*."),
    ])
    nb.cells[1].outputs = [nbformat.v4.new_output("display_data", data={"image/png": png("red"), "text/plain": "fig"})]
    if with_explorer:
        out_id, box_id = "a" * 32, "b" * 32
        nb.cells[1].outputs.append(nbformat.v4.new_output("display_data", data={
            build_site.WIDGET_VIEW: {"model_id": box_id, "version_major": 2, "version_minor": 0},
            "text/plain": "interactive(...)"}))
        nb.metadata["widgets"] = {build_site.WIDGET_STATE: {"version_major": 2, "version_minor": 0, "state": {
            box_id: {"model_name": "VBoxModel", "state": {"_model_name": "VBoxModel",
                                                          "children": ["IPY_MODEL_" + out_id]}},
            out_id: {"model_name": "OutputModel", "state": {"_model_name": "OutputModel", "outputs": [
                {"output_type": "display_data", "metadata": {},
                 "data": {"image/png": png("blue"), "text/plain": "explorer figure"}}]}}}}}
    return nb


def test_explorers_become_a_kernel_note_and_their_default_figure():
    nb = fake_lesson(1, "alpha", with_explorer=True)
    assert build_site.replace_widgets(nb) == 1
    outs = nb.cells[1].outputs
    assert [o.output_type for o in outs] == ["display_data"] * 3
    assert "running Python kernel" in outs[1].data["text/markdown"]
    assert outs[2].data["text/plain"] == "explorer figure"                    # the figure the Output widget held
    assert "widgets" not in nb.metadata                                       # no widget manager from a CDN
    assert not any(build_site.WIDGET_VIEW in o.get("data", {}) for o in outs)


def test_references_and_readme_sections_are_found():
    assert "Someone et al. (2014)" in build_site.references_of(fake_lesson(1, "alpha"))
    profiles = build_site.readme_section("Model profiles")
    for name in ("fashion_cnn", "efficientnet_lite0", "vgg16"):
        assert f"`{name}`" in profiles
    assert "## " not in profiles                                              # stops at the next section


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("src", "href") and value:
                self.refs.append((tag, key, value))


def links(path: Path) -> list[tuple[str, str, str]]:
    parser = Links()
    parser.feed(path.read_text())
    return parser.refs


def test_book_has_index_navigation_search_profiles_and_references(tmp_path):
    """Two fake executed lessons built by Jupyter Book: each links to the other (prev/next), the
    index lists both with their status, search and the two course pages exist."""
    nbs = [("01_alpha", fake_lesson(1, "alpha", with_explorer=True)), ("02_beta", fake_lesson(2, "beta"))]
    for _, nb in nbs:
        build_site.replace_widgets(nb)
    rows = [{"stem": s, "title": build_site.title_of(nb), "seconds": 1.0, "status": "ok"} for s, nb in nbs]
    src, out = tmp_path / "book", tmp_path / "site"
    build_site.write_book(src, nbs, rows, "fashion_cnn")
    toc = yaml.safe_load((src / "_toc.yml").read_text())
    assert [c["file"] for c in toc["parts"][0]["chapters"]] == ["lessons/01_alpha", "lessons/02_beta"]
    assert [c["file"] for c in toc["parts"][1]["chapters"]] == ["profiles", "references"]
    assert yaml.safe_load((src / "_config.yml").read_text())["execute"]["execute_notebooks"] == "off"
    assert build_site.build_book(src, out) == 0
    intro = (out / "intro.html").read_text()
    assert "lessons/01_alpha.html" in intro and "lessons/02_beta.html" in intro and "fashion_cnn" in intro
    alpha = {v for _, _, v in links(out / "lessons" / "01_alpha.html")}
    beta = {v for _, _, v in links(out / "lessons" / "02_beta.html")}
    assert "02_beta.html" in alpha and "01_alpha.html" in beta                # navigation between lessons
    assert "running Python kernel" in (out / "lessons" / "01_alpha.html").read_text()
    imgs = [v for t, k, v in links(out / "lessons" / "01_alpha.html") if t == "img"]
    assert len(imgs) == 2 and all((out / "lessons" / v).is_file() for v in imgs)  # the figure + the explorer's
    assert (out / "search.html").exists() and "alpha" in (out / "searchindex.js").read_text().lower()
    assert "efficientnet_lite0" in (out / "profiles.html").read_text()
    assert "The paper about beta" in (out / "references.html").read_text()


# ------------------------------------------------------------------ slides

def test_slides_load_nothing_from_the_network(tmp_path):
    """``tools/slides.py`` (what ``make slides`` runs; not executed here): every script and style
    sheet of a deck is a file of the output folder, reveal.js and its notes plugin included."""
    out = tmp_path / "slides"
    rc = slides.main(["--no-execute", "--out", str(out), str(lessons.notebook_path("00_start_here"))])
    if rc == 2 and not (build_site.BUILD / "npm" / "node_modules" / "reveal.js").exists():
        pytest.skip("npm cannot fetch reveal.js here (it needs a package registry once)")
    assert rc == 0
    deck = out / "00_start_here.slides.html"
    loaded = [(t, v) for t, k, v in links(deck) if (t, k) in (("script", "src"), ("link", "href"))]
    assert any(v.endswith("reveal.js/dist/reveal.js") for _, v in loaded)
    assert any(v.endswith("plugin/notes/notes.js") for _, v in loaded)
    assert any("mathjax" in v for _, v in loaded)
    for tag, url in loaded:
        assert not re.match(r"(https?:)?//", url), f"{tag} loads {url} from the network"
        assert (out / url.split("?")[0]).is_file(), f"{url} is not next to the deck"
    text = deck.read_text()
    assert not re.search(r"""(src|href)=["']https?://[^"']*(reveal|mathjax|require|jquery)""", text, re.IGNORECASE)
    assert "import mermaid" not in text
    sections = text.count("<section")
    assert sections >= 10, "one <section> per slide and subslide"


# ------------------------------------------------------------------ failures

def test_a_failing_lesson_fails_the_build(tmp_path, monkeypatch):
    monkeypatch.setenv("VISLIB_MODEL", "fashion_cnn")
    good, bad = tmp_path / "01_good.ipynb", tmp_path / "02_bad.ipynb"
    nbformat.write(lessons.clean_notebook([("markdown", "# 01 · Good"), ("code", "print(1)")]), good)
    nbformat.write(lessons.clean_notebook([("markdown", "# 02 · Bad"), ("code", "raise ValueError('broken lesson')")]),
                   bad)
    work = tmp_path / "work"
    rc = build_site.main(["--no-book", "--work", str(work), "--out", str(tmp_path / "site"), str(good), str(bad)])
    assert rc == 1
    report = yaml.safe_load((work / "site-build.json").read_text())       # JSON is YAML
    status = {r["stem"]: r["status"] for r in report["lessons"]}
    assert status["01_good"] == "ok"
    assert status["02_bad"].startswith("failed: CellExecutionError") and "broken lesson" in status["02_bad"]
    assert build_site.main(["--no-book", "--work", str(work), str(good)]) == 0
