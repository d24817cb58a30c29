"""The private core every part of vislib stands on: argument checks, the model graph, gradients,
batching, seeds, configuration. It imports nothing above it."""

