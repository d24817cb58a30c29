"""Lesson 04 · Max-activating patches: reference solutions and one plausible wrong answer per exercise.

Each value is Python code that replaces the student's `name = None` line of the exercise
cell (see tools/solutions.py): "solution" must pass its `vislib.check`, "wrong" must fail it.
"""

EXERCISES = {
    "answer_1": {
        # r = 1; each layer adds (kernel - 1) * jump, jump = product of the strides below it
        "solution": "1 + (3 - 1) * 1 + (2 - 1) * 1 + (3 - 1) * 2",
        "wrong": "1 + (3 - 1) + (2 - 1) + (3 - 1)",
        "why": "forgets that the pooling doubles the jump of the conv after it",
    },
    "answer_2": {
        "solution": "vislib.receptive_field(cm, layers[-1]).jump[0]",
        "wrong": "vislib.receptive_field(cm, layers[-1]).size[0]",
        "why": "the field's size, not the distance between neighbouring fields",
    },
    "answer_3": {
        "solution": "max(scan(layers[1])[0], key=lambda p: p.value).image_index",
        "wrong": "max(scan(layers[1])[0], key=lambda p: p.value).position[0]",
        "why": "the patch's row in the feature map, not the image it comes from",
    },
}
