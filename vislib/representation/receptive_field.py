"""The receptive field of a unit: which input pixels can change its value.

A unit of a conv layer sees a square window of the input whose size follows
exactly from the kernel sizes, strides, dilations and paddings of the layers
below it. With ``r`` the field size, ``j`` the *jump* (input pixels between
neighbouring units) and ``s`` the input coordinate of the first unit's field,
a layer with kernel ``k``, stride ``t``, dilation ``d`` and ``p`` pixels of
padding before the input maps

    r' = r + (d (k - 1)) j,    j' = j t,    s' = s - p j

(Araujo, Norris & Sim, *Computing Receptive Fields of Convolutional Neural
Networks*, Distill 2019; Luo et al. NeurIPS 2016 on the *effective* field).

Branching networks (ResNet, MobileNetV2) are handled exactly: at a merge
(``Add``, ``Concatenate``, ...) the field is the *union* of the fields of the
merged paths (they share the jump), i.e. the largest path decides.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from .._core import graph
from .._core.checks import count, pair
from .._core.course_model import as_course

_POOL = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
_CONV = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)
_GLOBAL = (keras.layers.GlobalAveragePooling2D, keras.layers.GlobalMaxPooling2D, keras.layers.Flatten)


@dataclass(frozen=True)
class ReceptiveField:
    """The receptive field of the units of one layer, per axis (height, width).

    Unit ``(i, j)`` of the layer sees input rows ``start[0] + i * jump[0]`` up to
    (excluding) that plus ``size[0]``, and likewise for columns. ``start`` may
    be negative: the field then reaches into the padding.

    Attributes:
        layer: Layer name.
        size: Field size in input pixels (height, width).
        jump: Input pixels between neighbouring units, the product of the strides.
        start: Input coordinate of the first row/column of unit (0, 0)'s field.
        input_size: The model's input (height, width).
        map_size: The layer's output (height, width).
    """

    layer: str
    size: tuple[int, int]
    jump: tuple[int, int]
    start: tuple[int, int]
    input_size: tuple[int, int]
    map_size: tuple[int, int]

    @property
    def stride(self) -> tuple[int, int]:
        """Another name for ``jump``."""
        return self.jump

    def center(self, i: int, j: int) -> tuple[float, float]:
        """Input coordinates (row, column) of the centre of unit (i, j)'s field."""
        return (self.start[0] + i * self.jump[0] + (self.size[0] - 1) / 2,
                self.start[1] + j * self.jump[1] + (self.size[1] - 1) / 2)


# one field per axis: (size, jump, start)
_Axis = tuple[int, int, int]


def _pair(v) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    v = tuple(int(a) for a in v)
    return (v[0], v[0]) if len(v) == 1 else (v[0], v[1])


def _same_pad(n: int | None, k_eff: int, stride: int) -> int:
    """Padding before the input that TensorFlow's ``padding="same"`` adds."""
    if n is None:  # unknown size: the symmetric choice (exact when n % stride == 0)
        total = max(k_eff - stride, 0)
    else:
        out = -(-n // stride)
        total = max((out - 1) * stride + k_eff - n, 0)
    return total // 2


def _spatial_hw(tensor) -> tuple[int | None, int | None]:
    shape = tuple(tensor.shape)
    return shape[1], shape[2]


def _window(layer) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], str] | None:
    """(kernel, stride, dilation, padding) of a sliding-window layer, else None."""
    if isinstance(layer, _CONV):
        return (_pair(layer.kernel_size), _pair(layer.strides), _pair(layer.dilation_rate),
                layer.padding)
    if isinstance(layer, _POOL):
        return _pair(layer.pool_size), _pair(layer.strides), (1, 1), layer.padding
    return None


def _walk(model: keras.Model, name: str) -> tuple[_Axis, _Axis]:
    """Field (size, jump, start) per axis of the output of layer ``name``."""
    inputs = {id(t) for t in model.inputs}
    memo: dict[int, tuple[_Axis, _Axis]] = {}

    def field_of(tensor) -> tuple[_Axis, _Axis]:
        key = id(tensor)
        if key in memo:
            return memo[key]
        layer, node = graph.producer(tensor)
        if key in inputs or isinstance(layer, keras.layers.InputLayer):
            memo[key] = ((1, 1, 0), (1, 1, 0))
            return memo[key]
        parents = [t for t in node.input_tensors if len(t.shape) == 4]
        if not parents:
            raise ValueError(f"layer {layer.name!r} has no spatial input; cannot trace a receptive field")
        if isinstance(layer, _GLOBAL):
            raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) pools over the whole map: "
                             "its receptive field is the whole input")
        fields = [field_of(t) for t in parents]
        if len(fields) > 1:  # a merge: union of the paths' fields
            axes = []
            for a in range(2):
                jumps = {f[a][1] for f in fields}
                if len(jumps) != 1:
                    raise ValueError(f"layer {layer.name!r} merges maps with different strides {sorted(jumps)}")
                lo = min(f[a][2] for f in fields)
                hi = max(f[a][2] + f[a][0] for f in fields)
                axes.append((hi - lo, jumps.pop(), lo))
            base = tuple(axes)
        else:
            base = fields[0]
        out = _apply(layer, base, parents[0], tensor)
        memo[key] = out
        return out

    # the layer's output in THIS model's graph: a layer of a nested base was first called in the
    # base's own graph, whose first node misses the layers in front of the base
    return field_of(graph.layer_output(model, name))


