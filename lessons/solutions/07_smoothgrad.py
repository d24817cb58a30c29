"""Lesson 07 · SmoothGrad: reference solutions and one plausible wrong answer per exercise.

Each value is Python code that replaces the student's `name = None` line of the exercise
cell (see tools/solutions.py): "solution" must pass its `vislib.check`, "wrong" must fail it.
"""

EXERCISES = {
    "sigma_20": {
        "solution": "0.2 * (cm.pixel_range[1] - cm.pixel_range[0])",
        "wrong": "0.2",
        "why": "the noise level, not yet in grey levels",
    },
    "sg_guided": {
        "solution": "vislib.smoothgrad(cm, images[:1], samples=5, seed=0, method=vislib.guided_backprop)[0]",
        "wrong": "vislib.smoothgrad(cm, images[:1], samples=5, seed=0)[0]",
        "why": "SmoothGrad of the plain gradient (the default method)",
    },
    "r_gain": {
        "solution": "agreement[max(ns)] - agreement[min(ns)]",
        "wrong": "agreement[ns[-1]] - agreement[ns[1]]",
        "why": "off by one: starts from 2 samples instead of 1",
    },
}
