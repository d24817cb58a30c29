"""Transfer learning: reuse a trained network's convolutional stack for a new
task, train only a new head, optionally fine-tune the last block, and compare
with the same network trained from random initialisation.

Yosinski, Clune, Bengio, Lipson. *How transferable are features in deep
neural networks?* NeurIPS 2014.

The base is rebuilt **on the new model's own input** (a clone of the profile's
layers up to its last spatial layer, with the trained weights copied in), never
nested as one layer inside the new model: every conv layer stays reachable
from the input, so Grad-CAM works on the result (see FACTS.md), and the
caller's model is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import keras
import numpy as np

from . import _checks, _graph, _weights
from ._config import budget
from .profiles import CourseModel, as_course


# --------------------------------------------------------------------- data
def digits(model, per_class: int = 10, val_per_class: int = 10, test_per_class: int | None = 50,
           seed: int = 0) -> dict:
    """scikit-learn's handwritten digits (8x8, 1797 images, 10 classes) as a
    small transfer task at the model's input size.

    Each 8x8 image (values 0-16) is scaled to 0-255, upsampled bilinearly to
    the model's input size and repeated over its channels (white digit on
    black, like Fashion-MNIST). The split is stratified: ``per_class``
    labelled training images per class, ``val_per_class`` for validation
    curves, and up to ``test_per_class`` of the rest for testing.

    Args:
        model: A profile (its input size and channels are used).
        per_class: Training images per class (the "few labels").
        val_per_class: Validation images per class.
        test_per_class: Test images per class (None: all the rest, ~160).
        seed: Shuffling seed.

    Returns:
        ``{"train": (x, y), "val": (x, y), "test": (x, y), "class_names": [...]}``
        with x float32 (N, H, W, C) display pixels and y int64.

    Raises:
        ValueError: Counts that are not positive or exceed what the data has.
    """
    import tensorflow as tf
    from sklearn.datasets import load_digits
    course = as_course(model)
    per_class = _checks.in_range(per_class, 1, 150, "per_class", integer=True)
    val_per_class = _checks.in_range(val_per_class, 0, 170 - per_class, "val_per_class", integer=True)
    if test_per_class is not None:
        test_per_class = _checks.in_range(test_per_class, 1, 170, "test_per_class", integer=True)
    data = load_digits()
    rng = np.random.default_rng(seed)
    parts = {"train": [], "val": [], "test": []}
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(data.target == c))
        parts["train"].append(idx[:per_class])
        parts["val"].append(idx[per_class:per_class + val_per_class])
        rest = idx[per_class + val_per_class:]
        parts["test"].append(rest if test_per_class is None else rest[:test_per_class])
    out = {"class_names": [str(c) for c in range(10)]}
    for part, chunks in parts.items():
        idx = rng.permutation(np.concatenate(chunks)).astype(int)
        small = data.images[idx].astype(np.float32)[..., None] * (255.0 / 16.0)
        if len(idx):
            big = np.asarray(tf.image.resize(small, course.input_size, method="bilinear"), np.float32)
        else:
            big = np.zeros((0, *course.input_size, 1), np.float32)
        big = np.clip(np.round(big), 0, 255)
        out[part] = (np.repeat(big, course.channels, axis=-1).astype(np.float32),
                     data.target[idx].astype(np.int64))
    return out


# ------------------------------------------------------------------- models
def base_layer(model, layer: str | None = None) -> str:
    """The last layer of the conv stack: the model's last layer with a spatial
    (N, h, w, k) output (``block5_pool`` for VGG16, ``out_relu`` for
    MobileNetV2, ``block2_pool`` for fashion_cnn), or ``layer`` checked."""
    course = as_course(model)
    valid = _graph.spatial_layer_names(course.model)
    if not valid:
        raise ValueError(f"model {course.model.name!r} has no layer with a spatial output to transfer")
    return _graph.check_layer(course.model, layer if layer is not None else valid[-1], valid,
                              what="base layer (a layer with a spatial output)")


def last_block(model: keras.Model, base: str) -> list[str]:
    """Names of the layers of the base's last block (what fine-tuning unfreezes):
    the layers sharing the name prefix of the base's last conv layer
    (``block5_`` for VGG16, ``block2_`` for fashion_cnn, ``conv5_`` for
    ResNet50), BatchNormalization excluded (it stays in inference mode)."""
    names = [l.name for l in model.layers]
    stop = names.index(base) + 1
    convs = [n for n in _graph.conv_layer_names(model) if names.index(n) < stop]
    if not convs:
        return []
    prefix = convs[-1].split("_")[0]
    out = []
    for layer in model.layers[:stop]:
        if isinstance(layer, keras.layers.BatchNormalization) or not layer.weights:
            continue
        if layer.name == prefix or layer.name.startswith(prefix + "_"):
            out.append(layer.name)
    return out


def build(model, num_classes: int, base: str | None = None, head_units: int = 64, dropout: float = 0.3,
          pooling: str = "auto", pretrained: bool = True, seed: int = 0) -> keras.Model:
    """A new classifier: the profile's conv stack (up to ``base``) rebuilt on a
    new input, then pooling, a dense layer and a softmax layer.

    Args:
        model: The profile whose conv stack is reused.
        num_classes: Classes of the new task.
        base: Last layer of the reused stack (default :func:`base_layer`).
        head_units: Width of the new dense layer (0: none).
        dropout: Dropout before the classifier.
        pooling: ``"flatten"``, ``"avg"`` (global average pooling) or
            ``"auto"`` (flatten when the feature map has <= 8192 values).
        pretrained: Copy the profile's weights into the base and freeze it;
            ``False`` gives the same architecture from random initialisation,
            all trainable (the from-scratch baseline).
        seed: Seed of the new weights.

    Returns:
        A compiled functional ``keras.Model`` whose layers are all new (the
        profile's model is not shared or modified).

    Raises:
        ValueError: Unknown base layer or pooling, bad sizes.
    """
    from .course_models import compile_classifier
    course = as_course(model)
    name = base_layer(course, base)
    num_classes = _checks.in_range(num_classes, 2, 100_000, "num_classes", integer=True)
    head_units = _checks.in_range(head_units, 0, 100_000, "head_units", integer=True)
    _checks.in_range(dropout, 0.0, 0.95, "dropout")
    _checks.choice(pooling, ["auto", "flatten", "avg"], "pooling")
    keras.utils.set_random_seed(seed)
    sub = keras.Model(course.model.inputs, course.model.get_layer(name).output, name="conv_stack")
    # new layers: the profile's weights copied in once (not set_weights(get_weights()), which
    # holds three copies at its peak), or new random weights for the baseline
    stack = _weights.clone(sub) if pretrained else keras.models.clone_model(sub)
    for layer in stack.layers:
        layer.trainable = not pretrained
    x = stack.outputs[0]
    if pooling == "auto":
        pooling = "flatten" if int(np.prod(x.shape[1:])) <= 8192 else "avg"
    L = keras.layers
    x = L.Flatten(name="head_flatten")(x) if pooling == "flatten" else L.GlobalAveragePooling2D(name="head_pool")(x)
    if head_units:
        x = L.Dense(head_units, activation="relu", name="head_fc")(x)
    if dropout:
        x = L.Dropout(dropout, name="head_dropout")(x)
    out = L.Dense(num_classes, activation="softmax", name="predictions")(x)
    net = keras.Model(stack.inputs, out, name=f"{course.name}_{'transfer' if pretrained else 'scratch'}")
    return compile_classifier(net)


def _course(net: keras.Model, course: CourseModel, class_names, base: str, kind: str) -> CourseModel:
    import dataclasses
    convs = _graph.conv_layer_names(net)
    return dataclasses.replace(
        course, model=net, name=net.name, class_names=list(class_names), conv_layers=convs,
        last_conv=convs[-1] if convs else "", first_conv=convs[0] if convs else "",
        feature_layer="head_fc" if "head_fc" in [l.name for l in net.layers] else base,
        weights=kind, description=f"{kind} on the conv stack of {course.name} (up to {base})")


# ----------------------------------------------------------------- training
@dataclass
class TransferResult:
    """What :func:`train` returns.

    Attributes:
        transfer: The transfer model as a :class:`CourseModel` (same
            preprocessing as the profile; works with every vislib method).
        scratch: The same architecture trained from random initialisation
            (None when ``scratch=False``).
        histories: ``{"transfer": {...}, "scratch": {...}}``, Keras history
            dicts (loss, accuracy, val_loss, val_accuracy per epoch); the
            transfer history runs on through fine-tuning.
        fine_tune_from: Epoch at which fine-tuning began (None: none).
        fine_tuned: Layers unfrozen for fine-tuning.
        test_accuracy: ``{"transfer": acc, "scratch": acc}`` on the test data
            (empty when no test data was given).
        base: The last layer of the reused conv stack.
    """

    transfer: CourseModel
    scratch: CourseModel | None
    histories: dict
    fine_tune_from: int | None
    fine_tuned: list[str]
    test_accuracy: dict = field(default_factory=dict)
    base: str = ""


def _xy(course: CourseModel, data, name: str, num_classes: int | None = None):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(f"{name} must be a pair (images, labels); got {type(data).__name__}")
    x = course.check(data[0], f"{name} images")
    y = np.asarray(data[1])
    if y.shape != (len(x),):
        raise ValueError(f"{name} labels must have shape ({len(x)},); got {y.shape}")
    if num_classes is not None:
        y = _checks.targets(y, len(x), num_classes)
    return np.asarray(course.preprocess(x), np.float32), y.astype(np.int64)


def train_batch_size(model) -> int:
    """Training batch size from the model's activation memory: 16 for small
    networks, 4 for MobileNetV2 and VGG16 at 224x224 (measured: training
    MobileNetV2 at batch 4 peaks at 1.9 GB with the course loaded)."""
    course = as_course(model)
    return int(min(16, max(4, _graph.batch_size_for(course.model, kind="gradient"))))


def _stack_outputs(net: keras.Model, base: str, x: np.ndarray, batch_size: int, show: bool,
                   desc: str) -> np.ndarray:
    """Outputs of ``net``'s frozen conv stack (up to ``base``) for the
    preprocessed inputs ``x``, batched: computed once, reused every epoch."""
    from ._progress import progress
    run = _graph.compiled_forward(net, (base,))
    starts = range(0, len(x), batch_size)
    out = [np.asarray(run(x[s:s + batch_size])[0][0], np.float32)
           for s in progress(starts, total=len(starts), desc=desc, show=show and len(starts) >= 4)]
    return np.concatenate(out) if out else np.zeros((0, *net.get_layer(base).output.shape[1:]), np.float32)


def _head(net: keras.Model, base: str) -> keras.Model:
    """The layers of ``net`` after ``base`` (pooling, dense, dropout, softmax:
    a chain, as :func:`build` makes it) on a new input of the base's output
    shape. The layers are shared, so training this trains ``net``'s head."""
    names = [l.name for l in net.layers]
    inp = keras.Input(net.get_layer(base).output.shape[1:], name="base_features")
    h = inp
    for layer in net.layers[names.index(base) + 1:]:
        h = layer(h)
    return keras.Model(inp, h, name=f"{net.name}_head")


def _merge(a: dict, b: dict) -> dict:
    return {k: list(a.get(k, [])) + list(b.get(k, [])) for k in sorted(set(a) | set(b))}


def train(model, train_data, val_data=None, test_data=None, class_names: Sequence[str] | None = None,
          epochs: int | None = None, fine_tune_epochs: int = 0, scratch: bool = True,
          batch_size: int | None = None, learning_rate: float = 1e-3, fine_tune_learning_rate: float = 1e-4,
          base: str | None = None, head_units: int = 64, dropout: float = 0.3, pooling: str = "auto",
          seed: int = 0, verbose: bool = False) -> TransferResult:
    """Train a new head on the profile's frozen conv stack, optionally
    fine-tune the last block, and train the same network from scratch for
    as many epochs (``epochs + fine_tune_epochs``) for comparison.

    While the base is frozen it is a fixed function, so its outputs are
    computed once and the head is trained on them (the same head, the same
    gradient steps, without a pass through the conv stack every epoch).

    Args:
        model: The profile whose conv stack is reused (not modified).
        train_data: ``(images, labels)``, display pixels at the profile's size.
        val_data: Optional ``(images, labels)`` for the validation curves.
        test_data: Optional ``(images, labels)`` for the final accuracies.
        class_names: Names of the new classes (default ``class_<i>``).
        epochs: Head-training epochs (default ``vislib.budget(10, 3)``).
        fine_tune_epochs: Further epochs with the last block unfrozen
            (:func:`last_block`) at ``fine_tune_learning_rate``.
        scratch: Also train the from-scratch baseline.
        batch_size: Images per step (default :func:`train_batch_size`: from
            the model's size, 16 for small models, 4 for VGG16).
        learning_rate: Adam learning rate for the head (and for scratch).
        fine_tune_learning_rate: Adam learning rate for fine-tuning.
        base, head_units, dropout, pooling: See :func:`build`.
        seed: Seed of the new weights and the shuffling.
        verbose: Show a progress bar per training run.

    Returns:
        A :class:`TransferResult`.

    Raises:
        ValueError: Bad data, epochs or options.
    """
    from .course_models import compile_classifier
    course = as_course(model)
    epochs = budget(10, 3) if epochs is None else _checks.in_range(epochs, 1, 10_000, "epochs", integer=True)
    fine_tune_epochs = _checks.in_range(fine_tune_epochs, 0, 10_000, "fine_tune_epochs", integer=True)
    batch_size = (train_batch_size(course) if batch_size is None
                  else _checks.in_range(batch_size, 1, 100_000, "batch_size", integer=True))
    _checks.in_range(learning_rate, 1e-8, 10.0, "learning_rate")
    _checks.in_range(fine_tune_learning_rate, 1e-8, 10.0, "fine_tune_learning_rate")
    x, y = _xy(course, train_data, "train_data")
    n_cls = len(class_names) if class_names is not None else int(y.max()) + 1
    y = _checks.targets(y, len(y), max(n_cls, 2))
    names = list(class_names) if class_names is not None else [f"class_{i}" for i in range(n_cls)]
    val = _xy(course, val_data, "val_data", n_cls) if val_data is not None else None
    test = _xy(course, test_data, "test_data", n_cls) if test_data is not None else None
    name = base_layer(course, base)

    def fit(net, n_epochs, start, desc, inputs=x, validation=val):
        from ._progress import TqdmCallback
        keras.utils.set_random_seed(seed + start)
        steps = int(np.ceil(len(inputs) / batch_size))
        cbs = [TqdmCallback(n_epochs, steps, desc=desc)] if verbose else []
        h = net.fit(inputs, y, batch_size=batch_size, epochs=start + n_epochs, initial_epoch=start,
                    validation_data=validation, verbose=0, shuffle=True, callbacks=cbs)
        return h.history

    net = build(course, n_cls, name, head_units, dropout, pooling, pretrained=True, seed=seed)
    head = compile_classifier(_head(net, name), learning_rate)
    fx = _stack_outputs(net, name, x, batch_size, verbose, "features of the frozen base")
    fval = None if val is None else (_stack_outputs(net, name, val[0], batch_size, verbose,
                                                    "validation features"), val[1])
    hist = fit(head, epochs, 0, "head on the frozen base", fx, fval)
    del fx, fval
    tuned: list[str] = []
    if fine_tune_epochs:
        tuned = last_block(net, name)
        for layer_name in tuned:
            net.get_layer(layer_name).trainable = True
        compile_classifier(net, fine_tune_learning_rate)  # recompile: trainable flags changed
        hist = _merge(hist, fit(net, fine_tune_epochs, epochs, "fine-tuning the last block"))
    histories = {"transfer": hist}
    result_scratch = None
    if scratch:
        raw = build(course, n_cls, name, head_units, dropout, pooling, pretrained=False, seed=seed)
        compile_classifier(raw, learning_rate)
        histories["scratch"] = fit(raw, epochs + fine_tune_epochs, 0, "from scratch")
        result_scratch = _course(raw, course, names, name, "from scratch")
    acc = {}
    if test is not None:
        acc["transfer"] = float(net.evaluate(*test, verbose=0, batch_size=64)[1])
        if scratch:
            acc["scratch"] = float(raw.evaluate(*test, verbose=0, batch_size=64)[1])
    return TransferResult(transfer=_course(net, course, names, name, "transfer"), scratch=result_scratch,
                          histories=histories, fine_tune_from=epochs if fine_tune_epochs else None,
                          fine_tuned=tuned, test_accuracy=acc, base=name)


# ----------------------------------------------------------------- plotting
def plot_histories(histories: Mapping[str, Mapping[str, Sequence[float]]],
                   metrics: Sequence[str] = ("accuracy", "loss"), fine_tune_from: int | None = None,
                   axes=None):
    """Training (dashed) and validation (solid) curves, one panel per metric.

    Args:
        histories: ``{run name: Keras history dict}`` (e.g. ``result.histories``).
        metrics: Metrics to draw (each panel shows ``m`` and ``val_m``).
        fine_tune_from: Draw a vertical line where fine-tuning began.
        axes: Existing Axes (one per metric), else a new figure.

    Returns:
        The Figure.

    Raises:
        ValueError: Empty histories or a metric none of them has.
    """
    import matplotlib.pyplot as plt
    if not histories:
        raise ValueError("histories is empty; pass {name: history dict}")
    for m in metrics:
        if not any(m in h or f"val_{m}" in h for h in histories.values()):
            have = sorted({k for h in histories.values() for k in h})
            raise ValueError(f"unknown metric {m!r}; valid choices: {have}")
    if axes is None:
        fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.2), squeeze=False)
        axes = axes[0]
    else:
        axes = np.atleast_1d(axes)
        fig = axes[0].figure
    for ax, m in zip(axes, metrics):
        for i, (run, h) in enumerate(histories.items()):
            if m in h:
                ax.plot(np.arange(1, len(h[m]) + 1), h[m], "--", color=f"C{i}", label=f"{run} (train)")
            if f"val_{m}" in h:
                ax.plot(np.arange(1, len(h[f"val_{m}"]) + 1), h[f"val_{m}"], "-o", ms=3, color=f"C{i}",
                        label=f"{run} (validation)")
        if fine_tune_from is not None:
            ax.axvline(fine_tune_from + 0.5, color="gray", lw=1, ls=":")
            ax.text(fine_tune_from + 0.6, ax.get_ylim()[1], "fine-tuning", fontsize=7, va="top", color="gray")
        ax.set_xlabel("epoch")
        ax.set_ylabel(m)
        if m == "accuracy":
            ax.set_ylim(0, 1)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig
