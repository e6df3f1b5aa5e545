"""Experiments of a downstream research package, registered with Lingvo's model registry.

A real package would declare `[project.entry-points."lingvo.model_params"]
my_research = "my_research.translation"` so `lingvo-trainer` finds it without being told.
"""

import tensorflow as tf

from lingvo import model_registry
from lingvo.params import Params, SingleTaskModelParams


def _attention(num_heads: int, dim: int) -> Params:
    p = Params()
    p.Define("num_heads", num_heads, "Number of attention heads.")
    p.Define("dim", dim, "Model dimension the heads split.")
    p.Define("atten_dropout_prob", 0.1, "Dropout on the attention probabilities.")
    return p


def _stack(num_layers: int, dim: int, hidden_dim: int) -> Params:
    p = Params()
    p.Define("num_layers", num_layers, "Number of Transformer layers.")
    p.Define("hidden_dim", hidden_dim, "Width of each feed-forward sub-layer.")
    p.Define("attention", _attention(8, dim), "The self-attention of every layer.")
    p.Define("activation", "RELU", "Feed-forward activation.")
    return p


@model_registry.RegisterSingleTaskModel
class TinyTranslation(SingleTaskModelParams):
    """A small Transformer translation configuration."""

    @classmethod
    def Task(cls) -> Params:
        p = Params()
        p.Define("name", "tiny_translation", "Name of the task.")
        p.Define("dtype", tf.float32, "Variable dtype.")
        p.Define("model_dim", 256, "Model dimension.")
        p.Define("vocab_size", 128, "Size of the (character) vocabulary.")
        p.Define("encoder", _stack(4, 256, 1024), "The encoder stack.")
        p.Define("decoder", _stack(4, 256, 1024), "The decoder stack.")
        p.Define("buckets", [10, 20, 40, 80], "Bucket upper bounds of the input.")
        p.Define("train", Params(), "Training settings.")
        p.train.Define("learning_rate", 1.0, "Peak learning-rate scale.")
        p.train.Define("warmup_steps", 4000, "Transformer schedule warm-up steps.")
        p.train.Define("max_steps", 100_000, "Training stops after this many steps.")
        return p


@model_registry.RegisterSingleTaskModel
class TinyTranslationWide(TinyTranslation):
    """The same, with a wider feed-forward layer: the way Lingvo users derive experiments."""

    @classmethod
    def Task(cls) -> Params:
        p = super().Task()
        p.encoder.hidden_dim = p.decoder.hidden_dim = 2048
        return p
