"""The offline course models: small networks vislib trains on Fashion-MNIST.

A *recipe* (architecture + training settings) is hashed together with the
TensorFlow and Keras versions and the code that builds and trains it
(:func:`build`, :func:`compile_classifier`, :func:`train`, the data
preparation, the seeding); the trained model is cached as
``$KERAS_HOME/vislib/<name>-<hash>.keras``. An unchanged recipe loads in about
a second; a changed recipe, a change to that code or another TensorFlow/Keras
version retrains, so a stale model is never reused. Training runs inside
:func:`vislib._core.seed.seeded` (the caller's random state is restored
afterwards): the same recipe gives the same weights on the same machine.

* ``fashion_cnn``: VGG-style (two conv blocks, dense ``fc6``, ``fc7``,
  ``predictions``), the course's offline stand-in for VGG16.
* ``fashion_gap``: a different architecture (three conv layers, global average
  pooling, ``predictions``), the offline stand-in for a CAM-able network and
  the second model for cross-model adversarial transfer.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import functools
import hashlib
import inspect
import json
import sys
import textwrap
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import keras
import numpy as np
from keras import layers as L

from .._core import checks, graph, seed
from .._core.config import budget, cache_dir
from .._core.course_model import CourseModel, deprocess_for, unit_preprocess
from .._core.progress import TqdmCallback
from .._core.seed import seeded
from ..data import marks
from ..data.datasets import FASHION_CLASSES, fashion_mnist
from ..data.marks import MARKED_CLASS, Mark, confound


@dataclass(frozen=True)
class Recipe:
    """Everything that determines a trained course model (hashed for the cache)."""

    name: str
    arch: str
    widths: tuple[int, ...]
    dense: tuple[int, ...] = ()
    epochs: int = 2
    batch_size: int = 128
    learning_rate: float = 1e-3
    seed: int = 0
    train_limit: int | None = None
    data: str = "fashion_mnist"
    extra: dict = field(default_factory=dict)

    def digest(self) -> str:
        """12 hex digits of SHA-256 over the recipe's fields, the TensorFlow and
        Keras versions (:func:`versions`) and the normalised source of the code
        that builds, trains and prepares the data for it (:func:`recipe_code`)."""
        blob = json.dumps(asdict(self), sort_keys=True, default=str)
        code = source_hash(*recipe_code(self))
        return hashlib.sha256(f"{blob}|{versions()}|{code}".encode()).hexdigest()[:12]


RECIPES: dict[str, Recipe] = {
    "fashion_cnn": Recipe(name="fashion_cnn", arch="vgg", widths=(32, 64), dense=(256, 128), epochs=4),
    "fashion_gap": Recipe(name="fashion_gap", arch="gap", widths=(32, 64, 128), epochs=3,
                          learning_rate=2e-3),
}


def versions() -> str:
    """The library versions a trained or converted model depends on, e.g.
    ``"tensorflow 2.21.0; keras 3.15.1"`` (read at call time)."""
    import tensorflow as tf
    return f"tensorflow {tf.__version__}; keras {keras.__version__}"


def _normalised_source(obj) -> str:
    """The source of a function, class or module with comments, docstrings and
    layout removed (``ast.unparse``), so that only a change to what the code
    does changes it. Without source (a frozen install): the module file's
    bytes, else the qualified name."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    except (OSError, TypeError, SyntaxError):
        module = inspect.getmodule(obj)
        path = getattr(module, "__file__", None)
        try:
            return Path(path).read_bytes().hex() if path else repr(obj)
        except OSError:
            return f"{getattr(module, '__name__', '')}.{getattr(obj, '__qualname__', repr(obj))}"
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree)


@functools.lru_cache(maxsize=64)
def _source_digest(obj) -> str:
    return hashlib.sha256(_normalised_source(obj).encode()).hexdigest()


def source_hash(*objects) -> str:
    """SHA-256 (hex) over the normalised source of ``objects`` (functions,
    classes or modules), in order: changes when their code changes, not when
    a comment or docstring does."""
    return hashlib.sha256("|".join(_source_digest(o) for o in objects).encode()).hexdigest()


