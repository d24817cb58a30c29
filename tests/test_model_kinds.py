"""Models built the way tutorials build them (issue 18, item 3), and the
answer vislib gives for each.

Case -> answer (the tests below check each one):

* base network nested as one layer (TensorFlow transfer-learning tutorial:
  ``Input -> augmentation -> preprocess -> base(x, training=False) -> GAP ->
  Dropout -> Dense``), ``Sequential([base, GAP, Dense])``, ``keras.Sequential``
  of plain layers with an ``Input`` or called once -> supported by every
  method: the graph is opened up into one functional model over the same
  layers (``vislib._core.graph.flatten``); maps equal those of the same layers
  called in one graph; inner layers by name; the CAM family's default layer
  is the last conv layer inside the base; ``layer=<base name>`` is the base's
  output; guided backprop gates the ReLUs inside the base; the caller's model
  is unchanged (layers, weights, ``get_config()``).
* Sequential never built -> ValueError "... never built ... keras.Input ...
  or call it once".
* the same layer name outside and inside a nested model, or one nested
  model called twice -> ValueError naming the layer names.
* two inputs / two outputs -> ValueError "has 2 inputs and 1 output ...
  single-image classifiers".
* subclassed ``keras.Model`` -> ValueError "subclassed ... functional API or
  keras.Sequential"; output that is not (N, classes) -> ValueError.
* ONE output unit (sigmoid, or a linear logit as in the tutorial) -> two
  classes with scores ``[-z/2, +z/2]``: ``predict`` gives ``[1 - p, p]``,
  FGSM moves the images, Score-CAM and CAM depend on the class, saliency
  of class 0 is minus that of class 1; ``decode`` takes the model's own
  sigmoid column. A softmax over one unit -> ValueError (it is always 1).
* softmax as a separate ``Activation('softmax')`` / ``Softmax()`` layer or
  a ``keras.ops.softmax`` -> the same scores, maps and probabilities as
  ``Dense(..., activation='softmax')``.
* model that outputs logits -> ``predict`` gives ``softmax(logits)``.
* ``Rescaling(1/255)`` inside the model -> works (bare models take the
  values as they are): the maps are those of the model without it on
  ``x / 255``, divided by 255.
* Dropout / BatchNormalization in the head -> inference mode everywhere
  (predictions equal ``model(x, training=False)``, maps repeat exactly);
  ``cam`` refuses a BatchNorm between GAP and Dense (says to use gradcam).
* ``keras.Input((None, None, 3))`` -> ValueError saying to pass
  ``vislib.as_course(model, input_size=(h, w))``; with it, every method works.
* last layer not Dense (Conv 1x1 + GAP, with or without softmax) -> scores
  are the pooled class maps; gradient methods and Score-CAM work; ``cam``
  refuses with a message pointing to gradcam.
* no conv layer at all -> the CAM family refuses up front (no "unknown
  layer ''").
* several sigmoid units (multi-label) -> ``predict`` is the model's own
  output, the scores are the logits before the sigmoid.
* a whole classifier nested as the last layer (``Sequential([Input,
  classifier])``) -> the scores are found under its softmax.
* ``keras.Input(..., dtype="uint8")`` -> the same layers on a float32 input
  (gradients exist).
* a base nested after a layer that changes resolution: ``receptive_field``
  counts the layers in front of the base too.
* a headless feature extractor: its layers can be looked at, a class
  explanation says it needs a classifier head.

Random weights throughout: every check compares two computations of the same
thing, or a property that holds for any weights.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import vislib
from vislib._core import graph as _graph
from vislib.evaluation import metrics

L = keras.layers
SIZE = 32

pytestmark = pytest.mark.filterwarnings("ignore:gradcam.*all zero:UserWarning")


def _images(n: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (n, SIZE, SIZE, 3)).astype(np.float32)


def _close(a, b, what: str, rel: float = 1e-5) -> None:
    """Two computations of the same float32 map: the same layers run in the
    same order, so only op fusion can differ; allow float32 rounding, ``rel``
    of the map's own scale (the maps' scales differ by orders of magnitude)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    scale = max(np.abs(a).max(), np.abs(b).max(), 1e-30)
    assert np.abs(a - b).max() <= rel * scale, (what, np.abs(a - b).max(), scale)


