"""Lesson 08 · Grad-CAM: reference solutions and one plausible wrong answer per exercise.

Each value is Python code that replaces the student's `name = None` line of the exercise
cell (see tools/solutions.py): "solution" must pass its `vislib.check`, "wrong" must fail it.
"""

EXERCISES = {
    "alpha0": {
        "solution": "dA[0].sum(axis=(0, 1)) / (dA.shape[1] * dA.shape[2])",
        "wrong": "dA[0].mean(axis=-1)",
        "why": "averages over the channels (one value per position) instead of over the positions",
    },
    "coarse_width": {
        "solution": "A.shape[2]",
        "wrong": "A.shape[-1]",
        "why": "the number of feature maps, not the width",
    },
    "least_map": {
        "solution": "vislib.gradcam(cm, images[:1], int(order[0, -1]))[0]",
        "wrong": "vislib.gradcam(cm, images[:1], int(order[0, 0]))[0]",
        "why": "the most likely class, not the least",
    },
    "against": {
        "solution": "to01(upsample(np.maximum((-alpha[0] * A[0]).sum(-1), 0)[None], cm.input_size))[0]",
        "wrong": "to01(upsample(np.maximum((alpha[0] * A[0]).sum(-1), 0)[None], cm.input_size))[0]",
        "why": "forgets to negate the weights: the ordinary Grad-CAM map",
    },
}