def _apply(layer, base: tuple[_Axis, _Axis], inp, out) -> tuple[_Axis, _Axis]:
    win = _window(layer)
    in_hw = _spatial_hw(inp)
    if win is not None:
        kernel, stride, dilation, padding = win
        axes = []
        for a in range(2):
            r, j, s = base[a]
            k_eff = dilation[a] * (kernel[a] - 1) + 1
            pad = _same_pad(in_hw[a], k_eff, stride[a]) if padding == "same" else 0
            axes.append((r + (k_eff - 1) * j, j * stride[a], s - pad * j))
        return tuple(axes)
    if isinstance(layer, keras.layers.ZeroPadding2D):
        pads = layer.padding  # ((top, bottom), (left, right))
        return tuple((base[a][0], base[a][1], base[a][2] - int(pads[a][0]) * base[a][1]) for a in range(2))
    if isinstance(layer, keras.layers.Cropping2D):
        crops = layer.cropping
        return tuple((base[a][0], base[a][1], base[a][2] + int(crops[a][0]) * base[a][1]) for a in range(2))
    # element-wise layers (activation, batch norm, dropout, add, concatenate over channels, ...)
    if _spatial_hw(out) != in_hw:
        raise ValueError(f"cannot compute the receptive field through layer {layer.name!r} "
                         f"({type(layer).__name__}), which changes the map size {in_hw} -> {_spatial_hw(out)}")
    return base


def receptive_field(model, layer: str) -> ReceptiveField:
    """The exact (theoretical) receptive field of the units of a spatial layer.

    Computed from the kernel sizes, strides, dilations and paddings of every
    layer between the input and ``layer`` (Conv2D, DepthwiseConv2D,
    SeparableConv2D, max/average pooling, ZeroPadding2D, Cropping2D; element-wise
    layers leave it unchanged). Where paths branch and merge (ResNet,
    MobileNetV2), the field is the union over the paths. Every input pixel
    inside the field *can* influence the unit; the *effective* field, where
    the influence is large, is much smaller (Luo et al. 2016).

    Araujo, Norris & Sim. *Computing Receptive Fields of Convolutional Neural
    Networks.* Distill 2019.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model`` (a plain
            functional model needs no classifier head).
        layer: Name of a layer with a 4-D (N, h, w, k) output.

    Returns:
        A :class:`ReceptiveField` (``size``, ``jump``, ``start`` per axis).

    Raises:
        ValueError: Unknown or non-spatial layer (the message lists valid
            ones), or a layer the field cannot be traced through.

    Example:
        >>> receptive_field(vislib.load_model("vgg16"), "block5_conv3").size
        (196, 196)
    """
    if isinstance(model, keras.Model) and not graph.needs_flatten(model) and len(model.inputs) == 1:
        # a plain functional graph: the field needs no classifier head (a feature
        # extractor such as VGG16(include_top=False) has a field too)
        net = model
        input_size = tuple(net.inputs[0].shape[1:3])
    else:
        cm = as_course(model)
        net, input_size = cm.model, tuple(cm.input_size)
    graph.check_layer(net, layer, graph.spatial_layer_names(net), what="spatial layer")
    (rh, jh, sh), (rw, jw, sw) = _walk(net, layer)
    out_shape = tuple(net.get_layer(layer).output.shape)
    return ReceptiveField(layer=layer, size=(rh, rw), jump=(jh, jw), start=(sh, sw),
                          input_size=input_size, map_size=(out_shape[1], out_shape[2]))


def box(rf: ReceptiveField, i: int, j: int, image_size: tuple[int, int] | None = None,
        clip: bool = True) -> tuple[int, int, int, int]:
    """The input window ``(y0, y1, x0, x1)`` (end exclusive) that unit (i, j) sees.

    Args:
        rf: From :func:`receptive_field`.
        i: Unit row in the layer's output map.
        j: Unit column.
        image_size: (height, width) to clip to (default ``rf.input_size``).
        clip: Clip to the image (False: the full field, possibly outside it).

    Returns:
        ``(y0, y1, x0, x1)`` with ``image[y0:y1, x0:x1]`` the field's pixels.

    Raises:
        ValueError: ``(i, j)`` outside the layer's map.
    """
    h, w = rf.map_size
    i, j = count(i, "i", low=-(10**9), high=10**9), count(j, "j", low=-(10**9), high=10**9)  # whole numbers
    if h is not None and not (0 <= i < h and 0 <= j < w):
        raise ValueError(f"unit ({i}, {j}) is outside the {h}x{w} map of layer {rf.layer!r}; "
                         f"valid: 0 <= i < {h}, 0 <= j < {w}")
    y0 = rf.start[0] + i * rf.jump[0]
    x0 = rf.start[1] + j * rf.jump[1]
    y1, x1 = y0 + rf.size[0], x0 + rf.size[1]
    if not clip:
        return y0, y1, x0, x1
    H, W = pair(image_size, "image_size") if image_size is not None else rf.input_size
    y0, x0 = min(max(y0, 0), H), min(max(x0, 0), W)
    return y0, max(min(y1, H), y0), x0, max(min(x1, W), x0)