def _base(prefix: str = "b", seed: int = 0) -> keras.Model:
    """A small functional conv base (a chain, so a twin can call its layers in order)."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((SIZE, SIZE, 3))
    x = L.Conv2D(8, 3, padding="same", activation="relu", name=f"{prefix}_conv1")(inp)
    x = L.MaxPooling2D(name=f"{prefix}_pool")(x)
    x = L.Conv2D(8, 3, padding="same", activation="relu", name=f"{prefix}_conv2")(x)
    return keras.Model(inp, x, name=f"{prefix}_base")


def tutorial_pair(units: int = 1, activation=None, seed: int = 0) -> tuple[keras.Model, keras.Model]:
    """The transfer-learning tutorial's model with its base nested as one layer,
    and a twin that calls the very same layer objects in one functional graph
    (built by hand, not by vislib), so both must give the same answers.

    ``TWIN_PARTS[twin]`` holds sub-models of the twin's own graph (``layer.output``
    of a shared layer is its *first* model's tensor, the nested one):
    ``features`` (the Dense layer's input) and ``maps`` (the base's output)."""
    base = _base(seed=seed)
    flip = L.RandomFlip("horizontal", name="flip")
    augment = keras.Sequential([flip], name="augment")
    rescale = L.Rescaling(1 / 127.5, offset=-1, name="rescale")
    gap, drop = L.GlobalAveragePooling2D(name="gap"), L.Dropout(0.2, name="drop")
    dense = L.Dense(units, activation=activation, name="head")
    inputs = keras.Input((SIZE, SIZE, 3))
    x = rescale(augment(inputs))
    x = base(x, training=False)
    nested = keras.Model(inputs, dense(drop(gap(x))), name="tutorial")
    i2 = keras.Input((SIZE, SIZE, 3))
    y = rescale(flip(i2))
    for layer in base.layers[1:]:
        y = layer(y)
    feats = drop(gap(y))
    twin = keras.Model(i2, dense(feats), name="tutorial_twin")
    TWIN_PARTS[twin.name + str(id(twin))] = {"features": keras.Model(i2, feats), "maps": keras.Model(i2, y)}
    return nested, twin


TWIN_PARTS: dict[str, dict[str, keras.Model]] = {}


def _part(twin: keras.Model, name: str) -> keras.Model:
    return TWIN_PARTS[twin.name + str(id(twin))][name]


def sequential_pair(seed: int = 1) -> tuple[keras.Model, keras.Model]:
    """``Sequential([Input, base, GAP, Dense(4, softmax)])`` and its one-graph twin."""
    base = _base("s", seed)
    gap, dense = L.GlobalAveragePooling2D(name="s_gap"), L.Dense(4, activation="softmax", name="s_head")
    seq = keras.Sequential([keras.Input((SIZE, SIZE, 3)), base, gap, dense], name="seq_base")
    i2 = keras.Input((SIZE, SIZE, 3))
    y = i2
    for layer in base.layers[1:]:
        y = layer(y)
    return seq, keras.Model(i2, dense(gap(y)), name="seq_twin")


def plain_sequential_pair(with_input: bool, seed: int = 2) -> tuple[keras.Model, keras.Model]:
    """A ``keras.Sequential`` of plain conv layers (built with an Input, or by
    calling it once as students do) and its functional twin."""
    keras.utils.set_random_seed(seed)
    layers = [L.Conv2D(6, 3, activation="relu", name="p_conv1"), L.MaxPooling2D(name="p_pool"),
              L.Conv2D(6, 3, activation="relu", name="p_conv2"), L.Flatten(name="p_flat"),
              L.Dense(3, activation="softmax", name="p_head")]
    if with_input:
        seq = keras.Sequential([keras.Input((SIZE, SIZE, 3))] + layers, name="plain_in")
    else:
        seq = keras.Sequential(layers, name="plain_called")
        seq(_images(3, seed=9))  # built by one call on a batch of 3: its graph has batch size 3
    i2 = keras.Input((SIZE, SIZE, 3))
    y = i2
    for layer in layers:
        y = layer(y)
    return seq, keras.Model(i2, y, name="plain_twin")


# ---- every method, as (name, fn(model, images, targets) -> array) ----

def _fixed_map() -> np.ndarray:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    return np.stack([(yy * SIZE + xx), (xx * SIZE + yy)]).astype(np.float32)


METHODS = {
    "saliency": lambda m, x, t: vislib.saliency(m, x, t, reduce=None),
    "guided_backprop": lambda m, x, t: vislib.guided_backprop(m, x, t, reduce=None),
    "gradcam": lambda m, x, t: vislib.gradcam(m, x, t, normalize=False),
    "gradcam_plus_plus": lambda m, x, t: vislib.gradcam_plus_plus(m, x, t),
    "scorecam": lambda m, x, t: vislib.scorecam(m, x, t),
    "guided_gradcam": lambda m, x, t: vislib.guided_gradcam(m, x, t),
    "cam": lambda m, x, t: vislib.cam(m, x, t, normalize=False),
    "occlusion": lambda m, x, t: vislib.occlusion(m, x, t, patch=8, stride=8),
    "smoothgrad": lambda m, x, t: vislib.smoothgrad(m, x, t, samples=3, seed=0, reduce=None),
    "fgsm": lambda m, x, t: vislib.fgsm(m, x, t, epsilon=8.0),
    "iterative_fgsm": lambda m, x, t: vislib.iterative_fgsm(m, x, t, epsilon=8.0, steps=2),
    "predict": lambda m, x, t: vislib.as_course(m).predict(x),
    "logits": lambda m, x, t: vislib.as_course(m).logits(x),
    "activations": lambda m, x, t: vislib.activations(m, x, vislib.as_course(m).last_conv)[
        vislib.as_course(m).last_conv],
    "deletion_auc": lambda m, x, t: metrics.deletion_auc(m, x, _fixed_map(), t, steps=4),
    "insertion_auc": lambda m, x, t: metrics.insertion_auc(m, x, _fixed_map(), t, steps=4),
}
GAP_HEAD = {"tutorial", "sequential_base"}   # the models with a Dense-on-GAP head (CAM applies)


@pytest.fixture(scope="module")
def pairs():
    return {"tutorial": tutorial_pair(), "sequential_base": sequential_pair(),
            "plain_sequential_input": plain_sequential_pair(True),
            "plain_sequential_called": plain_sequential_pair(False)}


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("kind", ["tutorial", "sequential_base"])
def test_nested_model_answers_as_its_layers_in_one_graph(pairs, kind, method):
    nested, twin = pairs[kind]
    x, t = _images(), np.array([0, 1])
    if method == "cam" and kind not in GAP_HEAD:
        pytest.skip("no GAP head")
    _close(METHODS[method](nested, x, t), METHODS[method](twin, x, t), f"{kind}/{method}")


@pytest.mark.parametrize("method", ["saliency", "guided_backprop", "gradcam", "scorecam", "occlusion",
                                    "fgsm", "predict", "activations"])
@pytest.mark.parametrize("kind", ["plain_sequential_input", "plain_sequential_called"])
def test_plain_sequential_answers_as_functional(pairs, kind, method):
    seq, twin = pairs[kind]
    x, t = _images(), np.array([0, 2])
    _close(METHODS[method](seq, x, t), METHODS[method](twin, x, t), f"{kind}/{method}")


def test_unbuilt_sequential_is_refused_with_the_fix():
    seq = keras.Sequential([L.Conv2D(4, 3), L.Flatten(), L.Dense(3)], name="unbuilt")
    for call in (lambda: vislib.saliency(seq, _images()), lambda: vislib.as_course(seq)):
        with pytest.raises(ValueError, match=r"'unbuilt'.*never built.*keras\.Input.*call it once"):
            call()


def test_nested_inner_layers_default_layer_and_alias(pairs):
    nested, twin = pairs["tutorial"]
    course = vislib.as_course(nested)
    x = _images()
    assert course.conv_layers == ["b_conv1", "b_conv2"]
    assert course.last_conv == "b_conv2"           # the last conv layer inside the nested base
    assert course.num_classes == 2 and course.class_names == ["class_0", "class_1"]
    _close(vislib.gradcam(nested, x, 1, normalize=False),
           vislib.gradcam(nested, x, 1, layer="b_conv2", normalize=False), "default layer")
    acts = vislib.activations(nested, x, ["b_conv1", "b_base"])
    # the nested model's name is its output: here b_conv2's, computed on the twin
    _close(acts["b_base"], vislib.activations(twin, x, "b_conv2")["b_conv2"], "alias")
    assert acts["b_conv1"].shape == (2, SIZE, SIZE, 8)
    assert vislib.receptive_field(nested, "b_conv2") == vislib.receptive_field(twin, "b_conv2")
    # Grad-CAM at the base's output (what the student sees in model.summary())
    _close(vislib.gradcam(nested, x, 0, layer="b_base", normalize=False),
           vislib.gradcam(twin, x, 0, layer="b_conv2", normalize=False), "gradcam at base output")


def test_guided_backprop_gates_relus_inside_the_nested_base(pairs):
    nested, _ = pairs["tutorial"]
    x = _images()
    guided = vislib.guided_backprop(nested, x, 1, reduce=None)
    plain = vislib.saliency(nested, x, 1, reduce=None)
    # every ReLU of this model is inside the base: ungated, guided == plain exactly
    assert np.abs(guided - plain).max() > 0.1 * np.abs(plain).max()
    # both ReLUs inside the base got their gate in the guided copy
    from vislib._core.gradients import rule_model
    gm = rule_model(vislib.as_course(nested).model, "guided")
    assert any(layer.name == "b_conv1_guided" for layer in gm.layers)
    assert any(layer.name == "b_conv2_guided" for layer in gm.layers)


def test_real_tutorial_mobilenet_v2_gradcam_by_hand():
    """The tutorial literally (MobileNetV2 base, preprocess_input as ops, augmentation
    Sequential, Dense(1) logit); Grad-CAM at the default layer against a hand computation
    on the base's own graph. 64x64 input: Conv_1's maps are 2x2 (1x1 at 32)."""
    size = 64
    keras.utils.set_random_seed(0)
    base = keras.applications.MobileNetV2(input_shape=(size, size, 3), include_top=False, weights=None,
                                          alpha=0.35)
    augment = keras.Sequential([L.RandomFlip("horizontal"), L.RandomRotation(0.2)])
    inputs = keras.Input((size, size, 3))
    x = keras.applications.mobilenet_v2.preprocess_input(augment(inputs))
    x = base(x, training=False)
    dense = L.Dense(1)
    model = keras.Model(inputs, dense(L.Dropout(0.2)(L.GlobalAveragePooling2D()(x))))
    course = vislib.as_course(model)
    assert course.last_conv == "Conv_1"
    images = np.random.default_rng(0).uniform(0, 255, (2, size, size, 3)).astype(np.float32)
    got = vislib.gradcam(model, images, [1, 0], normalize=False)
    inner = keras.Model(base.inputs, [base.get_layer("Conv_1").output, base.output])
    with tf.GradientTape() as tape:
        a, f = inner(tf.constant(images) / 127.5 - 1.0, training=False)
        z = dense(tf.reduce_mean(f, axis=(1, 2)))[:, 0]
        score = tf.reduce_sum(z * tf.constant([0.5, -0.5]))  # class 1: +z/2, class 0: -z/2
    g = tape.gradient(score, a).numpy()
    maps = np.maximum((g.mean(axis=(1, 2), keepdims=True) * a.numpy()).sum(-1), 0)
    want = vislib._core.maps.resize_maps(maps, (size, size))
    assert np.ptp(want) > 0.01 * np.abs(want).max()   # a map with structure, not a constant
    # eager by hand vs compiled through ~60 layers: float32 rounding accumulates (1.5e-5
    # measured), so 1e-4 of the map's scale
    _close(got, want, "mobilenet gradcam", rel=1e-4)
    # guided backprop differs from the plain gradient (ReLU6 gates inside the base)
    gb = vislib.guided_backprop(model, images, 1, reduce=None)
    sal = vislib.saliency(model, images, 1, reduce=None)
    assert np.abs(gb - sal).max() > 0.01 * np.abs(sal).max()


def test_callers_model_is_untouched():
    nested, _ = tutorial_pair(seed=3)
    layers = list(nested.layers)
    inner = list(nested.get_layer("b_base").layers)
    config = nested.get_config()
    weights = [w.numpy().copy() for w in nested.weights]
    x = _images()
    before = np.asarray(nested(x, training=False))
    for name in ("saliency", "guided_backprop", "gradcam_plus_plus", "scorecam", "predict", "fgsm"):
        METHODS[name](nested, x, np.array([0, 1]))
    metrics.randomization_sanity(vislib.gradcam, nested, x[:1], layers=["b_conv2"])
    assert all(a is b for a, b in zip(layers, nested.layers)) and len(layers) == len(nested.layers)
    assert all(a is b for a, b in zip(inner, nested.get_layer("b_base").layers))
    assert nested.get_config() == config
    assert all(np.array_equal(w, v.numpy()) for w, v in zip(weights, nested.weights))
    assert np.array_equal(before, np.asarray(nested(x, training=False)))
    assert vislib.as_course(nested).model is vislib.as_course(nested).model   # flattened once, cached
    # one preprocessing function for bare models: the compiled functions keyed on it are reused
    assert vislib.as_course(nested).preprocess is vislib.as_course(nested).preprocess


def test_receptive_field_counts_layers_outside_the_nested_base():
    bi = keras.Input((SIZE // 2, SIZE // 2, 3))
    base = keras.Model(bi, L.Conv2D(4, 3, padding="same", name="rf_conv")(bi), name="rf_base")
    i = keras.Input((SIZE, SIZE, 3))
    model = keras.Model(i, L.Dense(2)(L.GlobalAveragePooling2D()(base(L.MaxPooling2D(name="rf_pool")(i)))))
    rf = vislib.receptive_field(model, "rf_conv")
    # a 2x2 / 2 pooling then a 3x3 conv: 2 + (3 - 1) * 2 = 6 pixels, jump 2
    assert (rf.size, rf.jump) == ((6, 6), (2, 2))


def test_layer_name_collisions_are_refused():
    inp = keras.Input((SIZE, SIZE, 3))
    inner = keras.Model(inp, L.Conv2D(4, 3, name="conv")(inp), name="inner")
    i = keras.Input((SIZE, SIZE, 3))
    y = L.Conv2D(4, 1, name="conv")(inner(i))
    model = keras.Model(i, L.Dense(3)(L.GlobalAveragePooling2D()(y)))
    with pytest.raises(ValueError, match=r"layer name 'conv' occurs more than once.*outside and inside"):
        vislib.gradcam(model, _images())
    block = keras.Model(inp, L.Conv2D(3, 3, padding="same", name="blk_conv")(inp), name="block")
    twice = keras.Model(i, L.Dense(2)(L.GlobalAveragePooling2D()(block(block(i)))))
    with pytest.raises(ValueError, match=r"'blk_conv'.*one layer called more than once"):
        vislib.saliency(twice, _images())


@pytest.mark.parametrize("io", ["two_inputs", "two_outputs"])
def test_multi_input_or_output_is_refused(io):
    a = keras.Input((SIZE, SIZE, 3))
    g = L.GlobalAveragePooling2D()(L.Conv2D(4, 3)(a))
    if io == "two_inputs":
        b = keras.Input((4,))
        model, text = keras.Model([a, b], L.Dense(3)(L.Concatenate()([g, b]))), "has 2 inputs and 1 output"
    else:
        model, text = keras.Model(a, [L.Dense(3)(g), L.Dense(2)(g)]), "has 1 input and 2 outputs"
    for method in (vislib.saliency, vislib.guided_backprop, vislib.gradcam, vislib.fgsm, vislib.occlusion):
        with pytest.raises(ValueError, match=text + r".*single-image classifiers"):
            method(model, _images())


def test_subclassed_model_and_non_classifier_output_are_refused():
    class Net(keras.Model):
        def __init__(self):
            super().__init__(name="net")
            self.conv, self.pool = L.Conv2D(3, 3), L.GlobalAveragePooling2D()

        def call(self, x):
            return self.pool(self.conv(x))

    net = Net()
    net(_images())
    with pytest.raises(ValueError, match=r"'net' is a subclassed keras.Model.*functional API.*Sequential"):
        vislib.saliency(net, _images())
    inp = keras.Input((SIZE, SIZE, 3))
    with pytest.raises(ValueError, match=r"one row of class scores per image.*got \(N, 32, 32, 3\)"):
        vislib.saliency(keras.Model(inp, L.Conv2D(3, 1)(inp)), _images())


# ---- binary models with one output unit ----

@pytest.fixture(scope="module", params=["sigmoid", "logit"])
def binary(request):
    nested, twin = tutorial_pair(units=1, activation="sigmoid" if request.param == "sigmoid" else None, seed=4)
    # random weights give logits near 0 (p ~ 0.5 for every input); scale the head so the
    # logit is a few units (not so large that float32 saturates the sigmoid and FGSM's loss)
    head = twin.get_layer("head")
    z = np.asarray(_part(twin, "features")(_images(8, seed=14))) @ head.kernel.numpy()
    head.kernel.assign(head.kernel.numpy() * (3.0 / max(float(np.abs(z).mean()), 1e-12)))
    return request.param, nested, twin


def _logit(kind: str, twin: keras.Model, x: np.ndarray) -> np.ndarray:
    """z computed apart from vislib: the Dense input through the Dense kernel by hand."""
    feats = _part(twin, "features")(x, training=False)
    head = twin.get_layer("head")
    return (np.asarray(feats) @ head.kernel.numpy() + head.bias.numpy())[:, 0]


def test_binary_predict_is_one_minus_p_p(binary):
    kind, nested, twin = binary
    x = _images(4)
    course = vislib.as_course(nested)
    probs = course.predict(x)
    out = np.asarray(nested(x, training=False))[:, 0].astype(np.float64)
    p = out if kind == "sigmoid" else 1 / (1 + np.exp(-out))   # the model's own output
    assert probs.shape == (4, 2) and course.num_classes == 2
    # float32 softmax of [-z/2, z/2] vs float64 sigmoid of the model's float32 output: rounding of p
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(probs, np.stack([1 - p, p], axis=1), atol=1e-6)
    z = _logit(kind, twin, x)
    np.testing.assert_allclose(course.logits(x), np.stack([-z / 2, z / 2], axis=1), rtol=1e-5, atol=1e-7)
    top = course.decode(probs, top=1)
    assert [row[0][0] for row in top] == [f"class_{int(v > 0.5)}" for v in p]
    if kind == "sigmoid":   # the model's own sigmoid column is accepted by decode
        assert course.decode(out[:, None].astype(np.float32), top=2)[0][0][0] == top[0][0][0]
    else:
        with pytest.raises(ValueError, match="is a logit, not a probability"):
            course.decode(out[:, None].astype(np.float32))


def test_binary_fgsm_moves_images_and_lowers_true_class(binary):
    _, nested, _ = binary
    x = _images(4, seed=5)
    course = vislib.as_course(nested)
    clean = course.predict(x)
    y = clean.argmax(axis=1)
    adv = vislib.fgsm(nested, x, y, epsilon=8.0)
    # a full step, not the clean images (x + 8 rounds to float32 spacing near 255: 1.5e-5)
    assert np.abs(adv - x).max() == pytest.approx(8.0, abs=1e-4)
    after = course.predict(adv)
    rows = np.arange(len(x))
    assert np.all(after[rows, y] < clean[rows, y]), (clean[rows, y], after[rows, y])


def test_binary_class_maps(binary):
    kind, nested, twin = binary
    x = _images(2, seed=6)
    s0 = vislib.saliency(nested, x, 0, reduce=None)
    s1 = vislib.saliency(nested, x, 1, reduce=None)
    # the same backward pass scaled by -1/2 and +1/2: equal up to float32 rounding of the scale
    np.testing.assert_allclose(s0, -s1, rtol=0, atol=1e-6 * np.abs(s1).max())
    # class 1 is +1/2 dz/dx, the gradient taken here on the model's own logit
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        feats = _part(twin, "features")(xt, training=False)
        z = tf.reduce_sum(feats @ twin.get_layer("head").kernel + twin.get_layer("head").bias)
    _close(s1, 0.5 * tape.gradient(z, xt).numpy(), "saliency = dz/dx / 2")
    sc0, sc1 = vislib.scorecam(nested, x, 0), vislib.scorecam(nested, x, 1)
    # the two classes weight the masks by 1 - p and p: different maps (with one softmax column,
    # as before, both were exactly equal). How different depends on how far the masks move p
    # (here 0.027 of the [0, 1] maps); float32 rounding of the normalised maps is ~1e-7
    assert np.abs(sc0 - sc1).max() > 1e-3
    # CAM: class 1 uses +w/2, class 0 -w/2 of the Dense weights on the last feature maps
    f = np.asarray(_part(twin, "maps")(x, training=False))
    m = 0.5 * f @ twin.get_layer("head").kernel.numpy()[:, 0]
    want1 = vislib._core.maps.resize_maps(np.maximum(m, 0), (SIZE, SIZE))
    want0 = vislib._core.maps.resize_maps(np.maximum(-m, 0), (SIZE, SIZE))
    _close(vislib.cam(nested, x, 1, normalize=False), want1, "cam class 1")
    _close(vislib.cam(nested, x, 0, normalize=False), want0, "cam class 0")


@pytest.mark.parametrize("method", ["guided_backprop", "gradcam", "gradcam_plus_plus", "guided_gradcam",
                                    "occlusion", "smoothgrad", "iterative_fgsm", "deletion_auc"])
def test_binary_every_method_runs_on_both_classes(binary, method):
    _, nested, twin = binary
    x = _images(2, seed=7)
    for t in ([0, 0], [1, 1]):
        _close(METHODS[method](nested, x, np.array(t)), METHODS[method](twin, x, np.array(t)), method)


def test_softmax_over_one_unit_is_refused():
    inp = keras.Input((SIZE, SIZE, 3))
    model = keras.Model(inp, L.Dense(1, activation="softmax", name="p")(L.Flatten()(inp)))
    with pytest.raises(ValueError, match=r"softmax over ONE unit \('p'\).*sigmoid"):
        vislib.saliency(model, _images())


# ---- other tutorial habits ----

def _heads(seed: int = 8) -> dict[str, keras.Model]:
    """One conv trunk, four ways to end in a softmax (each with its own Dense holding the
    same weights), and the logits alone."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((SIZE, SIZE, 3))
    trunk = L.GlobalAveragePooling2D()(L.Conv2D(6, 3, activation="relu", name="h_conv")(inp))
    ref = L.Dense(5)
    ref(trunk)
    out = {}
    for kind in ("dense_softmax", "activation", "softmax_layer", "ops_softmax", "logits"):
        dense = L.Dense(5, activation="softmax" if kind == "dense_softmax" else None, name=f"{kind}_dense")
        z = dense(trunk)
        dense.set_weights(ref.get_weights())
        y = {"activation": lambda t: L.Activation("softmax")(t), "softmax_layer": lambda t: L.Softmax()(t),
             "ops_softmax": lambda t: keras.ops.softmax(t)}.get(kind, lambda t: t)(z)
        out[kind] = keras.Model(inp, y, name=kind)
    return out


