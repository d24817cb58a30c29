"""Lesson 02 · t-SNE of FC7: reference solutions and one plausible wrong answer per exercise.

Each value is Python code that replaces the student's `name = None` line of the exercise
cell (see tools/solutions.py): "solution" must pass its `vislib.check`, "wrong" must fail it.
"""

EXERCISES = {
    "dim": {
        "solution": "F.shape[-1]",
        "wrong": "F.shape[0]",
        "why": "the number of images, not of numbers per image",
    },
    "same_class": {
        "solution": "int(sum(labels[j] == labels[3] for j in vislib.nearest_neighbors(F, 3, k=5)))",
        "wrong": "int((labels[vislib.nearest_neighbors(F, 3, k=5)] == 3).sum())",
        "why": "compares with class 3 instead of the class of image 3",
    },
    "acc_1nn": {
        "solution": 'vislib.knn_accuracy(F, labels, k=1, metric="cosine")',
        "wrong": 'vislib.knn_accuracy(F, labels, metric="cosine")',
        "why": "keeps the default k=5",
    },
}
