"""The classroom human-attention experiment (issue 23): answers saved and read back, aggregated
into human attention maps on the paper's 20 x 20 grid, compared with a method's maps; the drawing
widget driven through the callbacks its buttons call."""

from __future__ import annotations

import json

import numpy as np
import pytest

import vislib
from vislib.evaluation import human


def _class(tmp_path):
    """Four students on two 100 x 100 photos: three box the cat's head (x 0-50, y 0-50), one its tail
    (x 50-100, y 50-100); on the mug everybody boxes the whole left half."""
    folder = tmp_path / "answers"
    for s in ["ana", "ben", "cem"]:
        human.save_answer(folder, s, {"cat": [(0, 0, 50, 50)], "mug": [(0, 0, 50, 100)]}, (100, 100))
    human.save_answer(folder, "dev", {"cat": [(50, 50, 100, 100)], "mug": [(0, 0, 50, 100)]}, (100, 100))
    return folder


def test_aggregation_gives_the_share_of_students_per_cell(tmp_path):
    answers = human.load_answers(_class(tmp_path))
    assert [a.student for a in answers] == ["ana", "ben", "cem", "dev"]
    maps = human.human_attention(answers, ["cat", "mug"])
    assert maps.shape == (2, 100, 100) and maps.dtype == np.float32
    np.testing.assert_allclose(maps[0, :50, :50], 0.75)      # three of four
    np.testing.assert_allclose(maps[0, 50:, 50:], 0.25)      # one of four
    np.testing.assert_allclose(maps[0, :50, 50:], 0.0)
    np.testing.assert_allclose(maps[1, :, :50], 1.0)
    np.testing.assert_allclose(maps[1, :, 50:], 0.0)
    small = human.human_attention(answers, ["cat"], size=(20, 20))   # one pixel per cell
    np.testing.assert_allclose(small[0], np.kron([[0.75, 0], [0, 0.25]], np.ones((10, 10))))


def test_a_cell_counts_when_its_centre_is_in_a_box():
    cover = human.cell_cover([(0, 0, 12, 7)], (100, 100), grid=20)   # cells are 5 px: centres 2.5, 7.5, 12.5
    assert cover[0, :2].all() and cover.sum() == 2          # x centres 2.5, 7.5 < 12; y centre 2.5 < 7
    assert human.cell_cover([], (100, 100)).sum() == 0


def test_compare_scores_a_perfect_and_a_wrong_method(tmp_path):
    answers = human.load_answers(_class(tmp_path))
    maps = human.human_attention(answers, ["cat", "mug"])
    same = human.compare(maps, maps)
    np.testing.assert_array_equal(same["pointing"], [1, 1])
    assert same["iou"][1] == pytest.approx(0.4)            # top 20 % of cells inside the attended half
    assert same["spearman"][0] == pytest.approx(1.0)
    wrong = np.zeros_like(maps)
    wrong[:, 50:, 50:] = 1.0                                # looks at the bottom right only
    bad = human.compare(maps, wrong)
    np.testing.assert_array_equal(bad["pointing"], [0, 0])  # 0.25 < agree = 0.5 on the cat
    assert (bad["iou"] == 0).all() and bad["spearman"][1] < 0
    half = human.compare(maps, maps, agree=0.25)            # the tail counts now
    assert half["pointing"][0] == 1


def test_bad_answers_and_options_raise_value_errors(tmp_path):
    with pytest.raises(ValueError, match="student"):
        human.save_answer(tmp_path, "../x", {"a": []}, (10, 10))
    with pytest.raises(ValueError, match="inside the 10x10"):
        human.save_answer(tmp_path, "ana", {"a": [(0, 0, 11, 5)]}, (10, 10))
    with pytest.raises(ValueError, match="no answers"):
        human.load_answers(tmp_path / "empty")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="notes.json is not a vislib human-attention answer"):
        human.load_answers(tmp_path / "x")
    folder = _class(tmp_path)
    human.save_answer(folder, "eve", {"cat": []}, (50, 50))
    with pytest.raises(ValueError, match="different sizes"):
        human.human_attention(human.load_answers(folder), ["cat"])
    answers = human.load_answers(_class(tmp_path / "two"))
    with pytest.raises(ValueError, match="no student answered \\['dog'\\]"):
        human.human_attention(answers, ["dog"])
    maps = human.human_attention(answers, ["cat"])
    with pytest.raises(ValueError, match="one shape"):
        human.compare(maps, maps[:, :50])
    with pytest.raises(ValueError, match="top"):
        human.compare(maps, maps, top=2)


def test_the_drawing_widget_saves_what_was_drawn(tmp_path):
    """The widget's Submit and Skip buttons call submit() and skip(): driven here as a student would."""
    pytest.importorskip("jupyter_bbox_widget")
    images = np.stack([np.full((40, 60, 3), v, np.uint8) for v in (10, 200, 90)])
    drawer = vislib.draw_regions(images, ["a", "b", "c"], "ana", folder=tmp_path)
    s = drawer.scale                       # 40 px high: shown 6x larger (at least 224 px), saved in image pixels
    assert s == 6
    first = drawer.bbox.image
    import base64
    import io

    from PIL import Image
    assert Image.open(io.BytesIO(base64.b64decode(first.split(",", 1)[1]))).size == (60 * s, 40 * s)
    drawer.bbox.bboxes = [{"x": 5 * s, "y": 4 * s, "width": 10 * s, "height": 8 * s, "label": "looked here"}]
    drawer.submit()
    assert drawer.bbox.image != first and drawer.bbox.bboxes == []     # the next photo, empty
    drawer.skip()
    drawer.bbox.bboxes = [{"x": 0, "y": 0, "width": 60 * s, "height": 40 * s, "label": "looked here"},
                          {"x": 1, "y": 1, "width": 0, "height": 3, "label": "looked here"}]   # a click, no box
    drawer.submit()
    assert drawer.path is not None and "saved" in drawer.status.value
    (answer,) = human.load_answers(tmp_path)
    assert answer.student == "ana" and answer.size == (40, 60)
    assert answer.regions == {"a": [(5.0, 4.0, 15.0, 12.0)], "b": [], "c": [(0.0, 0.0, 60.0, 40.0)]}
    drawer.submit()                                                     # after the end: nothing happens
    with pytest.raises(ValueError, match="one name per image"):
        vislib.draw_regions(images, ["a"], "ana", folder=tmp_path)
