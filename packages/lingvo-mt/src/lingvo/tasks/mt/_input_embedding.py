"""The Transformer input front end shared by the MT encoder and decoder: tokens + positions."""

from __future__ import annotations

import math
from typing import Any

from lingvo.core import hyperparams, weights
from lingvo.core.layers import dropouts, embeddings


def DropoutParams(prob: float) -> hyperparams.InstantiableParams:
    """Returns `DropoutLayer` params dropping with probability `prob`."""
    return dropouts.DropoutLayer.Params().Set(keep_prob=1.0 - prob)


def DefineParams(p: hyperparams.Params) -> None:
    """Defines `token_emb`, `position_emb`, `model_dim` and `input_dropout_prob` on `p`."""
    p.Define(
        "token_emb",
        embeddings.SimpleEmbeddingLayer.Params().Set(scale_sqrt_depth=True),
        "The token embedding params; its embedding_dim is set to model_dim.",
    )
    p.Define(
        "position_emb",
        embeddings.PositionalEmbeddingLayer.Params(),
        "The sinusoidal position embedding params; its embedding_dim is set to model_dim.",
    )
    p.Define("model_dim", 512, "The depth of the embeddings and of every layer.")
    p.Define("input_dropout_prob", 0.0, "The dropout probability of the summed embeddings.")


def CreateChildren(layer: Any) -> None:
    """Creates the `token_emb`, `position_emb` and `input_dropout` children of `layer`.

    A token embedding left at the default init gets Gaussian(1 / sqrt(model_dim)), which with
    the sqrt(model_dim) scale gives unit-variance embeddings, as Lingvo's Transformer does.
    """
    p = layer.params
    d = p.model_dim
    emb = p.token_emb.Copy().Set(embedding_dim=d)
    if weights.IsDefaultParamInit(emb.params_init):
        emb.params_init = weights.WeightInit.Gaussian(1.0 / math.sqrt(d))
    layer.CreateChild("token_emb", emb)
    layer.CreateChild("position_emb", p.position_emb.Copy().Set(embedding_dim=d))
    layer.CreateChild("input_dropout", DropoutParams(p.input_dropout_prob))
