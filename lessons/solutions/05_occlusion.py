"""Lesson 05 · Occlusion: reference solutions and one plausible wrong answer per exercise.

Each value is Python code that replaces the student's `name = None` line of the exercise
cell (see tools/solutions.py): "solution" must pass its `vislib.check`, "wrong" must fail it.
"""

EXERCISES = {
    "n_passes": {
        # the coarse grid has one cell per patch position, i.e. per forward pass
        "solution": "int(vislib.occlusion_grid(cm, images[:1], target[:1], patch=H // 4, stride=H // 8)[0].size)",
        "wrong": "((H - H // 4) // (H // 8)) ** 2",
        "why": "off by one: forgets the first position of the patch",
    },
    "worst_cell": {
        "solution": "divmod(int(np.argmax(grids[0])), grids[0].shape[1])",
        "wrong": "divmod(int(np.argmin(grids[0])), grids[0].shape[1])",
        "why": "the smallest drop (or a rise) of the probability, not the largest",
    },
    "prob_map": {
        "solution": 'vislib.occlusion(cm, images[:1], target[:1], patch=PATCH, stride=STRIDE, output="probability")[0]',
        "wrong": "maps[0]",
        "why": "the drop of the probability, not the probability itself",
    },
}
