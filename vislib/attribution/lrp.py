"""Layer-wise Relevance Propagation (Bach et al. 2015; the rules as in
Montavon, Binder, Lapuschkin, Samek, Mueller 2019, "Layer-wise Relevance
Propagation: an overview").

The target's pre-softmax score is the relevance at the top; each layer hands
its output's relevance ``R_k`` down to its inputs ``a_j`` in proportion to
their contributions ``z_jk = a_j w_jk`` to ``z_k = sum_j z_jk (+ b_k)``:

* **epsilon** (LRP-eps): ``R_j = sum_k a_j w_jk / (z_k + eps sign z_k) R_k``.
  The bias and ``eps`` absorb a little relevance; with no biases and
  ``eps -> 0`` the total is conserved exactly (on a ReLU network it is then
  gradient x input, Ancona et al. 2018).
* **zplus** (z+, alpha1-beta0): only the positive contributions,
  ``R_j = sum_k (a_j w_jk)^+ / sum_j (a_j w_jk)^+ R_k``, no bias: relevance
  keeps the sign of the score.
* **zb** (z^B, for the first layer, whose inputs are pixels bounded by
  ``l <= x <= h``): ``R_j = sum_k (x_j w_jk - l_j w_jk^+ - h_j w_jk^-) /
  sum_j (...) R_k``.

Every rule is computed with the "gradient x input" trick: a linear layer's
transpose is the vector-Jacobian product of its forward pass. Shape layers
(Flatten, padding, concatenation) move relevance exactly; pooling layers and
residual adds split it in proportion to their inputs; rectifiers and
dropout pass it unchanged; a BatchNormalization right after a linear layer
is folded into that layer's weights first (``w' = w gamma / sigma``).
"""

from __future__ import annotations

from collections.abc import Mapping

import keras
import numpy as np
import tensorflow as tf

from .._core import checks, graph
from .._core.course_model import as_course
from .._core.graph import linear_part
from .._core.gradients import pick_targets, resolve, run_batched
from .._core.maps import check_reduce, finish_channels

#: rules for one linear layer (Dense, Conv2D, DepthwiseConv2D)
LAYER_RULES = ("epsilon", "zplus", "zb")
#: one name for the whole network: a rule everywhere, or the composite of
#: Montavon et al. 2019 (zb on the first layer, zplus on the other conv
#: layers, epsilon on the dense layers); ``"zb"``: zb first, epsilon above
PRESETS = ("epsilon", "zplus", "zb", "composite")
REDUCTIONS = ("sum", None)

_LINEAR = (keras.layers.Dense, keras.layers.Conv2D, keras.layers.DepthwiseConv2D)
_POOL = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D, keras.layers.GlobalAveragePooling2D,
         keras.layers.GlobalMaxPooling2D)
_SHAPE = (keras.layers.Flatten, keras.layers.Reshape, keras.layers.ZeroPadding2D, keras.layers.Cropping2D,
          keras.layers.Concatenate, keras.layers.Permute)
# relevance passes unchanged: identities at inference (dropout, noise, augmentation), rectifiers, and
# per-element affine maps (each output has one input, as in the CourseModel's preprocessing)
_PASS = (keras.layers.Dropout, keras.layers.SpatialDropout2D, keras.layers.Identity, keras.layers.ReLU,
         keras.layers.GaussianNoise, keras.layers.GaussianDropout, keras.layers.ActivityRegularization,
         keras.layers.RandomFlip, keras.layers.RandomRotation, keras.layers.RandomZoom,
         keras.layers.RandomTranslation, keras.layers.RandomContrast, keras.layers.RandomBrightness,
         keras.layers.Rescaling, keras.layers.Normalization)
_PASS_ACTIVATIONS = ("relu", "relu6", "linear")
SUPPORTED = sorted({c.__name__ for c in _LINEAR + _POOL + _SHAPE + _PASS}
                   | {"BatchNormalization", "Add", "InputLayer", "Activation(relu|relu6|linear)"})

_registry = graph.model_registry()


def _act_name(layer) -> str:
    act = getattr(layer, "activation", None)
    return getattr(act, "__name__", str(act)) if act is not None else "linear"


def _unsupported(layer, why: str = "") -> ValueError:
    return ValueError(f"lrp cannot propagate relevance through layer {layer.name!r} "
                      f"({type(layer).__name__}{why}); supported layer types: {SUPPORTED}")


class _Plan:
    """The backward pass over one functional graph, worked out once."""

    def __init__(self, model: keras.Model):
        self.model = model
        head = graph.score_head(model)
        self.binary = head.binary
        self.classes = head.classes
        inp = model.inputs[0]
        self.input_id = id(inp)
        # the Dense whose pre-activation gives the scores (softmax head), or None: the feed is the scores
        out = model.outputs[0]
        op, idx = out._keras_history[0], out._keras_history[1]
        while isinstance(op, keras.layers.Identity):
            t = op._inbound_nodes[idx].input_tensors[0]
            op, idx = t._keras_history[0], t._keras_history[1]
        self.top = None
        if head.fn is not None and isinstance(op, keras.layers.Dense) and \
                op._inbound_nodes[idx].input_tensors[0] is head.feed:
            self.top = op
        elif head.fn is not None and not self.binary:
            raise _unsupported(op, ": a score head lrp does not know")
        self.feed = head.feed
        nodes = []
        for depth in sorted(model._nodes_by_depth):
            nodes += model._nodes_by_depth[depth]
        consumers: dict[int, int] = {}
        for node in nodes:
            for t in node.input_tensors:
                consumers[id(t)] = consumers.get(id(t), 0) + 1
        # relevant nodes: upstream of the feed; folded linear layers under their BatchNorm
        producer = {id(t): node for node in nodes for t in node.output_tensors}
        wanted = {id(self.feed)}
        self.steps = []
        self.linear = []     # (layer, node input tensor) of every linear layer that gets a rule, in order
        folded = set()
        for node in nodes:
            outs = node.output_tensors
            if not outs or not any(id(t) in wanted for t in outs) or id(node) in folded:
                continue
            op = node.operation
            if isinstance(op, keras.layers.InputLayer):
                continue
            if len(outs) != 1:
                raise _unsupported(op, f" with {len(outs)} outputs")
            ins = list(node.input_tensors)
            step = self._classify(op, ins, producer, consumers)
            if step[0] == "fold":
                folded.add(id(producer[id(ins[0])]))
                lin_node = producer[id(ins[0])]
                step = ("linear", lin_node.operation, list(lin_node.input_tensors), op)
                ins = step[2]
            if step[0] == "linear":
                self.linear.append((step[1], ins[0]))
            self.steps.append((step, id(outs[0]), [id(t) for t in ins]))
            wanted.update(id(t) for t in ins)
        if self.top is not None:
            self.linear.insert(0, (self.top, self.feed))
        # the tensors the forward pass must deliver
        need, seen = [], set()
        for node in nodes:
            for t in node.input_tensors:
                if id(t) in wanted and id(t) != self.input_id and id(t) not in seen:
                    seen.add(id(t))
                    need.append(t)
        if id(self.feed) not in seen and id(self.feed) != self.input_id:
            need.append(self.feed)
        self.need = need
        self.need_ids = [id(t) for t in need]
        self.sub = keras.Model(model.inputs, need, name=f"{model.name}_lrp") if need else None
        # which linear layers see the pixels (through shape / pass-through layers only)
        self.first = set()
        for layer, t in self.linear:
            if self._from_input(t, producer):
                self.first.add(layer.name)
        self.first_inputs = {layer.name: t for layer, t in self.linear if layer.name in self.first}

    def _from_input(self, t, producer) -> bool:
        while id(t) != self.input_id:
            node = producer.get(id(t))
            if node is None:
                return False
            op = node.operation
            if not (isinstance(op, _PASS + _SHAPE) and not isinstance(op, keras.layers.Concatenate)
                    or (isinstance(op, keras.layers.Activation) and _act_name(op) == "linear")):
                return False
            t = node.input_tensors[0]
        return True

    def _classify(self, op, ins, producer, consumers):
        if isinstance(op, _LINEAR):
            if getattr(op, "groups", 1) != 1:
                raise _unsupported(op, f" with groups={op.groups}")
            if _act_name(op) not in _PASS_ACTIVATIONS:
                raise _unsupported(op, f" with activation {_act_name(op)!r}")
            return ("linear", op, ins, None)
        if isinstance(op, keras.layers.BatchNormalization):
            axis = op.axis if isinstance(op.axis, int) else op.axis[0]
            if axis not in (-1, len(ins[0].shape) - 1):
                raise _unsupported(op, f" over axis {op.axis}")
            src = producer.get(id(ins[0]))
            if src is not None and isinstance(src.operation, _LINEAR) and _act_name(src.operation) == "linear" \
                    and consumers.get(id(ins[0]), 0) == 1 and getattr(src.operation, "groups", 1) == 1:
                return ("fold", op)
            return ("batchnorm", op)
        if isinstance(op, keras.layers.Add):
            return ("add", op)
        if isinstance(op, _POOL):
            return ("pool", op)
        if isinstance(op, _SHAPE):
            return ("shape", op)
        if isinstance(op, _PASS):
            return ("pass", op)
        if isinstance(op, keras.layers.Activation) and _act_name(op) in _PASS_ACTIVATIONS:
            return ("pass", op)
        if not isinstance(op, keras.layers.Layer) and type(op).__name__ in ("Relu", "Relu6"):
            return ("pass", op)
        raise _unsupported(op)


def _plan(model: keras.Model) -> _Plan:
    try:
        cache = _registry.setdefault(model, {})
    except TypeError:
        cache = {}
    if "plan" not in cache:
        cache["plan"] = _Plan(model)
    return cache["plan"]


def lrp_rules(model, rule="epsilon") -> dict[str, str]:
    """The rule each linear layer (Dense, Conv2D, DepthwiseConv2D) of
    ``model`` gets, from top to bottom.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        rule: A preset of :data:`PRESETS`, or a mapping ``{layer name:
            rule}`` with rules from :data:`LAYER_RULES` (unlisted layers get
            ``"epsilon"``).

    Raises:
        ValueError: An unknown preset, rule or layer name; ``"zb"`` on a
            layer that does not see the pixels; a layer lrp cannot handle.
    """
    cm = as_course(model)
    plan = _plan(cm.model)
    names = [layer.name for layer, _ in plan.linear][::-1]   # bottom to top
    names = list(dict.fromkeys(names))
    if isinstance(rule, Mapping):
        for name, r in rule.items():
            graph.check_layer(cm.model, name, names, what="linear layer")
            checks.choice(r, LAYER_RULES, f"rule of layer {name!r}")
        out = {name: rule.get(name, "epsilon") for name in names}
    else:
        checks.choice(rule, PRESETS, "rule")   # or a dict {layer name: one of LAYER_RULES}
        out = {}
        by_name = {layer.name: layer for layer, _ in plan.linear}
        for layer in (by_name[n] for n in names):
            if rule in ("zb", "composite") and layer.name in plan.first:
                out[layer.name] = "zb"
            elif rule == "composite":
                out[layer.name] = "epsilon" if isinstance(layer, keras.layers.Dense) else "zplus"
            else:
                out[layer.name] = "epsilon" if rule == "zb" else rule
    bad = [n for n, r in out.items() if r == "zb" and n not in plan.first]
    if bad:
        raise ValueError(f"rule 'zb' is for layers whose inputs are the (bounded) pixels; layer "
                         f"{bad[0]!r} is not one; valid layers for 'zb': {sorted(plan.first)}")
    return out


# ---------------------------------------------------------------- the rules (tensors)
def _vjp(fn, a, s):
    with tf.GradientTape() as tape:
        tape.watch(a)
        z = fn(a)
    return tape.gradient(z, a, output_gradients=s)


def _stab(z, eps):
    return z + eps * tf.where(z >= 0, 1.0, -1.0)


def _ratio(r, z, eps):
    """``r / (z + eps sign z)``, 0 where that is 0 (a unit with no input passes nothing on)."""
    return tf.math.divide_no_nan(r, _stab(z, eps))


def _folded(layer, bn):
    """Kernel and bias of ``layer`` with the BatchNorm ``bn`` (inference) folded in."""
    kernel = tf.convert_to_tensor(layer.kernel)
    bias = tf.convert_to_tensor(layer.bias) if getattr(layer, "use_bias", True) and layer.bias is not None \
        else tf.zeros([kernel.shape[-1] * (kernel.shape[-2] if isinstance(layer, keras.layers.DepthwiseConv2D)
                                            else 1)], kernel.dtype)
    if bn is None:
        return kernel, bias
    var = tf.convert_to_tensor(bn.moving_variance)
    scale = tf.math.rsqrt(var + bn.epsilon)
    if bn.gamma is not None:
        scale = scale * bn.gamma
    shift = -tf.convert_to_tensor(bn.moving_mean) * scale
    if bn.beta is not None:
        shift = shift + bn.beta
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        k = kernel * tf.reshape(scale, (1, 1, kernel.shape[2], kernel.shape[3]))
    else:
        k = kernel * scale
    return k, bias * scale + shift


def _linear_rule(layer, bn, a, r, rule, eps, bounds):
    kernel, bias = _folded(layer, bn)

    def lin(v, k):
        return linear_part(layer, v, kernel=k, bias=False)

    if rule == "epsilon":
        z = lin(a, kernel) + bias
        s = _ratio(r, z, eps)
        return a * _vjp(lambda v: lin(v, kernel), a, s)
    wp, wn = tf.nn.relu(kernel), tf.minimum(kernel, 0.0)
    if rule == "zplus":
        ap, an = tf.nn.relu(a), tf.minimum(a, 0.0)
        z = lin(ap, wp) + lin(an, wn)
        s = tf.math.divide_no_nan(r, z)
        return ap * _vjp(lambda v: lin(v, wp), ap, s) + an * _vjp(lambda v: lin(v, wn), an, s)
    low, high = bounds
    z = lin(a, kernel) - lin(low, wp) - lin(high, wn)
    s = tf.math.divide_no_nan(r, z)
    return (a * _vjp(lambda v: lin(v, kernel), a, s) - low * _vjp(lambda v: lin(v, wp), low, s)
            - high * _vjp(lambda v: lin(v, wn), high, s))


def _lrp_fn(cm, rules: dict[str, str]):
    model = cm.model
    cache = _registry.setdefault(model, {})
    key = ("fn", id(cm.preprocess), tuple(sorted(rules.items())), tuple(cm.pixel_range))
    if key in cache:
        return cache[key]
    plan = _plan(model)
    preprocess = cm.preprocess
    zb_layers = [n for n, r in rules.items() if r == "zb"]
    bounds_sub = None
    if zb_layers:
        lo, hi = cm.pixel_range
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError("rule 'zb' needs the pixels' bounds, but this model's pixel range is unbounded "
                             f"({lo}, {hi}) (a bare keras.Model): pass a CourseModel (vislib.as_course(model) "
                             "with its pixel_range) or rule='epsilon' / 'zplus'")
        tensors = [plan.first_inputs[n] for n in zb_layers]
        bounds_sub = keras.Model(model.inputs, tensors, name=f"{model.name}_lrp_bounds")
        shape = tuple(model.inputs[0].shape[1:])
        ends = np.stack([np.full(shape, lo, np.float32), np.full(shape, hi, np.float32)])

    def relevance_at_input(x, t, eps):
        xp = preprocess(x)
        vals = {plan.input_id: xp}
        if plan.sub is not None:
            outs = plan.sub(xp, training=False)
            outs = outs if isinstance(outs, (list, tuple)) else [outs]
            vals.update(zip(plan.need_ids, outs))
        bounds = {}
        if bounds_sub is not None:
            b = bounds_sub(preprocess(tf.constant(ends)), training=False)
            b = b if isinstance(b, (list, tuple)) else [b]
            for name, v in zip(zb_layers, b):
                bounds[name] = (tf.minimum(v[0], v[1])[None] + 0 * vals[id(plan.first_inputs[name])],
                                tf.maximum(v[0], v[1])[None] + 0 * vals[id(plan.first_inputs[name])])
        feed = vals[id(plan.feed)]
        if plan.top is not None:
            k, b0 = _folded(plan.top, None)
            z = linear_part(plan.top, feed, kernel=k, bias=b0)
        else:
            z = feed
        if plan.binary:
            scores = tf.concat([-0.5 * z, 0.5 * z], axis=-1)
            t = pick_targets(t, scores)
            r_top = tf.where(t[:, None] == 1, 0.5 * z, -0.5 * z)
        else:
            scores = z
            t = pick_targets(t, scores)
            r_top = tf.one_hot(t, plan.classes, dtype=z.dtype) * z
        rel = {}
        if plan.top is not None:
            rel[id(plan.feed)] = _linear_rule(plan.top, None, feed, r_top, rules[plan.top.name], eps,
                                              bounds.get(plan.top.name))
        else:
            rel[id(plan.feed)] = r_top
        for step, out_id, in_ids in plan.steps:
            r = rel.pop(out_id, None)
            if r is None:
                continue
            kind, op = step[0], step[1]
            a = [vals[i] for i in in_ids]
            if kind == "linear":
                got = [_linear_rule(op, step[3], a[0], r, rules[op.name], eps, bounds.get(op.name))]
            elif kind == "batchnorm":
                scale = tf.math.rsqrt(tf.convert_to_tensor(op.moving_variance) + op.epsilon)
                if op.gamma is not None:
                    scale = scale * op.gamma
                z = op(a[0], training=False)
                got = [a[0] * scale * _ratio(r, z, eps)]
            elif kind == "add":
                s = _ratio(r, tf.add_n(a), 1e-9)
                got = [v * s for v in a]
            elif kind == "pool":
                z = op(a[0])
                got = [a[0] * _vjp(op, a[0], _ratio(r, z, 1e-9))]
            elif kind == "shape":
                if len(a) > 1:
                    with tf.GradientTape() as tape:
                        tape.watch(a)
                        z = op(a)
                    got = tape.gradient(z, a, output_gradients=r)
                else:
                    got = [_vjp(op, a[0], r)]
            else:
                got = [r]
            for i, g in zip(in_ids, got):
                rel[i] = rel[i] + g if i in rel else g
        r_in = rel.get(plan.input_id, tf.zeros_like(xp))
        return r_in, scores

    @tf.function(reduce_retracing=True)
    def run(x, t, eps):
        with tf.autodiff.ForwardAccumulator(x, tf.ones_like(x)) as acc:
            xp = preprocess(x)
        slope = acc.jvp(xp)            # d preprocess / d pixel, one per input element
        r_in, scores = relevance_at_input(x, t, eps)
        # back to display pixels: relevance is conserved through the per-pixel preprocessing
        r_x = _vjp(preprocess, x, tf.math.divide_no_nan(r_in, slope))
        return r_x, scores

    cache[key] = run
    return run


def lrp(model, images, target=None, *, rule="epsilon", epsilon: float = 1e-6,
        reduce: str | None = "sum", batch_size: int | None = None, normalize: bool = False) -> np.ndarray:
    """Layer-wise Relevance Propagation of the target's pre-softmax score to the pixels.

    Bach, Binder, Montavon, Klauschen, Mueller, Samek. *On Pixel-Wise
    Explanations for Non-Linear Classifier Decisions by Layer-Wise Relevance
    Propagation.* PLOS ONE 2015; rules and composites as in Montavon et al.,
    *Layer-wise Relevance Propagation: an overview*, 2019.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model`` built from
            the layer types in :data:`SUPPORTED` (a BatchNormalization after a
            linear layer is folded into it).
        images: One image (H, W, C) or a batch (N, H, W, C) of display pixels.
        target: Class index, one per image, or None for each image's top-1
            (found in the same pass).
        rule: ``"epsilon"``, ``"zplus"``, ``"zb"`` (zb on the layers that
            see the pixels, epsilon above), ``"composite"`` (zb first, zplus
            on the other conv layers, epsilon on the dense layers), or a dict
            ``{layer name: rule}`` (:func:`lrp_rules` lists the layers; those
            not named get epsilon).
        epsilon: The epsilon rule's stabiliser, >= 0 (in units of each
            layer's pre-activations). Larger values absorb more relevance and
            keep only the strongest contributions.
        reduce: ``"sum"`` over colour channels (signed; the map then sums to
            the relevance that reaches the pixels), or None for (N, H, W, C).
        batch_size: Images per pass (default from the model size).
        normalize: Scale each map to [0, 1]; default False: raw relevance.

    Returns:
        float32 (N, H, W) relevance (or (N, H, W, C) with ``reduce=None``).

    Raises:
        ValueError: Bad images, targets, ``rule``, ``epsilon``, ``reduce``,
            ``normalize``; a layer type lrp cannot handle (naming it and the
            supported types); ``"zb"`` on a model without pixel bounds.
    """
    check_reduce(reduce, normalize, REDUCTIONS)
    checks.in_range(epsilon, 0.0, 1e6, "epsilon")
    cm, x, t = resolve(model, images, target, top1_in_pass=True)
    rules = lrp_rules(cm, rule)
    fn = _lrp_fn(cm, rules)
    rel, _ = run_batched(fn, cm, x, t, batch_size, tf.constant(float(epsilon), tf.float32))
    return finish_channels(rel, reduce, normalize)


__all__ = ["lrp", "lrp_rules"]
