"""Transfer learning: reuse a trained network's convolutional stack for a new
task, train only a new head, optionally fine-tune the last block, and compare
with the same network trained from random initialisation.

Yosinski, Clune, Bengio, Lipson. *How transferable are features in deep
neural networks?* NeurIPS 2014.

The base is rebuilt **on the new model's own input** (a clone of the CourseModel's
layers up to its last spatial layer, with the trained weights copied in), never
nested as one layer inside the new model: every conv layer stays reachable
from the input, so Grad-CAM works on the result (see FACTS.md), and the
caller's model is never touched. Frozen BatchNormalization layers run in
inference mode (Keras 3 does so for ``trainable=False``) and are never
unfrozen, not even when the last block is fine-tuned.

Offline transfer tasks made from real images: :func:`fashion` (Fashion-MNIST
for ImageNet networks) and :func:`digits` (scikit-learn's handwritten digits,
for the offline Fashion-MNIST models). The from-scratch baseline's
BatchNormalization statistics are recomputed before it is evaluated
(:func:`precise_bn`; Wu & Johnson 2021).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import keras
import numpy as np

from .._core import checks, graph, weightops
from .._core.config import budget
from .._core.course_model import CourseModel, as_course
from .._core.progress import TqdmCallback, progress
from .._core.seed import seeded
from ..data.datasets import fashion_mnist
from .offline import compile_classifier


# --------------------------------------------------------------------- data
def resize_images(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a batch of display images (N, H, W, C) to ``size`` bilinearly,
    rounded to whole grey levels; a batch already at ``size`` is returned as is."""
    import tensorflow as tf
    x = np.asarray(images, np.float32)
    if x.ndim != 4:
        raise ValueError(f"images must be a batch (N, H, W, C); got shape {x.shape}")
    size = (int(size[0]), int(size[1]))
    if min(size) < 1:
        raise ValueError(f"size must be two positive ints; got {size}")
    if x.shape[1:3] == size:
        return x
    if not len(x):
        return np.zeros((0, *size, x.shape[-1]), np.float32)
    out = np.asarray(tf.image.resize(x, size, method="bilinear"), np.float32)
    return np.clip(np.round(out), 0, 255)


def _split(labels: np.ndarray, n_classes: int, parts: dict[str, int | None], rng) -> dict[str, np.ndarray]:
    """Stratified, disjoint index sets: ``{part: count per class}`` (None: all the rest)."""
    out = {p: [] for p in parts}
    for c in range(n_classes):
        idx = rng.permutation(np.flatnonzero(labels == c))
        start = 0
        for p, k in parts.items():
            stop = len(idx) if k is None else start + k
            out[p].append(idx[start:stop])
            start = stop
    return {p: rng.permutation(np.concatenate(v)).astype(int) for p, v in out.items()}


def _task(cm: CourseModel, small: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Small gray images (N, h, w, 1) in 0-255 -> the CourseModel's input size and channels."""
    big = resize_images(small, cm.input_size)
    return np.repeat(big, cm.channels, axis=-1).astype(np.float32), labels.astype(np.int64)


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
        model: A CourseModel (its input size and channels are used).
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
    from sklearn.datasets import load_digits
    cm = as_course(model)
    per_class = checks.in_range(per_class, 1, 150, "per_class", integer=True)
    val_per_class = checks.in_range(val_per_class, 0, 170 - per_class, "val_per_class", integer=True)
    if test_per_class is not None:
        test_per_class = checks.in_range(test_per_class, 1, 170, "test_per_class", integer=True)
    data = load_digits()
    idx = _split(data.target, 10, {"train": per_class, "val": val_per_class, "test": test_per_class},
                 np.random.default_rng(seed))
    out = {"class_names": [str(c) for c in range(10)]}
    for part, i in idx.items():
        out[part] = _task(cm, data.images[i].astype(np.float32)[..., None] * (255.0 / 16.0), data.target[i])
    return out


def fashion(model, per_class: int = 10, val_per_class: int = 5, test_per_class: int = 10,
            seed: int = 0) -> dict:
    """Fashion-MNIST (Xiao et al. 2017; 28x28 gray, 10 classes) as a small
    transfer task for an ImageNet network, offline.

    Training and validation items are drawn from Fashion-MNIST's training
    set, test items from its test set (stratified, ``*_per_class`` of each
    class). Each item (white garment on black, as published) is upsampled
    bilinearly to the model's input size and repeated over its channels.
    Transferring the offline course models (trained on Fashion-MNIST) to it
    would be no transfer: use :func:`digits` for them.

    Args:
        model: A CourseModel (its input size and channels are used).
        per_class: Training images per class (the "few labels").
        val_per_class: Validation images per class.
        test_per_class: Test images per class.
        seed: Shuffling seed.

    Returns:
        ``{"train": (x, y), "val": (x, y), "test": (x, y), "class_names": [...]}``
        with x float32 (N, H, W, C) display pixels and y int64.

    Raises:
        ValueError: Counts that are not positive or too large.
    """
    cm = as_course(model)
    per_class = checks.in_range(per_class, 1, 5000, "per_class", integer=True)
    val_per_class = checks.in_range(val_per_class, 0, 6000 - per_class, "val_per_class", integer=True)
    test_per_class = checks.in_range(test_per_class, 1, 1000, "test_per_class", integer=True)
    fm = fashion_mnist()
    rng = np.random.default_rng(seed)
    (x, y), (xt, yt) = fm.train, fm.test
    fit = _split(y, 10, {"train": per_class, "val": val_per_class}, rng)
    test = _split(yt, 10, {"test": test_per_class}, rng)["test"]
    out = {"class_names": list(fm.class_names)}
    for part, i in fit.items():
        out[part] = _task(cm, x[i].astype(np.float32)[..., None], y[i])
    out["test"] = _task(cm, xt[test].astype(np.float32)[..., None], yt[test])
    return out


# ------------------------------------------------------------------- models
def base_layer(model, layer: str | None = None) -> str:
    """The last layer of the conv stack: the model's last layer with a spatial
    (N, h, w, k) output (``block5_pool`` for VGG16, ``out_relu`` for
    MobileNetV2, ``top_activation`` for EfficientNet-Lite0, ``block2_pool`` for
    fashion_cnn), or ``layer`` checked."""
    cm = as_course(model)
    valid = graph.spatial_layer_names(cm.model)
    if not valid:
        raise ValueError(f"model {cm.model.name!r} has no layer with a spatial output to transfer")
    return graph.check_layer(cm.model, layer if layer is not None else valid[-1], valid,
                              what="base layer (a layer with a spatial output)")


def last_block(model: keras.Model, base: str) -> list[str]:
    """Names of the layers of the base's last block (what fine-tuning unfreezes):
    the layers sharing the name prefix of the base's last conv layer
    (``block5_`` for VGG16, ``block2_`` for fashion_cnn, ``conv5_`` for
    ResNet50, ``top_conv`` alone for EfficientNet-Lite0), BatchNormalization
    excluded (it stays frozen, in inference mode)."""
    names = [l.name for l in model.layers]
    stop = names.index(base) + 1
    convs = [n for n in graph.conv_layer_names(model) if names.index(n) < stop]
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
          pooling: str = "auto", pretrained: bool = True, seed: int = 0,
          input_size: tuple[int, int] | None = None) -> keras.Model:
    """A new classifier: the CourseModel's conv stack (up to ``base``) rebuilt on a
    new input, then pooling, a dense layer and a softmax layer.

    Args:
        model: The CourseModel whose conv stack is reused.
        num_classes: Classes of the new task.
        base: Last layer of the reused stack (default :func:`base_layer`).
        head_units: Width of the new dense layer (0: none).
        dropout: Dropout before the classifier.
        pooling: ``"flatten"``, ``"avg"`` (global average pooling) or
            ``"auto"`` (flatten when the feature map has <= 8192 values).
        pretrained: Copy the CourseModel's weights into the base and freeze it
            (its BatchNormalization layers then run in inference mode: Keras
            3 normalises with the moving statistics when ``trainable`` is
            False); ``False`` gives the same architecture from random
            initialisation, all trainable (the from-scratch baseline).
        seed: Seed of the new weights.
        input_size: (height, width) of the new input (default the
            CourseModel's). The layers and their weights do not depend on it
            (convolutions; the ``"auto"`` pooling is decided on the new size).

    Returns:
        A compiled functional ``keras.Model`` whose layers are all new (the
        CourseModel's model is not shared or modified).

    Raises:
        ValueError: Unknown base layer or pooling, bad sizes.
    """
    cm = as_course(model)
    name = base_layer(cm, base)
    num_classes = checks.in_range(num_classes, 2, 100_000, "num_classes", integer=True)
    head_units = checks.in_range(head_units, 0, 100_000, "head_units", integer=True)
    checks.in_range(dropout, 0.0, 0.95, "dropout")
    checks.choice(pooling, ["auto", "flatten", "avg"], "pooling")
    size = cm.input_size if input_size is None else tuple(input_size)
    if len(size) != 2:
        raise ValueError(f"input_size must be (height, width); got {input_size!r}")
    size = (checks.in_range(size[0], 8, 4096, "input_size[0]", integer=True),
            checks.in_range(size[1], 8, 4096, "input_size[1]", integer=True))
    with seeded(seed):   # the new layers' weights; the caller's random state is left as it was
        sub = keras.Model(cm.model.inputs, graph.layer_output(cm.model, name), name="conv_stack")
        if size == tuple(cm.input_size):
            # new layers: the CourseModel's weights copied in once (not set_weights(get_weights()), which
            # holds three copies at its peak), or new random weights for the baseline
            stack = weightops.clone(sub) if pretrained else keras.models.clone_model(sub)
        else:
            inp = keras.Input((*size, cm.channels), name="input_layer")
            stack = keras.models.clone_model(sub, input_tensors=[inp])
            if pretrained:
                for src, dst in zip(sub.weights, stack.weights):
                    dst.assign(src.value)
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
        net = keras.Model(stack.inputs, out, name=f"{cm.name}_{'transfer' if pretrained else 'scratch'}")
    return compile_classifier(net)


def _course(net: keras.Model, cm: CourseModel, class_names, base: str, kind: str) -> CourseModel:
    import dataclasses
    convs = graph.conv_layer_names(net)
    names = [l.name for l in net.layers]
    # the CAM family's layer: the CourseModel's own (the *activated* output of the last block, e.g.
    # top_activation, not the conv before its BatchNorm) when the new model has it, else the base
    if cm.last_conv in names and names.index(cm.last_conv) <= names.index(base):
        last = cm.last_conv
    else:
        last = base if base in graph.spatial_layer_names(net) else (convs[-1] if convs else "")
    return dataclasses.replace(
        cm, model=net, name=net.name, class_names=list(class_names), conv_layers=convs,
        input_size=tuple(net.inputs[0].shape[1:3]),
        last_conv=last, first_conv=convs[0] if convs else "",
        feature_layer="head_fc" if "head_fc" in names else base,
        weights=kind, description=f"{kind} on the conv stack of {cm.name} (up to {base})")


# ----------------------------------------------------------------- training
@dataclass
class TransferResult:
    """What :func:`train` returns.

    Attributes:
        transfer: The transfer model as a :class:`CourseModel` (same
            preprocessing as the CourseModel; works with every vislib method).
        scratch: The same architecture trained from random initialisation
            (None when ``scratch=False``); its ``input_size`` is
            ``scratch_size`` when one was given.
        histories: ``{"transfer": {...}, "scratch": {...}}``, Keras history
            dicts (loss, accuracy, val_loss, val_accuracy per epoch); the
            transfer history runs on through fine-tuning.
        fine_tune_from: Epoch at which fine-tuning began (None: none).
        fine_tuned: Layers unfrozen for fine-tuning.
        test_accuracy: ``{"transfer": acc, "scratch": acc}`` on the test data
            (empty when no test data was given).
        base: The last layer of the reused conv stack.
        cut: The frozen layer whose outputs were computed once and cached
            (the head, and the fine-tuned block, were trained on them).
    """

    transfer: CourseModel
    scratch: CourseModel | None
    histories: dict
    fine_tune_from: int | None
    fine_tuned: list[str]
    test_accuracy: dict = field(default_factory=dict)
    base: str = ""
    cut: str = ""


