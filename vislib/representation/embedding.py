"""Feature spaces made visible and measurable: 2-D embeddings (PCA, t-SNE),
nearest neighbours and k-NN accuracy, on scikit-learn.

van der Maaten & Hinton. *Visualizing Data using t-SNE.* JMLR 2008;
Krizhevsky, Sutskever & Hinton, NeurIPS 2012 (Section 6.1: nearest
neighbours in the last hidden layer).
"""

from __future__ import annotations

import numpy as np

from .._core import checks

METHODS = ["tsne", "pca"]
METRICS = ["cosine", "euclidean"]


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
    f = checks.feature_matrix(features)
    n, d = f.shape
    checks.choice(method, METHODS, "method")
    if method == "pca":
        checks.count(n_components, "n_components", low=1, high=min(n, d))
        return _pca(f, int(n_components)).astype(np.float32)
    from sklearn.manifold import TSNE
    checks.count(n_components, "n_components", low=1, high=3)
    if isinstance(perplexity, bool) or not isinstance(perplexity, (int, float, np.integer, np.floating)) \
            or not 0 < perplexity < n:
        raise ValueError(f"perplexity={perplexity!r} is out of range for {n} samples; "
                         f"valid: 0 < perplexity < {n} (typical 5-50)")
    checks.count(max_iter, "max_iter", low=250, high=100_000)
    if pca_dims is not None:
        checks.count(pca_dims, "pca_dims", low=1, high=100_000)
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


_CHUNK_BYTES = 2**25   # query rows copied at a time by nearest_neighbors (32 MB)


def _row_sq_norms(f: np.ndarray) -> np.ndarray:
    """Squared length of every row, in float64, one row at a time: on the whole matrix numpy would
    square a copy of it first (the pixels of 300 photos: 0.18 GB)."""
    return np.array([np.dot(r, r) for r in (row.astype(np.float64) for row in f)])


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
    f = checks.feature_matrix(features)
    n = len(f)
    single = np.ndim(query_index) == 0
    queries = [query_index] if single else list(np.asarray(query_index).ravel())
    if not single and not queries:
        raise ValueError("query_index is an empty sequence; give at least one row index")
    qs = np.array([checks.count(q, "query_index", low=0, high=n - 1) for q in queries])
    k = checks.count(k, "k", low=1, high=n - 1)
    checks.choice(metric, METRICS, "metric")
    out = np.empty((len(qs), k), np.int64)
    sq = _row_sq_norms(f)
    norm = np.maximum(np.sqrt(sq), 1e-12)
    # bounded memory, no copy of the features: a chunk of query rows (at most 256, and at most
    # 32 MB of them for wide rows such as pixels) against all rows at a time
    rows = int(max(1, min(256, _CHUNK_BYTES // max(1, f.shape[1] * f.itemsize))))
    for start in range(0, len(qs), rows):
        chunk = qs[start:start + rows]
        dot = (f[chunk] @ f.T).astype(np.float64)
        if metric == "cosine":
            dist = 1.0 - dot / norm[chunk, None] / norm[None, :]
        else:
            dist = sq[chunk, None] + sq[None, :] - 2.0 * dot
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
    f = checks.feature_matrix(features, min_rows=4)
    y = checks.labels(labels, len(f))
    n = len(f)
    folds = checks.count(folds, "folds", low=2, high=n)
    train_size = n - int(np.ceil(n / folds))
    k = checks.count(k, "k", low=1, high=max(1, train_size))
    checks.choice(metric, METRICS, "metric")
    _, counts = np.unique(y, return_counts=True)
    if len(counts) < 2:
        raise ValueError("labels hold a single class; k-NN accuracy needs at least two")
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    if counts.min() < folds:  # StratifiedKFold needs folds <= smallest class
        from sklearn.model_selection import KFold
        cv = KFold(n_splits=folds, shuffle=True, random_state=seed)
    clf = KNeighborsClassifier(n_neighbors=k, metric=metric)
    return float(np.mean(cross_val_score(clf, f, y, cv=cv)))


