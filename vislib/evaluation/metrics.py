"""Judging explanations: numbers that say how good a heat map is.

Three kinds of evidence, each with its own blind spot:

* **localisation** against a region a person marked: :func:`roi_fit`
  (Szandała & Maciejewski) and :func:`pointing_game` (Zhang et al. 2018);
* **faithfulness** to the model: :func:`deletion_auc` and
  :func:`insertion_auc` (Petsiuk et al. 2018) perturb the image in the order
  the map ranks its pixels and watch the class probability;
* **sensitivity** to the model: :func:`randomization_sanity` (Adebayo et al.
  2018) randomises the weights layer by layer and asks whether the map
  changes; :func:`agreement` compares two maps (or a map and a mask).

Boxes are ``(x0, y0, x1, y1)`` in pixels of the map, ``x`` to the right,
``y`` down, end-exclusive: the format of :func:`vislib.object_boxes` and
``SampleImage.boxes_at``. Wherever a box list is accepted, a boolean mask
(H, W) or (N, H, W) is accepted too (a region of any shape).
"""

from __future__ import annotations

import dataclasses
import gc
import warnings
from dataclasses import dataclass
from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np

from .._core import baselines, checks, graph, weightops
from .._core.course_model import as_course
from .._core.gradients import resolve, temporary_traces
from .._core.seed import seeded

Box = tuple[int, int, int, int]
BASELINES = ("zeros", "blur", "mean")


