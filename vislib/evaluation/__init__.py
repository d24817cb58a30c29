"""Judging explanations: deletion/insertion, pointing game, sanity checks, Clever Hans."""

