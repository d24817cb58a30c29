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
