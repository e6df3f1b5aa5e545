"""MNIST experiments: LeNet5, Lingvo's quick start."""

from __future__ import annotations

from lingvo import model_registry
from lingvo.core import base_model_params, optimizer, schedule
from lingvo.tasks.image import classifier, input_generator

# Where `python -m lingvo.trainer.tools.mnist --out=/tmp/mnist` writes the data.
DEFAULT_DATA = "/tmp/mnist/mnist"


class Base(base_model_params.SingleTaskModelParams):
    """The MNIST datasets: training examples shuffled forever, the test set once a pass."""

    def Train(self):
        """The training set, batches of 256, repeated."""
        p = input_generator.MnistInput.Params()
        p.name = "Train"
        p.ckpt = DEFAULT_DATA
        return p

    def Test(self):
        """The test set, one whole pass per evaluation."""
        p = input_generator.MnistInput.Params()
        p.name = "Test"
        p.ckpt = DEFAULT_DATA
        p.data = "x_test"
        p.label = "y_test"
        p.num_samples = 10000
        p.repeat = False
        return p

    def Dev(self):
        """The test set again, as in Lingvo (MNIST has no separate dev set)."""
        return self.Test().Set(name="Dev")


@model_registry.RegisterSingleTaskModel
class LeNet5(Base):
    """LeNet5 on MNIST: two 5x5 conv/pool blocks, a 300-wide ReLU layer, softmax over 10."""

    def Task(self):
        """LeNet5's task params."""
        p = classifier.ModelV1.Params()
        p.name = "lenet5"
        p.filter_shapes = [(5, 5, 1, 20), (5, 5, 20, 50)]
        p.window_shapes = [(2, 2), (2, 2)]
        p.batch_norm = False
        p.dropout_prob = 0.2
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