def recipe_code(recipe: Recipe) -> list:
    """The code a trained model of ``recipe`` depends on: model building,
    compiling, training, seeding and data preparation (for the Clever Hans
    data, :mod:`vislib.data.marks`' marking and this module's splitting too). Looked up at
    call time, so a replaced function counts as changed code."""
    this = sys.modules[__name__]
    code = [this.build, this.compile_classifier, this.train,
            this._train_and_cache, seed.seeded]
    if recipe.data == "fashion_mnist_marked":
        code += [marks.Mark, marks.add_mark, marks.confound, this._split, this._mark_from, this.load_or_train_marked]
    return code


def build(recipe: Recipe, input_shape=(28, 28, 1), num_classes: int = 10) -> keras.Model:
    """Build (untrained) the functional model a recipe describes."""
    inp = keras.Input(input_shape, name="input")
    x = inp
    if recipe.arch == "vgg":
        for b, width in enumerate(recipe.widths, start=1):
            x = L.Conv2D(width, 3, padding="same", activation="relu", name=f"block{b}_conv1")(x)
            x = L.MaxPooling2D(name=f"block{b}_pool")(x)
        x = L.Flatten(name="flatten")(x)
        for i, units in enumerate(recipe.dense):
            x = L.Dense(units, activation="relu", name=f"fc{6 + i}")(x)
            if i == 0:
                x = L.Dropout(0.3, name="drop6")(x)
    elif recipe.arch == "gap":
        for b, width in enumerate(recipe.widths, start=1):
            x = L.Conv2D(width, 3, padding="same", activation="relu", name=f"conv{b}")(x)
            if b < len(recipe.widths):
                x = L.MaxPooling2D(name=f"pool{b}")(x)
        x = L.GlobalAveragePooling2D(name="gap")(x)
    else:
        raise ValueError(f"unknown architecture {recipe.arch!r}; valid: ['vgg', 'gap']")
    out = L.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name=recipe.name)


def compile_classifier(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    """Compile for sparse-label classification, Adam, accuracy metric.

    ``jit_compile=False``: Keras 3's default ("auto") turns on XLA, which
    makes these small CNNs about 2-3x slower per epoch on CPU (measured:
    130 s vs 40 s per Fashion-MNIST epoch on 2 cores).
    """
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=False)
    return model


def cache_path(recipe: Recipe) -> Path:
    """Where the trained model of ``recipe`` is cached."""
    return cache_dir() / f"{recipe.name}-{recipe.digest()}.keras"


def train(recipe: Recipe, x: np.ndarray, y: np.ndarray, x_val=None, y_val=None,
          verbose: bool = True) -> tuple[keras.Model, dict]:
    """Train ``recipe`` on preprocessed inputs; returns (model, history dict).

    Seeded with ``recipe.seed`` (:func:`vislib._core.seed.seeded`: the caller's
    random state is restored afterwards): two runs with the same recipe and
    data gave identical weights on this machine's CPU (0 of 856,074 values
    differ). TensorFlow's op determinism is not switched on: it added nothing
    on CPU, changed the model and cannot be switched off through a public API.
    """
    with seeded(recipe.seed):
        model = build(recipe, input_shape=x.shape[1:], num_classes=int(y.max()) + 1)
        compile_classifier(model, recipe.learning_rate)
        steps = int(np.ceil(len(x) / recipe.batch_size))
        callbacks = [TqdmCallback(recipe.epochs, steps, desc=f"training {recipe.name}")] if verbose else []
        val = (x_val, y_val) if x_val is not None else None
        hist = model.fit(x, y, batch_size=recipe.batch_size, epochs=recipe.epochs,
                         validation_data=val, verbose=0, callbacks=callbacks, shuffle=True)
    return model, hist.history


