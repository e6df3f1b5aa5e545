"""MT encoders: `TransformerEncoder` and the bidirectional-LSTM `MTEncoderBiRNN` (RNMT+).

Both take a batch-major `src` (`ids` and `paddings` shaped [batch, time]) and return a
`NestedMap` of time-major tensors: `encoded` [time, batch, dim] and `padding` [time, batch]
(1.0 where padded), plus `embedded_inputs` [time, batch, dim] for the Transformer.
"""

from __future__ import annotations

import tensorflow as tf

from lingvo.core import base_layer, hyperparams, weights
from lingvo.core.layers import embeddings, linears, rnn_cells, rnn_layers
from lingvo.core.layers import transformers as transformer_layers
from lingvo.core.nested_map import NestedMap
from lingvo.tasks.mt import _input_embedding

__all__ = ["MTEncoderBiRNN", "TransformerEncoder"]


def _TimeMajor(src: NestedMap, dtype: tf.dtypes.DType) -> tuple[tf.Tensor, tf.Tensor]:
    """Returns `(ids, paddings)` of a batch-major `src`, transposed to [time, batch]."""
    ids = tf.transpose(tf.convert_to_tensor(src.ids))
    paddings = tf.transpose(tf.cast(src.paddings, dtype))
    return ids, paddings


class TransformerEncoder(base_layer.BaseLayer):
    """Token embedding times sqrt(model_dim), sinusoidal positions, dropout, N layers.

    Children: `token_emb` (`SimpleEmbeddingLayer`), `position_emb`, `input_dropout` and
    `transformer_stack` (`StackedTransformerLayers`; pre-layer-norm layers, no final layer
    norm unless `transformer_stack.ln_output`).
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the encoder params (vocabulary and depths are set by the caller)."""
        p = super().Params()
        _input_embedding.DefineParams(p)
        p.Define(
            "transformer_stack",
            transformer_layers.StackedTransformerLayers.Params().Set(num_layers=6),
            "The Transformer layers; model_dim is set here.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        d = p.model_dim
        _input_embedding.CreateChildren(self)
        self.CreateChild("transformer_stack", p.transformer_stack.Copy().Set(model_dim=d))

    def FProp(self, theta: NestedMap, input_batch: NestedMap) -> NestedMap:
        """Encodes a batch of source sequences.

        Args:
          theta: This layer's theta.
          input_batch: A `NestedMap` with `ids` (int) and `paddings` shaped [batch, time].

        Returns:
          `NestedMap(encoded=[time, batch, model_dim], padding=[time, batch],
          embedded_inputs=[time, batch, model_dim])`.
        """
        ids, paddings = _TimeMajor(input_batch, self.fprop_dtype)
        emb = self.token_emb.EmbLookup(theta.token_emb, ids)
        pos = self.position_emb.FProp(theta.position_emb, tf.shape(ids)[0])
        inputs = emb + tf.cast(pos, emb.dtype)[:, tf.newaxis, :]
        inputs = self.input_dropout.FProp(theta.input_dropout, inputs)
        encoded, padding = self.transformer_stack.FProp(theta.transformer_stack, inputs, paddings)
        return NestedMap(encoded=encoded, padding=padding, embedded_inputs=emb)


class MTEncoderBiRNN(base_layer.BaseLayer):
    """Embedding, `num_lstm_layers` bidirectional LSTM layers, an optional projection.

    Every layer's output is dropped out; layers from `residual_start` on add their input.
    When the layers' output depth (2 * lstm_cell_size) differs from `encoder_out_dim`, a
    linear projection with bias (`final_proj`) maps to it. Children: `emb`, `dropout`,
    `rnn` (a list of `BidirectionalFRNN`) and `final_proj`.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the encoder params with Lingvo's defaults."""
        p = super().Params()
        p.Define(
            "emb",
            embeddings.SimpleEmbeddingLayer.Params(),
            "The token embedding params (vocab_size and embedding_dim are set by the caller).",
        )
        p.Define("lstm_tpl", rnn_cells.LSTMCellSimple.Params(), "The template of every LSTM cell.")
        p.Define("num_lstm_layers", 8, "The number of bidirectional LSTM layers.")
        p.Define("lstm_cell_size", 512, "The number of units of each direction's LSTM.")
        p.Define("encoder_out_dim", 1024, "The depth of the encoder's output.")
        p.Define("dropout_prob", 0.0, "The dropout probability of the embeddings and layers.")
        p.Define("residual_start", 2, "The index of the first layer with a residual connection.")
        p.Define("unidi_rnn_type", "func", "Kept for Lingvo params compatibility; unused.")
        p.params_init = weights.WeightInit.Uniform(0.04)
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        self.CreateChild("emb", p.emb.Copy())
        self.CreateChild("dropout", _input_embedding.DropoutParams(p.dropout_prob))
        rnns = []
        for i in range(p.num_lstm_layers):
            input_dim = p.emb.embedding_dim if i == 0 else 2 * p.lstm_cell_size
            cell = p.lstm_tpl.Copy().Set(
                num_input_nodes=input_dim, num_output_nodes=p.lstm_cell_size
            )
            rnns.append(
                rnn_layers.BidirectionalFRNN.Params().Set(
                    name=f"layer_{i}", fwd=cell.Copy(), bak=cell.Copy()
                )
            )
        self.CreateChildren("rnn", rnns)
        if 2 * p.lstm_cell_size != p.encoder_out_dim:
            self.CreateChild(
                "final_proj",
                linears.ProjectionLayer.Params().Set(
                    input_dim=2 * p.lstm_cell_size,
                    output_dim=p.encoder_out_dim,
                    has_bias=True,
                    activation="NONE",
                ),
            )

    def FProp(self, theta: NestedMap, input_batch: NestedMap) -> NestedMap:
        """Encodes a batch of source sequences.

        Args:
          theta: This layer's theta.
          input_batch: A `NestedMap` with `ids` (int) and `paddings` shaped [batch, time].

        Returns:
          `NestedMap(encoded=[time, batch, encoder_out_dim], padding=[time, batch])`.
        """
        p = self.params
        ids, paddings = _TimeMajor(input_batch, self.fprop_dtype)
        x = self.emb.EmbLookup(theta.emb, ids)
        x = self.dropout.FProp(theta.dropout, x)
        for i, (rnn, rnn_theta) in enumerate(zip(self.rnn, theta.rnn, strict=True)):
            y = rnn.FProp(rnn_theta, x, paddings)
            y = self.dropout.FProp(theta.dropout, y)
            x = x + y if i >= p.residual_start else y
        if 2 * p.lstm_cell_size != p.encoder_out_dim:
            x = self.final_proj.FProp(theta.final_proj, x)
        # Padded steps carry the recurrent state; zero them so nothing leaks downstream.
        x *= (1.0 - paddings)[..., tf.newaxis]
        return NestedMap(encoded=x, padding=paddings)
