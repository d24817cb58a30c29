"""Fooling a network: FGSM and its iterative form, universal perturbations, noise."""