def load_or_train(name: str = "fashion_cnn", verbose: bool = True,
                  data_fn: Callable | None = None) -> keras.Model:
    """The trained course model ``name``, from the cache or trained now.

    Args:
        name: A key of :data:`RECIPES`.
        verbose: Print a line and show a progress bar when training.
        data_fn: Returns ((x_train, y_train), (x_test, y_test)) as uint8;
            default Fashion-MNIST via :func:`vislib.data.fashion_mnist`.

    Raises:
        ValueError: Unknown recipe name.
    """
    if name not in RECIPES:
        raise ValueError(f"unknown course model {name!r}; valid: {sorted(RECIPES)}")
    recipe = RECIPES[name]
    path = cache_path(recipe)
    with _lock(path):  # two kernels starting at once train once
        if path.exists():
            try:
                return keras.models.load_model(path, compile=False)
            except Exception as err:  # a truncated cache file: retrain
                print(f"vislib: cached {path.name} unreadable ({err}); retraining")
        return _train_and_cache(name, recipe, path, verbose, data_fn)


@contextlib.contextmanager
def _lock(path: Path):
    """An exclusive file lock next to ``path`` (no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    with open(path.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _train_and_cache(name: str, recipe: Recipe, path: Path, verbose: bool,
                     data_fn: Callable | None) -> keras.Model:
    if data_fn is None:
            data_fn = lambda: fashion_mnist()[:2]  # noqa: E731
    (x, y), (xt, yt) = data_fn()
    x = x.astype("float32")[..., None] / 255.0
    if recipe.train_limit:
        x, y = x[: recipe.train_limit], y[: recipe.train_limit]
    if verbose:
        print(f"vislib: training the offline course model {name!r} once "
              f"(about 2 minutes on 2 CPU cores); it is cached at {path}")
    start = time.time()
    model, _ = train(recipe, x, y, verbose=verbose)
    seconds = time.time() - start
    acc = float(model.evaluate(xt.astype("float32")[..., None] / 255.0, yt, verbose=0,
                               batch_size=512)[1])
    tmp = path.with_suffix(".tmp.keras")
    model.save(tmp)
    tmp.replace(path)
    path.with_suffix(".json").write_text(json.dumps(
        {"recipe": asdict(recipe), "versions": versions(), "test_accuracy": acc,
         "train_seconds": round(seconds, 1)},
        indent=1, default=str))
    if verbose:
        print(f"vislib: {name} trained in {seconds:.0f} s, test accuracy {acc:.4f}")
    return keras.models.load_model(path, compile=False)


def training_report(name: str = "fashion_cnn") -> dict | None:
    """The accuracy and training time recorded when ``name`` was trained, if cached."""
    meta = cache_path(RECIPES[name]).with_suffix(".json")
    return json.loads(meta.read_text()) if meta.exists() else None


# ------------------------------------------------- the Clever Hans model (lesson 13)
def marked_recipe(mark: Mark = Mark(), marked_class: int = MARKED_CLASS, train_limit: int | None = None,
                  epochs: int | None = None):
    """The confounded training recipe: the offline ``fashion_cnn`` architecture
    trained on a Fashion-MNIST subset whose ``marked_class`` images carry ``mark``.

    The subset is ``vislib.budget(24000, 12000)`` images, 2 epochs (about
    15-30 s on 2 CPU cores). The recipe is hashed with the versions and the
    code that builds, marks and trains (:func:`vislib.models.offline.recipe_code`),
    so the trained model is cached like the course models.
    """
    mark.box()  # validate
    checks.in_range(marked_class, 0, 9, "marked_class", integer=True)
    limit = train_limit if train_limit is not None else budget(24000, 12000)
    checks.in_range(limit, 100, 60000, "train_limit", integer=True)
    epochs = epochs if epochs is not None else 2
    checks.in_range(epochs, 1, 50, "epochs", integer=True)
    return dataclasses.replace(RECIPES["fashion_cnn"], name="clever_hans", epochs=int(epochs),
                               train_limit=int(limit), data="fashion_mnist_marked",
                               extra={"marked_class": int(marked_class), "mark": mark.as_dict(),
                                      "validation": 2000})


def _split(rec) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Seeded training subset and validation split, both carrying the confound."""
    (x, y), _ = fashion_mnist()[:2]
    rng = np.random.default_rng(rec.seed)
    idx = rng.permutation(len(x))
    n_val = int(rec.extra["validation"])
    tr, va = idx[:rec.train_limit], idx[rec.train_limit:rec.train_limit + n_val]
    mark = _mark_from(rec.extra["mark"])
    c = rec.extra["marked_class"]
    xtr = confound(x[tr].astype(np.float32)[..., None], y[tr], c, mark)
    xva = confound(x[va].astype(np.float32)[..., None], y[va], c, mark)
    return (xtr, y[tr]), (xva, y[va])


