"""The classic (time-major, pre-layer-norm) Transformer: attention, feed-forward, layer, stack.

Layout: like Lingvo's classic `TransformerLayer`, sequences are time-major, shaped
[time, batch, dim] with paddings [time, batch] (1.0 where padded), so encoder outputs feed
`attentions` (whose sources are time-major) and Lingvo's MT encoders/decoders unchanged.
Every sub-layer is `x + dropout(f(layer_norm(x)))`.

Incremental decoding (`ExtendStep`) keeps, per layer, the self-attention's packed source
(projected keys and values) in a time-major cache of one of two kinds (`InitStates`):

- growing (`max_len` None or 0), as Lingvo does: the cache holds exactly the decoded prefix
  and each step appends one row, so step t costs O(t) (attention, and the beam search's
  reordering of the cache) rather than O(max_len). A loop over steps must let the cache's
  time dimension vary (`tf.while_loop` shape invariants; `BeamSearchHelper` does this).
  The prefix has no padding, so the cache keeps only keys and values, and a step attends
  them time-major with `MultiHeadedAttention.AttendUnpaddedOwnColumns` (no masks, no
  transposes).
- fixed (`max_len` a positive int): `max_len` rows, step t writes row t and unwritten rows
  stay padded, so every step has the same static shapes (what XLA needs).

Cross-attention sources can be packed once (`PackAux`) and reused by every step.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from lingvo.core import base_layer, hyperparams
from lingvo.core.layers import attentions, dropouts, linears, normalizations
from lingvo.core.layers._checks import CheckDims
from lingvo.core.nested_map import NestedMap

__all__ = [
    "StackedTransformerLayers",
    "TransformerAttentionLayer",
    "TransformerFeedForwardLayer",
    "TransformerLayer",
]


def _CheckProb(layer: base_layer.BaseLayer, *fields: str) -> None:
    for field in fields:
        value = layer.params.Get(field)
        if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise ValueError(f"{layer}: {field} must be in [0, 1), got {value!r}")


def _Dropout(prob: float) -> hyperparams.InstantiableParams:
    return dropouts.DropoutLayer.Params().Set(keep_prob=1.0 - prob)


class TransformerAttentionLayer(base_layer.BaseLayer):
    """Pre-LN multi-headed attention with a residual: `x + dropout(atten(ln(x), source))`.

    Self-attention when no `source_vecs` are given (keys and values are the normalized
    queries; `is_masked` adds the causal mask), cross-attention otherwise. The attention is
    `attentions.MultiHeadedAttention` over `DotProductAttention` heads (per-dimension query
    scale), with query/key projections and a post projection, all with bias. Children:
    `layer_norm`, `atten`, `residual_dropout`.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("source_dim", None, "The model depth: of the queries and of the output.")
        p.Define(
            "context_dim",
            None,
            "The depth of the cross-attention source vectors (None: source_dim).",
        )
        p.Define("num_attention_heads", 8, "The number of attention heads.")
        p.Define("is_masked", False, "Whether self-attention is causal (sees no future step).")
        p.Define("atten_dropout_prob", 0.0, "The dropout probability of the attention weights.")
        p.Define("residual_dropout_prob", 0.0, "The dropout probability of the residual branch.")
        p.Define(
            "add_unnormalized_input",
            True,
            "Whether the residual adds the raw input (else the layer-normalized one).",
        )
        p.Define("ln_tpl", normalizations.LayerNorm.Params(), "The layer-norm template.")
        p.Define(
            "atten_tpl",
            attentions.MultiHeadedAttention.Params().Set(
                enable_ctx_post_proj=True, use_source_vec_as_attention_value=False
            ),
            "The multi-headed attention template; its dims, heads and dropout are set here.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        CheckDims(self, "source_dim", "num_attention_heads")
        _CheckProb(self, "atten_dropout_prob", "residual_dropout_prob")
        context_dim = p.context_dim or p.source_dim
        self.CreateChild("layer_norm", p.ln_tpl.Copy().Set(input_dim=p.source_dim))
        atten = p.atten_tpl.Copy().Set(
            source_dim=context_dim,
            query_dim=p.source_dim,
            hidden_dim=p.source_dim,
            context_dim=context_dim,
            ctx_post_proj_dim=p.source_dim,
            num_attention_heads=p.num_attention_heads,
            atten_dropout_prob=p.atten_dropout_prob,
        )
        self.CreateChild("atten", atten)
        if self.atten.output_dim != p.source_dim:
            raise ValueError(
                f"{self}: the attention outputs depth {self.atten.output_dim}, the residual "
                f"needs source_dim {p.source_dim} (enable its ctx_post_proj)"
            )
        self.CreateChild("residual_dropout", _Dropout(p.residual_dropout_prob))

    def _Residual(
        self, theta: NestedMap, query_vec: tf.Tensor, normed: tf.Tensor, ctx: tf.Tensor
    ) -> tf.Tensor:
        ctx = self.residual_dropout.FProp(theta.residual_dropout, ctx)
        return ctx + (query_vec if self.params.add_unnormalized_input else normed)

    def FProp(
        self,
        theta: NestedMap,
        query_vec: Any,
        source_paddings: Any,
        source_vecs: Any = None,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Attends from every query step to the source (or to the queries themselves).

        Args:
          theta: This layer's theta.
          query_vec: Shaped [target_time, batch, source_dim].
          source_paddings: Shaped [source_time, batch] (for self-attention the query
            paddings, [target_time, batch]); 1.0 where padded.
          source_vecs: Shaped [source_time, batch, context_dim]; None for self-attention.

        Returns:
          `(output, probs)`: output shaped [target_time, batch, source_dim], probs shaped
          [target_time, batch, source_time] (heads' mean, zero at padded source positions).

        Raises:
          ValueError: If a shape does not fit, naming the layer and both shapes.
        """
        p = self.params
        query_vec = tf.convert_to_tensor(query_vec, self.fprop_dtype)
        self.CheckInputShape(query_vec, [None, None, p.source_dim], "query_vec")
        normed = self.layer_norm.FProp(theta.layer_norm, query_vec)
        shape = tf.shape(query_vec)
        target_time, batch = shape[0], shape[1]
        per_step_padding = None
        if source_vecs is None:
            self.CheckInputShape(source_paddings, query_vec.shape[:2], "source_paddings")
            source_vecs = normed
            if p.is_masked:
                causal = attentions.CausalPadding(target_time, normed.dtype)  # [t, s]
                per_step_padding = tf.reshape(
                    tf.broadcast_to(causal[:, tf.newaxis], [target_time, batch, target_time]),
                    [target_time * batch, target_time],
                )
        packed = self.atten.PackSource(theta.atten, source_vecs, source_vecs, source_paddings)
        folded = tf.reshape(normed, [target_time * batch, p.source_dim])
        ctx, probs, _ = self.atten.ComputeContextVectorWithSource(
            theta.atten, packed, folded, per_step_source_padding=per_step_padding
        )
        ctx = tf.reshape(ctx, shape)
        probs = tf.reshape(probs, [target_time, batch, -1])
        return self._Residual(theta, query_vec, normed, ctx), probs

    def PackSource(self, theta: NestedMap, source_vecs: Any, source_paddings: Any) -> NestedMap:
        """Packs a cross-attention source once, for `AttendPacked` (e.g. every decoding step).

        Args:
          theta: This layer's theta.
          source_vecs: Shaped [source_time, batch, context_dim].
          source_paddings: Shaped [source_time, batch]; 1.0 where padded.

        Returns:
          The attention's packed source (a `NestedMap`).
        """
        return self.atten.PackSource(theta.atten, source_vecs, source_vecs, source_paddings)

    def AttendPacked(
        self, theta: NestedMap, query_vec: Any, packed: NestedMap
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """One query step attends to a packed source (from `PackSource` or a decoding cache).

        Args:
          theta: This layer's theta.
          query_vec: Shaped [query_batch, source_dim]; query_batch a multiple of the packed
            batch (row r attends source column r modulo that batch, as in beam search).
          packed: The packed source.

        Returns:
          `(output, probs)`: output shaped [query_batch, source_dim], probs shaped
          [query_batch, source_time].
        """
        query_vec = tf.convert_to_tensor(query_vec, self.fprop_dtype)
        self.CheckInputShape(query_vec, [None, self.params.source_dim], "query_vec")
        normed = self.layer_norm.FProp(theta.layer_norm, query_vec)
        ctx, probs, _ = self.atten.ComputeContextVectorWithSource(theta.atten, packed, normed)
        return self._Residual(theta, query_vec, normed, ctx), probs

    def InitStates(self, theta: NestedMap, batch_size: Any, max_len: Any = None) -> NestedMap:
        """Returns an empty self-attention cache (see the module docstring for the two kinds).

        Args:
          theta: This layer's theta.
          batch_size: The decoding batch size.
          max_len: None or 0 for a growing cache; a positive int for a fixed cache of that
            many steps (the most `ExtendStep` will be called for).

        Returns:
          `NestedMap(fixed=packed)`, the attention's packed source over [max_len,
          batch_size, ...], or `NestedMap(growing=NestedMap(source_vecs, source_contexts))`,
          its keys and values only (no padding), split into heads: [0, batch_size *
          num_attention_heads, source_dim / num_attention_heads].

        Raises:
          ValueError: If `max_len` is neither None nor a non-negative int.
        """
        static_len = tf.get_static_value(max_len) if max_len is not None else 0
        if static_len is None or int(static_len) != static_len or static_len < 0:
            raise ValueError(
                f"{self}: max_len must be None, 0 (a growing cache) or a positive int (a fixed "
                f"cache), got {max_len!r}"
            )
        length = int(static_len)
        zeros = tf.zeros([length, batch_size, self.params.source_dim], self.fprop_dtype)
        ones = tf.ones([length, batch_size], self.fprop_dtype)
        packed = self.atten.PackSource(theta.atten, zeros, zeros, ones)
        if length:
            return NestedMap(fixed=packed)
        # The decoded prefix has no padding, so a growing cache keeps none: only the
        # keys and values are appended to, reordered and read at every step.
        inner = packed.inner
        return NestedMap(
            growing=NestedMap(source_vecs=inner.source_vecs, source_contexts=inner.source_contexts)
        )

    def ExtendStep(
        self, theta: NestedMap, query_vec: Any, prefix_state: NestedMap, time_step: Any
    ) -> tuple[tf.Tensor, tf.Tensor, NestedMap]:
        """One step of self-attention against the cached prefix (keys/values of steps < t).

        Args:
          theta: This layer's theta.
          query_vec: Shaped [batch, source_dim], the input at step `time_step`.
          prefix_state: The cache from `InitStates` or the previous `ExtendStep`.
          time_step: The step index t (an int or int scalar tensor), 0-based; a growing
            cache must hold exactly t steps.

        Returns:
          `(output, probs, new_state)`: output shaped [batch, source_dim], probs shaped
          [batch, t + 1] (growing) or [batch, max_len] (fixed, zero beyond t), the cache
          with step t added.

        Raises:
          ValueError: If `prefix_state` is not a cache from `InitStates`.
        """
        p = self.params
        query_vec = tf.convert_to_tensor(query_vec, self.fprop_dtype)
        self.CheckInputShape(query_vec, [None, p.source_dim], "query_vec")
        if sorted(prefix_state.keys()) not in (["growing"], ["fixed"]):
            raise ValueError(
                f"{self}: prefix_state must come from InitStates (a NestedMap with one key, "
                f"'growing' or 'fixed'), got keys {sorted(prefix_state.keys())}"
            )
        normed = self.layer_norm.FProp(theta.layer_norm, query_vec)
        if "growing" in prefix_state:
            return self._ExtendGrowing(theta, query_vec, normed, prefix_state.growing)
        step = self.atten.PackSource(
            theta.atten,
            normed[tf.newaxis],
            normed[tf.newaxis],
            tf.zeros([1, tf.shape(normed)[0]], normed.dtype),
        )
        max_len = tf.shape(prefix_state.fixed.inner.source_padding)[0]
        at_t = tf.equal(tf.range(max_len), tf.cast(time_step, tf.int32))

        def Write(old: tf.Tensor, new: tf.Tensor) -> tf.Tensor:
            mask = tf.reshape(at_t, [-1] + [1] * (old.shape.rank - 1))
            return tf.where(mask, new, old)

        cache = tf.nest.map_structure(Write, prefix_state.fixed, step)
        new_state = NestedMap(fixed=cache)
        ctx, probs, _ = self.atten.ComputeContextVectorWithSource(theta.atten, cache, normed)
        return self._Residual(theta, query_vec, normed, ctx), probs, new_state

    def _ExtendGrowing(
        self, theta: NestedMap, query_vec: tf.Tensor, normed: tf.Tensor, cache: NestedMap
    ) -> tuple[tf.Tensor, tf.Tensor, NestedMap]:
        """`ExtendStep` on a growing cache: appends step t's keys and values, attends t + 1."""
        step = self.atten.PackSource(theta.atten, normed[tf.newaxis], normed[tf.newaxis]).inner
        cache = NestedMap(
            source_vecs=tf.concat([cache.source_vecs, step.source_vecs], axis=0),
            source_contexts=tf.concat([cache.source_contexts, step.source_contexts], axis=0),
        )
        ctx, probs = self.atten.AttendUnpaddedOwnColumns(theta.atten, cache, normed)
        return self._Residual(theta, query_vec, normed, ctx), probs, NestedMap(growing=cache)


class TransformerFeedForwardLayer(base_layer.BaseLayer):
    """Pre-LN feed-forward with a residual: `x + dropout(fc_1(dropout(relu(fc_0(ln(x))))))`.

    Children: `layer_norm`, `fc` (`fc_0` input_dim -> hidden_dim with the activation,
    `fc_1` hidden_dim -> input_dim linear, both with bias), `relu_dropout`,
    `residual_dropout`.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("input_dim", None, "The model depth: of the input and of the output.")
        p.Define("hidden_dim", None, "The depth of the hidden layer.")
        p.Define("activation", "RELU", "The activation of the hidden layer (a name).")
        p.Define("relu_dropout_prob", 0.0, "The dropout probability after the activation.")
        p.Define("residual_dropout_prob", 0.0, "The dropout probability of the residual branch.")
        p.Define("ln_tpl", normalizations.LayerNorm.Params(), "The layer-norm template.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        CheckDims(self, "input_dim", "hidden_dim")
        _CheckProb(self, "relu_dropout_prob", "residual_dropout_prob")
        self.CreateChild("layer_norm", p.ln_tpl.Copy().Set(input_dim=p.input_dim))
        fc = linears.FCLayer.Params()
        self.CreateChildren(
            "fc",
            [
                fc.Copy().Set(
                    input_dim=p.input_dim, output_dim=p.hidden_dim, activation=p.activation
                ),
                fc.Copy().Set(input_dim=p.hidden_dim, output_dim=p.input_dim, activation="NONE"),
            ],
        )
        self.CreateChild("relu_dropout", _Dropout(p.relu_dropout_prob))
        self.CreateChild("residual_dropout", _Dropout(p.residual_dropout_prob))

    def FProp(self, theta: NestedMap, inputs: Any, paddings: Any = None) -> tf.Tensor:
        """Applies the feed-forward block.

        Args:
          theta: This layer's theta.
          inputs: Shaped [..., input_dim], e.g. [time, batch, input_dim].
          paddings: Optional, shaped [...] (e.g. [time, batch]); 1.0 where padded, where the
            residual branch is zeroed so the output equals the input.

        Returns:
          Shaped like `inputs`.
        """
        inputs = tf.convert_to_tensor(inputs, self.fprop_dtype)
        self.CheckInputShape(inputs, [..., self.params.input_dim])
        h = self.layer_norm.FProp(theta.layer_norm, inputs)
        h = self.fc[0].FProp(theta.fc[0], h)
        h = self.relu_dropout.FProp(theta.relu_dropout, h)
        h = self.fc[1].FProp(theta.fc[1], h, paddings)
        return inputs + self.residual_dropout.FProp(theta.residual_dropout, h)


class TransformerLayer(base_layer.BaseLayer):
    """Self-attention, optional cross-attention (`has_aux_atten`), then feed-forward.

    Children: `self_atten` (causal when `mask_self_atten`), `atten` (when `has_aux_atten`),
    `fflayer`, built from `tr_atten_tpl` and `tr_fflayer_tpl`.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("source_dim", None, "The model depth: of the input and of the output.")
        p.Define("aux_dim", None, "The depth of the cross-attention source (None: source_dim).")
        p.Define("num_attention_heads", 8, "The number of attention heads.")
        p.Define("hidden_dim", None, "The depth of the feed-forward hidden layer.")
        p.Define("has_aux_atten", False, "Whether the layer also attends to aux_vecs.")
        p.Define("mask_self_atten", False, "Whether self-attention is causal (a decoder).")
        p.Define("atten_dropout_prob", 0.0, "The dropout probability of attention weights.")
        p.Define("residual_dropout_prob", 0.0, "The dropout probability of residual branches.")
        p.Define("relu_dropout_prob", 0.0, "The dropout probability in the feed-forward layer.")
        p.Define(
            "tr_atten_tpl",
            TransformerAttentionLayer.Params(),
            "The attention sub-layer template; dims, heads and dropouts are set here.",
        )
        p.Define(
            "tr_fflayer_tpl",
            TransformerFeedForwardLayer.Params(),
            "The feed-forward sub-layer template; dims and dropouts are set here.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        CheckDims(self, "source_dim", "hidden_dim", "num_attention_heads")
        atten = p.tr_atten_tpl.Copy().Set(
            source_dim=p.source_dim,
            num_attention_heads=p.num_attention_heads,
            atten_dropout_prob=p.atten_dropout_prob,
            residual_dropout_prob=p.residual_dropout_prob,
        )
        self.CreateChild("self_atten", atten.Copy().Set(is_masked=p.mask_self_atten))
        if p.has_aux_atten:
            self.CreateChild(
                "atten", atten.Copy().Set(is_masked=False, context_dim=p.aux_dim or p.source_dim)
            )
        ffn = p.tr_fflayer_tpl.Copy().Set(
            input_dim=p.source_dim,
            hidden_dim=p.hidden_dim,
            relu_dropout_prob=p.relu_dropout_prob,
            residual_dropout_prob=p.residual_dropout_prob,
        )
        self.CreateChild("fflayer", ffn)

    def _CheckAux(self, aux_vecs: Any, aux_paddings: Any) -> None:
        if self.params.has_aux_atten and (aux_vecs is None or aux_paddings is None):
            raise ValueError(f"{type(self).__name__} {self.path!r}: has_aux_atten needs aux_vecs")
        if not self.params.has_aux_atten and aux_vecs is not None:
            raise ValueError(
                f"{type(self).__name__} {self.path!r}: got aux_vecs but has_aux_atten is False"
            )

    def FProp(
        self,
        theta: NestedMap,
        query_vec: Any,
        paddings: Any,
        aux_vecs: Any = None,
        aux_paddings: Any = None,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Runs the layer over whole sequences.

        Args:
          theta: This layer's theta.
          query_vec: Shaped [time, batch, source_dim].
          paddings: Shaped [time, batch], 1.0 where padded.
          aux_vecs: Shaped [aux_time, batch, aux_dim]; required iff `has_aux_atten`.
          aux_paddings: Shaped [aux_time, batch], 1.0 where padded.

        Returns:
          `(output, probs)`: output shaped [time, batch, source_dim]; probs shaped
          [time, batch, aux_time] (cross-attention) or [time, batch, time] (self-attention).
        """
        self._CheckAux(aux_vecs, aux_paddings)
        h, probs = self.self_atten.FProp(theta.self_atten, query_vec, paddings)
        if self.params.has_aux_atten:
            h, probs = self.atten.FProp(theta.atten, h, aux_paddings, aux_vecs)
        return self.fflayer.FProp(theta.fflayer, h, paddings), probs

    def InitStates(self, theta: NestedMap, batch_size: Any, max_len: Any = None) -> NestedMap:
        """Returns the empty self-attention cache for `ExtendStep` (growing unless `max_len`)."""
        return self.self_atten.InitStates(theta.self_atten, batch_size, max_len)

    def PackAux(self, theta: NestedMap, aux_vecs: Any, aux_paddings: Any) -> NestedMap:
        """Packs the cross-attention source once for every `ExtendStep` (`packed_aux`).

        Args:
          theta: This layer's theta.
          aux_vecs: Shaped [aux_time, batch, aux_dim].
          aux_paddings: Shaped [aux_time, batch].

        Returns:
          The cross-attention's packed source.

        Raises:
          ValueError: If the layer has no cross-attention or a shape does not fit.
        """
        self._CheckAux(aux_vecs, aux_paddings)
        if not self.params.has_aux_atten:
            raise ValueError(f"{self}: PackAux needs has_aux_atten")
        return self.atten.PackSource(theta.atten, aux_vecs, aux_paddings)

    def ExtendStep(
        self,
        theta: NestedMap,
        query_vec: Any,
        prefix_state: NestedMap,
        time_step: Any,
        aux_vecs: Any = None,
        aux_paddings: Any = None,
        packed_aux: NestedMap | None = None,
    ) -> tuple[tf.Tensor, tf.Tensor, NestedMap]:
        """Runs one decoding step; equals step t of `FProp` with `mask_self_atten`.

        Args:
          theta: This layer's theta.
          query_vec: Shaped [batch, source_dim].
          prefix_state: The cache from `InitStates` or the previous step.
          time_step: The 0-based step index.
          aux_vecs: Shaped [aux_time, aux_batch, aux_dim]: with cross-attention, these or
            `packed_aux`. `batch` may be a multiple of `aux_batch` (row r attends column r
            modulo aux_batch, as beam search lays out its hyps).
          aux_paddings: Shaped [aux_time, aux_batch].
          packed_aux: `PackAux`'s result, which saves re-projecting the source every step.

        Returns:
          `(output, probs, new_state)`: output shaped [batch, source_dim], probs shaped
          [batch, aux_time] (or the self-attention's without cross-attention), the new cache.
        """
        if packed_aux is None:
            self._CheckAux(aux_vecs, aux_paddings)
        elif not self.params.has_aux_atten:
            raise ValueError(f"{self}: got packed_aux but has_aux_atten is False")
        h, probs, state = self.self_atten.ExtendStep(
            theta.self_atten, query_vec, prefix_state, time_step
        )
        if self.params.has_aux_atten:
            if packed_aux is None:
                packed_aux = self.PackAux(theta, aux_vecs, aux_paddings)
            h, probs = self.atten.AttendPacked(theta.atten, h, packed_aux)
        return self.fflayer.FProp(theta.fflayer, h), probs, state


class StackedTransformerLayers(base_layer.BaseLayer):
    """`num_layers` Transformer layers (children `x_layers`) and an optional final layer norm.

    The layer settings (model_dim, hidden_dim, heads, dropouts, cross-attention, masking)
    are copied into `transformer_layer_params_tpl` for every layer.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("num_layers", 1, "The number of Transformer layers.")
        p.Define("model_dim", None, "The model depth: of the input and of the output.")
        p.Define("hidden_dim", None, "The depth of every feed-forward hidden layer.")
        p.Define("num_atten_heads", 8, "The number of attention heads.")
        p.Define("aux_dim", None, "The depth of the cross-attention source (None: model_dim).")
        p.Define("has_aux_atten", False, "Whether every layer also attends to aux_vecs.")
        p.Define("mask_self_atten", False, "Whether self-attention is causal (a decoder).")
        p.Define("atten_dropout_prob", 0.0, "The dropout probability of attention weights.")
        p.Define("residual_dropout_prob", 0.0, "The dropout probability of residual branches.")
        p.Define("relu_dropout_prob", 0.0, "The dropout probability in feed-forward layers.")
        p.Define("ln_output", False, "Whether a final layer norm (child `final_ln`) is applied.")
        p.Define(
            "transformer_layer_params_tpl",
            TransformerLayer.Params(),
            "The template of every layer; the settings above are copied into it.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        CheckDims(self, "num_layers", "model_dim", "hidden_dim", "num_atten_heads")
        layer = p.transformer_layer_params_tpl.Copy().Set(
            source_dim=p.model_dim,
            aux_dim=p.aux_dim,
            hidden_dim=p.hidden_dim,
            num_attention_heads=p.num_atten_heads,
            has_aux_atten=p.has_aux_atten,
            mask_self_atten=p.mask_self_atten,
            atten_dropout_prob=p.atten_dropout_prob,
            residual_dropout_prob=p.residual_dropout_prob,
            relu_dropout_prob=p.relu_dropout_prob,
        )
        self.CreateChildren("x_layers", [layer.Copy() for _ in range(p.num_layers)])
        if p.ln_output:
            self.CreateChild(
                "final_ln", normalizations.LayerNorm.Params().Set(input_dim=p.model_dim)
            )

    def FProp(
        self,
        theta: NestedMap,
        query_vec: Any,
        paddings: Any,
        aux_vecs: Any = None,
        aux_paddings: Any = None,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Runs every layer in turn.

        Args:
          theta: This layer's theta.
          query_vec: Shaped [time, batch, model_dim].
          paddings: Shaped [time, batch], 1.0 where padded.
          aux_vecs: Shaped [aux_time, batch, aux_dim]; required iff `has_aux_atten`.
          aux_paddings: Shaped [aux_time, batch].

        Returns:
          `(output, paddings)`: output shaped [time, batch, model_dim], paddings unchanged.
        """
        h = query_vec
        for layer, layer_theta in zip(self.x_layers, theta.x_layers, strict=True):
            h, _ = layer.FProp(layer_theta, h, paddings, aux_vecs, aux_paddings)
        if self.params.ln_output:
            h = self.final_ln.FProp(theta.final_ln, h)
        return h, tf.convert_to_tensor(paddings, h.dtype)

    def InitStates(self, theta: NestedMap, batch_size: Any, max_len: Any = None) -> NestedMap:
        """Returns the empty caches, `x_layers[i]` for layer i (growing unless `max_len`)."""
        return NestedMap(
            x_layers=[
                layer.InitStates(t, batch_size, max_len)
                for layer, t in zip(self.x_layers, theta.x_layers, strict=True)
            ]
        )

    def PackAux(self, theta: NestedMap, aux_vecs: Any, aux_paddings: Any) -> NestedMap:
        """Packs the cross-attention source of every layer once; `x_layers[i]` for layer i."""
        return NestedMap(
            x_layers=[
                layer.PackAux(t, aux_vecs, aux_paddings)
                for layer, t in zip(self.x_layers, theta.x_layers, strict=True)
            ]
        )

    def ExtendStep(
        self,
        theta: NestedMap,
        query_vec: Any,
        prefix_states: NestedMap,
        time_step: Any,
        aux_vecs: Any = None,
        aux_paddings: Any = None,
        packed_aux: NestedMap | None = None,
    ) -> tuple[tf.Tensor, NestedMap]:
        """Runs one decoding step through every layer.

        Args:
          theta: This layer's theta.
          query_vec: Shaped [batch, model_dim].
          prefix_states: The caches from `InitStates` or the previous step.
          time_step: The 0-based step index.
          aux_vecs: Shaped [aux_time, batch, aux_dim]: with cross-attention, these or
            `packed_aux`.
          aux_paddings: Shaped [aux_time, batch].
          packed_aux: `PackAux`'s result (saves re-projecting the source every step).

        Returns:
          `(output, new_states)`: output shaped [batch, model_dim], the new caches.
        """
        h = query_vec
        states = []
        packed = packed_aux.x_layers if packed_aux is not None else [None] * len(self.x_layers)
        for layer, layer_theta, state, layer_packed in zip(
            self.x_layers, theta.x_layers, prefix_states.x_layers, packed, strict=True
        ):
            h, _, state = layer.ExtendStep(
                layer_theta, h, state, time_step, aux_vecs, aux_paddings, layer_packed
            )
            states.append(state)
        if self.params.ln_output:
            h = self.final_ln.FProp(theta.final_ln, h)
        return h, NestedMap(x_layers=states)
