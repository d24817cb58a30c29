"""Embeddings, nearest neighbours and k-NN accuracy on data with known answers,
plus the FC7-vs-pixels claim of lesson 02 on the trained offline model."""

from __future__ import annotations

import numpy as np
import pytest

import vislib


def _blobs(n_per=30, d=20, classes=3, spread=0.3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 5, (classes, d))
    x = np.concatenate([c + rng.normal(0, spread, (n_per, d)) for c in centers])
    y = np.repeat(np.arange(classes), n_per)
    return x.astype("float32"), y


def test_embed_shapes_and_pca_determinism():
    x, y = _blobs()
    p = vislib.embed(x, method="pca")
    assert p.shape == (90, 2) and p.dtype == np.float32
    np.testing.assert_array_equal(p, vislib.embed(x, method="pca"))
    assert vislib.embed(x, method="pca", n_components=3).shape == (90, 3)
    t = vislib.embed(x, method="tsne", perplexity=10, seed=0)
    assert t.shape == (90, 2) and np.all(np.isfinite(t))
    np.testing.assert_allclose(t, vislib.embed(x, method="tsne", perplexity=10, seed=0), atol=1e-4)


def test_tsne_keeps_separable_classes_apart():
    from sklearn.metrics import silhouette_score
    x, y = _blobs()
    t = vislib.embed(x, perplexity=10)
    assert silhouette_score(t, y) > 0.5


def test_embed_bad_inputs():
    x, _ = _blobs(n_per=5)  # 15 samples
    with pytest.raises(ValueError, match="0 < perplexity < 15"):
        vislib.embed(x, perplexity=15)
    with pytest.raises(ValueError, match="method"):
        vislib.embed(x, method="umap")
    with pytest.raises(ValueError, match="shape"):
        vislib.embed(x[0])
    with pytest.raises(ValueError, match="NaN"):
        vislib.embed(np.full((5, 3), np.nan))


def test_nearest_neighbors_on_hand_made_vectors():
    f = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [-1, 0], [10, 0.5]], np.float32)
    cos = vislib.nearest_neighbors(f, 0, k=2, metric="cosine")
    np.testing.assert_array_equal(cos, [5, 1])  # direction counts, not length
    euc = vislib.nearest_neighbors(f, 0, k=2, metric="euclidean")
    np.testing.assert_array_equal(euc, [1, 3])
    assert 0 not in vislib.nearest_neighbors(f, 0, k=5)
    assert len(vislib.nearest_neighbors(f, 0, k=5)) == 5


def test_nearest_neighbors_many_queries_match_brute_force():
    rng = np.random.default_rng(3)
    f = rng.normal(size=(300, 40)).astype(np.float32)
    queries = [0, 7, 299, 150]
    for metric in ("cosine", "euclidean"):
        batch = vislib.nearest_neighbors(f, queries, k=6, metric=metric)
        assert batch.shape == (4, 6) and batch.dtype == np.int64
        for row, q in zip(batch, queries):
            np.testing.assert_array_equal(row, vislib.nearest_neighbors(f, q, k=6, metric=metric))
            if metric == "euclidean":
                d = np.linalg.norm(f.astype(np.float64) - f[q], axis=1)
            else:
                u = f / np.linalg.norm(f, axis=1, keepdims=True)
                d = 1.0 - u.astype(np.float64) @ u[q]
            d[q] = np.inf
            np.testing.assert_array_equal(row, np.argsort(d, kind="stable")[:6])
    with pytest.raises(ValueError, match="empty"):
        vislib.nearest_neighbors(f, [], k=2)
    with pytest.raises(ValueError, match="query_index"):
        vislib.nearest_neighbors(f, [0, 300], k=2)


