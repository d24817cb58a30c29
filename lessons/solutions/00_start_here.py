"""Lesson 00 · Start here: reference solutions and one plausible wrong answer per exercise.

Each value is Python code that replaces the student's `name = None` line of the exercise
cell (see tools/solutions.py): "solution" must pass its `vislib.check`, "wrong" must fail it.
"""

EXERCISES = {
    "n_params": {
        "solution": "sum(int(np.prod(w.shape)) for w in cm.model.weights)",
        "wrong": "len(cm.model.weights)",
        "why": "counts the weight arrays, not the numbers in them",
    },
    "second": {
        "solution": "cm.class_names[int(np.argsort(probs_all[0])[-2])]",
        "wrong": "cm.class_names[int(np.argsort(probs_all[0])[1])]",
        "why": "np.argsort sorts from low to high: index 1 is the second *least* likely class",
    },
    "input_hw": {
        "solution": "tuple(cm.input_shape[:2])",
        "wrong": "tuple(cm.input_shape)",
        "why": "keeps the channel axis: (height, width, channels)",
    },
}
