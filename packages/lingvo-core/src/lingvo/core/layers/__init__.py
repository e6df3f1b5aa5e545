"""Lingvo's layers, one family module each, re-exported: `layers.ProjectionLayer`."""

from lingvo.core.layers.linears import (
    FCLayer,
    FeedForwardNet,
    ProjectionLayer,
)

__all__ = [
    "FCLayer",
    "FeedForwardNet",
    "ProjectionLayer",
]
