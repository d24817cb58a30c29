"""Lesson 10 · Transfer learning: reference solutions and one plausible wrong answer per exercise.

Each value is Python code that replaces the student's `name = None` line of the exercise
cell (see tools/solutions.py): "solution" must pass its `vislib.check`, "wrong" must fail it.
"""

EXERCISES = {
    "gain": {
        "solution": 'res.test_accuracy["transfer"] - res.test_accuracy["scratch"]',
        "wrong": 'res.test_accuracy["scratch"] - res.test_accuracy["transfer"]',
        "why": "the difference the wrong way round",
    },
    "base_shape": {
        "solution": "tuple(cm.model.get_layer(BASE).output.shape[1:])",
        "wrong": "tuple(cm.model.get_layer(BASE).output.shape)",
        "why": "keeps the batch axis (None)",
    },
    "first_pred": {
        "solution": "int(np.argmax(res.transfer.predict(x_test[:1])[0]))",
        "wrong": "int(res.transfer.predict(x_test[:1]).argmax(axis=0)[0])",
        "why": "argmax over the batch axis (one image: always 0), not over the classes",
    },
}
