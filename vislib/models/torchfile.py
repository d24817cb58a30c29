"""Read a *legacy* (pre-zip, PyTorch < 1.6) ``torch.save`` file with the
standard library's :mod:`pickle` and numpy, without PyTorch.

The legacy format, as ``torch.serialization._legacy_save`` writes it, is a
sequence of pickles followed by raw data:

1. the magic number ``0x1950a86a20f9469cfc6c``;
2. the protocol version ``1001``;
3. system information (byte order, sizes of ``short``/``int``/``long``);
4. the object itself (here a state dict); each tensor is pickled as a call of
   ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` and
   each storage by a *persistent id*
   ``("storage", StorageType, key, location, numel[, view])``;
5. the sorted list of storage keys;
6. for each key: an int64 element count, then the storage's raw
   little-endian bytes.

Unpickling calls whatever a file names, so a file is read the way
``torch.load(weights_only=True)`` reads it: :class:`_SafeUnpickler` resolves
only the handful of names this format uses and refuses every other one.
"""

from __future__ import annotations

import collections
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = 0x1950A86A20F9469CFC6C
PROTOCOL = 1001

#: storage type name -> numpy dtype (little-endian, as the legacy writer stores them)
STORAGE_DTYPES = {
    "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2",
    "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2",
    "CharStorage": "i1", "ByteStorage": "u1", "BoolStorage": "?",
}


@dataclass(frozen=True)
class _StorageType:
    name: str

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(STORAGE_DTYPES[self.name])


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: np.dtype
    numel: int


@dataclass(frozen=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    size: tuple
    stride: tuple


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _TensorRef(storage, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


class _SafeUnpickler(pickle.Unpickler):
    """Resolves only the globals a legacy state dict refers to."""

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if (module, name) == ("torch._utils", "_rebuild_parameter"):
            return _rebuild_parameter
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name}: a weights file may only name "
            f"collections.OrderedDict, torch._utils._rebuild_tensor_v2 and torch storage types")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        return _StorageRef(str(pid[2]), pid[1].dtype, int(pid[4]))


def load_state_dict(path: str | Path) -> "collections.OrderedDict[str, np.ndarray]":
    """The tensors of a legacy ``torch.save`` file as numpy arrays.

    Args:
        path: The ``.pth`` file.

    Returns:
        ``{name: float32/int64 array}`` in the file's order.

    Raises:
        ValueError: Not a legacy torch file (e.g. a zip-format file of
            PyTorch >= 1.6), big-endian data, a truncated file, or a pickle
            that names anything besides the format's own types.
    """
    path = Path(path)
    with open(path, "rb") as f:
        if f.read(2) == b"PK":
            raise ValueError(f"{str(path)!r} is a zip-format torch file (PyTorch >= 1.6); "
                             "only the legacy format is supported")
        f.seek(0)
        try:
            magic = pickle.load(f)
            if magic != MAGIC:
                raise ValueError(f"{str(path)!r} is not a legacy torch file (magic {magic!r})")
            protocol = pickle.load(f)
            if protocol != PROTOCOL:
                raise ValueError(f"{str(path)!r}: unsupported torch protocol {protocol!r}, expected {PROTOCOL}")
            info = pickle.load(f)
            if not info.get("little_endian", True):
                raise ValueError(f"{str(path)!r} was written on a big-endian machine; not supported")
            obj = _SafeUnpickler(f).load()
            keys = pickle.load(f)
        except (pickle.UnpicklingError, EOFError) as err:
            raise ValueError(f"{str(path)!r}: cannot read the torch pickle ({err})") from err
        if not isinstance(obj, dict):
            raise ValueError(f"{str(path)!r} holds a {type(obj).__name__}, not a state dict")
        dtypes = {t.storage.key: t.storage.dtype for t in obj.values() if isinstance(t, _TensorRef)}
        storages = {}
        for key in keys:  # each storage: int64 element count, then the raw data
            head = f.read(8)
            numel = int(np.frombuffer(head, "<i8")[0]) if len(head) == 8 else -1
            dtype = dtypes.get(str(key), np.dtype("<f4"))
            data = f.read(max(numel, 0) * dtype.itemsize)
            if numel < 0 or len(data) != numel * dtype.itemsize:
                raise ValueError(f"{str(path)!r} is truncated (storage {key!r})")
            storages[str(key)] = np.frombuffer(data, dtype)
    out = collections.OrderedDict()
    for name, t in obj.items():
        if not isinstance(t, _TensorRef):
            continue
        base = storages[t.storage.key]
        last = t.offset + sum((n - 1) * st for n, st in zip(t.size, t.stride))
        if t.offset < 0 or min(t.size, default=1) > 0 and last >= len(base):
            raise ValueError(f"{str(path)!r}: tensor {name!r} reaches past its storage")
        view = np.lib.stride_tricks.as_strided(base[t.offset:], shape=t.size,
                                               strides=[s * base.itemsize for s in t.stride])
        out[name] = np.array(view, dtype=base.dtype.newbyteorder("="))
    return out