def test_nearest_neighbors_in_small_chunks_gives_the_same_answer(monkeypatch):
    # wide rows (pixels) are compared a few query rows at a time; the chunking must not change a result
    from vislib.representation import embedding
    rng = np.random.default_rng(4)
    f = rng.normal(size=(60, 40)).astype(np.float32)
    queries = np.arange(60)
    whole = {m: vislib.nearest_neighbors(f, queries, k=5, metric=m) for m in ("cosine", "euclidean")}
    monkeypatch.setattr(embedding, "_CHUNK_BYTES", 3 * 40 * 4)    # three query rows per chunk: 20 chunks
    for m, expected in whole.items():
        np.testing.assert_array_equal(vislib.nearest_neighbors(f, queries, k=5, metric=m), expected)


def test_nearest_neighbors_bad_inputs():
    f = np.eye(4, dtype=np.float32)
    with pytest.raises(ValueError, match="1 <= k <= 3"):
        vislib.nearest_neighbors(f, 0, k=4)
    with pytest.raises(ValueError, match="query_index"):
        vislib.nearest_neighbors(f, 4)
    with pytest.raises(ValueError, match="metric"):
        vislib.nearest_neighbors(f, 0, k=2, metric="manhattan")


def test_knn_accuracy_separable_vs_random():
    x, y = _blobs()
    assert vislib.knn_accuracy(x, y, k=5) == 1.0
    rng = np.random.default_rng(1)
    noise = rng.normal(size=x.shape).astype("float32")
    assert vislib.knn_accuracy(noise, y, k=5) < 0.6  # chance is 1/3
    with pytest.raises(ValueError, match="k=0"):
        vislib.knn_accuracy(x, y, k=0)
    with pytest.raises(ValueError, match="folds"):
        vislib.knn_accuracy(x, y, folds=1)
    with pytest.raises(ValueError, match="labels"):
        vislib.knn_accuracy(x, y[:-1])


def test_fc7_beats_pixels_on_the_trained_offline_model(fashion, fashion_data):
    xt, yt = fashion_data.test
    x, y = xt[:400, :, :, None].astype("float32"), yt[:400]
    acc_fc7 = vislib.knn_accuracy(vislib.features(fashion, x), y)
    acc_px = vislib.knn_accuracy(x.reshape(len(x), -1) / 255.0, y)
    assert acc_fc7 >= acc_px + 0.05, (acc_fc7, acc_px)


def test_plot_embedding_with_thumbnails(fashion_data):
    import matplotlib.pyplot as plt
    xt, yt = fashion_data.test
    pts = np.random.default_rng(0).normal(size=(20, 2)).astype("float32")
    ax = vislib.plot_embedding(pts, yt[:20], class_names=fashion_data.class_names,
                               thumbnails=xt[:20], max_thumbnails=5)
    from matplotlib.offsetbox import AnnotationBbox
    assert sum(isinstance(a, AnnotationBbox) for a in ax.artists) == 5
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="thumbnails"):
        vislib.plot_embedding(pts, yt[:20], thumbnails=xt[:3])


def test_pca_of_wide_data_matches_scikit_learn_up_to_sign():
    # more columns than rows (raw pixels of photos): the Gram-matrix path
    from sklearn.decomposition import PCA
    rng = np.random.default_rng(0)
    f = (rng.normal(size=(40, 20000)) + rng.normal(size=(40, 1)) * rng.normal(size=(1, 20000))).astype(np.float32)
    ours = vislib.embed(f, method="pca", n_components=5)
    ref = PCA(n_components=5, svd_solver="full").fit_transform(f)
    signs = np.sign((ours * ref).sum(axis=0))
    assert ours.shape == (40, 5) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref * signs, atol=1e-3 * np.abs(ref).max())


def test_tsne_runs_on_one_openmp_thread_and_restores_the_limit(monkeypatch):
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_info

    def openmp_threads():
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"]

    before = openmp_threads()
    seen = []
    fit = TSNE.fit_transform

    def spy(self, X, *args, **kwargs):
        seen.append(openmp_threads())
        return fit(self, X, *args, **kwargs)

    monkeypatch.setattr(TSNE, "fit_transform", spy)
    x, _ = _blobs(n_per=10)
    vislib.embed(x, perplexity=5)
    assert seen and seen[0] and all(n == 1 for n in seen[0])   # inside t-SNE: one thread
    assert openmp_threads() == before               # the caller's setting is back
