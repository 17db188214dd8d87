"""The equal-compute study and the dense transfer study built on it: one
entry point, ``run.py`` (``run.py -h`` lists its commands)."""