def _xy(cm: CourseModel, data, name: str, num_classes: int | None = None):
    """Checked display pixels and int64 labels."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(f"{name} must be a pair (images, labels); got {type(data).__name__}")
    x = cm.check(data[0], f"{name} images")
    y = np.asarray(data[1])
    if y.shape != (len(x),):
        raise ValueError(f"{name} labels must have shape ({len(x)},); got {y.shape}")
    if num_classes is not None:
        y = checks.targets(y, len(x), num_classes)
    return x, y.astype(np.int64)


def train_batch_size(model) -> int:
    """Training batch size from the model's activation memory: 16 for small
    networks, 4 for MobileNetV2 and VGG16 at 224x224 (measured: training
    MobileNetV2 at batch 4 peaks at 1.9 GB with the course loaded)."""
    cm = as_course(model)
    return int(min(16, max(4, graph.batch_size_for(cm.model, kind="gradient"))))


def _eval_batch(net: keras.Model) -> int:
    """Evaluation batch size of a whole network: at most 64, fewer where 64 images'
    activations would not fit the inference budget (VGG16 at 224 px: 64 images held
    1.6 GB in the first two conv layers alone)."""
    return int(min(64, graph.batch_size_for(net, kind="forward")))


def _stack_outputs(net: keras.Model, base: str, x: np.ndarray, batch_size: int, show: bool,
                   desc: str) -> np.ndarray:
    """Outputs of ``net``'s layer ``base`` for the preprocessed inputs ``x``,
    batched: computed once, reused every epoch."""
    run = graph.compiled_forward(net, (base,))
    starts = range(0, len(x), batch_size)
    out = [np.asarray(run(x[s:s + batch_size])[0][0], np.float32)
           for s in progress(starts, total=len(starts), desc=desc, show=show and len(starts) >= 4)]
    return np.concatenate(out) if out else np.zeros((0, *net.get_layer(base).output.shape[1:]), np.float32)


def _chain_after(net: keras.Model, cut: str) -> bool:
    """Whether every layer after ``cut`` takes exactly the previous layer's
    output (a chain, so :func:`_head` can replay it)."""
    layers = net.layers
    names = [l.name for l in layers]
    prev = layers[names.index(cut)]
    for layer in layers[names.index(cut) + 1:]:
        nodes = getattr(layer, "_inbound_nodes", [])
        if len(nodes) != 1:
            return False
        inputs = nodes[0].input_tensors
        if len(inputs) != 1 or inputs[0] is not prev.output:
            return False
        prev = layer
    return True


def _head(net: keras.Model, base: str) -> keras.Model:
    """The layers of ``net`` after ``base`` (a chain: see :func:`_chain_after`)
    on a new input of the base's output shape. The layers are shared, so
    training this trains ``net``'s layers."""
    names = [l.name for l in net.layers]
    inp = keras.Input(net.get_layer(base).output.shape[1:], name="base_features")
    h = inp
    for layer in net.layers[names.index(base) + 1:]:
        h = layer(h)
    return keras.Model(inp, h, name=f"{net.name}_head")


def _merge(a: dict, b: dict) -> dict:
    return {k: list(a.get(k, [])) + list(b.get(k, [])) for k in sorted(set(a) | set(b))}


def _adam_trainer(net: keras.Model, learning_rate: float, beta_1: float = 0.9, beta_2: float = 0.999,
                  epsilon: float = 1e-7):
    """A compiled Adam training step for ``net`` (sparse categorical cross-entropy
    on its softmax output): ``step(x, y) -> (loss, correct)``.

    The same update as ``keras.optimizers.Adam`` (Kingma & Ba 2015, with
    Keras' epsilon outside the square root), one fused ``ResourceApplyAdam``
    per variable. Keras' own ``fit`` traces ten or so operations per variable
    for Adam: for EfficientNet's 213 variables that trace alone takes ~20 s
    of CPU, against ~5 s here (measured on 2 cores).
    """
    import tensorflow as tf
    variables = list(net.trainable_variables)
    slots = [(tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False),
              tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False)) for v in variables]
    t = tf.Variable(0.0, trainable=False)
    lr, b1, b2, eps = (tf.constant(float(a), tf.float32) for a in (learning_rate, beta_1, beta_2, epsilon))
    shape = tuple(net.inputs[0].shape[1:])

    @tf.function(input_signature=[tf.TensorSpec((None, *shape), tf.float32), tf.TensorSpec((None,), tf.int64)])
    def step(x, y):
        with tf.GradientTape() as tape:
            p = net(x, training=True)
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, p))
        grads = tape.gradient(loss, variables)
        t.assign_add(1.0)
        b1p, b2p = tf.pow(b1, t), tf.pow(b2, t)
        for v, g, (m, s) in zip(variables, grads, slots):
            tf.raw_ops.ResourceApplyAdam(var=v.value.handle, m=m.handle, v=s.handle, beta1_power=b1p,
                                         beta2_power=b2p, lr=lr, beta1=b1, beta2=b2, epsilon=eps, grad=g)
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(p, axis=-1), y), tf.float32))
        return loss, correct

    return step


