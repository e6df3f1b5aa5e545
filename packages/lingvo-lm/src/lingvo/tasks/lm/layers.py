"""Language-model layers: `RnnLm` (LSTM) and `TransformerLm` (causal self-attention).

Both take time-major ids shaped [time, batch] with paddings [time, batch] (1.0 where
padded) and labels `NestedMap(class_ids=[time, batch], class_weights=[time, batch])`, and
return the softmax's cross-entropy `NestedMap` (`logits`, `log_probs`, `per_example_xent`,
`per_example_argmax`, `total_xent`, `total_weight`, `avg_xent`) plus `last_hidden`, with the
recurrent or cached state after the sequence; in training, by default without `logits` and
`log_probs` (`train_softmax_on_weighted_positions_only`). `Step` runs one position at a time for
scoring prefixes and sampling.
"""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf

from lingvo.core import base_layer, hyperparams, weights
from lingvo.core import layers as core_layers
from lingvo.core.layers import embeddings
from lingvo.core.nested_map import NestedMap

__all__ = [
    "BaseLanguageModel",
    "RnnLm",
    "RnnLmNoEmbedding",
    "ShardedEmbeddingLayer",
    "TransformerLm",
]


class ShardedEmbeddingLayer(core_layers.SimpleEmbeddingLayer):
    """`SimpleEmbeddingLayer` whose table is split into `num_shards` row blocks.

    Variables: `wm` shaped [vocab_size, embedding_dim] with one shard (as the core layer),
    else `wm_<i>` shaped [ceil(vocab_size / num_shards), embedding_dim] for `i <
    num_shards`, concatenated along rows and cut to `vocab_size` at lookup. Lingvo shards
    the 793k-word lm1b embedding this way (8 shards) so that no single variable is huge.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the embedding params plus `num_shards`."""
        p = super().Params()
        p.Define("num_shards", 1, "The number of row blocks the embedding table is split into.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if not isinstance(p.num_shards, int) or not 0 < p.num_shards <= p.vocab_size:
            raise ValueError(f"{self}: num_shards must be in [1, vocab_size], got {p.num_shards!r}")

    def _CreateLayerVariables(self) -> None:
        p = self.params
        if p.num_shards == 1:
            super()._CreateLayerVariables()
            return
        base_layer.BaseLayer._CreateLayerVariables(self)
        rows = -(-p.vocab_size // p.num_shards)
        for i in range(p.num_shards):
            self.CreateVariable(
                f"wm_{i}", weights.WeightParams([rows, p.embedding_dim], p.params_init, p.dtype)
            )

    def AddGlobalVN(self, theta: NestedMap) -> NestedMap:
        p = self.params
        if p.num_shards == 1:
            return super().AddGlobalVN(theta)
        theta = base_layer.BaseLayer.AddGlobalVN(self, theta)
        for i in range(p.num_shards):
            theta[f"wm_{i}"] = self.AddVN(theta[f"wm_{i}"], f"wm_{i}")
        return theta

    def EmbLookup(self, theta: NestedMap, ids: Any) -> tf.Tensor:
        """Looks up `ids` shaped [...]; returns [..., embedding_dim]."""
        p = self.params
        if p.num_shards == 1:
            return super().EmbLookup(theta, ids)
        table = tf.concat([theta[f"wm_{i}"] for i in range(p.num_shards)], axis=0)
        out = embeddings.LookupIds(
            f"{type(self).__name__} {self.path!r}",
            table[: p.vocab_size],
            ids,
            p.vocab_size,
            p.use_matmul,
        )
        if p.scale_sqrt_depth:
            out *= math.sqrt(p.embedding_dim)
        return out


class BaseLanguageModel(base_layer.BaseLayer):
    """The interface of language-model layers used by `model.LanguageModel`."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the params shared by every language model."""
        p = super().Params()
        p.Define("vocab_size", 0, "The number of tokens of the vocabulary.")
        p.Define(
            "train_softmax_on_weighted_positions_only",
            True,
            "In training, run the softmax only on the positions whose label weight is "
            "positive (not on padding): the losses and gradients are the same, the softmax "
            "costs less. `per_example_xent` and `per_example_argmax` are 0 at the other "
            "positions, and `logits` and `log_probs` are left out. Evaluation always runs "
            "the softmax everywhere, as Lingvo does.",
        )
        return p

    def zero_state(self, theta: NestedMap, batch_size: Any) -> NestedMap:
        """Returns the state before the first position, for `batch_size` sequences."""
        raise NotImplementedError(f"{type(self).__name__}.zero_state")

    def FProp(
        self,
        theta: NestedMap,
        inputs: Any,
        paddings: Any,
        state0: NestedMap | None = None,
        labels: NestedMap | None = None,
    ) -> tuple[NestedMap, NestedMap]:
        """Runs the model over a whole sequence; see the module docstring."""
        raise NotImplementedError(f"{type(self).__name__}.FProp")


def _SoftmaxOut(
    layer: base_layer.BaseLayer, theta: NestedMap, hidden: tf.Tensor, labels: NestedMap | None
) -> NestedMap:
    """The softmax's cross-entropy fields for `labels`, or just logits without labels."""
    if labels is None:
        logits = layer.softmax.Logits(theta.softmax, hidden)
        out = NestedMap(logits=logits, log_probs=tf.nn.log_softmax(logits))
    elif layer.params.train_softmax_on_weighted_positions_only and not layer.do_eval:
        out = _SoftmaxOnWeightedPositions(layer, theta, hidden, labels)
    else:
        out = layer.softmax.FProp(
            theta.softmax,
            hidden,
            class_weights=labels.class_weights,
            class_ids=labels.class_ids,
        )
    out.last_hidden = hidden
    return out


def _SoftmaxOnWeightedPositions(
    layer: base_layer.BaseLayer, theta: NestedMap, hidden: tf.Tensor, labels: NestedMap
) -> NestedMap:
    """The softmax's cross-entropy over the positions with a positive label weight only.

    Padding is a quarter to a third of a bucketed batch, and the softmax (logits over the
    vocabulary, or the sampled candidates) is the largest part of a language model's
    step. Zero-weight positions add nothing to the totals or the gradients, so leaving
    them out changes neither; their `per_example_xent` and `per_example_argmax` read 0.
    """
    weights = tf.convert_to_tensor(labels.class_weights, hidden.dtype)
    class_ids = tf.convert_to_tensor(labels.class_ids)
    if class_ids.shape.rank == weights.shape.rank + 1:  # [..., 1] labels
        class_ids = tf.squeeze(class_ids, -1)
    if weights.shape.rank == hidden.shape.rank:  # [..., 1] weights
        weights = tf.squeeze(weights, -1)
    flat_weights = tf.reshape(weights, [-1])
    kept = tf.where(flat_weights > 0)  # [n, 1] int64
    rows = tf.gather_nd(tf.reshape(hidden, [-1, tf.shape(hidden)[-1]]), kept)
    out = layer.softmax.FProp(
        theta.softmax,
        rows,
        class_weights=tf.gather_nd(flat_weights, kept),
        class_ids=tf.gather_nd(tf.reshape(class_ids, [-1]), kept),
    )
    num_positions = tf.shape(flat_weights, out_type=tf.int64)
    shape = tf.shape(weights)

    def Scatter(x: tf.Tensor) -> tf.Tensor:
        return tf.reshape(tf.scatter_nd(kept, x, num_positions), shape)

    result = NestedMap(
        per_example_xent=Scatter(out.per_example_xent),
        per_example_argmax=Scatter(out.per_example_argmax),
        total_xent=out.total_xent,
        total_weight=out.total_weight,
        avg_xent=out.avg_xent,
    )
    if "per_example_weight" in out:
        result.per_example_weight = weights
    return result


class RnnLmNoEmbedding(BaseLanguageModel):
    """Stacked LSTMs and a softmax over dense inputs shaped [time, batch, input_dim].

    Children: `rnns` (`StackedFRNNLayerByLayer`: dropout after each layer, residuals from
    `skip_start`) and `softmax`.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the params of the LSTM stack and the softmax."""
        p = super().Params()
        p.Define(
            "rnns",
            core_layers.StackedFRNNLayerByLayer.Params(),
            "The params of the stacked recurrent layers.",
        )
        p.Define(
            "softmax",
            core_layers.SimpleFullSoftmax.Params(),
            "The params of the softmax; a SampledSoftmax with num_sampled > 0 trains on "
            "sampled classes.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if p.vocab_size != p.softmax.num_classes:
            raise ValueError(
                f"{self}: vocab_size {p.vocab_size} != softmax.num_classes {p.softmax.num_classes}"
            )
        self.CreateChild("rnns", p.rnns)
        self.CreateChild("softmax", p.softmax)

    def zero_state(self, theta: NestedMap, batch_size: Any) -> NestedMap:
        """Returns the stack's zero state, `NestedMap(rnn=[...])`."""
        return self.rnns.zero_state(theta.rnns, batch_size)

    def FProp(
        self,
        theta: NestedMap,
        inputs: Any,
        paddings: Any,
        state0: NestedMap | None = None,
        labels: NestedMap | None = None,
    ) -> tuple[NestedMap, NestedMap]:
        """Runs the LSTMs and the softmax.

        Args:
          theta: This layer's theta.
          inputs: Shaped [time, batch, input_dim].
          paddings: Shaped [time, batch]; 1.0 where padded.
          state0: The initial state; None starts from `zero_state`.
          labels: `NestedMap(class_ids, class_weights)` each shaped [time, batch]; None
            returns only `logits`, `log_probs` and `last_hidden`.

        Returns:
          `(xent_output, state1)`: the softmax's `NestedMap` plus `last_hidden` shaped
          [time, batch, rnn output dim], and the state after the last unpadded step.
        """
        hidden, state1 = self.rnns.FProp(theta.rnns, inputs, paddings, state0)
        return _SoftmaxOut(self, theta, hidden, labels), state1


class RnnLm(RnnLmNoEmbedding):
    """`RnnLmNoEmbedding` over embedded ids, with embedding dropout.

    Children: `emb` (`ShardedEmbeddingLayer`), `embedding_dropout`, `rnns`, `softmax`.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the params of the embedding, its dropout, the LSTMs and the softmax."""
        p = super().Params()
        p.Define("emb", ShardedEmbeddingLayer.Params(), "The params of the token embedding.")
        p.Define(
            "embedding_dropout_keep_prob",
            1.0,
            "The keep probability of the dropout on the embeddings (training only).",
        )
        return p

    @classmethod
    def CommonParams(
        cls,
        vocab_size: int,
        emb_dim: int = 1024,
        num_layers: int = 2,
        rnn_dims: int = 2048,
        rnn_hidden_dims: int = 0,
        residual_start: int = 1,
        softmax_max_alloc: int | None = None,
    ) -> hyperparams.InstantiableParams:
        """Returns Lingvo's usual RnnLm: LSTMs with projection and a full softmax.

        Args:
          vocab_size: The number of tokens.
          emb_dim: The embedding depth (the first LSTM's input depth).
          num_layers: The number of LSTM layers.
          rnn_dims: The output depth of each LSTM (after projection).
          rnn_hidden_dims: The number of LSTM cells; 0 means no projection.
          residual_start: The first layer with a residual; past num_layers disables them.
          softmax_max_alloc: Unused; Lingvo's chunked softmax option, kept for its signature.

        Returns:
          `RnnLm` params: embeddings and softmax initialised Uniform(1/sqrt(rnn_dims)),
          embeddings scaled by sqrt(emb_dim).
        """
        del softmax_max_alloc
        p = cls.Params()
        p.vocab_size = vocab_size
        init = weights.WeightInit.Uniform(1.0 / math.sqrt(rnn_dims))
        p.emb.Set(
            vocab_size=vocab_size, embedding_dim=emb_dim, scale_sqrt_depth=True, params_init=init
        )
        p.rnns.Set(num_layers=num_layers, skip_start=residual_start)
        p.rnns.cell_tpl = [
            core_layers.LSTMCellSimple.Params().Set(
                num_input_nodes=emb_dim if i == 0 else rnn_dims,
                num_output_nodes=rnn_dims,
                num_hidden_nodes=rnn_hidden_dims,
            )
            for i in range(min(num_layers, 2))
        ]
        p.softmax.Set(input_dim=rnn_dims, num_classes=vocab_size, params_init=init)
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if p.emb.vocab_size != p.vocab_size:
            raise ValueError(f"{self}: emb.vocab_size {p.emb.vocab_size} != {p.vocab_size}")
        self.CreateChild("emb", p.emb)
        self.CreateChild(
            "embedding_dropout",
            core_layers.DropoutLayer.Params().Set(keep_prob=p.embedding_dropout_keep_prob),
        )

    def FProp(
        self,
        theta: NestedMap,
        inputs: Any,
        paddings: Any,
        state0: NestedMap | None = None,
        labels: NestedMap | None = None,
    ) -> tuple[NestedMap, NestedMap]:
        """As `RnnLmNoEmbedding.FProp`, with `inputs` int ids shaped [time, batch]."""
        x = self.emb.EmbLookup(theta.emb, inputs)
        x = self.embedding_dropout.FProp(theta.embedding_dropout, x)
        return super().FProp(theta, x, paddings, state0, labels)

    def Step(self, theta: NestedMap, ids: Any, state0: NestedMap) -> tuple[NestedMap, NestedMap]:
        """Runs one position.

        Args:
          theta: This layer's theta.
          ids: int ids shaped [batch], the tokens at this position.
          state0: The state from `zero_state` or the previous `Step`.

        Returns:
          `(out, state1)`: `out.logits` and `out.log_probs` shaped [batch, vocab_size],
          `out.last_hidden` shaped [batch, dim]; the new state.
        """
        ids = tf.convert_to_tensor(ids)[tf.newaxis]
        paddings = tf.zeros(tf.shape(ids), self.fprop_dtype)
        out, state1 = self.FProp(theta, ids, paddings, state0)
        return out.Transform(lambda x: x[0]), state1


class TransformerLm(BaseLanguageModel):
    """A causal Transformer language model (pre-layer-norm layers, no cross-attention).

    The input is the embedding times sqrt(model_dim) plus the sinusoidal position signal,
    then `input_dropout`; `trans` (`StackedTransformerLayers` with causal self-attention)
    and `softmax` follow. `Step` decodes one position with cached keys and values and
    equals the full forward pass at that position.

    Children: `emb`, `position_emb`, `input_dropout`, `trans`, `softmax`.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the params of the embeddings, the layers and the softmax."""
        p = super().Params()
        p.Define("model_dim", 512, "The model depth (embeddings and every layer's output).")
        p.Define("emb", ShardedEmbeddingLayer.Params(), "The params of the token embedding.")
        p.Define(
            "position_emb",
            core_layers.PositionalEmbeddingLayer.Params(),
            "The params of the sinusoidal position signal.",
        )
        p.Define("input_dropout_prob", 0.0, "The dropout probability of the summed input.")
        p.Define(
            "trans",
            core_layers.StackedTransformerLayers.Params(),
            "The params of the Transformer layers; self-attention is made causal.",
        )
        p.Define(
            "softmax",
            core_layers.SimpleFullSoftmax.Params(),
            "The params of the softmax over the vocabulary.",
        )
        return p

    @classmethod
    def CommonParams(
        cls,
        model_dim: int,
        hidden_dim: int,
        num_heads: int,
        num_layers: int,
        learning_rate: float,
        warmup_steps: int,
        vocab_size: int,
        input_dropout_prob: float = 0.0,
        residual_dropout_prob: float = 0.1,
        atten_dropout_prob: float = 0.0,
        relu_dropout_prob: float = 0.0,
        softmax_max_alloc: int | None = None,
    ) -> hyperparams.InstantiableParams:
        """Returns Lingvo's usual TransformerLm.

        `learning_rate` and `warmup_steps` are accepted and ignored, as in Lingvo (the
        task's training params set them); `softmax_max_alloc` is ignored too.

        Returns:
          `TransformerLm` params: embedding init Gaussian(1/sqrt(model_dim)), 16 softmax
          shards (fewer when the vocabulary is smaller).
        """
        del learning_rate, warmup_steps, softmax_max_alloc
        p = cls.Params()
        p.vocab_size = vocab_size
        p.model_dim = model_dim
        p.emb.Set(
            vocab_size=vocab_size,
            embedding_dim=model_dim,
            scale_sqrt_depth=True,
            params_init=weights.WeightInit.Gaussian(1.0 / math.sqrt(model_dim)),
        )
        p.position_emb.embedding_dim = model_dim
        p.input_dropout_prob = input_dropout_prob
        p.trans.Set(
            num_layers=num_layers,
            model_dim=model_dim,
            hidden_dim=hidden_dim,
            num_atten_heads=num_heads,
            residual_dropout_prob=residual_dropout_prob,
            atten_dropout_prob=atten_dropout_prob,
            relu_dropout_prob=relu_dropout_prob,
        )
        p.softmax.Set(input_dim=model_dim, num_classes=vocab_size, num_shards=min(16, vocab_size))
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if p.emb.vocab_size != p.vocab_size or p.softmax.num_classes != p.vocab_size:
            raise ValueError(
                f"{self}: emb.vocab_size {p.emb.vocab_size} and softmax.num_classes "
                f"{p.softmax.num_classes} must equal vocab_size {p.vocab_size}"
            )
        if p.emb.embedding_dim != p.model_dim or p.trans.model_dim != p.model_dim:
            raise ValueError(
                f"{self}: emb.embedding_dim {p.emb.embedding_dim} and trans.model_dim "
                f"{p.trans.model_dim} must equal model_dim {p.model_dim}"
            )
        self.CreateChild("emb", p.emb)
        self.CreateChild("position_emb", p.position_emb)
        self.CreateChild(
            "input_dropout",
            core_layers.DropoutLayer.Params().Set(keep_prob=1.0 - p.input_dropout_prob),
        )
        self.CreateChild("trans", p.trans.Copy().Set(mask_self_atten=True, has_aux_atten=False))
        self.CreateChild("softmax", p.softmax)

    def zero_state(self, theta: NestedMap, batch_size: Any, max_len: Any = 0) -> NestedMap:
        """Returns empty key/value caches for `max_len` positions and `time_step` 0.

        `FProp` ignores the state (each call reads a whole sequence); `Step` needs
        `max_len` to be at least the number of positions decoded.
        """
        return NestedMap(
            prefix_states=self.trans.InitStates(theta.trans, batch_size, max_len),
            time_step=tf.constant(0, tf.int32),
        )

    def _Input(self, theta: NestedMap, ids: Any, positions: tf.Tensor) -> tf.Tensor:
        x = self.emb.EmbLookup(theta.emb, ids)
        x += self.position_emb.FPropWithPosition(theta.position_emb, positions)
        return self.input_dropout.FProp(theta.input_dropout, x)

    def FProp(
        self,
        theta: NestedMap,
        inputs: Any,
        paddings: Any,
        state0: NestedMap | None = None,
        labels: NestedMap | None = None,
    ) -> tuple[NestedMap, NestedMap]:
        """Runs the causal Transformer over whole sequences.

        Args:
          theta: This layer's theta.
          inputs: int ids shaped [time, batch].
          paddings: Shaped [time, batch]; 1.0 where padded.
          state0: Ignored (kept for the language-model interface).
          labels: `NestedMap(class_ids, class_weights)` each shaped [time, batch], or None.

        Returns:
          `(xent_output, state0)`: the softmax's `NestedMap` plus `last_hidden` shaped
          [time, batch, model_dim]; the state is returned unchanged.
        """
        inputs = tf.convert_to_tensor(inputs)
        time = tf.shape(inputs)[0]
        x = self._Input(theta, inputs, tf.range(time)[:, tf.newaxis])
        paddings = tf.cast(tf.convert_to_tensor(paddings), x.dtype)
        hidden, _ = self.trans.FProp(theta.trans, x, paddings)
        return _SoftmaxOut(
            self, theta, hidden, labels
        ), state0 if state0 is not None else NestedMap()

    def Step(self, theta: NestedMap, ids: Any, state0: NestedMap) -> tuple[NestedMap, NestedMap]:
        """Decodes one position against the cached keys and values of earlier ones.

        Args:
          theta: This layer's theta.
          ids: int ids shaped [batch], the tokens at position `state0.time_step`.
          state0: From `zero_state(theta, batch, max_len)` or the previous `Step`.

        Returns:
          `(out, state1)`: `out.logits`, `out.log_probs` shaped [batch, vocab_size],
          `out.last_hidden` shaped [batch, model_dim]; the caches with this position added
          and `time_step` plus one.
        """
        t = state0.time_step
        ids = tf.convert_to_tensor(ids)
        x = self._Input(theta, ids, tf.fill(tf.shape(ids), t))
        hidden, prefix = self.trans.ExtendStep(theta.trans, x, state0.prefix_states, t)
        out = _SoftmaxOut(self, theta, hidden, None)
        return out, NestedMap(prefix_states=prefix, time_step=t + 1)
