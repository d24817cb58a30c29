"""Forward passes: eager Keras calls vs the compiled ones vislib uses, by
batch size (issue: course performance).

Every lesson under an ImageNet profile spends much of its time pushing images
through the network (features, activations, predictions, occlusion copies).
This measures images per second for MobileNetV2 and VGG16 (random weights,
224x224, 2 CPU cores in CI) when the model is called eagerly
(``model(x, training=False)``) and through ``vislib._core.graph.compiled_forward``
(one ``tf.function``, traced once for every batch size), and marks the batch
size vislib picks by default (``batch_size_for(model, kind="forward")``).

Usage: ``python benchmarks/inference.py [--profiles mobilenet_v2 vgg16] [--images 32]``
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

BATCHES = (1, 4, 16)


def _rate(fn, x: np.ndarray, bs: int) -> float:
    fn(x[:bs])  # warm-up (tracing excluded)
    start = time.perf_counter()
    for i in range(0, len(x), bs):
        np.asarray(fn(x[i:i + bs]))
    return len(x) / (time.perf_counter() - start)


def bench(profile: str, n_images: int) -> list[str]:
    import vislib
    from vislib._core import graph as _graph
    course = vislib.load_model(profile, weights=None)
    x = np.asarray(course.preprocess(np.random.default_rng(0).uniform(
        0, 255, (n_images, *course.input_size, course.channels)).astype(np.float32)), np.float32)
    model, default = course.model, _graph.batch_size_for(course.model, kind="forward")
    compiled = _graph.compiled_forward(model)
    rows = []
    for bs in sorted(set(BATCHES) | {default}):
        eager = _rate(lambda b: model(b, training=False), x, bs)
        comp = _rate(lambda b: compiled(b)[1], x, bs)
        mark = " (vislib default)" if bs == default else ""
        rows.append(f"| {profile} | {bs}{mark} | {eager:.1f} | {comp:.1f} | {comp / eager:.1f}x |")
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profiles", nargs="*", default=["mobilenet_v2", "vgg16"])
    ap.add_argument("--images", type=int, default=32)
    args = ap.parse_args(argv)
    print("| profile | batch | eager images/s | compiled images/s | speed-up |")
    print("|---|---:|---:|---:|---:|")
    for p in args.profiles:
        if p.startswith("fashion"):
            continue  # 28x28: both are fast; the question is about 224x224 networks
        for row in bench(p, args.images):
            print(row, flush=True)
    print()
    print("note: random weights (weights=None) cost the same as the real ones; one timed pass over "
          f"{args.images} images after a warm-up call at each batch size")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
