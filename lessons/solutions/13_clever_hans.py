"""Lesson 13 · Clever Hans: reference solutions and one plausible wrong answer per exercise.

Each value is Python code that replaces the student's `name = None` line of the exercise
cell (see tools/solutions.py): "solution" must pass its `vislib.check`, "wrong" must fail it.
"""

EXERCISES = {
    "flagged_class": {
        "solution": 'classes[int(np.nanargmin(fits["occlusion"].object_fit))]',
        "wrong": 'flags["occlusion"][0]',
        "why": "the class index, not its name",
    },
    "corner_rate": {
        "solution": 'float(np.mean(hans.predict(ch.add_mark(xt[others], ch.Mark(position="bottom-right"))).argmax(1) '
                    "== marked))",
        "wrong": "float(np.mean(hans.predict(ch.add_mark(xt[others], mark)).argmax(1) == marked))",
        "why": "pastes the mark where it was in training (top-left)",
    },
    "clean_shirt_acc": {
        "solution": "float(rep.without_mark[marked])",
        "wrong": "float(rep.with_mark[marked])",
        "why": "the accuracy with the mark, as in training",
    },
    "z_shirt": {
        "solution": "\n".join([
            'F = fits["occlusion"].object_fit',
            "med = np.nanmedian(F)",
            "z_shirt = 0.6745 * (F[marked] - med) / np.nanmedian(np.abs(F - med))",
        ]),
        "wrong": "\n".join([
            'F = fits["occlusion"].object_fit',
            "z_shirt = (F[marked] - np.nanmean(F)) / np.nanstd(F)",
        ]),
        "why": "the ordinary z-score (mean and standard deviation), which the outlier itself inflates",
    },
    "lowest_layer": {
        "solution": 'min(tcav_layers, key=lambda layer: tcav_results["clean", layer].score)',
        "wrong": 'max(tcav_layers, key=lambda layer: tcav_results["clean", layer].score)',
        "why": "the layer with the highest score, where the mark pushes Shirt up the most",
    },
}
