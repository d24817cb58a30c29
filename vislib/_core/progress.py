"""Progress bars for waits longer than a few seconds (tqdm.auto: widgets in
Jupyter, text in a terminal)."""

from __future__ import annotations

from typing import Iterable, TypeVar

import keras
from tqdm.auto import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T], total: int | None = None, desc: str = "",
             show: bool = True) -> Iterable[T]:
    """Wrap ``iterable`` in a tqdm bar when ``show`` is true."""
    if not show:
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False)


class TqdmCallback(keras.callbacks.Callback):
    """One tqdm bar over all training batches, with loss and accuracy."""

    def __init__(self, epochs: int, steps: int, desc: str = "training") -> None:
        super().__init__()
        self._bar = tqdm(total=epochs * steps, desc=desc, leave=False, mininterval=0.5)
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        self._bar.update(1)
        if batch % 25:
            return
        post = {k: f"{float(v):.3f}" for k, v in logs.items() if k in ("loss", "accuracy")}
        self._bar.set_postfix(epoch=self._epoch + 1, **post)

    def on_train_end(self, logs=None):
        self._bar.close()
