"""Images that a unit likes: activation maximization and class models.

Start from a plain image and change its pixels by gradient *ascent* on one
unit's activation (a class score, a dense unit, the mean of a conv channel),
with regularizers that keep the image natural-looking.

* :func:`class_model`: Simonyan, Vedaldi & Zisserman 2014 (class model
  visualisation, ``argmax_I S_c(I) - lambda ||I||^2`` on the pre-softmax score),
  with the jitter and blur regularizers of Yosinski et al. 2015, written by
  hand with ``tf.GradientTape``; optionally with the transformation
  robustness and decorrelated Fourier parameterization of Olah et al. 2017
  (:mod:`vislib.representation.optimize`).
* :func:`activation_maximization`: the same idea through tf-keras-vis'
  ``ActivationMaximization`` (Erhan et al. 2009), for any layer and unit,
  with total variation and norm regularizers and jitter / rotation.

Both return a :class:`Visualization`: the final image in display pixels, the
score at every step and snapshots ("frames") of the optimisation.
"""

from __future__ import annotations

import weakref
from typing import NamedTuple, Sequence

import keras
import numpy as np
import tensorflow as tf

from .._core import checks, graph
from .._core.config import budget
from .._core.course_model import CourseModel, as_course
from .._core.seed import seeded
from . import optimize


class Visualization(NamedTuple):
    """The result of an optimisation in input space.

    Attributes:
        image: The final image (H, W, C) in display pixels (uint8 for course
            profiles; float for bare models).
        scores: (steps,) float32, the maximised score (without regularizers)
            at every step, measured before that step's update.
        frames: (F, H, W, C) snapshots of the image, the first one the start image.
        frame_steps: (F,) int, the number of steps taken when each frame was recorded.
    """

    image: np.ndarray
    scores: np.ndarray
    frames: np.ndarray
    frame_steps: np.ndarray


# ---------------------------------------------------------------- shared bits
def _to_display(cm: CourseModel, z: np.ndarray) -> np.ndarray:
    """Network input (1, H, W, C) -> display image (H, W, C)."""
    return np.asarray(cm.deprocess(np.asarray(z)))[0]


def _input_bounds(cm: CourseModel) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-channel (low, high) of the network input for display pixels in the
    CourseModel's range; None for bare models without a known range."""
    lo, hi = cm.pixel_range
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return None
    shape = (1, *cm.input_shape)
    a = np.asarray(cm.preprocess(np.full(shape, lo, np.float32)))[0, 0, 0]
    b = np.asarray(cm.preprocess(np.full(shape, hi, np.float32)))[0, 0, 0]
    return np.minimum(a, b).astype(np.float32), np.maximum(a, b).astype(np.float32)


def _blur(z: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter
    return gaussian_filter(z, sigma=(0, sigma, sigma, 0), mode="nearest").astype(np.float32)


# ---------------------------------------------------------------- class model by hand
def _class_step(cm: CourseModel, param: str, decorrelate: bool):
    """A compiled gradient-ascent step and, for ``"fourier"``, the compiled renderer of the
    image (None for ``"pixel"``), once per model and parameterization.

    ``"pixel"``: the variable is the network input; a step of ``lr`` times the
    input range along the gradient divided by its root mean square.
    ``"fourier"``: the variable is the image's decorrelated spectrum
    (:func:`~vislib.representation.optimize.fourier_render`), moved by Adam,
    as in Olah et al. 2017.
    """
    def build():
        run = graph.forward(cm.model)
        if param == "pixel":
            @tf.function(reduce_retracing=True)
            def step(z, t, l2, lr, span, params):
                with tf.GradientTape() as tape:
                    tape.watch(z)
                    _, logits = run(optimize.transform(z, params))   # jitter (+ scale, rotation)
                    score = logits[0, t]
                    penalty = l2 * tf.reduce_mean(tf.square(z / span))
                    objective = score - penalty
                g = tape.gradient(objective, z)
                g = g / (tf.sqrt(tf.reduce_mean(tf.square(g))) + 1e-12)  # normalised step
                return z + lr * span * g, score
            return step, None                                       # the variable is the image

        lo, hi = (float(v) for v in cm.pixel_range)
        h, w = cm.input_size
        scale = tf.constant(optimize.fourier_scale(h, w))

        def render(v):
            return cm.preprocess(lo + (hi - lo) * optimize.fourier_render(v, scale, h, w, decorrelate))

        @tf.function(reduce_retracing=True)
        def step(v, m, s, k, t, l2, lr, span, params):
            with tf.GradientTape() as tape:
                tape.watch(v)
                z = render(v)
                _, logits = run(optimize.transform(z, params))
                score = logits[0, t]
                penalty = l2 * tf.reduce_mean(tf.square(z / span))
                objective = score - penalty
            g = tape.gradient(objective, v)
            v, m, s = optimize.adam(v, g, m, s, k, lr)
            return v, m, s, score
        # the image itself is only needed for frames: rendered then, not at every step
        return step, tf.function(render)
    return graph.cached(cm.model, ("class_model_step", param, decorrelate), build)


def class_model(model, target: int, steps: int | None = None, l2: float = 1.0,
                blur_every: int = 4, blur_sigma: float = 0.5, jitter: int = 1,
                lr: float | None = None, record_every: int | None = None, seed: int = 0,
                scale: float = 0.0, rotate: float = 0.0, param: str = "pixel",
                decorrelate: bool = True) -> Visualization:
    """Class model visualisation: the image the network finds most "class c".

    Gradient ascent from a zero input on the pre-softmax score ``S_c`` with
    an L2 penalty, as in Simonyan et al.: ``argmax_I S_c(I) - l2 * ||I||^2``,
    where ``I`` is the network input (the mean-subtracted image; a black image
    for the offline models) and ``||I||^2`` is the mean square over pixels in
    units of the input range, so ``l2`` means the same at every input size.
    Each step is normalised (step size ``lr`` times the input range), the
    image is jittered by up to ``jitter`` pixels before each step and
    Gaussian-blurred every ``blur_every`` steps (Yosinski et al. 2015), and
    clipped to the valid pixel range.

    **Transformation robustness** (Olah et al. 2017): with ``scale`` and
    ``rotate`` the image the network sees at each step is also zoomed by a
    random factor in ``[1 - scale, 1 + scale]`` and turned by a random angle
    in ``[-rotate, rotate]`` degrees (and shifted by up to ``jitter``
    pixels), so the ascent only keeps what works at every offset, size and
    angle. ``param="fourier"`` optimises the image's spectrum in a
    decorrelated colour basis instead of its pixels, with Adam, as Olah et
    al. (2017) and Lucid do: every frequency gets about the same step, where
    plain pixel gradients favour high frequencies. Blur and clipping then do
    not apply (a sigmoid keeps the pixels in range). Lucid's recipe is
    ``class_model(cm, c, l2=0, param="fourier", jitter=8, scale=0.1,
    rotate=10)`` on a 224-pixel input.

    Simonyan, Vedaldi & Zisserman. *Deep Inside Convolutional Networks:
    Visualising Image Classification Models and Saliency Maps.* ICLR
    Workshop 2014; Yosinski et al. *Understanding Neural Networks Through Deep
    Visualization.* ICML DL Workshop 2015; Olah, Mordvintsev & Schubert.
    *Feature Visualization.* Distill 2017.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        target: Class index.
        steps: Gradient steps (default ``vislib.budget(200, 40)``).
        l2: Weight of the L2 penalty (0 switches it off).
        blur_every: Blur every this many steps (0 switches blurring off;
            pixel parameterization only).
        blur_sigma: Standard deviation of the blur in pixels.
        jitter: Largest random shift in pixels per step (0: none).
        lr: Step size: a fraction of the input range for ``"pixel"`` (default
            0.02), Adam's learning rate for ``"fourier"`` (default 0.05, Lucid's).
        record_every: Keep a frame every this many steps (default steps // 10).
        seed: Seed of the random transformations and of the Fourier start.
        scale: Largest relative zoom per step, in [0, 0.5] (0: none).
        rotate: Largest rotation per step in degrees, in [0, 180] (0: none).
        param: ``"pixel"`` (default) or ``"fourier"``.
        decorrelate: With ``"fourier"``: optimise colours in the decorrelated
            basis (3-channel inputs; ignored for grey images).

    Returns:
        A :class:`Visualization` (image, scores, frames, frame_steps).

    Raises:
        ValueError: Bad target or option values; ``"fourier"`` for a model
            without a known pixel range.
    """
    cm = as_course(model)
    t = int(checks.targets(target, 1, cm.num_classes)[0])
    seed = checks.count(seed, "seed", low=0, high=2**32 - 1)
    steps = optimize.check_steps(steps, budget(200, 40))
    every = optimize.check_record_every(record_every, steps)
    param = checks.choice(param, ["pixel", "fourier"], "param")
    checks.flag(decorrelate, "decorrelate")
    checks.in_range(l2, 0, 1e6, "l2")
    checks.count(blur_every, "blur_every", low=0, high=100_000)
    checks.in_range(blur_sigma, 0, 100, "blur_sigma")
    jitter, scale, rotate = optimize.check_transforms(jitter, scale, rotate, min(cm.input_size))
    lr = (0.02 if param == "pixel" else 0.05) if lr is None else lr
    checks.in_range(lr, 1e-6, 10, "lr")
    bounds = _input_bounds(cm)
    if bounds is None:
        if param == "fourier":
            raise ValueError("param='fourier' needs the model's pixel range; wrap the model with "
                             "vislib.as_course(model, pixel_range=(low, high), ...) or use param='pixel'")
        lo, hi = None, None
        span = np.ones(cm.channels, np.float32)
    else:
        lo, hi = bounds
        span = hi - lo
    rng = np.random.default_rng(seed)
    step, render = _class_step(cm, param, bool(decorrelate))
    consts = [tf.constant(t, tf.int32), tf.constant(float(l2), tf.float32),
              tf.constant(float(lr), tf.float32), tf.constant(span)]
    moves = optimize.draw_transforms(rng, steps, jitter, scale, rotate)
    if param == "fourier":
        h, w = cm.input_size
        v = tf.constant(optimize.fourier_init(rng, h, w, cm.channels))
        m, s_ = tf.zeros_like(v), tf.zeros_like(v)
        z = np.asarray(cm.preprocess(_mid_grey(cm)))
    else:
        z = np.zeros((1, *cm.input_shape), np.float32)
        if lo is not None:
            z = np.clip(z, lo, hi)
    scores, frames, frame_steps = [], [_to_display(cm, z)], [0]
    for s in range(steps):
        if param == "fourier":
            v, m, s_, score = step(v, m, s_, tf.constant(s + 1), *consts, tf.constant(moves[s]))
        else:
            z_new, score = step(tf.constant(z), *consts, tf.constant(moves[s]))
            z = np.asarray(z_new)
            if blur_every and blur_sigma > 0 and (s + 1) % blur_every == 0:
                z = _blur(z, blur_sigma)
            if lo is not None:
                z = np.clip(z, lo, hi)
        scores.append(float(score))
        if (s + 1) % every == 0 or s + 1 == steps:
            if param == "fourier":
                z = np.asarray(render(v))
            frames.append(_to_display(cm, z))
            frame_steps.append(s + 1)
    return Visualization(frames[-1], np.asarray(scores, np.float32), np.stack(frames),
                         np.asarray(frame_steps, np.int64))


def _mid_grey(cm: CourseModel) -> np.ndarray:
    """A mid-grey image (1, H, W, C) in display pixels: where the Fourier start (sigmoid(~0)) begins."""
    lo, hi = cm.pixel_range
    return np.full((1, *cm.input_shape), (lo + hi) / 2.0, np.float32)


# ---------------------------------------------------------------- tf-keras-vis
class _Preprocess(keras.layers.Layer):
    """Centred display pixels -> the network's input (the CourseModel's preprocessing)."""

    def __init__(self, fn, center, half, jitter=0, **kwargs):
        super().__init__(**kwargs)
        self._fn, self._center, self._half, self._jitter = fn, float(center), float(half), int(jitter)

    def call(self, u):
        # the network sees the clipped image (what is displayed); the gradient
        # passes straight through the clip, so saturated pixels can come back
        clipped = tf.clip_by_value(u, -self._half, self._half)
        u = u + tf.stop_gradient(clipped - u)
        if self._jitter:  # a fresh random shift per step that does not accumulate
            shift = tf.random.uniform([2], -self._jitter, self._jitter + 1, dtype=tf.int32)
            u = tf.roll(u, shift, axis=[1, 2])
        return self._fn(u + self._center)

    def compute_output_shape(self, shape):
        return shape


def _fused(layer) -> bool:
    """Whether ``layer`` is a Dense or Conv2D with a non-linear activation built in."""
    return (type(layer) in (keras.layers.Dense, keras.layers.Conv2D)
            and getattr(layer, "activation", None) not in (None, keras.activations.linear))


_vis_models: "weakref.WeakKeyDictionary[keras.Model, dict]" = graph.model_registry()


def _unit_kind(cm: CourseModel, layer: str | None) -> tuple[str, str, int]:
    """(layer name, kind in {"class", "dense", "channel"}, number of units)."""
    net = cm.model
    last = net.layers[-1].name
    if layer is None or layer == last:
        return last, "class", cm.num_classes
    valid = [n for n in graph.layer_names(net) if not isinstance(net.get_layer(n), keras.layers.InputLayer)]
    graph.check_layer(net, layer, valid)
    shape = tuple(net.get_layer(layer).output.shape)
    if len(shape) == 4:
        return layer, "channel", int(shape[-1])
    if len(shape) == 2:
        return layer, "dense", int(shape[-1])
    raise ValueError(f"layer {layer!r} has output shape {shape}; choose a conv layer (4-D) or a dense layer (2-D)")


def _vis_model(cm: CourseModel, layer: str, kind: str, center: float, half: float,
               jitter: int) -> keras.Model:
    """A model from centred display pixels to the layer's pre-activation (the
    pre-softmax scores for class units), sharing the caller's layers."""
    try:
        per_model = _vis_models.setdefault(cm.model, {})
    except TypeError:
        per_model = {}
    key = (layer, kind, id(cm.preprocess), center, half, jitter)
    if key not in per_model:
        if kind == "class":
            base = graph.linear_model(cm.model)
        else:
            target = cm.model.get_layer(layer)
            out = target.output
            if kind == "dense" and _fused(target):  # what tf-keras-vis' ReplaceToLinear does to the extracted layer
                out = graph.Apply(graph.pre_activation(target), name=f"{layer}_linear")(graph.layer_input(cm.model, target))
            base = keras.Model(cm.model.inputs, out)
        inp = keras.Input(cm.input_shape, name="centred_pixels")
        out = base(_Preprocess(cm.preprocess, center, half, jitter, name="preprocess")(inp))
        per_model[key] = keras.Model(inp, out, name=f"{cm.model.name}_actmax_{layer}")
    return per_model[key]


_REFERENCE_SIZE = 224 * 224 * 3  # tf-keras-vis' defaults are tuned for VGG16 inputs


def _regularizers(regularizers, span: float, size: int, kind: str):
    from tf_keras_vis.activation_maximization.regularizers import Norm, TotalVariation2D
    if regularizers is None:
        # a channel mean is a score about 100 times smaller than a logit
        regularizers = {"tv": 0.01, "norm": 0.003} if kind == "channel" else {"tv": 1.0, "norm": 0.3}
    if isinstance(regularizers, dict):
        for name in regularizers:
            checks.choice(name, ["tv", "norm"], "regularizer")
        # the same per-pixel pull as for a 224x224x3 image in 0-255 pixels, at any size and range
        scale = 255.0 / span * size / _REFERENCE_SIZE
        out = []
        if regularizers.get("tv", 0):
            out.append(TotalVariation2D(weight=float(regularizers["tv"]) * scale))
        if regularizers.get("norm", 0):
            out.append(Norm(weight=float(regularizers["norm"]) * scale, p=2))
        return out
    return list(regularizers)


def _modifiers(input_modifiers, size: int, seed: int) -> tuple[list, int]:
    """(tf-keras-vis input modifiers, jitter in pixels done inside the model).

    tf-keras-vis' ``Rotate2D`` draws from an unseeded ``np.random.default_rng()``;
    it gets a generator seeded from ``seed`` instead, so a run is reproducible.
    """
    from tf_keras_vis.activation_maximization.input_modifiers import Rotate2D
    if input_modifiers is None:
        input_modifiers = {"jitter": max(1, size // 56)}
    if isinstance(input_modifiers, dict):
        for name in input_modifiers:
            checks.choice(name, ["jitter", "rotate"], "input modifier")
        jitter = checks.count(input_modifiers.get("jitter", 0), "jitter", low=0, high=size // 2)
        out = []
        if input_modifiers.get("rotate", 0):
            degree = checks.in_range(input_modifiers["rotate"], 0, 180, "rotate")
            rotate = Rotate2D(degree=float(degree))
            rotate.random_generator = np.random.default_rng(seed)
            out.append(rotate)
        return out, jitter
    return list(input_modifiers), 0


def activation_maximization(model, layer: str | None = None, unit: int | None = None,
                            steps: int | None = None, regularizers: dict | Sequence | None = None,
                            input_modifiers: dict | Sequence | None = None, lr: float = 1.0,
                            seed: int = 0, record_every: int | None = None) -> Visualization:
    """The input that maximises one unit, through tf-keras-vis.

    The score is the pre-softmax logit for class units (``layer=None`` or the
    last layer; a linear-output view of the model sharing its weights, i.e.
    tf-keras-vis' ``ReplaceToLinear`` without touching the caller's model),
    the unit for a dense layer, and the spatial mean of the channel for a
    conv layer, both before the layer's built-in ReLU (as tf-keras-vis'
    ``ReplaceToLinear`` on an extracted layer: a unit that is off at the start
    still gets a gradient). The optimised variable is the image in display pixels
    minus mid-grey, so the norm regularizer pulls towards grey.

    Erhan, Bengio, Courville & Vincent. *Visualizing Higher-Layer Features of
    a Deep Network.* 2009; Simonyan et al. 2014; Yosinski et al. 2015.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        layer: Layer name; None for the class scores.
        unit: Class index, dense unit or conv channel.
        steps: Optimiser steps (default ``vislib.budget(200, 40)``).
        regularizers: ``{"tv": weight, "norm": weight}`` (total variation and
            L2 norm; default ``{"tv": 1.0, "norm": 0.3}``, tf-keras-vis'
            defaults, for class and dense units and 100 times less for conv
            channels, whose mean is a much smaller score) or a list of tf-keras-vis regularizers. Weights given
            in the dict are meant for a 224x224x3 image in 0-255 pixels and
            are rescaled for other input sizes and ranges, so the per-pixel
            pull of a weight is the same for every profile (a list is used as is).
        input_modifiers: ``{"jitter": pixels, "rotate": degrees}`` (default:
            jitter of 1 pixel per 56, i.e. 4 on 224x224 and 1 on 28x28) or a
            list of tf-keras-vis input modifiers. The jitter is a random
            shift of what the network sees at each step that does not
            accumulate (tf-keras-vis' ``Jitter`` rolls the image itself, with
            a bias: ``randint(-j, j)`` never draws ``+j``, so the image drifts);
            the rotation is tf-keras-vis' ``Rotate2D``, which does accumulate.
        lr: RMSprop learning rate in 0-255 pixel units (tf-keras-vis' default 1.0).
        seed: Seed of the start image (uniform noise around mid-grey) and of
            the random modifiers.
        record_every: Keep a frame every this many steps (default steps // 10).

    Returns:
        A :class:`Visualization` (image, scores, frames, frame_steps).

    Raises:
        ValueError: Unknown layer, unit out of range, unknown regularizer or modifier.
    """
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.activation_maximization.callbacks import Callback

    cm = as_course(model)
    layer, kind, n_units = _unit_kind(cm, layer)
    if unit is None:
        raise ValueError(f"unit is None; pass a unit of layer {layer!r}: 0..{n_units - 1}")
    unit = checks.count(unit, "unit", low=0, high=n_units - 1)
    seed = checks.count(seed, "seed", low=0, high=2**32 - 1)
    steps = optimize.check_steps(steps, budget(200, 40))
    every = optimize.check_record_every(record_every, steps)
    checks.in_range(lr, 1e-6, 1e4, "lr")
    lo, hi = cm.pixel_range
    if not (np.isfinite(lo) and np.isfinite(hi)):
        lo, hi = 0.0, 255.0
    center, span = (lo + hi) / 2.0, hi - lo
    modifiers, jitter = _modifiers(input_modifiers, min(cm.input_size), seed)
    vis_model = _vis_model(cm, layer, kind, center, span / 2.0, jitter)

    if kind == "channel":
        def score(output):
            return tf.reduce_mean(output[..., unit], axis=(1, 2))
    else:
        def score(output):
            return output[:, unit]

    rng = np.random.default_rng(seed)
    seed_input = (rng.uniform(-0.1, 0.1, (1, *cm.input_shape)) * span).astype(np.float32)

    def display(u) -> np.ndarray:
        return optimize.to_display(np.asarray(u, np.float32)[0] + center, lo, hi,
                                   cm.pixel_range == (0.0, 255.0))

    scores, frames, frame_steps = [], [display(seed_input)], [0]

    class _Recorder(Callback):
        def __call__(self, i, values, grads, score_values, model_outputs, **kwargs):
            scores.append(float(np.asarray(score_values[0]).reshape(-1)[0]))
            if (i + 1) % every == 0 or i + 1 == steps:
                frames.append(display(values[0]))
                frame_steps.append(i + 1)

    vis = ActivationMaximization(vis_model, model_modifier=None, clone=False)
    # the jitter inside the model draws from TensorFlow's global generator: seeded for this
    # run only, so the student's own random state is left as it was (vislib._core.seed)
    with seeded(seed):
        result = vis(score, seed_input=seed_input, input_range=(lo - center, hi - center),
                     input_modifiers=modifiers,
                     regularizers=_regularizers(regularizers, span, int(np.prod(cm.input_shape)), kind),
                     steps=steps,
                     # Keras' RMSprop adds epsilon *inside* the square root (default 1e-7):
                     # it would swamp the tiny pixel gradients of a channel mean
                     optimizer=keras.optimizers.RMSprop(learning_rate=lr * span / 255.0, rho=0.999,
                                                        epsilon=1e-16),
                     callbacks=[_Recorder()])
    image = display(np.asarray(result)[None] if np.ndim(result) == 3 else result)
    if frame_steps[-1] != len(scores):  # steps capped by TF_KERAS_VIS_MAX_STEPS
        frames.append(image)
        frame_steps.append(len(scores))
    return Visualization(image, np.asarray(scores, np.float32), np.stack(frames),
                         np.asarray(frame_steps, np.int64))


