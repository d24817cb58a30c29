"""Lesson 11 · Class-model visualization: reference solutions and one plausible wrong answer per exercise.

Each value is Python code that replaces the student's `name = None` line of the exercise
cell (see tools/solutions.py): "solution" must pass its `vislib.check`, "wrong" must fail it.
"""

EXERCISES = {
    "answer_1": {
        "solution": '"softmax"',
        "wrong": '"logit"',
        "why": "the logit S_c does not depend on the other classes' scores",
    },
    "answer_2": {
        "solution": "int(np.argsort(cm.logits(vis.image.astype(np.float32))[0])[-2])",
        "wrong": "int(np.argsort(cm.logits(vis.image.astype(np.float32))[0])[1])",
        "why": "np.argsort sorts from low to high: index 1 is the second *lowest* logit",
    },
    "answer_3": {
        "solution": "float(cm.logits(vis.frames[-1].astype(np.float32))[0, target] "
                    "- cm.logits(vis.frames[0].astype(np.float32))[0, target])",
        "wrong": "float(cm.predict(vis.frames[-1].astype(np.float32))[0, target] "
                 "- cm.predict(vis.frames[0].astype(np.float32))[0, target])",
        "why": "the rise of the probability, not of the logit",
    },
    "answer_4": {
        "solution": "max(inversions, key=lambda n: inversions[n].pixel_error.mean())",
        "wrong": "min(inversions, key=lambda n: inversions[n].pixel_error.mean())",
        "why": "the smallest pixel error: the layer that kept the most of the photo, not the least",
    },
}
