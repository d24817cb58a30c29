"""Peak memory: building and loading big Keras models, plain Keras vs the
memory-lean path vislib uses (``vislib/_core/weightops.py``, issue: Binder's 2 GB).

Building VGG16 with Keras initialises every kernel through a random draw and
a scaled copy; loading the ImageNet ``.h5`` file with Keras' order-based
loader copies each array twice more. vislib builds the large kernels as zeros
(``_weights.zero_init``) and then draws (``fill_glorot``) or reads
(``load_h5``) each one into a buffer the variable takes over. This measures
the peak resident memory (``VmHWM`` of ``/proc/self/status``, MB) of each
step for both, every step in a fresh Python process (a peak only rises):

* import only: ``tensorflow`` + ``keras`` (keras column), plus ``vislib``
  (vislib column), once for all profiles;
* build (random): ``keras.applications.VGG16(weights=None)`` vs
  ``vislib.load_model(name, weights=None)``;
* load .h5: Keras build + ``model.load_weights(path)`` vs
  ``zero_init`` build + ``_weights.load_h5(net, path)`` (what
  ``load_model(name)`` does with the ImageNet file), from a legacy-format
  weights file of a random model written by a preparation process into a
  temporary directory (the ImageNet files cannot be downloaded everywhere);
* forward pass after build: in the build processes, after resetting the peak
  (``clear_refs`` 5), two compiled calls (``tf.function``) at batch 2: the
  peak's increase over the resident memory before the calls (MB) and the
  seconds of the second call.

Linux only (``/proc``). Usage:
``python benchmarks/memory.py [--profiles vgg16 mobilenet_v2] [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_all import machine  # noqa: E402  (one description of the machine for every benchmark)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILDERS = {"vgg16": "VGG16", "mobilenet_v2": "MobileNetV2", "resnet50": "ResNet50"}
FORWARD_BATCH = 2


# --- run in the child processes ------------------------------------------------

def _status(key: str) -> float:
    """``VmHWM``/``VmRSS`` of this process in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {key} in /proc/self/status")


def _keras_builder(profile: str):
    import keras
    return getattr(keras.applications, BUILDERS[profile])


def _forward(model) -> dict:
    """Reset the peak, then two compiled forward passes at batch 2."""
    import numpy as np
    import tensorflow as tf
    shape = tuple(int(d) for d in model.input_shape[1:])
    x = tf.constant(np.random.default_rng(0).uniform(-1, 1, (FORWARD_BATCH, *shape)).astype(np.float32))
    fn = tf.function(lambda b: model(b, training=False))
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS
    before = _status("VmRSS")
    np.asarray(fn(x))
    start = time.perf_counter()
    np.asarray(fn(x))
    seconds = time.perf_counter() - start
    return {"forward_mb": _status("VmHWM") - before, "forward_s": seconds, "rss_before_mb": before}


def child(step: str, profile: str = "", path: str = "") -> dict:
    """One measurement; returns ``{"peak_mb": ..., ...}``."""
    if step == "import_keras":
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
        return {"peak_mb": _status("VmHWM")}
    if step == "import_vislib":
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
        import vislib  # noqa: F401
        return {"peak_mb": _status("VmHWM")}
    if step == "keras_build":
        model = _keras_builder(profile)(weights=None)
        out = {"peak_mb": _status("VmHWM")}
        out.update(_forward(model))
        return out
    if step == "vislib_build":
        import vislib
        model = vislib.load_model(profile, weights=None).model
        out = {"peak_mb": _status("VmHWM")}
        out.update(_forward(model))
        return out
    if step == "prepare":
        import h5py
        from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group
        model = _keras_builder(profile)(weights=None)
        with h5py.File(path, "w") as f:
            save_weights_to_hdf5_group(f, model)
        return {"peak_mb": _status("VmHWM"), "file_mb": os.path.getsize(path) / 2**20}
    if step == "keras_load":
        model = _keras_builder(profile)(weights=None)
        model.load_weights(path)
        return {"peak_mb": _status("VmHWM")}
    if step == "vislib_load":
        from vislib._core import weightops as _weights
        with _weights.zero_init():
            net = _keras_builder(profile)(weights=None)
        _weights.load_h5(net, path)
        return {"peak_mb": _status("VmHWM")}
    raise ValueError(f"unknown step {step!r}")