def test_separate_softmax_layers_and_logit_outputs():
    heads = _heads()
    x = _images(3)
    ref = heads["dense_softmax"]
    logits = np.asarray(heads["logits"](x, training=False), np.float64)
    softmax = np.exp(logits - logits.max(1, keepdims=True))
    softmax /= softmax.sum(1, keepdims=True)
    for kind, model in heads.items():
        course = vislib.as_course(model)
        _close(course.logits(x), logits, f"{kind} logits")
        np.testing.assert_allclose(course.predict(x), softmax, atol=1e-6)   # float32 vs float64 softmax
        for method in ("saliency", "gradcam", "scorecam", "fgsm"):
            _close(METHODS[method](model, x, np.array([0, 1, 4])), METHODS[method](ref, x, np.array([0, 1, 4])),
                   f"{kind}/{method}")


def test_rescaling_inside_the_model():
    keras.utils.set_random_seed(9)
    inp = keras.Input((SIZE, SIZE, 3))
    conv, gap, dense = L.Conv2D(6, 3, activation="relu", name="r_conv"), L.GlobalAveragePooling2D(), L.Dense(3)
    scaled = keras.Model(inp, dense(gap(conv(L.Rescaling(1 / 255)(inp)))))
    i2 = keras.Input((SIZE, SIZE, 3))
    unit = keras.Model(i2, dense(gap(conv(i2))))
    x = _images()
    # d f(x/255)/dx = f'(x/255) / 255
    _close(vislib.saliency(scaled, x, 1, reduce=None), vislib.saliency(unit, x / 255, 1, reduce=None) / 255,
           "saliency")
    _close(vislib.gradcam(scaled, x, 1, normalize=False), vislib.gradcam(unit, x / 255, 1, normalize=False),
           "gradcam")
    _close(vislib.as_course(scaled).predict(x), vislib.as_course(unit).predict(x / 255), "predict")


