"""Testing with Concept Activation Vectors (TCAV): does a human concept push a class up?

Attribution maps explain one image. TCAV asks about a whole class: is the
concept "striped" (given as a few dozen example images) part of what makes
the network say "zebra"?

1. **CAV**: at a layer ``l``, train a linear classifier that separates the
   activations of concept images from those of random images. The vector
   normal to its boundary, pointing towards the concept, is the concept
   activation vector ``v_C``.
2. **Directional derivative**: for an image ``x`` of class ``k``,
   ``S(x) = grad_{a_l} h_k(a_l(x)) . v_C``, the rate at which the class
   logit ``h_k`` rises when the layer's activations move towards the concept.
3. **TCAV score**: the share of the class's images with ``S(x) > 0``.
4. **Significance**: a CAV is trained against several random sets; the
   scores of these CAVs are compared, by a two-sided t-test, with scores of
   CAVs trained between two random sets (which carry no concept). Only a
   concept whose scores differ from those of random directions counts.

Kim, Wattenberg, Gilmer, Cai, Wexler, Viegas & Sayres. *Interpretability
Beyond Feature Attribution: Quantitative Testing with Concept Activation
Vectors (TCAV).* ICML 2018 (the random-vs-random comparison is that of the
authors' code, github.com/tensorflow/tcav, ``tcav.py``: ``ttest_ind`` of the
concept's scores against the random CAVs' scores).
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from .._core import checks, graph
from .._core.course_model import as_course
from .._core.gradients import layer_gradients
from .activations import activations


class CAV(NamedTuple):
    """A concept activation vector at one layer."""

    vector: np.ndarray   # (D,) unit vector, pointing from random towards concept activations
    accuracy: float      # held-out accuracy of the linear classifier (0.5: the layer cannot tell them apart)


class TCAVResult(NamedTuple):
    """TCAV for one concept, class and layer."""

    score: float               # mean TCAV score over the concept's CAVs
    scores: np.ndarray         # (runs,) one score per CAV (concept vs random set i)
    random_scores: np.ndarray  # (runs,) scores of CAVs between two random sets
    p_value: float             # two-sided t-test, concept scores vs random scores
    significant: bool          # p_value < alpha
    accuracies: np.ndarray     # (runs,) held-out accuracies of the concept's CAVs
    layer: str
    target: int


def _flat(a: np.ndarray) -> np.ndarray:
    return a.reshape(len(a), -1).astype(np.float32)


def _fit(pos: np.ndarray, neg: np.ndarray, seed: int) -> CAV:
    """A linear classifier between two activation sets; its unit normal."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    x = np.concatenate([pos, neg])
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    # scaling by one number keeps the direction in the layer's own coordinates
    s = float(np.abs(x).mean()) + 1e-12
    xtr, xte, ytr, yte = train_test_split(x / s, y, test_size=0.33, random_state=seed, stratify=y)
    clf = LogisticRegression(C=1.0, max_iter=2000).fit(xtr, ytr)
    w = clf.coef_[0].astype(np.float32)
    return CAV(w / (np.linalg.norm(w) + 1e-12), float(clf.score(xte, yte)))


def concept_activation_vector(model, concept_images, random_images, layer: str,
                              seed: int = 0, batch_size: int | None = None) -> CAV:
    """The CAV of a concept at ``layer``: the unit normal of a logistic
    regression between the layer's activations of concept and random images,
    pointing towards the concept (Kim et al. 2018, Section 3.2; the authors'
    code uses a linear classifier too, SGD or logistic regression).

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        concept_images: (N, H, W, C) display pixels showing the concept.
        random_images: (M, H, W, C) display pixels of anything else.
        layer: An inner layer (conv or dense).
        seed: Seed of the train/test split.
        batch_size: Images per forward pass (default from the model size).

    Returns:
        A :class:`CAV`: ``vector`` (D,), D the layer's flattened size, and
        the classifier's accuracy on a held-out third of the images.

    Raises:
        ValueError: Unknown layer, bad images, fewer than 4 images in a set.
    """
    cm = as_course(model)
    graph.check_layer(cm.model, layer, graph.inner_layer_names(cm.model))
    c, r = cm.check(concept_images, "concept_images"), cm.check(random_images, "random_images")
    for name, a in (("concept_images", c), ("random_images", r)):
        if len(a) < 4:
            raise ValueError(f"{name} has {len(a)} images; a CAV needs at least 4 of each (the paper uses 50 or more)")
    seed = checks.count(seed, "seed", low=0, high=2**32 - 1)
    acts = [_flat(activations(cm, a, layer, batch_size=batch_size)[layer]) for a in (c, r)]
    return _fit(acts[0], acts[1], seed)


