"""Headless notebook execution shared by ``make html`` and ``make bench``.

:func:`client` is ``nbclient.NotebookClient`` with one workaround.
jupyter_client's async ``get_msg`` waits for the next message in a single
``zmq.asyncio`` poll as long as the cell timeout. With pyzmq 27.3 and
jupyter_client 8.10 that poll sometimes misses the wakeup of the socket (the
zmq file descriptor is edge-triggered) and returns only when the timeout
expires: measured here, the execute reply of a cell that had finished in
0.2 s (``benchmarks/course.py``, lesson 02 under ``mobilenet_v2``) was
delivered exactly 240 s later, the cell timeout, and with no timeout the run
waited forever while kernel and client were idle. A fresh poll checks the
socket's pending messages first, so polling in short slices bounds such a
miss to :data:`SLICE_S`.
"""

from __future__ import annotations

import time
from queue import Empty

from jupyter_client.channels import AsyncZMQSocketChannel
from nbclient import NotebookClient

SLICE_S = 0.5


async def _sliced_get_msg(self, timeout: float | None = None):
    """``get_msg`` that polls at most :data:`SLICE_S` at a time until ``timeout``."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = SLICE_S if deadline is None else min(SLICE_S, max(0.0, deadline - time.monotonic()))
        if await self.socket.poll(int(left * 1000) or 0):
            return await self._recv()
        if deadline is not None and time.monotonic() >= deadline:
            raise Empty


AsyncZMQSocketChannel.get_msg = _sliced_get_msg


def client(nb, **kwargs) -> NotebookClient:
    """A ``NotebookClient`` for ``nb`` (kwargs as for ``NotebookClient``)."""
    return NotebookClient(nb, **kwargs)
