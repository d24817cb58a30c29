"""Feature spaces made visible and measurable: 2-D embeddings (PCA, t-SNE),
nearest neighbours and k-NN accuracy, on scikit-learn.

van der Maaten & Hinton. *Visualizing Data using t-SNE.* JMLR 2008;
Krizhevsky, Sutskever & Hinton, NeurIPS 2012 (Section 6.1: nearest
neighbours in the last hidden layer).
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from . import _checks

METHODS = ["tsne", "pca"]
METRICS = ["cosine", "euclidean"]


def _features(features, name: str = "features", min_rows: int = 2) -> np.ndarray:
    f = np.asarray(features)
    if f.dtype == object or not np.issubdtype(f.dtype, np.number):
        raise ValueError(f"{name} must be a numeric array (N, D); got dtype {f.dtype}")
    f = f.astype(np.float32, copy=False)
    if f.ndim != 2:
        raise ValueError(f"{name} must have shape (N, D); got {f.shape} "
                         "(flatten images with x.reshape(len(x), -1))")
    if len(f) < min_rows:
        raise ValueError(f"{name} has {len(f)} rows; need at least {min_rows}")
    if not np.all(np.isfinite(f)):
        raise ValueError(f"{name} contain NaN or infinite values")
    return f


def _labels(labels, n: int) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"labels must have shape ({n},), one per row of features; got {y.shape}")
    return y


def _pca(f: np.ndarray, k: int) -> np.ndarray:
    """Scores of the rows of ``f`` (N, D) on the top ``k`` principal components
    (each component defined up to sign).

    For wide data (D > N, e.g. the 150,528 pixels of a 224x224 photo) the
    scores come from the N x N Gram matrix of the centred rows: its
    eigenvectors times the square roots of its eigenvalues are the ``U S`` of
    the SVD. One pass over the columns in chunks, no D x N factor: for 500
    photos at 224x224, measured on 2 cores: 1.0 s and a few 16 MB chunks,
    against 18.3 s and 0.67 GB for scikit-learn's full SVD.
    """
    from sklearn.decomposition import PCA
    n, d = f.shape
    if d <= n:
        return PCA(n_components=int(k), svd_solver="full").fit_transform(f)
    mean = f.mean(axis=0, dtype=np.float64)
    gram = np.zeros((n, n))
    for s in range(0, d, 8192):
        c = (f[:, s:s + 8192] - mean[s:s + 8192]).astype(np.float32)
        gram += c @ c.T
    w, v = np.linalg.eigh(gram)                     # ascending
    w, v = np.clip(w[::-1][:k], 0.0, None), v[:, ::-1][:, :k]
    v = v * np.sign(v[np.abs(v).argmax(axis=0), np.arange(v.shape[1])])  # largest entry positive
    return v * np.sqrt(w)


def embed(features, method: str = "tsne", n_components: int = 2, perplexity: float = 30.0,
          seed: int = 0, pca_dims: int | None = 50, max_iter: int = 1000) -> np.ndarray:
    """Project feature vectors to a few dimensions for plotting.

    ``pca``: the top principal components (deterministic). ``tsne``: PCA to
    ``pca_dims`` first (faster, less noisy; van der Maaten & Hinton 2008
    section 5), then t-SNE with PCA initialisation, on one OpenMP thread
    (on 2 shared cores the threaded gradient loop is slower, not faster).

    Args:
        features: (N, D) array, one vector per image.
        method: ``"tsne"`` or ``"pca"``.
        n_components: Output dimensions (1-3 for t-SNE).
        perplexity: t-SNE's effective number of neighbours; 0 < perplexity < N.
        seed: Random seed of t-SNE.
        pca_dims: Dimensions kept by the PCA before t-SNE (None: no PCA).
        max_iter: t-SNE iterations (at least 250).

    Returns:
        float32 (N, n_components).

    Raises:
        ValueError: Unknown method, perplexity outside (0, N), bad shapes.
    """
    f = _features(features)
    n, d = f.shape
    _checks.choice(method, METHODS, "method")
    if method == "pca":
        _checks.count(n_components, "n_components", low=1, high=min(n, d))
        return _pca(f, int(n_components)).astype(np.float32)
    from sklearn.manifold import TSNE
    _checks.count(n_components, "n_components", low=1, high=3)
    if isinstance(perplexity, bool) or not isinstance(perplexity, (int, float, np.integer, np.floating)) \
            or not 0 < perplexity < n:
        raise ValueError(f"perplexity={perplexity!r} is out of range for {n} samples; "
                         f"valid: 0 < perplexity < {n} (typical 5-50)")
    _checks.count(max_iter, "max_iter", low=250, high=100_000)
    if pca_dims is not None:
        _checks.count(pca_dims, "pca_dims", low=1, high=100_000)
        k = min(int(pca_dims), n, d)
        if k < d:
            f = _pca(f, k)
    tsne = TSNE(n_components=int(n_components), perplexity=float(perplexity), init="pca",
                learning_rate="auto", random_state=seed, max_iter=int(max_iter))
    # One thread: scikit-learn's Barnes-Hut gradient is an OpenMP loop, and on a shared
    # 2-core machine (CI, Binder, a laptop running the kernel's TensorFlow threads) its
    # threads wait on each other at every iteration. Measured on 100-1000 Fashion-MNIST
    # vectors: 0.5-9 s on one thread against 2-37 s on two.
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="openmp"):
        return tsne.fit_transform(f).astype(np.float32)


def _unit_rows(f: np.ndarray) -> np.ndarray:
    return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)


def nearest_neighbors(features, query_index, k: int = 5, metric: str = "cosine") -> np.ndarray:
    """Indices of the ``k`` rows nearest to row ``query_index``, nearest first.

    Krizhevsky et al. 2012, Figure 4 (right): neighbours in FC7 space.
    Several queries at once (a list or array of indices) share one pass over
    the features: for wide features such as raw pixels this is what makes
    "the neighbours of every image" affordable.

    Args:
        features: (N, D) array.
        query_index: The row to query (0..N-1), or a sequence of rows; the
            query itself is left out of its result.
        k: How many neighbours (1..N-1).
        metric: ``"cosine"`` (1 - cosine similarity) or ``"euclidean"``.

    Returns:
        int64 (k,) indices for one query, (Q, k) for a sequence of Q queries.

    Raises:
        ValueError: Bad index, k or metric.
    """
    f = _features(features)
    n = len(f)
    single = np.ndim(query_index) == 0
    queries = [query_index] if single else list(np.asarray(query_index).ravel())
    if not single and not queries:
        raise ValueError("query_index is an empty sequence; give at least one row index")
    qs = np.array([_checks.count(q, "query_index", low=0, high=n - 1) for q in queries])
    k = _checks.count(k, "k", low=1, high=n - 1)
    _checks.choice(metric, METRICS, "metric")
    out = np.empty((len(qs), k), np.int64)
    fu = _unit_rows(f) if metric == "cosine" else f
    sq = (f.astype(np.float64) ** 2).sum(1) if metric == "euclidean" else None
    for start in range(0, len(qs), 256):          # bounded memory: 256 x N distances at a time
        chunk = qs[start:start + 256]
        if metric == "cosine":
            dist = 1.0 - (fu[chunk] @ fu.T).astype(np.float64)
        else:
            dist = sq[chunk, None] + sq[None, :] - 2.0 * (f[chunk] @ f.T).astype(np.float64)
        dist[np.arange(len(chunk)), chunk] = np.inf
        order = np.argsort(dist, axis=1, kind="stable")[:, :k]
        out[start:start + len(chunk)] = order
    return out[0] if single else out


def knn_accuracy(features, labels, k: int = 5, folds: int = 5, metric: str = "euclidean",
                 seed: int = 0) -> float:
    """Cross-validated accuracy of a k-nearest-neighbour classifier: how well
    a feature space puts images of one class next to each other.

    Args:
        features: (N, D) array.
        labels: (N,) class labels.
        k: Neighbours that vote.
        folds: Stratified cross-validation folds (2..N).
        metric: ``"euclidean"`` or ``"cosine"``.
        seed: Seed of the fold shuffling.

    Returns:
        Mean accuracy over the folds, in [0, 1].

    Raises:
        ValueError: Bad shapes, k, folds or metric.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    f = _features(features, min_rows=4)
    y = _labels(labels, len(f))
    n = len(f)
    folds = _checks.count(folds, "folds", low=2, high=n)
    train_size = n - int(np.ceil(n / folds))
    k = _checks.count(k, "k", low=1, high=max(1, train_size))
    _checks.choice(metric, METRICS, "metric")
    _, counts = np.unique(y, return_counts=True)
    if len(counts) < 2:
        raise ValueError("labels hold a single class; k-NN accuracy needs at least two")
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    if counts.min() < folds:  # StratifiedKFold needs folds <= smallest class
        from sklearn.model_selection import KFold
        cv = KFold(n_splits=folds, shuffle=True, random_state=seed)
    clf = KNeighborsClassifier(n_neighbors=k, metric=metric)
    return float(np.mean(cross_val_score(clf, f, y, cv=cv)))


