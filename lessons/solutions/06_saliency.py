"""Lesson 06 · Saliency: reference solutions and one plausible wrong answer per exercise.

Each value is Python code that replaces the student's `name = None` line of the exercise
cell (see tools/solutions.py): "solution" must pass its `vislib.check`, "wrong" must fail it.
"""

EXERCISES = {
    "second_map": {
        "solution": "vislib.saliency(cm, images[:1], int(top2[0]))[0]",
        "wrong": "vislib.saliency(cm, images[:1], int(top1[0]))[0]",
        "why": "the most likely class, not the second",
    },
    "mean_map": {
        "solution": "np.abs(grads[0]).mean(axis=-1)",
        "wrong": "np.abs(grads[0]).mean(axis=0)",
        "why": "averages over the rows instead of the colour channels",
    },
    "least_discriminative": {
        "solution": "max(mean_r, key=mean_r.get)",
        "wrong": "min(mean_r, key=mean_r.get)",
        "why": "the method whose maps changed most, the most class-discriminative",
    },
    "best_percentile": {
        "solution": "max(range(10, 100, 10), key=lambda p: iou_table(p)[:, 0].mean())",
        "wrong": "100 - max(range(10, 100, 10), key=lambda p: iou_table(p)[:, 0].mean())",
        "why": "the share of pixels kept in the mask, not the percentile of the threshold",
    },
}
