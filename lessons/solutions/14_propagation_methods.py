"""Lesson 14 · Propagation methods: reference solutions and one plausible wrong answer per exercise.

Each value is Python code that replaces the student's `name = None` line of the exercise
cell (see tools/solutions.py): "solution" must pass its `vislib.check`, "wrong" must fail it.
"""

EXERCISES = {
    "lrp_class1": {
        "solution": "lrp_epsilon(x, W1, b1, lrp_epsilon(a1, W2, b2, np.eye(2)[1] * z2[1]))",
        "wrong": "lrp_epsilon(x, W1, b1, lrp_epsilon(a1, W2, b2, np.eye(2)[0] * z2[0]))",
        "why": "distributes class 0's score, not class 1's",
    },
    "forward_blind": {
        "solution": '"deconvnet"',
        "wrong": '"guided"',
        "why": "guided backprop gates on the forward input as well",
    },
    "ig_total": {
        "solution": "float(cm.logits(images[:1])[0, top1[0]] - cm.logits(np.zeros_like(images[:1]))[0, top1[0]])",
        "wrong": "float(cm.logits(images[:1])[0, top1[0]])",
        "why": "forgets the score of the black baseline",
    },
    "zplus_kept": {
        "solution": "float(relevance['zplus'][0].sum() / score[0])",
        "wrong": "float(relevance['epsilon'][0].sum() / score[0])",
        "why": "the epsilon rule's share, not z+'s",
    },
}
