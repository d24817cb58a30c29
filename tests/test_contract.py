"""The one contract of every explanation method (issue 19), checked on every
method vislib exports, so a new method joins by being exported:

    method(model, images, target=None, *, ..., batch_size=None, normalize=False) -> (N, H, W) float32

on the offline Fashion-MNIST model and on the real ImageNet network
(EfficientNet-Lite0): same signature shape, raw maps by default and [0, 1]
maps with ``normalize=True``, target None / int / list agreeing, one HWC image,
the caller's model untouched, and no forward pass spent on finding the top-1
class by a method whose own pass computes the logits anyway.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import vislib
from vislib._core import gradients

# empty Grad-CAM maps on the small offline model are the method's answer (lesson 08), not a failure here
pytestmark = pytest.mark.filterwarnings("ignore:gradcam.*all zero:UserWarning")

#: exported functions with the (model, images, target) head that return something else than a map
NOT_MAPS = {"occlusion_grid"}   # the coarse grid behind vislib.occlusion: (N, gh, gw)


def explanation_methods() -> list[str]:
    names = []
    for name in vislib.__all__:
        fn = getattr(vislib, name)
        if not callable(fn) or isinstance(fn, type) or name in NOT_MAPS:
            continue
        params = list(inspect.signature(fn).parameters)
        if params[:3] == ["model", "images", "target"]:
            names.append(name)
    return sorted(names)


METHODS = explanation_methods()

#: cheap settings per method, so the real network runs each in seconds; None: the method's defaults
CHEAP = {
    "occlusion": {"patch": 7, "stride": 7},
    "smoothgrad": {"samples": 2},
    "scorecam": {"max_channels": 4},
    "integrated_gradients": {"steps": 4},
}
#: methods that run one pass over the images that yields the logits: the top-1 comes from that pass
TOP1_IN_PASS = {"saliency", "guided_backprop", "gradcam", "gradcam_plus_plus", "deconvnet",
                "integrated_gradients", "lrp"}


def _model_for(name, fashion, fashion_gap):
    return fashion_gap if name == "cam" else fashion   # CAM needs a global-average-pooling classifier


def _options(name, cm):
    opts = dict(CHEAP.get(name, {}))
    if name == "occlusion" and cm.input_size[0] > 28:
        opts = {"patch": 56, "stride": 56}
    return opts


def test_every_method_is_found():
    """The discovery itself: the methods of lessons 05-08 are all here (so a
    renamed argument cannot silently drop a method from this file)."""
    for name in ["occlusion", "saliency", "guided_backprop", "smoothgrad", "cam", "gradcam",
                 "guided_gradcam", "gradcam_plus_plus", "scorecam"]:
        assert name in METHODS, name


@pytest.mark.parametrize("name", METHODS)
def test_signature(name):
    params = inspect.signature(getattr(vislib, name)).parameters
    assert params["target"].default is None
    assert "normalize" in params and params["normalize"].default is False, \
        f"{name}: every method takes normalize= with the default False (raw maps)"
    assert "batch_size" in params and params["batch_size"].default is None
    for p in list(params.values())[3:]:
        assert p.default is not inspect.Parameter.empty or p.kind is p.VAR_KEYWORD, \
            f"{name}: option {p.name!r} has no default"


@pytest.mark.parametrize("name", METHODS)
def test_shape_dtype_targets_single_image_normalize(name, fashion, fashion_gap):
    cm = _model_for(name, fashion, fashion_gap)
    fn, opts = getattr(vislib, name), _options(name, cm)
    x, _, _ = vislib.examples(cm, 3)
    top1 = cm.predict(x).argmax(1)
    raw = fn(cm, x, **opts)
    assert raw.shape == x.shape[:3] and raw.dtype == np.float32
    assert np.all(np.isfinite(raw))
    as_list = fn(cm, x, [int(t) for t in top1], **opts)
    np.testing.assert_allclose(as_list, raw, rtol=1e-4, atol=1e-5 * (np.abs(raw).max() + 1e-12))
    one = fn(cm, x[0], int(top1[0]), **opts)            # one HWC image and one int
    assert one.shape == (1, *x.shape[1:3])
    np.testing.assert_allclose(one[0], raw[0], rtol=1e-3, atol=1e-4 * (np.abs(raw[0]).max() + 1e-12))
    norm = fn(cm, x, top1, normalize=True, **opts)
    assert norm.min() >= 0 and norm.max() <= 1
    np.testing.assert_allclose(norm, vislib.normalize_map(raw), atol=1e-4)
    with pytest.raises(ValueError, match="normalize"):
        fn(cm, x, top1, normalize="yes", **opts)


@pytest.mark.parametrize("name", METHODS)
def test_on_the_real_imagenet_network(name, lite0):
    if name == "cam":
        pytest.skip("EfficientNet-Lite0 ends in global average pooling + Dense: covered below")
    fn, opts = getattr(vislib, name), _options(name, lite0)
    x, _, _ = vislib.examples(lite0, 1)
    m = fn(lite0, x, **opts)
    assert m.shape == (1, 224, 224) and m.dtype == np.float32 and np.all(np.isfinite(m))
    assert m.std() > 0, f"{name} gives a constant map on a real photo"


def test_cam_on_the_real_imagenet_network(lite0):
    x, _, _ = vislib.examples(lite0, 1)
    m = vislib.cam(lite0, x)
    assert m.shape == (1, 224, 224) and m.dtype == np.float32 and m.std() > 0


def _weights_digest(model) -> list:
    return [np.asarray(w).copy() for w in model.weights]


@pytest.mark.parametrize("name", METHODS)
def test_the_callers_model_is_not_changed(name, fashion, fashion_gap):
    cm = _model_for(name, fashion, fashion_gap)
    before_w, before_layers = _weights_digest(cm.model), [layer.name for layer in cm.model.layers]
    before_act = [getattr(layer, "activation", None) for layer in cm.model.layers]
    x, _, _ = vislib.examples(cm, 2)
    getattr(vislib, name)(cm, x, **_options(name, cm))
    assert [layer.name for layer in cm.model.layers] == before_layers
    assert [getattr(layer, "activation", None) for layer in cm.model.layers] == before_act
    for a, b in zip(before_w, _weights_digest(cm.model)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(TOP1_IN_PASS & set(METHODS)))
def test_top1_comes_from_the_methods_own_pass(name, fashion, monkeypatch):
    """target=None costs no forward pass of its own: the pass that computes the
    gradient picks each image's top-1 class from its own logits."""
    x, _, _ = vislib.examples(fashion, 3)
    expected = getattr(vislib, name)(fashion, x, fashion.predict(x).argmax(1))

    def no_extra_pass(*args, **kwargs):
        raise AssertionError(f"{name} ran a forward pass only to find the top-1 class")
    monkeypatch.setattr(gradients, "top1", no_extra_pass)
    got = getattr(vislib, name)(fashion, x)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
