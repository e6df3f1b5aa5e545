"""Lingvo's layers, one family module each, re-exported: `layers.ProjectionLayer`."""

from lingvo.core.layers.attentions import (
    AdditiveAttention,
    DotProductAttention,
    LocationSensitiveAttention,
    MultiHeadedAttention,
)
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
from lingvo.core.layers.rnn_cells import (
    LayerNormalizedLSTMCellSimple,
    LSTMCellSimple,
    RNNCell,
)
from lingvo.core.layers.rnn_layers import (
    FRNN,
    BidirectionalFRNN,
    StackedFRNNLayerByLayer,
)
from lingvo.core.layers.softmaxes import (
    SharedSoftmaxLayer,
    SimpleFullSoftmax,
)
from lingvo.core.layers.softmaxes_sampled import SampledSoftmax
from lingvo.core.layers.transformers import (
    StackedTransformerLayers,
    TransformerAttentionLayer,
    TransformerFeedForwardLayer,
    TransformerLayer,
)

__all__ = [
    "FRNN",
    "AdditiveAttention",
    "BatchNormLayer",
    "BidirectionalFRNN",
    "ConvLayer",
    "DeterministicDropoutLayer",
    "DotProductAttention",
    "DropoutLayer",
    "FCLayer",
    "FeedForwardNet",
    "LSTMCellSimple",
    "LayerNorm",
    "LayerNormalizedLSTMCellSimple",
    "LocationSensitiveAttention",
    "MultiHeadedAttention",
    "PoolingLayer",
    "PositionalEmbeddingLayer",
    "ProjectionLayer",
    "RNNCell",
    "SampledSoftmax",
    "SharedSoftmaxLayer",
    "SimpleEmbeddingLayer",
    "SimpleFullSoftmax",
    "StackedFRNNLayerByLayer",
    "StackedTransformerLayers",
    "TransformerAttentionLayer",
    "TransformerFeedForwardLayer",
    "TransformerLayer",
]
