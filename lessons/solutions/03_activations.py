"""Lesson 03 · Activations: reference solutions and one plausible wrong answer per exercise.

Each value is Python code that replaces the student's `name = None` line of the exercise
cell (see tools/solutions.py): "solution" must pass its `vislib.check`, "wrong" must fail it.
"""

EXERCISES = {
    "n_numbers": {
        "solution": "int(acts[layer_name][0].size)",
        "wrong": "int(acts[layer_name].shape[-1])",
        "why": "counts the channels only, not height x width x channels",
    },
    "strongest": {
        "solution": "int(np.argmax(A[0].mean(axis=(0, 1))))",
        "wrong": "int(np.argmax(A[0].sum(axis=-1).ravel()))",
        "why": "sums over the channel axis: the result is the strongest position, not a channel",
    },
    "shrink": {
        "solution": "heights[0] / heights[-1]",
        "wrong": "heights[-1] / heights[0]",
        "why": "upside down: the last layer's height over the first's",
    },
}
