"""`pytest --nbval-lax lessons/` runs the student notebooks only: the solution notebooks
written here by `python -m tools.solutions write` are checked by tests/test_exercises.py."""

collect_ignore_glob = ["*.ipynb"]
