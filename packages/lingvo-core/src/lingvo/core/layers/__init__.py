"""Lingvo's layers, one family module each, re-exported: `layers.ProjectionLayer`."""

from lingvo.core.layers.convolutions import (
    ConvLayer,
    PoolingLayer,
)
from lingvo.core.layers.dropouts import (
    DeterministicDropoutLayer,
    DropoutLayer,
)
from lingvo.core.layers.embeddings import (
    PositionalEmbeddingLayer,
    SimpleEmbeddingLayer,
)
from lingvo.core.layers.linears import (
    FCLayer,
    FeedForwardNet,
    ProjectionLayer,
)
from lingvo.core.layers.normalizations import (
    BatchNormLayer,
    LayerNorm,
)
from lingvo.core.layers.softmaxes import (
    SharedSoftmaxLayer,
    SimpleFullSoftmax,
)

__all__ = [
    "BatchNormLayer",
    "ConvLayer",
    "DeterministicDropoutLayer",
    "DropoutLayer",
    "FCLayer",
    "FeedForwardNet",
    "LayerNorm",
    "PoolingLayer",
    "PositionalEmbeddingLayer",
    "ProjectionLayer",
    "SharedSoftmaxLayer",
    "SimpleEmbeddingLayer",
    "SimpleFullSoftmax",
]