def _train_epoch(step, x: np.ndarray, y: np.ndarray, batch_size: int, rng) -> dict:
    """One shuffled pass of ``step`` over ``(x, y)``: ``{"loss": [mean], "accuracy": [mean]}``
    (training-mode figures averaged over the images, as Keras' ``fit`` reports them)."""
    order = rng.permutation(len(x))
    total, correct = 0.0, 0.0
    for s in range(0, len(x), batch_size):
        i = order[s:s + batch_size]
        loss, c = step(x[i], y[i])
        total += float(loss) * len(i)
        correct += float(c)
    return {"loss": [total / max(len(x), 1)], "accuracy": [correct / max(len(x), 1)]}


def precise_bn(net: keras.Model, x: np.ndarray, batch_size: int = 32) -> int:
    """Set every trainable BatchNormalization layer's moving mean and variance
    to the average of its batch statistics over ``x`` ("precise BN").

    Training keeps an exponential moving average (momentum 0.99) of the batch
    statistics, which lags far behind after a few dozen steps: a network
    trained from scratch for a few epochs then normalises with nearly its
    initial statistics at test time and predicts one class, although it has
    learnt something. Recomputing the statistics with the final weights is
    Wu & Johnson's remedy (*Rethinking "Batch" in BatchNorm*, 2021, Sec. 3).
    Only the moving statistics change; training with batch statistics is not
    affected. Frozen layers (``trainable=False``) are left alone.

    Args:
        net: A Keras model (changed in place: its BN statistics).
        x: Network inputs (preprocessed), e.g. the training images.
        batch_size: Images per forward pass.

    Returns:
        The number of BatchNormalization layers updated.
    """
    bns = [l for l in net.layers if isinstance(l, keras.layers.BatchNormalization) and l.trainable]
    if not bns or not len(x):
        return 0
    old = [l.momentum for l in bns]
    try:
        for k, s in enumerate(range(0, len(x), batch_size)):
            for layer in bns:
                layer.momentum = k / (k + 1)  # running mean of the batch statistics
            net(x[s:s + batch_size], training=True)
    finally:
        for layer, m in zip(bns, old):
            layer.momentum = m
    return len(bns)


def train(model, train_data, val_data=None, test_data=None, class_names: Sequence[str] | None = None,
          epochs: int | None = None, fine_tune_epochs: int = 0, scratch: bool = True,
          scratch_size: tuple[int, int] | None = None, batch_size: int | None = None,
          learning_rate: float = 1e-3, fine_tune_learning_rate: float = 1e-4,
          base: str | None = None, head_units: int = 64, dropout: float = 0.3, pooling: str = "auto",
          seed: int = 0, verbose: bool = False) -> TransferResult:
    """Train a new head on the CourseModel's frozen conv stack, optionally
    fine-tune the last block, and train the same network from scratch for
    as many epochs (``epochs + fine_tune_epochs``) for comparison.

    The frozen part of the network is a fixed function, so its outputs are
    computed once, at ``cut`` (the base, or the input of the block that
    fine-tuning unfreezes), and the rest is trained on them: the same layers
    and gradient steps as training the whole model, without a pass through
    the frozen layers every epoch. BatchNormalization layers are never
    unfrozen: they keep the CourseModel's statistics and run in inference mode,
    also while the last block is fine-tuned (the point of the Keras
    transfer-learning guide's ``training=False``).

    The from-scratch network trains its BatchNormalization layers as usual;
    before each validation and the test its moving statistics are
    recomputed on the training images (:func:`precise_bn`), so that a short
    run is judged on what it learnt, not on lagging averages.

    Args:
        model: The CourseModel whose conv stack is reused (not modified).
        train_data: ``(images, labels)``, display pixels at the CourseModel's size.
        val_data: Optional ``(images, labels)`` for the validation curves.
        test_data: Optional ``(images, labels)`` for the final accuracies.
        class_names: Names of the new classes (default ``class_<i>``).
        epochs: Head-training epochs (default ``vislib.budget(10, 3)``).
        fine_tune_epochs: Further epochs with the last block unfrozen
            (:func:`last_block`) at ``fine_tune_learning_rate``.
        scratch: Also train the from-scratch baseline.
        scratch_size: Input size of the from-scratch network (default the
            CourseModel's): its images are resized bilinearly. Only honest when
            the images hold no more detail than that size (e.g. 28x28
            Fashion-MNIST items upsampled to 224); it saves compute. The
            layers and parameters stay the same (``"auto"`` pooling is
            decided at the CourseModel's size, for both networks).
        batch_size: Images per step (default :func:`train_batch_size` of
            the model being trained: 16 for small models, for a head on
            cached features and for EfficientNet-Lite0 at 56x56, 4 for
            VGG16, MobileNetV2 and EfficientNet-Lite0 at 224x224).
        learning_rate: Adam learning rate for the head (and for scratch).
        fine_tune_learning_rate: Adam learning rate for fine-tuning.
        base, head_units, dropout, pooling: See :func:`build`.
        seed: Seed of the new weights, the dropout and the shuffling (the
            same seed gives the same weights on the same machine and thread
            count); the caller's random state is left as it was
            (:func:`vislib._core.seed.seeded`).
        verbose: Show a progress bar per training run.

    Returns:
        A :class:`TransferResult`.

    Raises:
        ValueError: Bad data, epochs or options.
    """
    cm = as_course(model)
    epochs = budget(10, 3) if epochs is None else checks.in_range(epochs, 1, 10_000, "epochs", integer=True)
    fine_tune_epochs = checks.in_range(fine_tune_epochs, 0, 10_000, "fine_tune_epochs", integer=True)
    batch_size_given = batch_size is not None
    batch_size = (train_batch_size(cm) if batch_size is None
                  else checks.in_range(batch_size, 1, 100_000, "batch_size", integer=True))
    checks.in_range(learning_rate, 1e-8, 10.0, "learning_rate")
    checks.in_range(fine_tune_learning_rate, 1e-8, 10.0, "fine_tune_learning_rate")
    x, y = _xy(cm, train_data, "train_data")
    n_cls = len(class_names) if class_names is not None else int(y.max()) + 1
    y = checks.targets(y, len(y), max(n_cls, 2)).astype(np.int64)
    names = list(class_names) if class_names is not None else [f"class_{i}" for i in range(n_cls)]
    val = _xy(cm, val_data, "val_data", n_cls) if val_data is not None else None
    test = _xy(cm, test_data, "test_data", n_cls) if test_data is not None else None
    name = base_layer(cm, base)
    if pooling == "auto":   # decided once, at the CourseModel's size: the scratch network gets the same head
        pooling = "flatten" if int(np.prod(cm.model.get_layer(name).output.shape[1:])) <= 8192 else "avg"
    if scratch and scratch_size is not None and tuple(scratch_size) != tuple(cm.input_size) \
            and pooling == "flatten":
        raise ValueError(f"scratch_size={tuple(scratch_size)} with pooling='flatten' would give the scratch "
                         "network another dense layer than the transferred one; use pooling='avg' or "
                         f"scratch_size=None (valid choices for pooling here: 'avg')")
    prep = lambda a: np.asarray(cm.preprocess(a), np.float32)  # noqa: E731

    def fit(net, inputs, n_epochs, start, desc, validation):
        bs = batch_size if batch_size_given else train_batch_size(net)   # a head on cached features: 16
        steps = int(np.ceil(len(inputs) / bs))
        cbs = [TqdmCallback(n_epochs, steps, desc=desc)] if verbose and desc else []
        with seeded(seed + start):   # the shuffling; the caller's state is restored
            h = net.fit(inputs, y, batch_size=bs, epochs=start + n_epochs, initial_epoch=start,
                        validation_data=validation, verbose=0, shuffle=True, callbacks=cbs)
        return h.history

    # ---- transfer: frozen part computed once at the cut, the rest trained on it
    net = build(cm, n_cls, name, head_units, dropout, pooling, pretrained=True, seed=seed)
    tuned = last_block(net, name) if fine_tune_epochs else []
    layer_names = [l.name for l in net.layers]
    cut = name                              # where the cached features are taken
    if tuned:
        before_block = layer_names[min(layer_names.index(t) for t in tuned) - 1]
        if _chain_after(net, before_block):
            cut = before_block               # the fine-tuned block trains on cached features too
    if not _chain_after(net, cut):
        cut = ""                             # not a chain after the base: train the whole model
    tune_on_cache = bool(tuned) and bool(cut) and layer_names.index(cut) < layer_names.index(tuned[0])
    hist: dict = {}
    if cut:
        head = _head(net, cut)
        fx = _stack_outputs(net, cut, prep(x), batch_size, verbose, "features of the frozen layers")
        fval = None if val is None else (_stack_outputs(net, cut, prep(val[0]), batch_size, verbose,
                                                        "validation features"), val[1])
        compile_classifier(head, learning_rate)
        hist = fit(head, fx, epochs, 0, "head on the frozen base", fval)
    else:
        compile_classifier(net, learning_rate)
        hist = fit(net, prep(x), epochs, 0, "head on the frozen base",
                   None if val is None else (prep(val[0]), val[1]))
    if tuned:
        for t in tuned:
            net.get_layer(t).trainable = True
        if tune_on_cache:
            compile_classifier(head, fine_tune_learning_rate)  # recompile: trainable flags changed
            hist = _merge(hist, fit(head, fx, fine_tune_epochs, epochs, "fine-tuning the last block", fval))
        else:  # the block is not a chain (e.g. residual): fine-tune the whole model, BN still frozen
            compile_classifier(net, fine_tune_learning_rate)
            hist = _merge(hist, fit(net, prep(x), fine_tune_epochs, epochs, "fine-tuning the last block",
                                    None if val is None else (prep(val[0]), val[1])))
    if cut:
        del fx, fval
    compile_classifier(net, fine_tune_learning_rate if tuned else learning_rate)
    histories = {"transfer": hist}
    acc = {}
    if test is not None:
        if cut and (tune_on_cache or not tuned):  # the head on cached test features: net.evaluate's numbers
            ft = _stack_outputs(net, cut, prep(test[0]), batch_size, verbose, "test features")
            acc["transfer"] = float(head.evaluate(ft, test[1], verbose=0, batch_size=64)[1])
        else:
            acc["transfer"] = float(net.evaluate(prep(test[0]), test[1], verbose=0, batch_size=_eval_batch(net))[1])

    # ---- the same network from random weights, all trainable
    result_scratch = None
    if scratch:
        size = tuple(cm.input_size) if scratch_size is None else tuple(scratch_size)
        raw = build(cm, n_cls, name, head_units, dropout, pooling, pretrained=False, seed=seed,
                    input_size=size)
        size = tuple(raw.inputs[0].shape[1:3])
        xs = prep(resize_images(x, size))
        vs = None if val is None else (prep(resize_images(val[0], size)), val[1])
        compile_classifier(raw, learning_rate)   # for evaluate (and for whoever trains it further)
        step = _adam_trainer(raw, learning_rate)
        rng = np.random.default_rng(seed)
        bs = batch_size if batch_size_given else train_batch_size(raw)
        total = epochs + fine_tune_epochs
        hs: dict = {}
        for e in progress(range(total), total=total, desc="from scratch", show=verbose):
            h = _train_epoch(step, xs, y, bs, rng)
            precise_bn(raw, xs)
            if vs is not None:
                loss, accuracy = raw.evaluate(*vs, verbose=0, batch_size=_eval_batch(raw))[:2]
                h = dict(h, val_loss=[float(loss)], val_accuracy=[float(accuracy)])
            hs = _merge(hs, h)
        histories["scratch"] = hs
        if test is not None:
            acc["scratch"] = float(raw.evaluate(prep(resize_images(test[0], size)), test[1], verbose=0,
                                                batch_size=_eval_batch(raw))[1])
        result_scratch = _course(raw, cm, names, name, "from scratch")
    return TransferResult(transfer=_course(net, cm, names, name, "transfer"), scratch=result_scratch,
                          histories=histories, fine_tune_from=epochs if fine_tune_epochs else None,
                          fine_tuned=tuned, test_accuracy=acc, base=name, cut=cut)


