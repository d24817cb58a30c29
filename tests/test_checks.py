"""Argument checks at the numpy boundary."""

import numpy as np
import pytest

import vislib
from vislib._core import checks as _checks


def test_as_batch_shapes_and_copies():
    img = np.zeros((4, 5, 3), np.uint8)
    out = _checks.as_batch(img, (4, 5, 3), (0, 255))
    assert out.shape == (1, 4, 5, 3) and out.dtype == np.float32
    arr = np.ones((2, 4, 5, 3), np.float32)
    out = _checks.as_batch(arr, (4, 5, 3))
    assert np.shares_memory(out, arr)  # float32 is not copied just to be read...
    with pytest.raises(ValueError, match="read-only"):
        out[:] = 7  # ...and cannot be written through
    assert arr.max() == 1 and arr.flags.writeable  # the caller's array is never modified
    ints = np.ones((2, 4, 5, 3), np.uint8)
    out = _checks.as_batch(ints, (4, 5, 3))
    out[:] = 7  # converted: a copy of its own
    assert ints.max() == 1
    assert _checks.as_batch(np.zeros((2, 4, 5)), (4, 5, 1)).shape == (2, 4, 5, 1)
    assert _checks.as_batch([img, img], (4, 5, 3)).shape == (2, 4, 5, 3)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((4, 5, 1)), "channel"), (np.zeros((3, 5, 3)), "4x5"), (np.zeros((0, 4, 5, 3)), "empty"),
    (np.zeros((1, 1, 4, 5, 3)), "shape"), (np.full((4, 5, 3), 300.0), "range"),
    (np.full((4, 5, 3), np.nan), "NaN"), ([], "empty"), (None, "None"), (np.array(["a"]), "numeric"),
])
def test_as_batch_rejects(bad, match):
    with pytest.raises(ValueError, match=match):
        _checks.as_batch(bad, (4, 5, 3), (0, 255))


def test_targets():
    assert list(_checks.targets(None, 2, 5, np.array([3, 1]))) == [3, 1]
    assert list(_checks.targets(2, 3, 5)) == [2, 2, 2]
    assert list(_checks.targets([0, 4], 2, 5)) == [0, 4]
    for bad in (5, -1, [1], [1, 2, 3], "a", 1.5):
        with pytest.raises(ValueError):
            _checks.targets(bad, 2, 5)


def test_choice_and_range():
    assert _checks.choice("a", ["a", "b"], "x") == "a"
    with pytest.raises(ValueError, match=r"\['a', 'b'\]"):
        _checks.choice("c", ["a", "b"], "x")
    assert _checks.in_range(3, 1, 5, "k", integer=True) == 3
    for bad in (0, 6, 2.5, "3", True, float("nan")):
        with pytest.raises(ValueError, match="k"):
            _checks.in_range(bad, 1, 5, "k", integer=True)


def test_claim_raises_only_on_measured_profiles(capsys):
    assert vislib.claim("efficientnet_lite0", True, "holds") is True
    with pytest.raises(AssertionError, match="claim failed on efficientnet_lite0: peak inside"):
        vislib.claim("efficientnet_lite0", False, "peak inside")
    assert vislib.claim("vgg16", False, "peak inside") is False  # a user's lesson goes on
    out = capsys.readouterr().out
    assert "✓ holds" in out and "✗ peak inside: not so on vgg16" in out
