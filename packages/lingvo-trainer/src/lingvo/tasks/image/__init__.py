"""Lingvo's image task family: the MNIST LeNet5 quick start that ships with the trainer."""
