"""Drawing helpers return arrays / figures and check their input."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import vislib  # noqa: E402
from vislib._core.maps import resize_maps  # noqa: E402


def test_overlay_is_uint8_and_blends():
    img = np.zeros((8, 8, 3), np.uint8)
    hm = np.zeros((4, 4))
    hm[0, 0] = 1
    out = vislib.overlay(img, hm, alpha=1.0, cmap="gray")
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    assert out[0, 0].sum() > out[7, 7].sum()
    assert np.array_equal(vislib.overlay(img, hm, alpha=0.0), img)
    # a constant map is scaled to 0: jet's lowest colour (0, 0, 0.5) blended half and half over black
    gray = vislib.overlay(np.zeros((8, 8, 1), np.float32), np.ones((8, 8)))
    assert gray.shape == (8, 8, 3) and gray.dtype == np.uint8
    assert (gray == np.array([0, 0, round(0.5 * 0.5 * 255)], np.uint8)).all()


@pytest.mark.parametrize("kwargs, match", [
    ({"alpha": 1.5}, "alpha"), ({"cmap": "nope"}, "colormap"), ({"heatmap": np.zeros((2, 2, 2))}, "heatmap"),
])
def test_overlay_rejects(kwargs, match):
    args = {"image": np.zeros((4, 4, 3)), "heatmap": np.zeros((4, 4))} | kwargs
    with pytest.raises(ValueError, match=match):
        vislib.overlay(**args)


def test_normalize_map():
    m = vislib.normalize_map(np.array([[[1.0, 3.0]], [[2.0, 2.0]]]))
    assert m.tolist() == [[[0.0, 1.0]], [[0.0, 0.0]]]


def test_resize_maps():
    out = resize_maps(np.ones((2, 3, 3)), (9, 6))
    assert out.shape == (2, 9, 6) and np.allclose(out, 1)
    # worked by hand, half-pixel centres: output column x sits at input (x + 0.5) * 2 / 4 - 0.5
    # = -0.25, 0.25, 0.75, 1.25, clamped to [0, 1]: values 0, 0.25, 0.75, 1 (nearest: 0, 0, 1, 1)
    ramp = resize_maps(np.array([[[0.0, 1.0]]]), (1, 4))
    np.testing.assert_allclose(ramp[0, 0], [0.0, 0.25, 0.75, 1.0], atol=1e-6)
    with pytest.raises(ValueError):
        resize_maps(np.ones((3, 3)), (9, 9))


def test_plots_return_figures_without_showing():
    imgs = np.zeros((2, 6, 6, 3), np.uint8)
    fig = vislib.plot_attributions(imgs, {"a": np.random.rand(2, 6, 6), "b": np.random.rand(2, 6, 6)},
                                   titles=["x", "y"])
    assert len(fig.axes) == 6 and plt.fignum_exists(fig.number)   # returned, open, not shown and closed
    assert [ax.get_title() for ax in fig.axes] == ["x", "a", "b", "y", "", ""]
    assert not any(t.get_text() == "all-zero map" for ax in fig.axes for t in ax.texts)   # no empty map here
    with pytest.raises(ValueError, match="maps"):
        vislib.plot_attributions(imgs, {"a": np.random.rand(3, 6, 6)})
    ax = vislib.plot_topk([("cat", 0.7), ("dog", 0.2)])
    assert len(ax.patches) == 2
    plt.close("all")


def test_check_exercise(capsys):
    assert vislib.check(None, 3) is None
    assert vislib.check(3.00001, 3) is True
    assert vislib.check([1, 2], [1, 3], hint="look again") is False
    assert vislib.check("Cat ", "cat") is True
    assert vislib.check(7, lambda a: a > 5) is True
    out = capsys.readouterr().out
    assert "not answered" in out and "look again" in out


def test_explorer_registers_callbacks():
    import ipywidgets as w
    from vislib.plotting import widgets
    calls = []
    ex = vislib.explorer(lambda k, layer: calls.append((k, layer)), heavy=("k",),
                         k=w.IntSlider(value=1, min=0, max=4), layer=w.Dropdown(options=["a", "b"]))
    assert calls == [(1, "a")]  # rendered once, like nbval does
    reg = widgets.EXPLORERS[-1]
    assert reg.heavy == ("k",) and reg.choices["layer"] == ["a", "b"] and reg.choices["k"] == [0, 2, 4]
    assert reg.controls["k"].continuous_update is False
    with pytest.raises(ValueError, match="heavy"):
        vislib.explorer(lambda k: None, heavy=("nope",), k=w.IntSlider())
    assert ex is not None


def test_tile_lays_images_out_in_rows_with_gaps():
    maps = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    m = vislib.tile(maps, ncols=2, pad=1)
    assert m.shape == (3 * 3 + 1, 2 * 4 + 1)
    np.testing.assert_array_equal(m[1:3, 5:8], maps[1])            # row 0, column 1
    np.testing.assert_array_equal(m[7:9, 1:4], maps[4])            # row 2, column 0
    assert np.isnan(m[0]).all() and np.isnan(m[7:9, 5:8]).all()    # gaps and the empty cell
    mixed = vislib.tile([np.zeros((2, 2)), np.ones((4, 4, 3))], ncols=2, pad=0)
    assert mixed.shape == (4, 8, 3) and np.isnan(mixed[0, 0]).all() and mixed[1, 1, 0] == 0.0


@pytest.mark.parametrize("bad", [[], [np.zeros((2, 2, 2))], [np.zeros(3)]])
def test_tile_rejects(bad):
    with pytest.raises(ValueError):
        vislib.tile(bad)


def test_plot_tiles_is_one_image_with_labels():
    import matplotlib.pyplot as plt
    fig = vislib.plot_tiles(np.random.default_rng(0).uniform(0, 255, (6, 8, 8, 3)).astype(np.uint8),
                                     ncols=3, labels=list("abcdef"), label_colors=["red"] * 6)
    (ax,) = fig.axes
    img = ax.images[0].get_array()
    assert img.shape[-1] == 3 and 0.0 <= float(img.min()) and float(img.max()) <= 1.0
    assert [t.get_text() for t in ax.texts] == list("abcdef") and ax.texts[0].get_color() == "red"
    plt.close(fig)


def test_topk_names_are_whole_and_inside_the_figure():
    """Lesson 00's explorer put the bar chart beside the image in a short figure and its class names,
    as tick labels left of the Axes, were cut off ("-shirt/top"). Every name must be drawn whole,
    inside the figure, whatever the layout."""
    import matplotlib.pyplot as plt
    pairs = [("T-shirt/top", 0.91), ("Shirt", 0.05), ("German short-haired pointer", 0.02),
             ("Pullover", 0.01), ("Dress", 0.005)]
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(8, 3), gridspec_kw={"width_ratios": [1, 1.4]})
    ax0.imshow(np.zeros((28, 28)), cmap="gray")
    vislib.plot_topk(pairs, ax=ax1)
    fig.canvas.draw()
    box = fig.bbox
    texts = [t for t in ax1.texts]
    for name, _ in pairs:
        (t,) = [t for t in texts if t.get_text().startswith(name)]
        ext = t.get_window_extent()
        assert box.x0 <= ext.x0 and ext.x1 <= box.x1 and box.y0 <= ext.y0 and ext.y1 <= box.y1, name
        assert not ext.overlaps(ax0.get_window_extent()), name
    plt.close(fig)