# --- run in the parent ---------------------------------------------------------

def _run(step: str, profile: str = "", path: str = "") -> dict:
    """:func:`child` in a fresh Python process; its result is the last line of
    its stdout."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE), os.environ.get("PYTHONPATH", "")]))
    code = ("import json, memory; "
            f"print(json.dumps(memory.child({step!r}, {profile!r}, {path!r})))")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"{step} {profile} failed (exit {proc.returncode}):\n{tail}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_s"] = time.perf_counter() - start
    return out


def bench(profile: str, tmpdir: str) -> dict:
    """All the measurements of one profile."""
    res = {"keras_build": _run("keras_build", profile),
           "vislib_build": _run("vislib_build", profile)}
    path = os.path.join(tmpdir, f"{profile}_random.h5")
    try:
        res["prepare"] = _run("prepare", profile, path)
        res["keras_load"] = _run("keras_load", profile, path)
        res["vislib_load"] = _run("vislib_load", profile, path)
    finally:
        if os.path.exists(path):
            os.remove(path)
    return res


def table(results: dict) -> str:
    """The markdown table of :func:`main`'s raw results."""
    rows = ["| profile | step | keras MB | vislib MB | note |", "|---|---|---:|---:|---|"]
    imp = results.get("import")
    if imp:
        rows.append(f"| (all) | import only | {imp['keras']['peak_mb']:.0f} | {imp['vislib']['peak_mb']:.0f} "
                    "| keras: tensorflow + keras; vislib: also vislib |")
    for profile, r in results["profiles"].items():
        kb, vb, kl, vl = r["keras_build"], r["vislib_build"], r["keras_load"], r["vislib_load"]
        rows.append(f"| {profile} | build (random) | {kb['peak_mb']:.0f} | {vb['peak_mb']:.0f} "
                    f"| vislib {vb['peak_mb'] - kb['peak_mb']:+.0f} MB |")
        rows.append(f"| {profile} | load .h5 | {kl['peak_mb']:.0f} | {vl['peak_mb']:.0f} "
                    f"| vislib {vl['peak_mb'] - kl['peak_mb']:+.0f} MB; file {r['prepare']['file_mb']:.0f} MB |")
        rows.append(f"| {profile} | forward pass after build (increase) | {kb['forward_mb']:.0f} "
                    f"| {vb['forward_mb']:.0f} | batch {FORWARD_BATCH}, 2nd call: keras {kb['forward_s']:.2f} s, "
                    f"vislib {vb['forward_s']:.2f} s |")
    return "\n".join(rows)


def main(argv=None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profiles", nargs="*", default=["vgg16", "mobilenet_v2"])
    ap.add_argument("--json", default=None, help="write the raw numbers to this file")
    args = ap.parse_args(argv)
    profiles = [p for p in args.profiles if p in BUILDERS]  # fashion_*: small, not the question
    start = time.time()
    results = {"machine": machine().replace("\n", "; ").replace("- ", ""), "forward_batch": FORWARD_BATCH,
               "import": {"keras": _run("import_keras"), "vislib": _run("import_vislib")},
               "profiles": {}}
    tmpdir = tempfile.mkdtemp(prefix="vislib_memory_")
    try:
        for p in profiles:
            results["profiles"][p] = bench(p, tmpdir)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    results["seconds"] = time.time() - start
    text = table(results)
    print(text)
    print()
    print(f"note: peak resident memory (VmHWM), each step in a fresh process; load .h5 reads a legacy-format "
          f"weights file of a random model (the ImageNet files' format); {results['machine']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return text


if __name__ == "__main__":
    main()