def tcav(model, class_images, target: int, concept_images, random_images, layer: str,
         runs: int = 10, alpha: float = 0.05, seed: int = 0,
         batch_size: int | None = None) -> TCAVResult:
    """TCAV score of a concept for class ``target`` at ``layer``, with its
    significance test.

    ``random_images`` is a pool: each of the ``runs`` CAVs is trained against
    a different random draw from it of as many images as the concept has
    (the paper trains against different random sets), and as many random
    CAVs are trained between two disjoint random draws, for the null
    distribution. The concept's ``runs`` scores are compared with the random
    ones by a two-sided Welch t-test.

    Kim et al. *Interpretability Beyond Feature Attribution: Quantitative
    Testing with Concept Activation Vectors (TCAV).* ICML 2018.

    Args:
        model: A :class:`~vislib.CourseModel` or a ``keras.Model``.
        class_images: (N, H, W, C) display pixels of the class to explain.
        target: The class index whose logit is differentiated.
        concept_images: (P, H, W, C) display pixels showing the concept.
        random_images: (M, H, W, C) display pixels, M >= 2 P.
        layer: An inner layer (conv or dense).
        runs: CAVs per concept and random CAVs, 2-500 (the paper: up to 500).
        alpha: Significance level of the test.
        seed: Seed of the random draws and splits.
        batch_size: Images per pass (default from the model size).

    Returns:
        A :class:`TCAVResult`.

    Raises:
        ValueError: Unknown layer or class, bad images, a random pool smaller
            than twice the concept set, options out of range.
    """
    from scipy.stats import ttest_ind
    cm = as_course(model)
    graph.check_layer(cm.model, layer, graph.inner_layer_names(cm.model))
    t = int(checks.targets(target, 1, cm.num_classes)[0])
    xc = cm.check(class_images, "class_images")
    xk = cm.check(concept_images, "concept_images")
    xr = cm.check(random_images, "random_images")
    runs = checks.count(runs, "runs", low=2, high=500)
    checks.in_range(alpha, 1e-6, 0.5, "alpha")
    seed = checks.count(seed, "seed", low=0, high=2**32 - 1)
    p = len(xk)
    if p < 4:
        raise ValueError(f"concept_images has {p} images; TCAV needs at least 4 (the paper uses 50 or more)")
    if len(xr) < 2 * p:
        raise ValueError(f"random_images has {len(xr)} images; give at least 2 x {p} (twice the concept set) "
                         "so two random sets of the concept's size can be drawn")
    a_concept = _flat(activations(cm, xk, layer, batch_size=batch_size)[layer])
    a_random = _flat(activations(cm, xr, layer, batch_size=batch_size)[layer])
    _, grads, _ = layer_gradients(cm, xc, np.full(len(xc), t, np.int64), layer, batch_size, spatial=False)
    grads = _flat(grads)

    def score(cav: CAV) -> float:
        return float(np.mean(grads @ cav.vector > 0))

    rng = np.random.default_rng(seed)
    scores, random_scores, accs = [], [], []
    for i in range(runs):
        order = rng.permutation(len(xr))
        first, second = order[:p], order[p:2 * p]
        cav = _fit(a_concept, a_random[first], seed + i)
        scores.append(score(cav))
        accs.append(cav.accuracy)
        random_scores.append(score(_fit(a_random[second], a_random[first], seed + i)))
    scores, random_scores = np.asarray(scores, np.float32), np.asarray(random_scores, np.float32)
    if np.ptp(scores) == 0 and np.ptp(random_scores) == 0:
        p_value = 1.0 if scores[0] == random_scores[0] else 0.0     # the t-test is undefined without spread
    else:
        with warnings.catch_warnings():   # one group without spread (all 1.0) makes scipy warn; the test still holds
            warnings.simplefilter("ignore", RuntimeWarning)
            p_value = float(ttest_ind(scores, random_scores, equal_var=False).pvalue)
    return TCAVResult(float(scores.mean()), scores, random_scores, p_value, bool(p_value < alpha),
                      np.asarray(accs, np.float32), layer, t)
