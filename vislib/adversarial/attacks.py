"""Adversarial examples: the fast gradient sign method (Goodfellow et al. 2015),
its iterative version (Kurakin et al. 2017), success rates, and how well
attacks made on one model transfer to others (as tabulated by Xie et al. 2018).

Everything lives in *display pixels* (0-255 for every profile): the gradient
of the cross-entropy loss is taken through the CourseModel's preprocessing, so
``epsilon`` is in pixel units, and every adversarial image is clipped to the
CourseModel's pixel range, i.e. it is a valid image again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import tensorflow as tf

from .._core import checks, graph
from .._core.course_model import CourseModel, as_course
from .._core.gradients import run_batched, top1


# ------------------------------------------------------------------ plumbing
def _loss_grad_fn(cm: CourseModel):
    """Compiled ``f(x, y) -> (d loss / d x, loss, logits)`` for display pixels ``x``,
    built once per (model, preprocessing)."""
    def build():
        run = graph.forward(cm.model)
        preprocess = cm.preprocess
        # any batch size, one trace (a second trace of EfficientNet-Lite0 costs seconds)
        signature = [tf.TensorSpec((None, *cm.input_shape), tf.float32), tf.TensorSpec((None,), tf.int64)]

        @tf.function(input_signature=signature)
        def grad(x, y):
            with tf.GradientTape() as tape:
                tape.watch(x)
                _, z = run(preprocess(x))
                loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=z)
                total = tf.reduce_sum(loss)
            return tape.gradient(total, x), loss, z
        return grad
    return graph.cached(cm.model, ("loss_grad", id(cm.preprocess)), build)


def loss_gradients(cm: CourseModel, x: np.ndarray, labels: np.ndarray,
                   batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradient of the cross-entropy loss w.r.t. the display pixels, batched.

    The loss is ``-log softmax(z)[label]`` on the pre-softmax logits ``z``
    (computed from the logits, so it stays finite for confident predictions).

    Args:
        cm: The CourseModel (``as_course(model)``).
        x: Checked display images (N, H, W, C) float32.
        labels: One class per image (N,) int.
        batch_size: Images per pass (default from the model size).

    Returns:
        ``(grads, losses, logits)``: (N, H, W, C), (N,) and (N, classes) float32.
    """
    return run_batched(_loss_grad_fn(cm), cm, x, labels, batch_size)


def _prepare(model, images, labels, targeted: bool, epsilon: float):
    cm = as_course(model)
    x = cm.check(images)
    if targeted and labels is None:
        raise ValueError("targeted=True needs labels: the class (or one class per image) to push the "
                         "images towards; valid: an int in 0.."
                         f"{cm.num_classes - 1} or a list of {len(x)} of them")
    top = top1(cm, x) if labels is None else None
    y = checks.targets(labels, len(x), cm.num_classes, top)
    lo, hi = cm.pixel_range
    span = float(hi - lo) if np.isfinite(hi - lo) else np.inf
    eps = float(checks.in_range(epsilon, 0.0, span, "epsilon"))
    return cm, x, y, eps


def _project(cm: CourseModel, adv: np.ndarray, x: np.ndarray, eps: float) -> np.ndarray:
    """Clip into the L-infinity ball of radius ``eps`` around ``x`` and into the pixel range."""
    adv = np.clip(adv, x - eps, x + eps)
    lo, hi = cm.pixel_range
    return np.clip(adv, lo, hi).astype(np.float32)


# ------------------------------------------------------------------- attacks
def fgsm(model, images, labels=None, epsilon: float = 8.0, targeted: bool = False,
         batch_size: int | None = None) -> np.ndarray:
    """The fast gradient sign method: one step of size ``epsilon`` along the
    sign of the loss gradient, ``x' = clip(x + eps * sign(grad_x J(x, y)))``.

    Goodfellow, Shlens, Szegedy. *Explaining and Harnessing Adversarial
    Examples.* ICLR 2015.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        images: One image (H, W, C) or a batch (N, H, W, C) of display pixels.
        labels: The class to move away from (one int or one per image);
            default each image's own top-1 class. With ``targeted=True``,
            the class to move *towards* (required).
        epsilon: Largest change of any pixel, in display-pixel units
            (e.g. 8 = 8/255 of the range).
        targeted: Descend the loss of ``labels`` instead of ascending it
            (Kurakin et al. 2017).
        batch_size: Images per gradient pass (default from the model size).

    Returns:
        float32 (N, H, W, C) adversarial images, within ``epsilon`` of the
        input in every pixel and clipped to the CourseModel's pixel range.

    Raises:
        ValueError: Bad images, labels or ``epsilon`` (negative or larger
            than the pixel range), or ``targeted`` without labels.
    """
    cm, x, y, eps = _prepare(model, images, labels, targeted, epsilon)
    grads, _, _ = loss_gradients(cm, x, y, batch_size)
    step = -eps if targeted else eps
    return _project(cm, x + step * np.sign(grads), x, eps)