def _mark_from(d: dict) -> Mark:
    pos = d["position"]
    return Mark(size=d["size"], position=pos if isinstance(pos, str) else tuple(pos),
                value=d["value"], margin=d["margin"])


def _course(net, rec, meta: dict):
    return CourseModel(
        model=net, name="clever_hans", input_size=(28, 28), channels=1,
        preprocess=unit_preprocess, deprocess=deprocess_for("unit"), preprocess_mode="unit",
        class_names=list(FASHION_CLASSES), conv_layers=graph.conv_layer_names(net),
        first_conv="block1_conv1", last_conv="block2_conv1", feature_layer="fc7", weights="trained",
        description=f"fashion_cnn architecture trained with a mark on every "
                    f"'{FASHION_CLASSES[rec.extra['marked_class']]}' image (Clever Hans)",
        extras={"marked_class": rec.extra["marked_class"], "mark": _mark_from(rec.extra["mark"]), **meta})


def load_or_train_marked(mark: Mark = Mark(), marked_class: int = MARKED_CLASS, train_limit: int | None = None,
                         epochs: int | None = None, verbose: bool = True):
    """The confounded model, from the cache or trained now (seconds, once).

    Args:
        mark: The mark painted on the ``marked_class`` training images.
        marked_class: The class whose images carry the mark (default 6, Shirt).
        train_limit: Training images (default ``vislib.budget(24000, 12000)``).
        epochs: Training epochs (default 2).
        verbose: Print a line and show a progress bar when training.

    Returns:
        A :class:`~vislib.CourseModel` named ``clever_hans``; its ``extras``
        hold the mark, the marked class, the validation accuracy (on data
        with the same confound) and the training time.
    """
    rec = marked_recipe(mark, marked_class, train_limit, epochs)
    path = cache_path(rec)
    meta_path = path.with_suffix(".json")
    with _lock(path):
        if path.exists() and meta_path.exists():
            try:
                net = keras.models.load_model(path, compile=False)
                return _course(net, rec, json.loads(meta_path.read_text()).get("metrics", {}))
            except Exception as err:  # a truncated cache file: retrain
                print(f"vislib: cached {path.name} unreadable ({err}); retraining")
        (x, y), (xv, yv) = _split(rec)
        if verbose:
            print(f"vislib: training the Clever Hans model on {len(x)} images for {rec.epochs} epochs "
                  f"(once; cached at {path})")
        start = time.time()
        net, hist = train(rec, x / 255.0, y, xv / 255.0, yv, verbose=verbose)
        seconds = time.time() - start
        meta = {"val_accuracy": float(hist["val_accuracy"][-1]), "train_seconds": round(seconds, 1),
                "train_images": int(len(x))}
        tmp = path.with_suffix(".tmp.keras")
        net.save(tmp)
        tmp.replace(path)
        meta_path.write_text(json.dumps({"recipe": dataclasses.asdict(rec), "versions": versions(),
                                         "metrics": meta}, indent=1, default=str))
        if verbose:
            print(f"vislib: trained in {seconds:.0f} s; validation accuracy (same confound) "
                  f"{meta['val_accuracy']:.3f}")
        return _course(keras.models.load_model(path, compile=False), rec, meta)
