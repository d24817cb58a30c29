"""Building and loading big Keras models without doubling their memory.

Keras initialises every weight when a layer is built: for VGG16's first fully
connected layer (25088 x 4096, 411 MB) the random-uniform draw, its scaled
copy and the variable's own buffer are alive at once, so building VGG16 peaks
at about 1.9 GB resident although its weights take 0.53 GB. Loading the
ImageNet file afterwards (Keras' order-based HDF5 loader) reads each array
whole and copies it twice more: about 2.35 GB, over Binder's 2 GB, for the
course's default profile. (Figures: ``benchmarks/memory.py``.)

This module does the same two jobs with one buffer per array:

* :func:`zero_init` builds the layers with zero placeholders for large
  Glorot-uniform kernels (one buffer each, no random draw);
* :func:`fill_glorot` then draws each of those kernels into a fresh buffer that
  the variable takes over without a copy (same distribution as Keras'
  ``glorot_uniform``), or
* :func:`load_h5` reads a Keras ``.h5`` weights file (the ImageNet files of
  ``keras.applications``) the same way, with the same order-based matching as
  Keras' own loader.

:func:`clone` and :func:`randomize` give :func:`vislib.metrics.randomization_sanity`
its copy of the model and the re-initialised layers on the same terms.

Everything here is plumbing for :mod:`vislib.models.profiles` and
:mod:`vislib.metrics`; lessons never call it.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import keras
import numpy as np
import tensorflow as tf

LARGE = 2**20  # kernels with at least this many values are built as zeros, then filled

_GLOROT = keras.initializers.GlorotUniform
_KERNEL_ATTRS = (("kernel", "kernel_initializer"), ("depthwise_kernel", "depthwise_initializer"),
                 ("pointwise_kernel", "pointwise_initializer"))


@contextlib.contextmanager
def zero_init(min_size: int = LARGE) -> Iterator[list]:
    """Build layers with zeros instead of Glorot-uniform draws for kernels of
    at least ``min_size`` values (smaller ones are initialised as usual).

    Yields:
        A list that receives the shape of every kernel built as zeros, so the
        caller can check that :func:`fill_glorot` or :func:`load_h5` set
        every one of them.
    """
    zeroed: list = []
    original = _GLOROT.__call__

    def call(self, shape, dtype=None):
        if int(np.prod(shape)) >= min_size:
            zeroed.append(tuple(int(d) for d in shape))
            return keras.ops.zeros(shape, dtype=dtype)
        return original(self, shape, dtype)

    _GLOROT.__call__ = call
    try:
        yield zeroed
    finally:
        _GLOROT.__call__ = original


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    # keras.src.initializers.random_initializers.compute_fans, for kernels
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def _aligned_empty(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised float32 array whose data starts on a 64-byte boundary
    (TensorFlow's alignment, so a tensor can wrap it without a copy)."""
    n = int(np.prod(shape))
    raw = np.empty(4 * n + 64, np.uint8)
    start = (-raw.ctypes.data) % 64
    return raw[start:start + 4 * n].view(np.float32).reshape(shape)


def _give(var, array: np.ndarray) -> None:
    """``var.assign(array)`` without a copy: the array is wrapped as a tensor
    (DLPack) and the variable takes its buffer, releasing its own. A plain
    assign converts and copies (two extra buffers of the variable's size at
    once); a row-block scatter would avoid that but leaves the variable in
    TensorFlow's copy-on-read mode, where every later read copies it (+0.5 GB
    and +30 % per VGG16 forward pass, measured). The caller must not keep or
    write ``array`` afterwards."""
    try:
        tensor = tf.experimental.dlpack.from_dlpack(array.__dlpack__())
    except Exception:  # no DLPack: an ordinary (copying) assign
        tensor = tf.constant(array)
    var.assign(tensor)


