"""LeNet5 on MNIST for PyPI lingvo 0.14.2, the reference side of the `lenet5` benchmark.

The lingvo wheel ships no `tasks/*/params`, so `--model=image.mnist.LeNet5` fails there. With
this folder on PYTHONPATH, `--model=mnist.LeNet5` finds this module instead. It is written
for Lingvo's API from the description of its quick start (the same hyperparameters as our
`image.mnist.LeNet5`), not copied from Lingvo. The data bundle's prefix comes from the
environment variable `LENET5_DATA` (or `input.ckpt : <prefix>` in `--model_params_override`).
Image summaries are off: they fail with matplotlib 3.11, and our model draws none.
"""

import os

from lingvo import model_registry
from lingvo.core import base_model_params, optimizer, schedule
from lingvo.tasks.image import classifier, input_generator

DATA = os.environ.get("LENET5_DATA", "/tmp/mnist/mnist")


class Base(base_model_params.SingleTaskModelParams):
    """The MNIST datasets: Train repeats forever, Test (and Dev) is one pass."""

    def Train(self):
        p = input_generator.MnistTrainInput.Params()
        p.ckpt = DATA
        return p

    def Test(self):
        p = input_generator.MnistTestInput.Params()
        p.ckpt = DATA
        return p

    def Dev(self):
        return self.Test()


@model_registry.RegisterSingleTaskModel
class LeNet5(Base):
    """Two 5x5 conv/pool blocks (20 and 50 filters), a 300-wide ReLU layer, softmax over 10."""

    def Task(self):
        p = classifier.ModelV1.Params()
        p.name = "lenet5"
        p.filter_shapes = [(5, 5, 1, 20), (5, 5, 20, 50)]
        p.window_shapes = [(2, 2), (2, 2)]
        p.batch_norm = False
        p.dropout_prob = 0.2
        p.add_image_summary = False
        p.softmax.input_dim = 300
        p.softmax.num_classes = 10
        p.train.save_interval_seconds = 10
        p.train.learning_rate = 1e-4
        p.train.optimizer = optimizer.Adam.Params().Set(beta1=0.9, beta2=0.999, epsilon=1e-6)
        p.train.lr_schedule = (
            schedule.LinearRampupExponentialDecayScaledByNumSplitSchedule.Params().Set(
                warmup=100, decay_start=100000, decay_end=1000000, min=0.1
            )
        )
        p.eval.samples_per_summary = 0
        return p