def iterative_fgsm(model, images, labels=None, epsilon: float = 8.0, steps: int = 10,
                   step_size: float | None = None, targeted: bool = False,
                   batch_size: int | None = None) -> np.ndarray:
    """The basic iterative method: ``steps`` small FGSM steps, each followed by
    clipping into the L-infinity ball of radius ``epsilon`` around the clean
    image and into the pixel range.

    Kurakin, Goodfellow, Bengio. *Adversarial Examples in the Physical World.*
    ICLR workshop 2017.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        images: One image (H, W, C) or a batch (N, H, W, C) of display pixels.
        labels: As for :func:`fgsm` (fixed on the clean image: the attack
            keeps pushing away from the original class).
        epsilon: Radius of the L-infinity ball, in display-pixel units.
        steps: Number of gradient steps (>= 1).
        step_size: Change per step in pixel units; default
            ``2.5 * epsilon / steps`` (so the path can reach the ball's
            surface and move along it; Madry et al. 2018 use the same rule).
        targeted: Descend the loss of ``labels`` instead of ascending it.
        batch_size: Images per gradient pass.

    Returns:
        float32 (N, H, W, C) adversarial images.

    Raises:
        ValueError: Bad images, labels, ``epsilon``, ``steps`` or ``step_size``.
    """
    cm, x, y, eps = _prepare(model, images, labels, targeted, epsilon)
    steps = checks.in_range(steps, 1, 10_000, "steps", integer=True)
    alpha = 2.5 * eps / steps if step_size is None else float(checks.in_range(step_size, 0.0, np.inf, "step_size"))
    sign = -1.0 if targeted else 1.0
    adv = x.copy()
    for _ in range(steps):
        grads, _, _ = loss_gradients(cm, adv, y, batch_size)
        adv = _project(cm, adv + sign * alpha * np.sign(grads), x, eps)
    return adv


def attack_success(model, clean, adversarial, labels=None, targeted: bool = False) -> float:
    """Share of attacks that worked.

    * ``labels=None``: the share of images whose top-1 class changed from
      the clean image's top-1 class.
    * ``labels`` given (true classes): among the images the model classifies
      correctly when clean, the share it gets wrong after the attack (images
      it already gets wrong are not counted as successes).
    * ``targeted=True``: the share of adversarial images classified as
      ``labels`` (the targets).

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        clean: Clean display images (N, H, W, C).
        adversarial: Their adversarial versions, same shape.
        labels: True classes, or targets with ``targeted=True``.
        targeted: Count hits of the target class.

    Returns:
        A rate in [0, 1] (NaN when no image counts, e.g. none is correct).

    Raises:
        ValueError: Shapes differ, bad labels, ``targeted`` without labels.
    """
    cm = as_course(model)
    x, adv = cm.check(clean, "clean"), cm.check(adversarial, "adversarial")
    if x.shape != adv.shape:
        raise ValueError(f"clean {x.shape} and adversarial {adv.shape} images must have the same shape")
    if targeted and labels is None:
        raise ValueError("targeted=True needs labels (the target classes)")
    pred_adv = top1(cm, adv)
    if targeted:
        t = checks.targets(labels, len(x), cm.num_classes)
        return float(np.mean(pred_adv == t))
    pred_clean = top1(cm, x)
    if labels is None:
        return float(np.mean(pred_adv != pred_clean))
    y = checks.targets(labels, len(x), cm.num_classes)
    counted = pred_clean == y
    if not counted.any():
        return float("nan")
    return float(np.mean(pred_adv[counted] != y[counted]))


# ---------------------------------------------------------------- transfer
@dataclass
class TransferTable:
    """Success rates of adversarial images made on ``source`` and shown to
    each model: rows are epsilons, columns models (the source first).

    Attributes:
        source: Name of the model the attacks were made on.
        method: ``"fgsm"`` or ``"iterative_fgsm"``.
        epsilons: The epsilons (rows), in display pixels.
        models: Model names (columns); the source is marked ``(source)``.
        success: float (E, M) success rates (NaN: no image counted).
        counted: (M,) number of images each rate is over.
    """

    source: str
    method: str
    epsilons: tuple[float, ...]
    models: list[str]
    success: np.ndarray
    counted: np.ndarray
    adversarial: dict = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict:
        """``{model: {epsilon: rate}}``."""
        return {m: {e: float(self.success[i, j]) for i, e in enumerate(self.epsilons)}
                for j, m in enumerate(self.models)}

    def to_markdown(self, digits: int = 2) -> str:
        """A markdown table (rows: epsilon, columns: models)."""
        head = "| epsilon | " + " | ".join(f"{m} (n={c})" for m, c in zip(self.models, self.counted)) + " |"
        rule = "|---:|" + "---:|" * len(self.models)
        rows = [f"| {e:g} | " + " | ".join("n/a" if np.isnan(v) else f"{v:.{digits}f}" for v in row) + " |"
                for e, row in zip(self.epsilons, self.success)]
        return "\n".join([head, rule] + rows)

    def _repr_markdown_(self) -> str:
        return (f"Success of {self.method} made on **{self.source}**\n\n" + self.to_markdown())

    def __str__(self) -> str:
        return self.to_markdown()

    def plot(self, ax=None):
        """Success rate vs epsilon, one line per model; returns the Axes."""
        import matplotlib.pyplot as plt
        ax = ax or plt.gca()
        for j, m in enumerate(self.models):
            ax.plot(self.epsilons, self.success[:, j], "o-", label=m, lw=2.5 if j == 0 else 1.5)
        ax.set_xlabel("epsilon (pixels of 0-255)")
        ax.set_ylabel("success rate")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"{self.method} made on {self.source}")
        ax.legend(fontsize=8)
        return ax


def transfer_table(source_model, target_models, images, epsilons: Sequence[float], labels=None,
                   method: str = "fgsm", steps: int = 10, batch_size: int | None = None) -> TransferTable:
    """Make adversarial images on one model and measure how often they fool others.

    Each model's rate is measured against its *own* answer: with ``labels``
    (true classes), over the images that model classifies correctly when
    clean; without, over all images, counting a change of its own top-1
    class. All models must take the same display images (same size and
    channels; each applies its own preprocessing).

    Szegedy et al. 2014 found adversarial examples transfer between networks;
    Xie et al. (*Improving Transferability of Adversarial Examples with Input
    Diversity*, CVPR 2019; arXiv 2018) tabulate such success rates.

    Args:
        source_model: The model the attacks are computed on (white box).
        target_models: ``{name: model}`` or a list of models (named by
            their CourseModel) the images are shown to.
        images: Clean display images (N, H, W, C).
        epsilons: Attack strengths in display pixels (rows of the table).
        labels: True classes (optional, see above).
        method: ``"fgsm"`` or ``"iterative_fgsm"``.
        steps: Steps of the iterative attack.
        batch_size: Images per pass.

    Returns:
        A :class:`TransferTable` (``.to_markdown()``, ``.plot()``, ``.as_dict()``).

    Raises:
        ValueError: Unknown method, no targets, models that take different images.
    """
    checks.choice(method, ["fgsm", "iterative_fgsm"], "method")
    source = as_course(source_model)
    if isinstance(target_models, Mapping):
        targets = {str(k): as_course(v) for k, v in target_models.items()}
    else:
        if not isinstance(target_models, (list, tuple)) or not target_models:
            raise ValueError("target_models must be a non-empty list of models or a {name: model} dict; "
                             f"got {target_models!r}")
        targets = {}
        for m in target_models:
            c = as_course(m)
            targets[c.name if c.name not in targets else f"{c.name}_{len(targets)}"] = c
    if not targets:
        raise ValueError("target_models is empty; pass at least one model to transfer to")
    for name, c in targets.items():
        if c.input_shape != source.input_shape:
            raise ValueError(f"target {name!r} takes {c.input_shape} images but the source "
                             f"{source.name!r} takes {source.input_shape}; all models must share the input")
    eps_list = [float(checks.in_range(e, 0.0, np.inf, "epsilon")) for e in np.atleast_1d(epsilons)]
    if not eps_list:
        raise ValueError("epsilons is empty; pass at least one epsilon")
    x = source.check(images)
    models = {f"{source.name} (source)": source, **targets}
    y_src = None if labels is None else checks.targets(labels, len(x), source.num_classes)
    attack = fgsm if method == "fgsm" else iterative_fgsm
    opts = {} if method == "fgsm" else {"steps": steps}
    success = np.zeros((len(eps_list), len(models)), np.float64)
    counted = np.zeros(len(models), np.int64)
    clean_pred = {name: top1(c, x) for name, c in models.items()}
    made = {}
    for i, eps in enumerate(eps_list):
        adv = attack(source, x, y_src, epsilon=eps, batch_size=batch_size, **opts)
        made[eps] = adv
        for j, (name, c) in enumerate(models.items()):
            pred = top1(c, adv)
            ref = clean_pred[name] if labels is None else y_src
            ok = np.ones(len(x), bool) if labels is None else clean_pred[name] == y_src
            counted[j] = int(ok.sum())
            success[i, j] = float(np.mean(pred[ok] != ref[ok])) if ok.any() else np.nan
    return TransferTable(source=source.name, method=method, epsilons=tuple(eps_list), models=list(models),
                         success=success, counted=counted, adversarial=made)
