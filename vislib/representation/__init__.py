"""What a network has learned: filters, activations, patches, receptive fields, embeddings,
activation maximization."""

