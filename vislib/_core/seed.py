"""Seeded blocks that leave the caller's random state as they found it.

Training a course model or running activation maximisation must be
reproducible, but a library function that reseeds Python, NumPy, TensorFlow
and Keras as a side effect changes what the student's *next* cell draws
(``keras.utils.set_random_seed`` is global). :func:`seeded` seeds all four
for one block and then restores them.
"""

from __future__ import annotations

import contextlib
import random
from typing import Iterator

import numpy as np


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block under ``keras.utils.set_random_seed(seed)``, then restore
    Python's and NumPy's generator states, TensorFlow's global seed and Keras'
    global seed and ``SeedGenerator``.

    TensorFlow's op-level seed counter cannot be read back; after the block
    the global seed is set again to its old value (or, if none was set, left
    unset by drawing from a fresh context), which is what its later random
    ops depend on.
    """
    import keras
    import tensorflow as tf
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils import rng_utils
    from tensorflow.python.eager import context

    py_state, np_state = random.getstate(), np.random.get_state()
    k_seed = global_state.get_global_attribute(rng_utils.GLOBAL_RANDOM_SEED)
    k_gen = global_state.get_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR)
    tf_seed = context.global_seed()
    keras.utils.set_random_seed(int(seed))
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, k_seed)
        global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, k_gen)
        tf.random.set_seed(tf_seed)


__all__ = ["seeded"]