def test_dropout_and_batchnorm_in_the_head_run_in_inference_mode():
    keras.utils.set_random_seed(10)
    inp = keras.Input((SIZE, SIZE, 3))
    f = L.Conv2D(6, 3, activation="relu", name="d_conv")(inp)
    h = L.BatchNormalization(name="d_bn")(L.GlobalAveragePooling2D(name="d_gap")(f))
    model = keras.Model(inp, L.Dense(3, activation="softmax")(L.Dropout(0.5)(h)))
    model.get_layer("d_bn").moving_variance.assign(np.full(6, 0.25, np.float32))  # not the identity
    x = _images()
    _close(vislib.as_course(model).predict(x), model(x, training=False), "predict")
    for method in ("saliency", "guided_backprop", "gradcam", "scorecam", "occlusion"):
        a, b = METHODS[method](model, x, np.array([0, 1])), METHODS[method](model, x, np.array([0, 1]))
        assert np.array_equal(a, b), method   # Dropout(0.5) in training mode would differ
    with pytest.raises(ValueError, match=r"one Dense layer on global average pooling.*vislib.gradcam"):
        vislib.cam(model, x)


def test_variable_size_input():
    keras.utils.set_random_seed(11)
    conv, gap, dense = L.Conv2D(4, 3, activation="relu", name="v_conv"), L.GlobalAveragePooling2D(), \
        L.Dense(3, activation="softmax")
    inp = keras.Input((None, None, 3))
    model = keras.Model(inp, dense(gap(conv(inp))), name="anysize")
    x = _images()
    for call in (lambda: vislib.gradcam(model, x), lambda: vislib.as_course(model)):
        with pytest.raises(ValueError, match=r"'anysize' takes images of any size.*"
                                             r"as_course\(model, input_size=\(height, width\)\)"):
            call()
    course = vislib.as_course(model, input_size=(SIZE, SIZE))
    assert course.input_size == (SIZE, SIZE)
    i2 = keras.Input((SIZE, SIZE, 3))
    fixed = keras.Model(i2, dense(gap(conv(i2))))
    for method in ("saliency", "guided_backprop", "gradcam", "cam", "occlusion", "predict"):
        _close(METHODS[method](course, x, np.array([0, 2])), METHODS[method](fixed, x, np.array([0, 2])), method)
    with pytest.raises(ValueError, match="input_size"):
        vislib.as_course(model, input_size=(0, 32))
    i3 = keras.Input((SIZE, SIZE, 3))
    flat = keras.Model(i3, L.Dense(3)(L.Flatten()(L.Conv2D(4, 3)(i3))), name="fixed_flat")
    with pytest.raises(ValueError, match=r"'fixed_flat' cannot run on 16x16 images"):
        vislib.as_course(flat, input_size=(16, 16))


@pytest.mark.parametrize("softmax", [True, False])
def test_conv1x1_and_gap_output(softmax):
    keras.utils.set_random_seed(12)
    inp = keras.Input((SIZE, SIZE, 3))
    f = L.Conv2D(6, 3, activation="relu", name="k_conv")(inp)
    scores = L.GlobalAveragePooling2D(name="k_gap")(L.Conv2D(3, 1, name="k_classes")(f))
    model = keras.Model(inp, L.Activation("softmax")(scores) if softmax else scores)
    x = _images()
    course = vislib.as_course(model)
    assert course.last_conv == "k_classes"
    z = np.asarray(keras.Model(inp, scores)(x, training=False))
    _close(course.logits(x), z, "scores = pooled class maps")
    for method in ("saliency", "guided_backprop", "gradcam", "scorecam", "occlusion", "fgsm"):
        out = METHODS[method](model, x, np.array([0, 2]))
        assert np.isfinite(out).all() and out.shape[0] == 2, method
    with pytest.raises(ValueError, match=r"one Dense layer on global average pooling.*vislib.gradcam"):
        vislib.cam(model, x)


def test_no_conv_layer_cam_family_refuses_clearly():
    inp = keras.Input((SIZE, SIZE, 3))
    mlp = keras.Model(inp, L.Dense(3, activation="softmax")(L.Flatten()(inp)), name="mlp")
    for method in (vislib.gradcam, vislib.gradcam_plus_plus, vislib.scorecam, vislib.guided_gradcam):
        with pytest.raises(ValueError, match=r"'mlp' has no layer with a spatial .* output"):
            method(mlp, _images())
    assert vislib.saliency(mlp, _images()).shape == (2, SIZE, SIZE)


def test_multilabel_sigmoid_keeps_its_own_probabilities():
    """Several sigmoid units (multi-label): predict is the model's own output,
    the scores are the logits before the sigmoid."""
    keras.utils.set_random_seed(13)
    inp = keras.Input((SIZE, SIZE, 3))
    h = L.GlobalAveragePooling2D()(L.Conv2D(4, 3, activation="relu")(inp))
    dense = L.Dense(3, activation="sigmoid")
    model = keras.Model(inp, dense(h))
    x = _images()
    course = vislib.as_course(model)
    _close(course.predict(x), model(x, training=False), "predict")
    hv = np.asarray(keras.Model(inp, h)(x))
    _close(course.logits(x), hv @ dense.kernel.numpy() + dense.bias.numpy(), "logits")
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no warning either
        assert vislib.saliency(model, x).shape == (2, SIZE, SIZE)


def test_whole_classifier_nested_as_the_last_layer():
    """``Sequential([Input, classifier])`` (e.g. a keras.applications model with its top):
    the scores are still found under the softmax of the nested model's last Dense."""
    keras.utils.set_random_seed(15)
    inp = keras.Input((SIZE, SIZE, 3))
    h = L.GlobalAveragePooling2D(name="w_gap")(L.Conv2D(4, 3, activation="relu", name="w_conv")(inp))
    dense = L.Dense(3, activation="softmax", name="w_pred")
    whole = keras.Model(inp, dense(h), name="whole")
    wrapped = keras.Sequential([keras.Input((SIZE, SIZE, 3)), whole], name="wrapped")
    x = _images()
    want = np.asarray(keras.Model(inp, h)(x)) @ dense.kernel.numpy() + dense.bias.numpy()
    _close(vislib.as_course(wrapped).logits(x), want, "logits under the nested softmax")
    _close(vislib.as_course(wrapped).predict(x), whole(x, training=False), "predict")
    _close(vislib.cam(wrapped, x, 1, normalize=False), vislib.cam(whole, x, 1, normalize=False), "cam")


def test_integer_input_model():
    """``keras.Input(..., dtype="uint8")`` then Rescaling: no gradient flows into an integer
    input, so vislib runs the same layers on a float32 input."""
    keras.utils.set_random_seed(16)
    rescale, conv = L.Rescaling(1 / 255, name="u_rescale"), L.Conv2D(4, 3, activation="relu", name="u_conv")
    gap, dense = L.GlobalAveragePooling2D(), L.Dense(3, activation="softmax")
    i8 = keras.Input((SIZE, SIZE, 3), dtype="uint8")
    u8 = keras.Model(i8, dense(gap(conv(rescale(i8)))))
    i32 = keras.Input((SIZE, SIZE, 3))
    f32 = keras.Model(i32, dense(gap(conv(rescale(i32)))))
    x = np.round(_images())
    for method in ("saliency", "guided_backprop", "gradcam", "fgsm", "predict"):
        _close(METHODS[method](u8, x, np.array([0, 1])), METHODS[method](f32, x, np.array([0, 1])), method)
    assert np.abs(vislib.saliency(u8, x)).max() > 0


def test_profile_loaded_after_the_students_own_layers_keeps_its_layers():
    """MobileNetV2 names its pooling layer automatically (``global_average_pooling2d``);
    a student who built a GAP layer first gets ``..._1`` there: the profile follows."""
    L.GlobalAveragePooling2D()   # takes the automatic name first (as any earlier cell would)
    L.GlobalAveragePooling2D()
    course = vislib.load_model("mobilenet_v2", weights=None)
    names = _graph.layer_names(course.model)
    assert course.feature_layer in names and course.first_conv in names and course.last_conv in names
    assert isinstance(course.model.get_layer(course.feature_layer), L.GlobalAveragePooling2D)


def test_headless_feature_extractor_layers_yes_class_scores_no():
    """``VGG16(include_top=False)``-style models: activations and receptive fields work
    (as they did before models were checked), a class explanation names what is missing."""
    inp = keras.Input((32, 32, 3))
    h = keras.layers.Conv2D(4, 3, activation="relu", name="c1")(inp)
    h = keras.layers.MaxPooling2D(name="p1")(h)
    h = keras.layers.Conv2D(6, 3, activation="relu", name="c2")(h)
    model = keras.Model(inp, h)
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    acts = vislib.activations(model, x, ["c1", "c2"])
    # independent reference: the same layers called directly
    ref = keras.Model(inp, [model.get_layer("c1").output, model.get_layer("c2").output])(x)
    np.testing.assert_allclose(acts["c1"], np.asarray(ref[0]), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(acts["c2"], np.asarray(ref[1]), rtol=1e-5, atol=1e-4)
    assert vislib.receptive_field(model, "c2").size == (3 + 1 + 2 * 2, 3 + 1 + 2 * 2)  # 3, pool 2, 3 at jump 2
    for call in (lambda: vislib.saliency(model, x, 0), lambda: vislib.gradcam(model, x),
                 lambda: vislib.occlusion(model, x, 0)):
        with pytest.raises(ValueError, match=r"class.*classifier head"):
            call()
