"""The lesson helpers: the setup cell and self-checking exercises."""

