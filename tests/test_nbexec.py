"""tools.nbexec: the notebook runner of ``make html`` and ``make bench`` polls
the kernel's sockets in short slices, so a missed zmq wakeup costs at most one
slice instead of the whole cell timeout."""

from __future__ import annotations

import asyncio
import time
from queue import Empty

import pytest

from tools import nbexec


class _Socket:
    """Poll reports nothing ``misses`` times (a missed wakeup), then a message."""

    def __init__(self, misses):
        self.misses, self.timeouts = misses, []

    async def poll(self, timeout_ms):
        self.timeouts.append(timeout_ms)
        await asyncio.sleep(timeout_ms / 1000 / 50)  # time passes (scaled down)
        if self.misses is None:
            return 0
        self.misses -= 1
        return 1 if self.misses < 0 else 0


class _Channel:
    def __init__(self, misses):
        self.socket = _Socket(misses)

    async def _recv(self):
        return {"msg_type": "execute_reply"}


def test_a_missed_wakeup_costs_one_slice_not_the_timeout():
    ch = _Channel(misses=3)
    msg = asyncio.run(nbexec._sliced_get_msg(ch, timeout=240))
    assert msg["msg_type"] == "execute_reply"
    assert len(ch.socket.timeouts) == 4                       # re-polled, did not wait 240 s
    assert max(ch.socket.timeouts) <= nbexec.SLICE_S * 1000


def test_timeout_still_raises_empty():
    ch = _Channel(misses=None)
    start = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(nbexec._sliced_get_msg(ch, timeout=0.3))
    assert time.monotonic() - start >= 0.3


def test_installed_on_jupyter_client():
    from jupyter_client.channels import AsyncZMQSocketChannel
    assert AsyncZMQSocketChannel.get_msg is nbexec._sliced_get_msg
