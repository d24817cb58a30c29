"""Self-checking exercises: :func:`check` compares a student's answer with
the expected one and says what is wrong, without stopping the notebook."""

from __future__ import annotations

import numpy as np


def check(answer, expected, tol: float = 1e-4, hint: str = "", name: str = "exercise") -> bool | None:
    """Compare ``answer`` with ``expected`` and print a verdict.

    Args:
        answer: The student's value; ``None`` means "not answered yet".
        expected: The right value: a number, array, string, set or a
            predicate ``callable(answer) -> bool``.
        tol: Relative and absolute tolerance for numbers and arrays.
        hint: Shown when the answer is wrong or missing.
        name: Shown in the verdict.

    Returns:
        True (right), False (wrong) or None (not answered).
    """
    if answer is None or answer is Ellipsis:
        print(f"{name}: not answered yet." + (f" Hint: {hint}" if hint else ""))
        return None
    try:
        if callable(expected):
            ok = bool(expected(answer))
        elif isinstance(expected, str):
            ok = str(answer).strip().lower() == expected.strip().lower()
        elif isinstance(expected, (set, frozenset)):
            ok = set(answer) == expected
        else:
            a, e = np.asarray(answer, dtype=float), np.asarray(expected, dtype=float)
            ok = a.shape == e.shape and bool(np.allclose(a, e, rtol=tol, atol=tol))
    except (TypeError, ValueError) as err:
        print(f"{name}: could not compare your answer ({err})." + (f" Hint: {hint}" if hint else ""))
        return False
    print(f"{name}: {'correct!' if ok else 'not quite.'}" + ("" if ok or not hint else f" Hint: {hint}"))
    return ok


#: profiles on which the lessons' real-weight thresholds were measured (and CI checks them)
MEASURED_ON = ("efficientnet_lite0",)


def claim(cm, ok, statement: str, measured_on=MEASURED_ON) -> bool:
    """State a property the lesson's text relies on, and check it on the running profile.

    Lessons say things like "Grad-CAM's peak falls inside the box on most
    photos". Such a sentence is only true for some networks, so each lesson
    checks it where it stands. On a profile whose thresholds were measured
    (``measured_on``: the offline real network that CI runs) a false claim
    raises ``AssertionError``, so CI fails; on another real-weight profile
    (VGG16, MobileNetV2, ResNet50 downloaded by users, whose figures cannot be
    measured offline) it prints that the claim did not hold here instead of
    stopping the student's lesson.

    Args:
        cm: The active :class:`vislib.CourseModel` (or its name).
        ok: Whether the property holds (anything ``bool()`` accepts).
        statement: The property in words, with the measured figures.
        measured_on: Profile names on which a false claim is an error.

    Returns:
        ``bool(ok)``.

    Raises:
        AssertionError: ``ok`` is false on a profile in ``measured_on``.
    """
    name = cm if isinstance(cm, str) else getattr(cm, "name", str(cm))
    ok = bool(ok)
    if ok:
        print(f"✓ {statement}")
    elif name in measured_on:
        raise AssertionError(f"claim failed on {name}: {statement}")
    else:
        print(f"✗ {statement}: not so on {name}. The threshold was measured on {', '.join(measured_on)}; "
              "networks differ, so look at the figures above.")
    return ok
