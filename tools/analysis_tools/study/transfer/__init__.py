"""The dense transfer study (``run.py transfer``) and its RoI-head probe
(``run.py probe``): the equal-compute study's rows fine-tuned on
Fashion-MNIST scenes."""
