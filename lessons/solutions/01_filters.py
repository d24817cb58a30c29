"""Lesson 01 · Filters: reference solutions and one plausible wrong answer per exercise.

Each value is Python code that replaces the student's `name = None` line of the exercise
cell (see tools/solutions.py): "solution" must pass its `vislib.check`, "wrong" must fail it.
"""

EXERCISES = {
    "n_weights": {
        "solution": "int(np.prod(layer.kernel.shape)) + (int(np.prod(layer.bias.shape)) if layer.use_bias else 0)",
        "wrong": "int(np.prod(layer.kernel.shape[:2])) * int(layer.kernel.shape[3])",
        "why": "kh * kw * F: forgets the input channels and the biases",
    },
    "n_slices": {
        "solution": "int(cm.model.get_layer(cm.conv_layers[1]).kernel.shape[-2])",
        "wrong": "int(cm.model.get_layer(cm.conv_layers[1]).kernel.shape[-1])",
        "why": "the last kernel axis counts the filters, not the input channels",
    },
    "edge_filter": {
        "solution": "\n".join([
            "img = np.zeros((1, *cm.input_shape), np.float32)",
            "img[:, :, cm.input_size[1] // 2:] = 255.0            # columns: dark left, bright right",
            "edge_filter = int(np.argmax(vislib.activations(cm, img, cm.first_conv)[cm.first_conv][0].sum(axis=(0, 1))))",
        ]),
        "wrong": "\n".join([
            "img = np.zeros((1, *cm.input_shape), np.float32)",
            "img[:, :, cm.input_size[1] // 2:] = 255.0",
            "edge_filter = int(np.argmax(vislib.activations(cm, img, cm.first_conv)[cm.first_conv][0].sum(axis=(1, 2))))",
        ]),
        "why": "sums over a spatial axis and the channels: the argmax is a row of the map, not a channel",
    },
}