def fill_glorot(model: keras.Model, seed: int | None = None, min_size: int = LARGE) -> list:
    """Draw Glorot-uniform values (Glorot & Bengio 2010, Keras' default
    kernel initialiser) into every kernel of at least ``min_size`` values.

    Args:
        model: A model built under :func:`zero_init`.
        seed: Seed of the draw (default: from NumPy's global generator, so
            ``keras.utils.set_random_seed`` makes it reproducible).
        min_size: The same threshold as in :func:`zero_init`.

    Returns:
        The shapes filled, in layer order.
    """
    if seed is None:
        seed = int(np.random.randint(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    filled = []
    for layer in model.layers:
        for attr, init_attr in _KERNEL_ATTRS:
            var = getattr(layer, attr, None)
            if var is None or not isinstance(getattr(layer, init_attr, None), _GLOROT):
                continue
            shape = tuple(int(d) for d in var.shape)
            if int(np.prod(shape)) < min_size:
                continue
            fan_in, fan_out = _fans(shape)
            limit = np.float32(np.sqrt(6.0 / (fan_in + fan_out)))
            values = _aligned_empty(shape)
            rng.random(shape, dtype=np.float32, out=values)
            values *= 2 * limit
            values -= limit
            _give(var, values)
            del values
            filled.append(shape)
    return filled


def _names(attrs, key: str) -> list[str]:
    """An HDF5 string-list attribute, possibly split into ``key0``, ``key1``..."""
    if key in attrs:
        values = list(attrs[key])
    else:
        values, k = [], 0
        while f"{key}{k}" in attrs:
            values.extend(attrs[f"{key}{k}"])
            k += 1
    return [v.decode("utf8") if hasattr(v, "decode") else str(v) for v in values]


def load_h5(model: keras.Model, path) -> None:
    """Load a Keras HDF5 weights file (the format of the ``keras.applications``
    ImageNet files) into ``model``, one buffer per array.

    Layers are matched in order, as Keras' own loader does: the n-th layer with
    weights in the file goes to the n-th layer with weights in the model, its
    trainable weights first.

    Args:
        model: The model whose variables receive the values.
        path: The ``.h5`` file.

    Raises:
        ValueError: The file does not match the model (layer count, weight
            count or shape), naming the first mismatch.
    """
    import h5py

    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        layers = [layer for layer in model.layers if layer.trainable_weights + layer.non_trainable_weights]
        saved = [name for name in _names(group.attrs, "layer_names")
                 if _names(group[name].attrs, "weight_names")]
        if len(saved) != len(layers):
            raise ValueError(f"weights file {path} has {len(saved)} layers with weights; "
                             f"model {model.name!r} has {len(layers)}")
        for layer, name in zip(layers, saved):
            variables = layer.trainable_weights + layer.non_trainable_weights
            datasets = [group[name][w] for w in _names(group[name].attrs, "weight_names")]
            if len(datasets) != len(variables):
                raise ValueError(f"layer {layer.name!r} has {len(variables)} weights; "
                                 f"{name!r} in {path} has {len(datasets)}")
            for var, data in zip(variables, datasets):
                shape = tuple(int(d) for d in var.shape)
                if tuple(data.shape) != shape:
                    raise ValueError(f"layer {layer.name!r}: weight {var.path} has shape {shape}; "
                                     f"{name!r} in {path} has {tuple(data.shape)}")
                if data.size < LARGE or data.dtype != np.float32:
                    var.assign(np.asarray(data, dtype=np.float32))
                else:
                    values = _aligned_empty(shape)
                    data.read_direct(values)
                    _give(var, values)
                    del values


# --------------------------------------------------------------- copies
_CHUNK = 2**21  # values per block when a large weight is read or drawn in pieces


def _blocks(var) -> Iterator[np.ndarray]:
    """The values of ``var``, flattened, in blocks of ``_CHUNK`` (views of
    TensorFlow's buffer where it allows, never a whole copy)."""
    flat = tf.reshape(tf.convert_to_tensor(var), [-1])
    for start in range(0, int(flat.shape[0]), _CHUNK):
        yield flat[start:start + _CHUNK].numpy()


def clone(model: keras.Model) -> keras.Model:
    """``keras.models.clone_model(model)`` with the same weights, at the cost
    of one copy of them.

    ``clone_model`` + ``set_weights(get_weights())`` holds three copies of
    every weight at its peak (the fresh random initialisation with its scaled
    draw, the list from ``get_weights`` and the converted assign): 5.5 GB for
    VGG16 in lesson 12. Here the large kernels are built as zeros
    (:func:`zero_init`) and each variable then receives the original's values
    in place.

    Raises:
        ValueError: The copy's weights do not line up with the original's
            (a model ``clone_model`` cannot rebuild faithfully).
    """
    with zero_init(LARGE):
        copy = keras.models.clone_model(model)
    if len(copy.weights) != len(model.weights):
        raise ValueError(f"cannot copy model {model.name!r}: the clone has {len(copy.weights)} "
                         f"weights, the model {len(model.weights)}")
    for src, dst in zip(model.weights, copy.weights):
        if tuple(src.shape) != tuple(dst.shape):
            raise ValueError(f"cannot copy model {model.name!r}: weight {src.path} has shape "
                             f"{tuple(src.shape)}, its copy {tuple(dst.shape)}")
        dst.assign(src.value)
    return copy


def randomize(layer, rng: np.random.Generator) -> None:
    """Replace each trainable weight of ``layer`` by a truncated normal
    ``N(0, s^2)`` cut at ``2 s``, ``s`` the standard deviation of the weight's
    current values (0.05 if they are constant) -- Adebayo et al. (2018)'s
    re-initialisation. One new buffer per weight: the standard deviation is
    accumulated block by block and the draw is made in float32 in place
    (a float64 draw of VGG16's fc1 kernel alone would take 0.8 GB)."""
    for var in layer.trainable_weights:
        n, total, squares = 0, 0.0, 0.0
        for block in _blocks(var):
            b = block.astype(np.float64)
            n, total, squares = n + b.size, total + float(b.sum()), squares + float(np.dot(b, b))
        mean = total / max(n, 1)
        std = float(np.sqrt(max(squares / max(n, 1) - mean * mean, 0.0))) or 0.05
        shape = tuple(int(d) for d in var.shape)
        values = _aligned_empty(shape)
        flat = values.reshape(-1)
        for start in range(0, flat.size, _CHUNK):
            part = flat[start:start + _CHUNK]
            rng.standard_normal(part.size, dtype=np.float32, out=part)
            out = np.abs(part) > 2
            while out.any():  # truncated, not clipped: redraw what falls outside (4.6 %)
                part[out] = rng.standard_normal(int(out.sum()), dtype=np.float32)
                out = np.abs(part) > 2
        values *= np.float32(std)
        if np.dtype(var.dtype) == np.float32:
            _give(var, values)
        else:
            var.assign(values.astype(var.dtype))
        del values