def plot_embedding(points, labels=None, class_names: Sequence[str] | None = None, thumbnails=None,
                   ax=None, zoom: float = 0.6, max_thumbnails: int = 150, seed: int = 0,
                   point_size: float = 12.0, legend: bool = True):
    """Scatter 2-D points coloured by class, optionally with image thumbnails.

    Args:
        points: (N, 2) from :func:`embed`.
        labels: (N,) integer classes (None: one colour).
        class_names: Names of the classes for the legend.
        thumbnails: (N, H, W, C) display images drawn at their points
            (a random subset of ``max_thumbnails``), framed in their class colour.
        ax: Axes to draw on (default: a new figure).
        zoom: Thumbnail scale (1 = one image pixel per screen pixel).
        max_thumbnails: At most this many thumbnails.
        seed: Which random subset gets thumbnails.
        point_size: Marker size.
        legend: Draw a legend of the classes.

    Returns:
        The Axes.

    Raises:
        ValueError: Bad shapes.
    """
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage
    p = _features(points, "points", min_rows=1)
    if p.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2); got {p.shape}")
    n = len(p)
    y = np.zeros(n, np.int64) if labels is None else _labels(labels, n)
    ax = ax or plt.subplots(figsize=(7, 6))[1]
    classes = np.unique(y)
    import matplotlib as mpl
    cmap = mpl.colormaps["tab10" if len(classes) <= 10 else "tab20"]
    color_of = {c: cmap(i % cmap.N) for i, c in enumerate(classes)}
    for c in classes:
        sel = y == c
        name = (class_names[int(c)] if class_names is not None and 0 <= int(c) < len(class_names)
                else str(c))
        ax.scatter(p[sel, 0], p[sel, 1], s=point_size, color=color_of[c], label=name, alpha=0.8)
    if thumbnails is not None:
        from .plotting import _display
        thumbs = np.asarray(thumbnails)
        if len(thumbs) != n:
            raise ValueError(f"thumbnails must hold {n} images, one per point; got {len(thumbs)}")
        rng = np.random.default_rng(seed)
        pick = rng.choice(n, min(n, _checks.count(max_thumbnails, "max_thumbnails", low=0)), replace=False)
        for i in pick:
            img = _display(thumbs[i])
            box = OffsetImage(img, zoom=zoom, cmap="gray" if img.ndim == 2 else None)
            ab = AnnotationBbox(box, (p[i, 0], p[i, 1]), frameon=True, pad=0.1,
                                bboxprops={"edgecolor": color_of[y[i]], "lw": 1.5})
            ax.add_artist(ab)
    if legend and (labels is not None):
        ax.legend(fontsize=8, markerscale=1.5, loc="best", framealpha=0.8)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax
