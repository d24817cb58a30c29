"""Lesson 12 · Evaluating explanations: reference solutions and one plausible wrong answer per exercise.

Each value is Python code that replaces the student's `name = None` line of the exercise
cell (see tools/solutions.py): "solution" must pass its `vislib.check`, "wrong" must fail it.
"""

EXERCISES = {
    "best_insertion": {
        "solution": 'max(results, key=lambda k: mean[k]["insertion_auc"])',
        "wrong": 'min(results, key=lambda k: mean[k]["insertion_auc"])',
        "why": "the lowest insertion AUC: for insertion, higher is better",
    },
    "gradcam_mean_auc": {
        "solution": 'metrics.insertion_auc(cm, images[0], maps["Grad-CAM"][0], int(target[0]), steps, baseline="mean")',
        "wrong": 'metrics.insertion_auc(cm, images[0], maps["Grad-CAM"][0], int(target[0]), steps)',
        "why": "keeps the default start, the blurred image",
    },
    "stubborn": {
        "solution": "max(last_step, key=last_step.get)",
        "wrong": "min(last_step, key=last_step.get)",
        "why": "the map that changed most, not the one that stayed most similar",
    },
    "overlap": {
        "solution": 'metrics.agreement(maps["saliency"][0], metrics.box_mask(boxes[0], (H, W))).top_overlap',
        "wrong": 'metrics.agreement(maps["saliency"][0].T, metrics.box_mask(boxes[0], (H, W))).top_overlap',
        "why": "the transposed map: rows and columns swapped",
    },
}
