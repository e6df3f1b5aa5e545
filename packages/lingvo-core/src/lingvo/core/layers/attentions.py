"""Attention over a time-major source: additive, dot-product, multi-headed, location-sensitive.

Every attention here follows Lingvo's two-step API. `PackSource` precomputes what depends only
on the source (its projections) into a `NestedMap` whose tensors are all time-major (time is
axis 0), and `ComputeContextVectorWithSource` attends from a batch of queries to it, returning
`(context, probs, attention_state)`.

The query batch may be a multiple of the source batch (beam search, or the target time steps
of a Transformer folded into the batch): query row `i` attends to source column
`i % source_batch`. Padded source positions get exactly zero probability; a row whose source
positions are all padded gets all-zero probabilities and a zero context, not NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import tensorflow as tf

from lingvo.core import base_layer, hyperparams, weights
from lingvo.core.layers import dropouts, linears
from lingvo.core.layers._checks import CheckDims
from lingvo.core.nested_map import NestedMap

__all__ = [
    "AdditiveAttention",
    "BaseAttentionLayer",
    "CausalPadding",
    "DotProductAttention",
    "LocationSensitiveAttention",
    "MaskedSoftmax",
    "MultiHeadedAttention",
    "PerQueryRows",
]

_LARGE_NEGATIVE = -1e9


def CausalPadding(seq_len: Any, dtype: tf.dtypes.DType = tf.float32) -> tf.Tensor:
    """Returns the causal mask: entry [t, s] is 1.0 (padded) where s > t.

    Args:
      seq_len: The sequence length (an int or an int scalar tensor).
      dtype: The float dtype of the result.

    Returns:
      Shaped [seq_len, seq_len]; row t lets position t see positions 0..t only.
    """
    ones = tf.ones([seq_len, seq_len], dtype)
    return 1.0 - tf.linalg.band_part(ones, -1, 0)


def PerQueryRows(
    x: tf.Tensor, one_row: Callable[[], tf.Tensor], rows: Callable[[], tf.Tensor]
) -> tf.Tensor:
    """`one_row()` when `x` ([multiplier, ...]) has one query row per source column, else `rows()`.

    Decided while tracing when the multiplier is static; otherwise (a decoding step traced
    for any batch size, where the query and source batches are both unknown) at run time,
    so a self-attention step still takes the cheap one-row path rather than an einsum.
    """
    if x.shape[0] is not None:
        return one_row() if x.shape[0] == 1 else rows()
    return tf.cond(tf.equal(tf.shape(x)[0], 1), one_row, rows)


def MaskedSoftmax(logits: tf.Tensor, padding: tf.Tensor) -> tf.Tensor:
    """Softmax over the last axis in which padded entries get exactly zero probability.

    Args:
      logits: Shaped [..., time].
      padding: Broadcastable to `logits`; 1.0 marks entries left out.

    Returns:
      Shaped like `logits`. A row whose entries are all padded is all zeros.
    """
    padding = tf.broadcast_to(tf.cast(padding, logits.dtype), tf.shape(logits))
    keep = 1.0 - padding
    logits = tf.where(padding > 0.5, tf.constant(_LARGE_NEGATIVE, logits.dtype), logits)
    logits -= tf.stop_gradient(tf.reduce_max(logits, axis=-1, keepdims=True))
    unnormalized = tf.exp(logits) * keep
    total = tf.reduce_sum(unnormalized, axis=-1, keepdims=True)
    return unnormalized / tf.maximum(total, tf.constant(1e-30, logits.dtype))


class BaseAttentionLayer(base_layer.BaseLayer):
    """The shared attention API: `PackSource`, `ComputeContextVectorWithSource`, dropout.

    Subclasses implement `_PackSourceExtra` (source projections) and `_Logits`; this class
    masks padded positions, normalizes, drops out attention weights (for the context only;
    the returned probs are the undropped distribution) and sums the source contexts.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("source_dim", None, "The depth of the source vectors (the keys).")
        p.Define("query_dim", None, "The depth of the query vectors.")
        p.Define("hidden_dim", None, "The depth of the hidden space logits are computed in.")
        p.Define("atten_dropout_prob", 0.0, "The dropout probability of the attention weights.")
        p.Define(
            "atten_dropout_deterministic",
            False,
            "Whether attention dropout masks are keyed by a caller's step seed (recurrent loops).",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if not 0.0 <= p.atten_dropout_prob < 1.0:
            raise ValueError(
                f"{self}: atten_dropout_prob must be in [0, 1), got {p.atten_dropout_prob}"
            )
        cls = (
            dropouts.DeterministicDropoutLayer
            if p.atten_dropout_deterministic
            else dropouts.DropoutLayer
        )
        self.CreateChild("atten_dropout", cls.Params().Set(keep_prob=1.0 - p.atten_dropout_prob))

    def _Where(self) -> str:
        return f"{type(self).__name__} {self.path!r}"

    # ------------------------------------------------------------------ source

    def PackSource(
        self,
        theta: NestedMap,
        source_vecs: Any,
        source_contexts: Any = None,
        source_padding: Any = None,
    ) -> NestedMap:
        """Precomputes what depends only on the source.

        Args:
          theta: This layer's theta.
          source_vecs: The keys, shaped [time, batch, source_dim].
          source_contexts: The values, shaped [time, batch, context_dim]; None: `source_vecs`.
          source_padding: Shaped [time, batch], 1.0 where padded; None: nothing padded.

        Returns:
          A `NestedMap` of time-major tensors: `source_vecs`, `source_contexts`,
          `source_padding` and the subclass's projections.

        Raises:
          ValueError: If a shape does not fit, naming the layer, the argument and both shapes.
        """
        source_vecs, source_contexts, source_padding = self._ConvertSource(
            source_vecs, source_contexts, source_padding
        )
        packed = NestedMap(
            source_vecs=source_vecs,
            source_contexts=source_contexts,
            source_padding=source_padding,
        )
        packed.update(self._PackSourceExtra(theta, packed))
        return packed

    def _ConvertSource(
        self,
        source_vecs: Any,
        source_contexts: Any,
        source_padding: Any,
        context_dim: int | None = None,
        check_contexts: bool = True,
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Returns `PackSource`'s arguments as checked tensors, their None defaults filled in.

        The values must be [time, batch, context_dim] (any depth when `context_dim` is None;
        unchecked without `check_contexts`). Raises `ValueError` on a shape that does not fit.
        """
        source_vecs = tf.convert_to_tensor(source_vecs, self.fprop_dtype)
        self.CheckInputShape(source_vecs, [None, None, self.params.source_dim], "source_vecs")
        if source_contexts is None:
            source_contexts = source_vecs
        source_contexts = tf.convert_to_tensor(source_contexts, source_vecs.dtype)
        if check_contexts:
            self.CheckInputShape(
                source_contexts, [*source_vecs.shape[:2], context_dim], "source_contexts"
            )
        if source_padding is None:
            source_padding = tf.zeros(tf.shape(source_vecs)[:2], source_vecs.dtype)
        source_padding = tf.convert_to_tensor(source_padding, source_vecs.dtype)
        self.CheckInputShape(source_padding, source_vecs.shape[:2], "source_padding")
        return source_vecs, source_contexts, source_padding

    def _ConvertStepPadding(
        self,
        per_step_source_padding: Any,
        query_vec: tf.Tensor,
        source_padding: tf.Tensor,
        dtype: tf.dtypes.DType,
    ) -> tf.Tensor:
        """Returns `per_step_source_padding` as a `dtype` tensor, checked [query_batch, time]."""
        step_padding = tf.convert_to_tensor(per_step_source_padding, dtype)
        self.CheckInputShape(
            step_padding,
            [query_vec.shape[0], source_padding.shape[0]],
            "per_step_source_padding",
        )
        return step_padding

    def AddBatchMajorSource(self, packed: NestedMap) -> NestedMap:
        """Returns `packed` with batch-major copies of its keys and values, for many steps.

        A packed source that every step of a beam search attends with several query rows
        per source column (the cross-attention) is transposed here, once, to [batch, time,
        dim] (`batch_major_vecs`, `batch_major_contexts`; the padding to [batch, time],
        `batch_major_padding`); each step then attends with batched matmuls, whatever its
        number of query rows per column, instead of einsums that transpose the whole source
        at every call. Only for a source that is neither reordered nor extended between
        steps (a decoding cache is both). The results are those of the time-major source.

        Args:
          packed: What `PackSource` returned.

        Returns:
          A new `NestedMap` with the copies added.
        """
        out = NestedMap(packed)
        out.batch_major_vecs = tf.transpose(packed.source_vecs, [1, 0, 2])
        out.batch_major_contexts = tf.transpose(packed.source_contexts, [1, 0, 2])
        out.batch_major_padding = tf.transpose(packed.source_padding)
        return out

    def _PackSourceExtra(self, theta: NestedMap, packed: NestedMap) -> NestedMap:
        """Returns extra time-major tensors for `packed` (e.g. projected keys)."""
        del theta, packed
        return NestedMap()

    def ZeroAttentionState(self, source_length: Any, decoder_batch_size: Any) -> tf.Tensor:
        """Returns the initial attention state; stateless attentions return a dummy.

        Args:
          source_length: The source time length.
          decoder_batch_size: The query batch size.

        Returns:
          Shaped [decoder_batch_size, 1] of zeros (unused by stateless attentions).
        """
        del source_length
        return tf.zeros([decoder_batch_size, 1], self.fprop_dtype)

    # ------------------------------------------------------------------ queries

    def _Logits(
        self, theta: NestedMap, packed: NestedMap, query: tf.Tensor, state: Any
    ) -> tf.Tensor:
        """Returns logits shaped [multiplier, batch, time] for queries [multiplier, batch, dim]."""
        raise NotImplementedError(f"Abstract method of {self}")

    def _BatchMajorLogits(
        self, theta: NestedMap, packed: NestedMap, query: tf.Tensor, state: Any
    ) -> tf.Tensor:
        """`_Logits` laid out [batch, multiplier, time], for a source with batch-major copies.

        This default transposes `_Logits`; a subclass that attends the copies directly
        (`DotProductAttention`) returns that layout without it.
        """
        return tf.transpose(self._Logits(theta, packed, query, state), [1, 0, 2])

    def _NextState(self, probs: tf.Tensor, state: Any) -> Any:
        """Returns the attention state after a step with `probs` [query_batch, time]."""
        del probs
        return state

    def ComputeContextVectorWithSource(
        self,
        theta: NestedMap,
        packed_src: NestedMap,
        query_vec: Any,
        attention_state: Any = None,
        per_step_source_padding: Any = None,
        step_seed: Any = None,
    ) -> tuple[tf.Tensor, tf.Tensor, Any]:
        """Attends from `query_vec` to the packed source.

        Args:
          theta: This layer's theta.
          packed_src: What `PackSource` returned.
          query_vec: Shaped [query_batch, query_dim], query_batch a multiple of the source
            batch; row i attends to source column i % source_batch.
          attention_state: The previous state (`ZeroAttentionState` at the first step);
            stateless attentions pass it through.
          per_step_source_padding: Optional, shaped [query_batch, time]; 1.0 hides a source
            position from that query only (e.g. a causal mask).
          step_seed: With `atten_dropout_deterministic`, the step keying the dropout mask.

        Returns:
          `(context, probs, attention_state)`: context shaped [query_batch, context_dim],
          probs shaped [query_batch, time] (zero at padded positions), the new state.

        Raises:
          ValueError: If `query_vec` is not shaped [query_batch, query_dim].
        """
        p = self.params
        query_vec = tf.convert_to_tensor(query_vec, self.fprop_dtype)
        self.CheckInputShape(query_vec, [None, p.query_dim], "query_vec")
        if attention_state is None:
            attention_state = self.ZeroAttentionState(
                tf.shape(packed_src.source_vecs)[0], tf.shape(query_vec)[0]
            )
        source_batch = tf.shape(packed_src.source_padding)[1]
        time = tf.shape(packed_src.source_padding)[0]
        static_sb = packed_src.source_padding.shape[1]
        static_qb = query_vec.shape[0]
        if static_sb and static_qb is not None and static_qb % static_sb:
            raise ValueError(
                f"{self._Where()}: query_vec batch {static_qb} is not a multiple of the source "
                f"batch {static_sb}"
            )
        multiplier = tf.shape(query_vec)[0] // source_batch
        if static_sb and static_qb is not None:
            multiplier = static_qb // static_sb  # static, so the layout of a step is known
        query = tf.reshape(query_vec, [multiplier, source_batch, -1])
        batch_major = "batch_major_padding" in packed_src  # see AddBatchMajorSource
        if batch_major:
            # Softmax and context in the batch-major layout of the copies: [batch,
            # multiplier, time]; only the query, context and probs are transposed.
            logits = self._BatchMajorLogits(theta, packed_src, query, attention_state)
            padding = packed_src.batch_major_padding[:, tf.newaxis]  # [batch, 1, time]
        else:
            logits = self._Logits(theta, packed_src, query, attention_state)
            padding = tf.transpose(packed_src.source_padding)[tf.newaxis]  # [1, batch, time]
        if per_step_source_padding is not None:
            step_padding = self._ConvertStepPadding(
                per_step_source_padding, query_vec, packed_src.source_padding, logits.dtype
            )
            step_padding = tf.reshape(step_padding, [multiplier, source_batch, time])
            if batch_major:
                step_padding = tf.transpose(step_padding, [1, 0, 2])
            padding = tf.maximum(padding, step_padding)
        probs = MaskedSoftmax(logits, padding)  # [multiplier, batch, time] or batch-major
        if p.atten_dropout_deterministic:
            dropped = self.atten_dropout.FProp(
                theta.atten_dropout, probs, 0 if step_seed is None else step_seed
            )
        else:
            dropped = self.atten_dropout.FProp(theta.atten_dropout, probs)

        def OneRow() -> tf.Tensor:  # as in DotProductAttention._Logits: read the values once
            weights_sb = tf.transpose(dropped[0])[:, :, tf.newaxis]  # [s, b, 1]
            return tf.reduce_sum(weights_sb * packed_src.source_contexts, axis=0)[tf.newaxis]

        if batch_major:  # any multiplier
            context_bmd = tf.matmul(dropped, packed_src.batch_major_contexts)
            context = tf.transpose(context_bmd, [1, 0, 2])
            probs = tf.transpose(probs, [1, 0, 2])
        else:
            context = PerQueryRows(
                dropped,
                OneRow,
                lambda: tf.einsum("mbs,sbd->mbd", dropped, packed_src.source_contexts),
            )
        context = tf.reshape(context, [multiplier * source_batch, -1])
        probs = tf.reshape(probs, [multiplier * source_batch, time])
        return context, probs, self._NextState(probs, attention_state)

    def FProp(
        self, theta: NestedMap, source_vecs: Any, source_padding: Any, query_vec: Any
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """One attention step: `PackSource` then `ComputeContextVectorWithSource`.

        Args:
          theta: This layer's theta.
          source_vecs: Shaped [time, batch, source_dim]; also the values.
          source_padding: Shaped [time, batch], 1.0 where padded.
          query_vec: Shaped [query_batch, query_dim].

        Returns:
          `(context, probs)` shaped [query_batch, context_dim] and [query_batch, time].
        """
        packed = self.PackSource(theta, source_vecs, source_vecs, source_padding)
        context, probs, _ = self.ComputeContextVectorWithSource(theta, packed, query_vec)
        return context, probs


class AdditiveAttention(BaseAttentionLayer):
    """Bahdanau attention: `logits = hidden_var . tanh(source @ source_var + query @ query_var)`.

    Variables: `source_var` shaped [source_dim, hidden_dim], `query_var` shaped
    [query_dim, hidden_dim], `hidden_var` shaped [hidden_dim].
    """

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        CheckDims(self, "source_dim", "query_dim", "hidden_dim")

    def _CreateLayerVariables(self) -> None:
        super()._CreateLayerVariables()
        p = self.params
        for name, shape in (
            ("source_var", [p.source_dim, p.hidden_dim]),
            ("query_var", [p.query_dim, p.hidden_dim]),
            ("hidden_var", [p.hidden_dim]),
        ):
            self.CreateVariable(name, weights.WeightParams(shape, p.params_init, p.dtype))

    def AddGlobalVN(self, theta: NestedMap) -> NestedMap:
        theta = super().AddGlobalVN(theta)
        for name in ("source_var", "query_var", "hidden_var"):
            theta[name] = self.AddVN(theta[name], name)
        return theta

    def _PackSourceExtra(self, theta: NestedMap, packed: NestedMap) -> NestedMap:
        return NestedMap(source_proj=tf.einsum("sbd,dh->sbh", packed.source_vecs, theta.source_var))

    def _Hidden(self, theta: NestedMap, packed: NestedMap, query: tf.Tensor) -> tf.Tensor:
        """Returns the pre-tanh sum shaped [multiplier, batch, time, hidden_dim]."""
        source = tf.transpose(packed.source_proj, [1, 0, 2])[tf.newaxis]  # [1, b, s, h]
        query = tf.einsum("mbd,dh->mbh", query, theta.query_var)[:, :, tf.newaxis]
        return source + query

    def _Logits(
        self, theta: NestedMap, packed: NestedMap, query: tf.Tensor, state: Any
    ) -> tf.Tensor:
        del state
        hidden = self._Hidden(theta, packed, query)
        return tf.einsum("mbsh,h->mbs", tf.tanh(hidden), theta.hidden_var)


class DotProductAttention(BaseAttentionLayer):
    """Scaled dot-product attention with an optional learned per-dimension query scale.

    `logits = sum_d(query_d * scale_d * source_d)` with `scale = rsqrt(source_dim)`, times
    `softplus(per_dim_scale) / softplus(0)` when `use_dim_scale` (variable `per_dim_scale`
    shaped [source_dim], initialised to 0 so the scale starts at exactly `rsqrt(source_dim)`).
    `query_dim` must equal `source_dim`; `hidden_dim` is unused.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define(
            "use_dim_scale", True, "Whether the query is scaled by a learned per-dimension scale."
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        CheckDims(self, "source_dim", "query_dim")
        if p.query_dim != p.source_dim:
            raise ValueError(
                f"{self}: query_dim ({p.query_dim}) must equal source_dim ({p.source_dim})"
            )

    def _CreateLayerVariables(self) -> None:
        super()._CreateLayerVariables()
        p = self.params
        if p.use_dim_scale:
            self.CreateVariable(
                "per_dim_scale",
                weights.WeightParams([p.source_dim], weights.WeightInit.Constant(0.0), p.dtype),
            )

    def QueryScale(self, theta: NestedMap, dtype: tf.dtypes.DType) -> tf.Tensor:
        """Returns the factor queries are multiplied by: shaped [] or [source_dim]."""
        p = self.params
        scale = tf.constant(1.0 / math.sqrt(p.source_dim), dtype)
        if p.use_dim_scale:
            scale *= tf.nn.softplus(theta.per_dim_scale) / math.log(2.0)
        return scale

    def _Logits(
        self, theta: NestedMap, packed: NestedMap, query: tf.Tensor, state: Any
    ) -> tf.Tensor:
        del state
        scale = self.QueryScale(theta, query.dtype)

        def OneRow() -> tf.Tensor:
            # One query row per source column (a decoding step of self-attention): a
            # multiply-and-sum over the time-major keys reads them once, without the
            # transpose a batched matmul needs; the output is small.
            logits = tf.reduce_sum(query[0] * scale * packed.source_vecs, axis=-1)  # [s, b]
            return tf.transpose(logits)[tf.newaxis]

        if "batch_major_vecs" in packed:  # see AddBatchMajorSource; any multiplier
            return tf.transpose(self._BatchMajorLogits(theta, packed, query, None), [1, 0, 2])
        return PerQueryRows(
            query, OneRow, lambda: tf.einsum("mbd,sbd->mbs", query * scale, packed.source_vecs)
        )

    def _BatchMajorLogits(
        self, theta: NestedMap, packed: NestedMap, query: tf.Tensor, state: Any
    ) -> tf.Tensor:
        if "batch_major_vecs" not in packed:
            return super()._BatchMajorLogits(theta, packed, query, state)
        query_bmd = tf.transpose(query * self.QueryScale(theta, query.dtype), [1, 0, 2])
        return tf.matmul(query_bmd, packed.batch_major_vecs, transpose_b=True)


class LocationSensitiveAttention(AdditiveAttention):
    """Additive attention that also sees a convolution of the previous alignment (ASR).

    `logits = hidden_var . tanh(source @ source_var + query @ query_var + loc @ location_var)`
    where `loc = conv1d(state, location_filter_var)` over source time. The state, shaped
    [query_batch, len(location_features), time], holds the previous step's probs
    (`PREV_PROBS`) and/or their running sum (`CUMULATIVE_PROBS`). Extra variables:
    `location_filter_var` shaped [location_filter_size, len(location_features),
    location_num_filters], `location_var` shaped [location_num_filters, hidden_dim].
    """

    _FEATURES = ("PREV_PROBS", "CUMULATIVE_PROBS")

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("location_filter_size", 5, "The width (in source steps) of the location filter.")
        p.Define("location_num_filters", 4, "The number of location filters.")
        p.Define(
            "location_features",
            ["PREV_PROBS"],
            "The alignment features convolved: a list of PREV_PROBS and/or CUMULATIVE_PROBS.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        CheckDims(self, "location_filter_size", "location_num_filters")
        feats = list(p.location_features)
        if (
            not feats
            or any(f not in self._FEATURES for f in feats)
            or len(set(feats)) != len(feats)
        ):
            raise ValueError(
                f"{self}: location_features must be distinct entries of {list(self._FEATURES)}, "
                f"got {feats!r}"
            )

    def _CreateLayerVariables(self) -> None:
        super()._CreateLayerVariables()
        p = self.params
        num_features = len(p.location_features)
        self.CreateVariable(
            "location_filter_var",
            weights.WeightParams(
                [p.location_filter_size, num_features, p.location_num_filters],
                p.params_init,
                p.dtype,
            ),
        )
        self.CreateVariable(
            "location_var",
            weights.WeightParams([p.location_num_filters, p.hidden_dim], p.params_init, p.dtype),
        )

    def ZeroAttentionState(self, source_length: Any, decoder_batch_size: Any) -> tf.Tensor:
        """Returns the initial state: every feature puts all its weight on source position 0.

        Args:
          source_length: The source time length.
          decoder_batch_size: The query batch size.

        Returns:
          Shaped [decoder_batch_size, len(location_features), source_length].
        """
        num_features = len(self.params.location_features)
        index = tf.zeros([decoder_batch_size, num_features], tf.int32)
        return tf.one_hot(index, source_length, dtype=self.fprop_dtype)

    def _Logits(
        self, theta: NestedMap, packed: NestedMap, query: tf.Tensor, state: Any
    ) -> tf.Tensor:
        state = tf.convert_to_tensor(state, query.dtype)
        num_features = len(self.params.location_features)
        self.CheckInputShape(
            state, [None, num_features, packed.source_padding.shape[0]], "attention_state"
        )
        features = tf.transpose(state, [0, 2, 1])  # [query_batch, time, features]
        conv = tf.nn.conv1d(features, theta.location_filter_var, stride=1, padding="SAME")
        loc = tf.einsum("qsf,fh->qsh", conv, theta.location_var)
        shape = tf.shape(query)
        loc = tf.reshape(loc, [shape[0], shape[1], tf.shape(loc)[1], -1])  # [m, b, s, h]
        hidden = self._Hidden(theta, packed, query) + loc
        return tf.einsum("mbsh,h->mbs", tf.tanh(hidden), theta.hidden_var)

    def _NextState(self, probs: tf.Tensor, state: Any) -> Any:
        state = tf.convert_to_tensor(state, probs.dtype)
        new = []
        for i, feature in enumerate(self.params.location_features):
            new.append(probs if feature == "PREV_PROBS" else state[:, i] + probs)
        return tf.stack(new, axis=1)


class MultiHeadedAttention(BaseAttentionLayer):
    """Multi-headed attention around an inner attention (RNMT+ and the classic Transformer).

    Keys (`source_proj`) and queries (`query_proj`) are projected to `hidden_dim` and split
    into `num_attention_heads` heads of `hidden_dim / num_attention_heads`; the inner
    attention (`atten`, built from `inner_atten_params`) runs on every head. Values are
    the projected keys (`use_source_vec_as_attention_value`, RNMT+), the source contexts
    projected to `hidden_dim` (`enable_ctx_pre_proj`, child `ctx_proj`), or the raw
    contexts (`context_dim` must divide by the heads). The heads' contexts are concatenated
    and, with `enable_ctx_post_proj`, projected to `ctx_post_proj_dim` (`ctx_post_proj`).
    The returned probs are the heads' mean. All projections have a bias.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("context_dim", None, "The depth of the source contexts (the values).")
        p.Define("num_attention_heads", 2, "The number of attention heads.")
        p.Define(
            "inner_atten_params",
            DotProductAttention.Params(),
            "The template of the per-head attention; its dims and dropout are set from these.",
        )
        p.Define("enable_query_proj", True, "Whether queries are projected to hidden_dim.")
        p.Define("enable_source_proj", True, "Whether keys are projected to hidden_dim.")
        p.Define(
            "use_source_vec_as_attention_value",
            True,
            "Whether the (projected) keys also serve as values; source contexts are ignored "
            "(Lingvo's default; the Transformer turns it off).",
        )
        p.Define(
            "enable_ctx_pre_proj",
            False,
            "Whether source contexts are projected to hidden_dim before use as values.",
        )
        p.Define(
            "enable_ctx_post_proj",
            False,
            "Whether the concatenated heads' context is projected to ctx_post_proj_dim.",
        )
        p.Define(
            "ctx_post_proj_dim", None, "The output depth of ctx_post_proj (None: context_dim)."
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        CheckDims(self, "source_dim", "query_dim", "hidden_dim", "num_attention_heads")
        if p.context_dim is None and not p.use_source_vec_as_attention_value:
            raise ValueError(f"{self}: context_dim must be set (or use the keys as values)")
        heads = p.num_attention_heads
        if p.hidden_dim % heads:
            raise ValueError(
                f"{self}: hidden_dim {p.hidden_dim} is not divisible by {heads} attention heads"
            )
        for flag, dim in (
            (p.enable_source_proj, "source_dim"),
            (p.enable_query_proj, "query_dim"),
        ):
            if not flag and p.Get(dim) != p.hidden_dim:
                raise ValueError(f"{self}: without its projection {dim} must equal hidden_dim")
        if p.use_source_vec_as_attention_value or p.enable_ctx_pre_proj:
            value_dim = p.hidden_dim
        else:
            value_dim = p.context_dim
            if value_dim % heads:
                raise ValueError(
                    f"{self}: context_dim {value_dim} is not divisible by {heads} heads "
                    f"(enable_ctx_pre_proj projects it to hidden_dim)"
                )
        object.__setattr__(self, "_value_dim", value_dim)

        def Proj(input_dim: int, output_dim: int) -> hyperparams.InstantiableParams:
            return linears.ProjectionLayer.Params().Set(
                input_dim=input_dim, output_dim=output_dim, activation="NONE", has_bias=True
            )

        if p.enable_source_proj:
            self.CreateChild("source_proj", Proj(p.source_dim, p.hidden_dim))
        if p.enable_query_proj:
            self.CreateChild("query_proj", Proj(p.query_dim, p.hidden_dim))
        if p.enable_ctx_pre_proj and not p.use_source_vec_as_attention_value:
            self.CreateChild("ctx_proj", Proj(p.context_dim, p.hidden_dim))
        if p.enable_ctx_post_proj:
            self.CreateChild("ctx_post_proj", Proj(value_dim, self.output_dim))
        head_dim = p.hidden_dim // heads
        inner = p.inner_atten_params.Copy().Set(
            source_dim=head_dim,
            query_dim=head_dim,
            hidden_dim=head_dim,
            atten_dropout_prob=p.atten_dropout_prob,
            atten_dropout_deterministic=p.atten_dropout_deterministic,
        )
        self.CreateChild("atten", inner)

    @property
    def output_dim(self) -> int:
        """The depth of the context this layer returns."""
        p = self.params
        if p.enable_ctx_post_proj:
            return p.ctx_post_proj_dim or p.context_dim or p.hidden_dim
        return self._value_dim

    def PackSource(
        self,
        theta: NestedMap,
        source_vecs: Any,
        source_contexts: Any = None,
        source_padding: Any = None,
    ) -> NestedMap:
        """Projects the source and splits it into heads; see `BaseAttentionLayer.PackSource`.

        Returns:
          A `NestedMap` with `inner`, the inner attention's packed source over
          [time, batch * num_attention_heads, ...], head h of batch b at column
          b * num_attention_heads + h.
        """
        p = self.params
        heads = p.num_attention_heads
        # The raw contexts are ignored when the keys serve as values, so they go unchecked.
        source_vecs, source_contexts, source_padding = self._ConvertSource(
            source_vecs,
            source_contexts,
            source_padding,
            p.context_dim,
            check_contexts=not p.use_source_vec_as_attention_value,
        )
        keys = source_vecs
        if p.enable_source_proj:
            keys = self.source_proj.FProp(theta.source_proj, keys)
        if p.use_source_vec_as_attention_value:
            values = keys
        elif p.enable_ctx_pre_proj:
            values = self.ctx_proj.FProp(theta.ctx_proj, source_contexts)
        else:
            values = source_contexts

        def Split(x: tf.Tensor) -> tf.Tensor:
            shape = tf.shape(x)
            return tf.reshape(x, [shape[0], shape[1] * heads, x.shape[-1] // heads])

        # Column b * heads + h: broadcast and reshape (tf.repeat adds a dozen ops and two
        # asserts, which a decoding step would run for every layer).
        shape = tf.shape(source_padding)
        padding = tf.reshape(
            tf.broadcast_to(source_padding[:, :, tf.newaxis], [shape[0], shape[1], heads]),
            [shape[0], shape[1] * heads],
        )
        inner = self.atten.PackSource(theta.atten, Split(keys), Split(values), padding)
        return NestedMap(inner=inner)

    def AddBatchMajorSource(self, packed: NestedMap) -> NestedMap:
        """Adds the batch-major copies to the inner attention's packed source (per head)."""
        return NestedMap(packed, inner=self.atten.AddBatchMajorSource(packed.inner))

    def ZeroAttentionState(self, source_length: Any, decoder_batch_size: Any) -> Any:
        """Returns the inner attention's zero state for every (query, head) row."""
        heads = self.params.num_attention_heads
        return self.atten.ZeroAttentionState(source_length, decoder_batch_size * heads)

    def ComputeContextVectorWithSource(
        self,
        theta: NestedMap,
        packed_src: NestedMap,
        query_vec: Any,
        attention_state: Any = None,
        per_step_source_padding: Any = None,
        step_seed: Any = None,
    ) -> tuple[tf.Tensor, tf.Tensor, Any]:
        """Attends with every head; see `BaseAttentionLayer.ComputeContextVectorWithSource`.

        Returns:
          `(context, probs, attention_state)`: context shaped [query_batch, output_dim],
          probs shaped [query_batch, time] (the heads' mean), the inner attention's state.
        """
        p = self.params
        heads = p.num_attention_heads
        query_vec = tf.convert_to_tensor(query_vec, self.fprop_dtype)
        self.CheckInputShape(query_vec, [None, p.query_dim], "query_vec")
        query_batch = tf.shape(query_vec)[0]
        query = query_vec
        if p.enable_query_proj:
            query = self.query_proj.FProp(theta.query_proj, query)
        query = tf.reshape(query, [query_batch * heads, p.hidden_dim // heads])
        if per_step_source_padding is not None:
            per_step_source_padding = self._ConvertStepPadding(
                per_step_source_padding, query_vec, packed_src.inner.source_padding, query.dtype
            )
            per_step_source_padding = tf.repeat(per_step_source_padding, heads, axis=0)
        context, probs, state = self.atten.ComputeContextVectorWithSource(
            theta.atten,
            packed_src.inner,
            query,
            attention_state,
            per_step_source_padding,
            step_seed,
        )
        context = tf.reshape(context, [query_batch, self._value_dim])
        if p.enable_ctx_post_proj:
            context = self.ctx_post_proj.FProp(theta.ctx_post_proj, context)
        probs = tf.reduce_mean(tf.reshape(probs, [query_batch, heads, -1]), axis=1)
        return context, probs, state

    def AttendUnpaddedOwnColumns(
        self, theta: NestedMap, packed_inner: NestedMap, query_vec: Any
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Attends query row r to source column r only, over a source with no padding.

        What a decoding step of self-attention against a growing cache (exactly the decoded
        prefix) needs. It stays time-major throughout: the logits, the softmax (over axis
        0) and the context are computed on [time, rows] without the transposes, masks and
        run-time layout choice of `ComputeContextVectorWithSource`, whose results it equals
        for a source whose padding is all zeros and one query row per source column.

        Args:
          theta: This layer's theta.
          packed_inner: The inner attention's packed keys and values (`source_vecs`,
            `source_contexts`; `source_padding` is not read), over [time, batch * heads,
            ...] as `PackSource` lays them out; time may be 0 only if no step is attended.
          query_vec: Shaped [batch, query_dim].

        Returns:
          `(context, probs)`: context shaped [batch, output_dim], probs shaped [batch, time]
          (the heads' mean).

        Raises:
          ValueError: If the inner attention is not a `DotProductAttention` or `query_vec`
            does not fit.
        """
        p = self.params
        if not isinstance(self.atten, DotProductAttention):
            raise ValueError(
                f"{self}: AttendUnpaddedOwnColumns needs DotProductAttention heads, got "
                f"{type(self.atten).__name__}"
            )
        heads = p.num_attention_heads
        query_vec = tf.convert_to_tensor(query_vec, self.fprop_dtype)
        self.CheckInputShape(query_vec, [None, p.query_dim], "query_vec")
        batch = tf.shape(query_vec)[0]
        query = query_vec
        if p.enable_query_proj:
            query = self.query_proj.FProp(theta.query_proj, query)
        query = tf.reshape(query, [batch * heads, p.hidden_dim // heads])
        query *= self.atten.QueryScale(theta.atten, query.dtype)
        logits = tf.reduce_sum(query * packed_inner.source_vecs, axis=-1)  # [time, rows]
        logits -= tf.reduce_max(logits, axis=0, keepdims=True)
        unnormalized = tf.exp(logits)
        probs = unnormalized / tf.reduce_sum(unnormalized, axis=0, keepdims=True)
        dropout_theta = theta.atten.atten_dropout
        if self.atten.params.atten_dropout_deterministic:
            dropped = self.atten.atten_dropout.FProp(dropout_theta, probs, 0)
        else:
            dropped = self.atten.atten_dropout.FProp(dropout_theta, probs)
        context = tf.reduce_sum(dropped[:, :, tf.newaxis] * packed_inner.source_contexts, axis=0)
        context = tf.reshape(context, [batch, self._value_dim])
        if p.enable_ctx_post_proj:
            context = self.ctx_post_proj.FProp(theta.ctx_post_proj, context)
        time = tf.shape(probs)[0]
        probs = tf.transpose(tf.reduce_mean(tf.reshape(probs, [time, batch, heads]), axis=-1))
        return context, probs
