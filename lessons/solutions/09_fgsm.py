"""Lesson 09 · FGSM: reference solutions and one plausible wrong answer per exercise.

Each value is Python code that replaces the student's `name = None` line of the exercise
cell (see tools/solutions.py): "solution" must pass its `vislib.check`, "wrong" must fail it.
"""

EXERCISES = {
    "eps_half": {
        "solution": 'min([e for e, r in zip(EPS, rates["FGSM"]) if r >= 0.5], default=0)',
        "wrong": 'max([e for e, r in zip(EPS, rates["FGSM"]) if r < 0.5], default=0)',
        "why": "off by one along the list: the largest epsilon that flips fewer than half",
    },
    "p_target": {
        "solution": "\n".join([
            "adv = vislib.iterative_fgsm(cm, images[:1], labels=8, epsilon=32, steps=STEPS, targeted=True)",
            "p_target = float(cm.predict(adv)[0, 8])",
        ]),
        "wrong": "\n".join([
            "adv = vislib.iterative_fgsm(cm, images[:1], labels=8, epsilon=32, steps=STEPS)",
            "p_target = float(cm.predict(adv)[0, 8])",
        ]),
        "why": "an untargeted attack: it moves away from class 8 instead of towards it",
    },
    "largest_change": {
        "solution": 'float(np.max(np.abs(ADV["fgsm", 8] - batch)))',
        "wrong": 'float(np.abs(ADV["fgsm", 8] - batch).mean())',
        "why": "the mean change, not the largest",
    },
}