# ------------------------------------------------------------------ helpers
def _as_maps(heatmap, name: str = "heatmap") -> tuple[np.ndarray, bool]:
    """(N, H, W) float32 copy and whether a single (H, W) map was given."""
    m = np.asarray(heatmap)
    if m.dtype == object or not (np.issubdtype(m.dtype, np.number) or m.dtype == bool):
        raise ValueError(f"{name} must be a numeric array; got dtype {m.dtype}")
    if m.ndim == 2:
        m, single = m[None], True
    elif m.ndim == 3:
        single = False
    else:
        raise ValueError(f"{name} must be (H, W) or (N, H, W); got shape {m.shape}")
    if m.size == 0:
        raise ValueError(f"{name} is empty (shape {m.shape})")
    m = m.astype(np.float32)
    if not np.all(np.isfinite(m)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return m, single


def _is_box(obj) -> bool:
    try:
        return len(obj) == 4 and all(np.ndim(v) == 0 for v in obj)
    except TypeError:
        return False


def _box_mask(box, shape: tuple[int, int]) -> np.ndarray:
    if not _is_box(box):
        raise ValueError(f"a box must be (x0, y0, x1, y1); got {box!r}")
    x0, y0, x1, y1 = (float(v) for v in box)
    if not all(np.isfinite([x0, y0, x1, y1])):
        raise ValueError(f"box {box!r} has non-finite coordinates")
    h, w = shape
    xa, xb = int(np.clip(round(x0), 0, w)), int(np.clip(round(x1), 0, w))
    ya, yb = int(np.clip(round(y0), 0, h)), int(np.clip(round(y1), 0, h))
    if xb <= xa or yb <= ya:
        raise ValueError(f"box {box!r} (x0, y0, x1, y1) is empty inside a {h}x{w} map; "
                         "need x0 < x1 and y0 < y1 with some overlap")
    mask = np.zeros(shape, bool)
    mask[ya:yb, xa:xb] = True
    return mask


def box_mask(boxes, shape: tuple[int, int]) -> np.ndarray:
    """The union of ``boxes`` (x0, y0, x1, y1) as a boolean (H, W) mask."""
    boxes = [boxes] if _is_box(boxes) else list(boxes)
    if not boxes:
        raise ValueError("boxes is empty; give at least one (x0, y0, x1, y1)")
    return np.logical_or.reduce([_box_mask(b, shape) for b in boxes])


def _regions(boxes, n: int, shape: tuple[int, int]) -> list[list[np.ndarray]]:
    """Per image, the list of candidate regions as boolean (H, W) masks.

    ``boxes``: one box for all images; a list of boxes (one image, or the
    same boxes for all); a list of N entries (a box or a list of boxes
    each); or a boolean mask (H, W) / (N, H, W).
    """
    if boxes is None:
        raise ValueError("boxes is None; give (x0, y0, x1, y1) boxes or a boolean mask")
    if isinstance(boxes, np.ndarray) and boxes.dtype == bool:
        arr = boxes
        masks = arr[None] if arr.ndim == 2 else arr
        if masks.ndim != 3 or masks.shape[1:] != tuple(shape) or len(masks) not in (1, n):
            raise ValueError(f"mask must be (H, W) or (N, H, W) = {(n, *shape)}; got shape {arr.shape}")
        if len(masks) == 1:
            masks = np.repeat(masks, n, axis=0)
        return [[m] for m in masks]
    if _is_box(boxes):
        return [[_box_mask(boxes, shape)] for _ in range(n)]
    boxes = list(boxes)
    if not boxes:
        raise ValueError("boxes is empty; give at least one (x0, y0, x1, y1)")
    if all(_is_box(b) for b in boxes):
        if n == 1 or len(boxes) != n:
            same = [_box_mask(b, shape) for b in boxes]  # several boxes shared by every image
            return [same for _ in range(n)]
        return [[_box_mask(b, shape)] for b in boxes]  # one box per image
    if len(boxes) != n:
        raise ValueError(f"boxes must give one entry per map ({n}); got {len(boxes)}")
    out = []
    for entry in boxes:
        if isinstance(entry, np.ndarray) and entry.dtype == bool:
            if entry.shape != tuple(shape):
                raise ValueError(f"mask must be {shape}; got {entry.shape}")
            out.append([entry])
        elif _is_box(entry):
            out.append([_box_mask(entry, shape)])
        else:
            entry = list(entry)
            if not entry:
                raise ValueError("an image has an empty box list; give at least one box")
            out.append([_box_mask(b, shape) for b in entry])
    return out


def _ret(values: np.ndarray, single: bool):
    return values[0].item() if single else values


# ------------------------------------------------------------ localisation
def roi_fit(heatmap, boxes) -> float | np.ndarray:
    """Share of the map's mass inside the region of interest.

    ``fit = max_b  sum_{(i,j) in b} h+_ij / sum_{i,j} h+_ij`` with
    ``h+ = max(h, 0)``: the highest share over the given boxes ``b``. 1 means
    all the map's mass lies in a box, 0 none of it. A uniform map scores the
    box's share of the image area, which is the number to beat. A map with no
    positive mass scores 0.

    The fit metric of Szandała & Maciejewski, *Automated Method for
    Evaluating Neural Network's Attention Focus*, ICCS 2022.

    Args:
        heatmap: One map (H, W) or a batch (N, H, W).
        boxes: (x0, y0, x1, y1) in map pixels (end-exclusive): one box for
            every map, a list of boxes (the best one counts), one entry per map
            (a box or a list of boxes), or a boolean mask (H, W) / (N, H, W).

    Returns:
        A float for one map, else float32 (N,), each in [0, 1].

    Raises:
        ValueError: Bad map shape, empty or malformed boxes, mask of the
            wrong shape.
    """
    maps, single = _as_maps(heatmap)
    regions = _regions(boxes, len(maps), maps.shape[1:])
    mass = np.maximum(maps, 0)
    total = mass.sum(axis=(1, 2))
    out = np.zeros(len(maps), np.float32)
    for i, (m, regs) in enumerate(zip(mass, regions)):
        if total[i] > 0:
            out[i] = max(float(m[r].sum()) for r in regs) / float(total[i])
    return _ret(np.clip(out, 0, 1), single)


def pointing_game(heatmap, boxes, tolerance: float = 0.0) -> bool | np.ndarray:
    """Whether the map's maximum falls inside a box.

    ``hit = [ argmax_{(i,j)} h_ij  lies within `tolerance` pixels of some box ]``;
    a method's score is the share of hits over images. Ties are broken by the
    first maximum in row-major order; a constant map points nowhere and misses.

    Zhang, Bargal, Lin, Brandt, Shen, Sclaroff. *Top-down Neural Attention by
    Excitation Backprop.* IJCV 2018 (they allow 15 px on full-size images).

    Args:
        heatmap: One map (H, W) or a batch (N, H, W).
        boxes: As for :func:`roi_fit`.
        tolerance: Distance in pixels (Euclidean) the maximum may lie
            outside a box and still count.

    Returns:
        A bool for one map, else bool (N,).

    Raises:
        ValueError: Bad maps or boxes, negative tolerance.
    """
    checks.in_range(tolerance, 0, 1e6, "tolerance")
    maps, single = _as_maps(heatmap)
    h, w = maps.shape[1:]
    regions = _regions(boxes, len(maps), (h, w))
    out = np.zeros(len(maps), bool)
    for i, (m, regs) in enumerate(zip(maps, regions)):
        if m.max() == m.min():
            continue
        py, px = np.unravel_index(int(np.argmax(m)), (h, w))
        for r in regs:
            if r[py, px]:
                out[i] = True
            elif tolerance > 0:
                ys, xs = np.nonzero(r)
                out[i] = bool(np.min((ys - py) ** 2 + (xs - px) ** 2) <= tolerance ** 2)
            if out[i]:
                break
    return bool(out[0]) if single else out


# ------------------------------------------------------------- faithfulness
def baseline_image(images, kind: str = "blur", sigma: float | None = None) -> np.ndarray:
    """What deleted pixels become (deletion) or what insertion starts from.

    Args:
        images: Display images (N, H, W, C) float32.
        kind: ``"zeros"`` (black; Petsiuk et al.'s deletion), ``"blur"``
            (Gaussian blur, their insertion canvas) or ``"mean"`` (each
            image's mean colour).
        sigma: Blur width in pixels (edges reflected); default max(H, W) / 14 (16 px at 224,
            2 px at 28).

    Returns:
        float32 array shaped like ``images``.
    """
    checks.choice(kind, BASELINES, "baseline")
    x = np.asarray(images, np.float32)
    if kind == "zeros":
        return np.zeros_like(x)
    if kind == "mean":
        return np.broadcast_to(baselines.mean_colour(x), x.shape).copy()
    s = float(sigma) if sigma is not None else max(x.shape[1:3]) / 14.0
    checks.in_range(s, 0, 1e4, "sigma")
    return baselines.blur(x, s, mode="reflect")


def _order(m: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pixel indices, most important first; ties in random (seeded) order."""
    flat = m.ravel()
    return np.lexsort((rng.random(flat.size), -flat))


def perturbation_curve(model, images, heatmap, target=None, steps: int = 50, mode: str = "deletion",
                       baseline: str | None = None, sigma: float | None = None,
                       batch_size: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The class probability as pixels are deleted or inserted in map order.

    Step ``k`` of ``steps`` changes the ``round(k * H * W / steps)`` pixels the
    map ranks highest (all channels): deletion replaces them by the baseline,
    insertion copies them from the image onto the baseline. All ``steps + 1``
    copies of an image are classified in batches.

    Petsiuk, Das, Saenko. *RISE: Randomized Input Sampling for Explanation
    of Black-box Models.* BMVC 2018.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        images: One image (H, W, C) or a batch (N, H, W, C) of display pixels.
        heatmap: (H, W) or (N, H, W) at the image resolution; larger = more
            important.
        target: Class whose probability is tracked; None = each image's top-1.
        steps: Number of perturbation steps (1 to H * W).
        mode: ``"deletion"`` or ``"insertion"``.
        baseline: See :func:`baseline_image`; default ``"zeros"`` for
            deletion and ``"blur"`` for insertion.
        sigma: Blur width for the ``"blur"`` baseline.
        batch_size: Copies per forward pass (default from the model size).
        seed: Seeds the random order among pixels of equal importance.

    Returns:
        ``(fractions (steps + 1,), probabilities (N, steps + 1))``: the share
        of pixels changed and the model's output for the target class.

    Raises:
        ValueError: Map and image sizes differ, bad mode, baseline or steps.
    """
    checks.choice(mode, ("deletion", "insertion"), "mode")
    baseline = baseline or ("zeros" if mode == "deletion" else "blur")
    checks.choice(baseline, BASELINES, "baseline")
    cm, x, t = resolve(model, images, target)
    maps = _maps_for(heatmap, x)
    steps = checks.count(steps, "steps", low=1, high=x.shape[1] * x.shape[2])
    base = baseline_image(x, baseline, sigma)
    probs = _curves(cm, x, t, maps, steps, mode, base, _end_probs(cm, [x, base], t, batch_size),
                    batch_size, seed)
    return _fractions(x, steps), probs


def _maps_for(heatmap, x: np.ndarray) -> np.ndarray:
    """The (N, H, W) maps of ``heatmap``, checked against the images ``x``."""
    maps, _ = _as_maps(heatmap)
    n, h, w, _c = x.shape
    if maps.shape != (n, h, w):
        raise ValueError(f"heatmap shape {maps.shape} does not match the images {(n, h, w)}; "
                         "give one (H, W) map per image at the image resolution "
                         "(vislib._core.maps.resize_maps resizes coarse maps)")
    return maps


def _fractions(x: np.ndarray, steps: int) -> np.ndarray:
    h, w = x.shape[1:3]
    return (np.round(np.linspace(0, h * w, steps + 1)) / (h * w)).astype(np.float32)


def _end_probs(cm, images: list[np.ndarray], t: np.ndarray, batch_size: int | None) -> list[np.ndarray]:
    """The target's probability on each of ``images``: the ends of every
    deletion and insertion curve, which no map changes (the image itself, and
    the baseline with every pixel replaced)."""
    n = len(t)
    with checks.derived_images():  # baselines of checked images (the blur of a dark image may peak <= 1)
        out = cm.predict(np.concatenate(images), batch_size)
    return [out[k * n:(k + 1) * n][np.arange(n), t] for k in range(len(images))]


def _curves(cm, x: np.ndarray, t: np.ndarray, maps: np.ndarray, steps: int, mode: str,
            base: np.ndarray, ends: list[np.ndarray], batch_size: int | None, seed: int) -> np.ndarray:
    """(N, steps + 1) probabilities of :func:`perturbation_curve`; only the
    ``steps - 1`` inner copies of each image go through the network, the two
    ends are ``ends = [p(image), p(baseline)]``."""
    n, h, w, _c = x.shape
    probs = np.empty((n, steps + 1), np.float32)
    p_image, p_base = ends
    probs[:, 0], probs[:, -1] = (p_image, p_base) if mode == "deletion" else (p_base, p_image)
    inner = np.round(np.linspace(0, h * w, steps + 1)).astype(np.int64)[1:-1]
    if not len(inner):
        return probs
    rng = np.random.default_rng(seed)
    bs = graph.batch_size(cm.model, batch_size, kind="forward")
    per_chunk = max(1, (4 * bs) // len(inner))  # images whose copies go through together
    for start in range(0, n, per_chunk):
        idx = range(start, min(n, start + per_chunk))
        copies = []
        for i in idx:
            rank = np.empty(h * w, np.int64)
            rank[_order(maps[i], rng)] = np.arange(h * w)
            changed = (rank.reshape(h, w)[None] < inner[:, None, None])[..., None]
            src, dst = (base[i], x[i]) if mode == "deletion" else (x[i], base[i])
            copies.append(np.where(changed, src, dst))
        with checks.derived_images():  # a deletion step can leave only faint pixels (max <= 1)
            out = cm.predict(np.concatenate(copies), bs)
        for j, i in enumerate(idx):
            probs[i, 1:-1] = out[j * len(inner):(j + 1) * len(inner), t[i]]
    return probs


def _auc(fractions: np.ndarray, probs: np.ndarray) -> np.ndarray:
    return np.trapezoid(probs, fractions, axis=1).astype(np.float32)


def deletion_auc(model, images, heatmap, target=None, steps: int = 50, baseline: str = "zeros",
                 sigma: float | None = None, batch_size: int | None = None,
                 seed: int = 0) -> float | np.ndarray:
    """Area under the deletion curve: lower = the map found what matters.

    ``AUC_del = integral_0^1 p_c(x with the top-f fraction of pixels set to the
    baseline) df`` (trapezoid rule over ``steps`` steps). A faithful map makes
    the probability fall at once; a random map makes it fall in proportion.

    Petsiuk, Das, Saenko. *RISE.* BMVC 2018.

    Args:
        model, images, heatmap, target, steps, sigma, batch_size, seed: As for
            :func:`perturbation_curve`.
        baseline: What deleted pixels become: ``"zeros"`` (black, default,
            as in the paper), ``"blur"`` or ``"mean"``.

    Returns:
        A float for one image (a 2-D heatmap), else float32 (N,), in [0, 1].
    """
    single = np.ndim(heatmap) == 2
    f, p = perturbation_curve(model, images, heatmap, target, steps, "deletion", baseline, sigma,
                              batch_size, seed)
    return _ret(_auc(f, p), single)


def insertion_auc(model, images, heatmap, target=None, steps: int = 50, baseline: str = "blur",
                  sigma: float | None = None, batch_size: int | None = None,
                  seed: int = 0) -> float | np.ndarray:
    """Area under the insertion curve: higher = the map found what matters.

    ``AUC_ins = integral_0^1 p_c(baseline with the top-f fraction of pixels
    copied from x) df``, starting from a blurred image (default) or a black
    one (``baseline="zeros"``).

    Petsiuk, Das, Saenko. *RISE.* BMVC 2018.

    Returns:
        A float for one image (a 2-D heatmap), else float32 (N,), in [0, 1].
    """
    single = np.ndim(heatmap) == 2
    f, p = perturbation_curve(model, images, heatmap, target, steps, "insertion", baseline, sigma,
                              batch_size, seed)
    return _ret(_auc(f, p), single)


# ---------------------------------------------------------------- agreement
def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation; 1 for identical maps, else 0 when either
    map is constant (no ranking to share)."""
    from scipy.stats import spearmanr
    a, b = np.ravel(a), np.ravel(b)
    if np.array_equal(a, b):
        return 1.0
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = spearmanr(a, b).statistic
    return float(r) if np.isfinite(r) else 0.0


class Agreement(NamedTuple):
    """How much two maps agree: rank correlation and top-k% overlap."""

    spearman: float | np.ndarray
    top_overlap: float | np.ndarray


def _top(m: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    sel = np.zeros(m.size, bool)
    sel[_order(m, rng)[:k]] = True
    return sel


def agreement(map_a, map_b, top: float = 0.1, seed: int = 0) -> Agreement:
    """Rank correlation and top-k% overlap between two maps (or a map and a mask).

    ``spearman = corr(rank(a), rank(b))`` over all pixels (Spearman's rho;
    1 for identical maps, else 0 when a map is constant). ``top_overlap = |T_k(a) ∩ T_k(b)| / k``, where
    ``T_k`` is the set of the ``k = top * H * W`` highest pixels. When
    ``map_b`` is a boolean mask (a human-drawn region), ``T_k(b)`` is the mask
    and ``k`` its size, so the overlap is the share of the map's top pixels
    that fall in the mask.

    Used by Adebayo et al., *Sanity Checks for Saliency Maps*, NeurIPS 2018,
    to compare maps before and after randomisation.

    Args:
        map_a: (H, W) or (N, H, W).
        map_b: Same shape as ``map_a``; or a boolean mask of that shape.
        top: Fraction of pixels in the top set, in (0, 1].
        seed: Order among equal pixels.

    Returns:
        :class:`Agreement` of floats (one map) or float32 (N,) arrays.

    Raises:
        ValueError: Shapes differ, ``top`` outside (0, 1], an empty mask.
    """
    checks.in_range(top, 1e-9, 1.0, "top")
    is_mask = np.asarray(map_b).dtype == bool
    a, single = _as_maps(map_a, "map_a")
    b, _ = _as_maps(map_b, "map_b")
    if a.shape != b.shape:
        raise ValueError(f"map_a {a.shape} and map_b {b.shape} must have the same shape")
    rng = np.random.default_rng(seed)
    rho = np.zeros(len(a), np.float32)
    over = np.zeros(len(a), np.float32)
    for i in range(len(a)):
        rho[i] = _spearman(a[i], b[i])
        if is_mask:
            tb = b[i].ravel() > 0
            k = int(tb.sum())
            if k == 0:
                raise ValueError(f"mask {i} is empty; the top-k overlap needs a non-empty region")
        else:
            k = max(1, int(round(top * a[i].size)))
            tb = _top(b[i], k, rng)
        over[i] = (_top(a[i], k, rng) & tb).sum() / k
    if single:
        return Agreement(float(rho[0]), float(over[0]))
    return Agreement(rho, over)


def agreement_matrix(maps: Mapping[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """Mean Spearman's rho between every pair of methods' maps.

    ``R[a, b] = mean_n rho(maps[a][n], maps[b][n])`` (as :func:`agreement`,
    with the ranks computed once per map).

    Args:
        maps: ``{method name: (N, H, W) maps}``, all the same shape.

    Returns:
        ``(names, R)`` with R float32 (M, M), symmetric, ones on the diagonal.
    """
    from scipy.stats import rankdata
    names = list(maps)
    if not names:
        raise ValueError("maps is empty; give {method name: (N, H, W) maps}")
    arrays = [_as_maps(maps[k], f"maps[{k!r}]")[0] for k in names]
    shape = arrays[0].shape
    for k, a in zip(names, arrays):
        if a.shape != shape:
            raise ValueError(f"maps[{k!r}] has shape {a.shape}; expected {shape} like maps[{names[0]!r}]")
    flat = [a.reshape(len(a), -1) for a in arrays]
    ranks = []
    for a in flat:
        r = rankdata(a, axis=1).astype(np.float64)
        r -= r.mean(axis=1, keepdims=True)
        norm = np.linalg.norm(r, axis=1, keepdims=True)
        ranks.append(np.divide(r, norm, out=np.zeros_like(r), where=norm > 0))
    m = len(names)
    out = np.eye(m, dtype=np.float32)
    for i in range(m):
        for j in range(i + 1, m):
            rho = (ranks[i] * ranks[j]).sum(axis=1)
            same = np.all(flat[i] == flat[j], axis=1)
            out[i, j] = out[j, i] = float(np.mean(np.where(same, 1.0, rho)))
    return names, out


# --------------------------------------------------------------- sanity check
@dataclass
class SanityResult:
    """Maps under cascading randomisation (Adebayo et al. 2018).

    Attributes:
        layers: ``"original"`` then, per step, the lowest layer randomised so
            far (every weighted layer above it is random too).
        maps: float32 (steps + 1, N, H, W); ``maps[0]`` on the intact model.
        correlations: float32 (steps + 1, N): Spearman's rho of each map with
            the original (``correlations[0]`` is 1).
        targets: The class explained for each image (fixed for all steps).
    """

    layers: list[str]
    maps: np.ndarray
    correlations: np.ndarray
    targets: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        """Mean correlation over images per step, (steps + 1,)."""
        return self.correlations.mean(axis=1)


def weighted_layers(model) -> list[str]:
    """Names of the layers with trainable weights, input to output."""
    net = as_course(model).model
    return [layer.name for layer in net.layers if layer.trainable_weights]


def randomization_sanity(method: Callable, model, images, target=None,
                         layers: Sequence[str] | None = None, seed: int = 0,
                         **options) -> SanityResult:
    """Cascading model-parameter randomisation: does the map depend on the weights?

    Starting from the output, the weighted layers of a *copy* of the model
    (one copy of the weights, ``vislib._core.weightops.clone``; the caller's model
    is never touched) are re-initialised one by one, top layer first, with a
    truncated normal ``N(0, s^2)`` cut at ``2 s`` where ``s`` is the standard
    deviation of the layer's trained weights. After each checkpoint the map is
    recomputed for the same target and compared with the original:

    ``rho_l = spearman(rank(M_original), rank(M_randomised down to l))``.

    A method that explains the *model* must lose its picture (rho near 0);
    one that stays similar is mostly showing the image (an edge detector).

    Adebayo, Gilmer, Muelly, Goodfellow, Hardt, Kim. *Sanity Checks for
    Saliency Maps.* NeurIPS 2018.

    Args:
        method: An explanation method ``method(model, images, target=..., **options)``
            (e.g. ``vislib.gradcam``).
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        images: One image (H, W, C) or a batch (N, H, W, C) of display pixels.
        target: Class to explain; None = each image's top-1 on the intact model.
        layers: Checkpoints, i.e. the layers after whose randomisation maps
            are computed (every weighted layer above a checkpoint is
            randomised too). Default: every weighted layer, top down; the last
            checkpoint in input order decides how far down the cascade goes.
        seed: Seed of the random weights.
        **options: Passed to ``method``.

    Returns:
        A :class:`SanityResult`.

    Raises:
        ValueError: A checkpoint that is not a weighted layer (the valid
            names are listed), ``method`` not callable, bad images or targets.
    """
    if not callable(method):
        raise ValueError(f"method must be an explanation function such as vislib.gradcam; got {method!r}")
    seed = checks.count(seed, "seed", low=0, high=2**32 - 1)
    cm, x, t = resolve(model, images, target)
    weighted = weighted_layers(cm)
    if not weighted:
        raise ValueError(f"model {cm.model.name!r} has no weighted layers to randomise")
    if layers is None:
        checkpoints = weighted[::-1]
    else:
        if isinstance(layers, str):
            layers = [layers]
        for name in layers:
            graph.check_layer(cm.model, name, weighted, what="weighted layer")
        if not list(layers):
            raise ValueError(f"layers is empty; valid choices: {weighted}")
        checkpoints = sorted(set(layers), key=weighted.index, reverse=True)
    rng = np.random.default_rng(seed)
    # building the copy draws Keras' default seeds from Python's generator: seeded for this
    # block only, so the student's random state is left as it was (vislib._core.seed)
    with seeded(seed):
        clone = weightops.clone(cm.model)
        cm_random = dataclasses.replace(cm, model=clone, weights=None)
        try:
            with temporary_traces():  # the copy's traced graphs would keep its weights alive
                original = np.asarray(method(cm_random, x, t, **options), np.float32)
                maps = [original]
                done = 0
                top_down = weighted[::-1]
                for cp in checkpoints:
                    stop = top_down.index(cp) + 1
                    for name in top_down[done:stop]:
                        weightops.randomize(clone.get_layer(name), rng)
                    done = max(done, stop)
                    maps.append(np.asarray(method(cm_random, x, t, **options), np.float32))
        finally:  # the copy's sub-models and compiled functions would keep it alive
            graph.forget(clone)
            del cm_random, clone
            gc.collect()  # they refer to it in cycles: free its weights now, not at some later cell
    maps = np.stack(maps)
    corr = np.array([[_spearman(original[i], m[i]) for i in range(len(x))] for m in maps], np.float32)
    return SanityResult(layers=["original"] + list(checkpoints), maps=maps, correlations=corr,
                        targets=t)


# ------------------------------------------------------------- all at once
METRICS = ("roi_fit", "pointing_game", "deletion_auc", "insertion_auc")
HIGHER_IS_BETTER = {"roi_fit": True, "pointing_game": True, "deletion_auc": False, "insertion_auc": True}


def evaluate(model, images, maps: Mapping[str, np.ndarray], boxes, target=None, steps: int = 28,
             batch_size: int | None = None, seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Every metric for every method's maps on the same images.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        images: (N, H, W, C) display images.
        maps: ``{method name: (N, H, W) maps}``.
        boxes: As for :func:`roi_fit` (one entry per image).
        target: Class explained (None = top-1), used by deletion / insertion.
        steps: Deletion and insertion steps.

    The two ends of every curve do not depend on the map (the image itself;
    the black or blurred baseline), so they are classified once for all maps
    and both curves: ``3 N + 2 M N (steps - 1)`` images for ``M`` maps instead
    of ``2 M N (steps + 1)``.

    Returns:
        ``{method: {metric: (N,) per-image values}}`` for the metrics in
        :data:`METRICS`.
    """
    if not maps:
        raise ValueError("maps is empty; give {method name: (N, H, W) maps}")
    cm, x, t = resolve(model, images, target)
    steps = checks.count(steps, "steps", low=1, high=x.shape[1] * x.shape[2])
    checked = {name: _maps_for(m, x) for name, m in maps.items()}
    zeros, blur = baseline_image(x, "zeros"), baseline_image(x, "blur")
    # the curves' ends are the same for every map: the image, all black, all blurred
    p_image, p_zeros, p_blur = _end_probs(cm, [x, zeros, blur], t, batch_size)
    fractions = _fractions(x, steps)
    out = {}
    for name, m in checked.items():
        out[name] = {
            "roi_fit": np.atleast_1d(roi_fit(m, boxes)),
            "pointing_game": np.atleast_1d(pointing_game(m, boxes)).astype(np.float32),
            "deletion_auc": _auc(fractions, _curves(cm, x, t, m, steps, "deletion", zeros,
                                                    [p_image, p_zeros], batch_size, seed)),
            "insertion_auc": _auc(fractions, _curves(cm, x, t, m, steps, "insertion", blur,
                                                     [p_image, p_blur], batch_size, seed)),
        }
    return out


def format_table(results: Mapping[str, Mapping[str, np.ndarray]], digits: int = 3) -> str:
    """A plain-text table of the mean of each metric per method (best marked with *)."""
    if not results:
        raise ValueError("results is empty")
    digits = checks.count(digits, "digits", low=0, high=12)
    metrics = list(next(iter(results.values())))
    means = {m: {k: float(np.mean(v)) for k, v in r.items()} for m, r in results.items()}
    best = {}
    for k in metrics:
        vals = [means[m][k] for m in results]
        better = HIGHER_IS_BETTER.get(k, True)
        best[k] = max(vals) if better else min(vals)
    width = max(len(m) for m in results) + 2
    head = "method".ljust(width) + "".join(
        f"{k + (' (+)' if HIGHER_IS_BETTER.get(k, True) else ' (-)'):>20s}" for k in metrics)
    lines = [head, "-" * len(head)]
    for m in results:
        cells = []
        for k in metrics:
            v = means[m][k]
            cells.append(f"{v:>19.{digits}f}" + ("*" if np.isclose(v, best[k]) else " "))
        lines.append(m.ljust(width) + "".join(cells))
    return "\n".join(lines)


