"""MT decoders: the shared loss (`MTBaseDecoder`), `TransformerDecoder` and `MTDecoderV1`.

Targets arrive batch-major (`ids`, `labels`, `paddings`, `weights` shaped [batch, time]);
inside, sequences are time-major ([time, batch, dim]) as in the encoders. Beam search goes
through `lingvo.core.beam_search_helper.BeamSearchHelper` with hyp-major rows (hyp j of
source b is row j * batch + b) and per-hyp states on axis 0.
"""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf

from lingvo.core import base_layer, beam_search_helper, hyperparams, weights
from lingvo.core.layers import attentions, embeddings, fused_xent, rnn_cells, softmaxes
from lingvo.core.layers import transformers as transformer_layers
from lingvo.core.layers.softmaxes import UniformLabelSmoother
from lingvo.core.nested_map import NestedMap
from lingvo.tasks.mt import _input_embedding

__all__ = [
    "MTBaseDecoder",
    "MTDecoderV1",
    "RemoveEOSProbs",
    "TransformerDecoder",
    "UniformLabelSmoother",
]


def RemoveEOSProbs(probs: Any, source_lengths: Any) -> tf.Tensor:
    """Removes the attention on each source's last token (its `</s>`) and renormalises.

    Args:
      probs: Attention probabilities shaped [batch, target_time, source_time].
      source_lengths: The unpadded source lengths shaped [batch].

    Returns:
      Shaped like `probs`: the weight at position `length - 1` is zero and each row is
      divided by its remaining mass plus 1e-6 (so an all-EOS row becomes all zeros).
    """
    probs = tf.convert_to_tensor(probs)
    lengths = tf.cast(source_lengths, tf.int32)
    eos = tf.one_hot(lengths - 1, tf.shape(probs)[2], dtype=probs.dtype)[:, tf.newaxis, :]
    kept = probs * (1.0 - eos)
    return kept / (tf.reduce_sum(kept, axis=2, keepdims=True) + 1e-6)


class MTBaseDecoder(base_layer.BaseLayer):
    """The loss and beam-search plumbing shared by the MT decoders.

    Metrics of `ComputeLoss`: `loss` (the per-word average of the, possibly smoothed,
    cross-entropy with `per_word_avg_loss`, else the mean over sequences of their summed
    cross-entropy), `log_pplx` (per-word cross-entropy against the true labels),
    `fraction_of_correct_next_step_preds` (argmax accuracy) and `num_target_tokens`.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the params shared by the MT decoders."""
        p = super().Params()
        p.Define("source_dim", 512, "The depth of the encoder's output.")
        p.Define(
            "softmax",
            softmaxes.SimpleFullSoftmax.Params(),
            "The softmax params; its input_dim is set by the decoder.",
        )
        p.Define(
            "label_smoothing",
            None,
            "The label smoother params (UniformLabelSmoother), or None for plain labels.",
        )
        p.Define(
            "per_word_avg_loss",
            False,
            "Whether the loss is averaged over target words instead of over sequences.",
        )
        p.Define("target_seq_len", 300, "The longest target a beam search produces.")
        p.Define("target_sos_id", 1, "The id of the start-of-sentence token.")
        p.Define("target_eos_id", 2, "The id of the end-of-sentence token.")
        p.Define(
            "beam_search",
            beam_search_helper.BeamSearchHelper.Params(),
            "The beam-search helper params; target_seq_len and the special ids are set here.",
        )
        return p

    def _CreateCommonChildren(self) -> None:
        p = self.params
        if p.label_smoothing is not None:
            self.CreateChild("smoother", p.label_smoothing.Copy())
        bs = p.beam_search.Copy().Set(
            target_seq_len=p.target_seq_len,
            target_sos_id=p.target_sos_id,
            target_eos_id=p.target_eos_id,
        )
        self.CreateChild("beam_search", bs)

    @property
    def vocab_size(self) -> int:
        """The number of output classes."""
        return int(self.params.softmax.num_classes)

    def ComputeLoss(
        self, theta: NestedMap, predictions: NestedMap, targets: NestedMap
    ) -> tuple[dict[str, tuple[tf.Tensor, tf.Tensor]], dict[str, tf.Tensor]]:
        """Computes the metrics from time-major logits.

        Args:
          theta: This layer's theta.
          predictions: A `NestedMap` with `logits` shaped [time, batch, vocab].
          targets: A `NestedMap` with `labels`, `weights` shaped [batch, time].

        Returns:
          `(metrics, per_sequence)`: metrics `{name: (value, weight)}`; per_sequence
          `{'loss': [batch]}`, each sequence's weighted cross-entropy.
        """
        del theta
        p = self.params
        logits = tf.cast(predictions.logits, tf.float32)
        labels = tf.transpose(tf.cast(targets.labels, tf.int32))
        w = tf.transpose(tf.cast(targets.weights, tf.float32))
        # One XLA-fused pass over [time * batch, vocab] gives the smoothed loss, the plain
        # nll (log_pplx) and the argmax, and one more their gradient; TensorFlow's softmax
        # cross-entropy kernels took several passes per loss (a tenth of the step).
        rows = tf.reshape(logits, [-1, tf.shape(logits)[-1]])
        row_labels = tf.reshape(labels, [-1])
        uncertainty = 0.0 if p.label_smoothing is None else self.smoother.params.uncertainty
        xent, nll, predicted = (
            tf.reshape(x, tf.shape(labels))
            for x in fused_xent.SmoothedSoftmaxXent(rows, row_labels, uncertainty)
        )
        total_w = tf.reduce_sum(w)
        safe_w = tf.maximum(total_w, 1e-6)
        per_seq = tf.reduce_sum(xent * w, axis=0)  # [batch]
        batch = tf.cast(tf.shape(per_seq)[0], tf.float32)
        if p.per_word_avg_loss:
            loss = (tf.reduce_sum(per_seq) / safe_w, total_w)
        else:
            loss = (tf.reduce_sum(per_seq) / batch, batch)
        correct = tf.cast(tf.equal(predicted, labels), w.dtype)
        metrics = {
            "loss": loss,
            "log_pplx": (tf.reduce_sum(nll * w) / safe_w, total_w),
            "fraction_of_correct_next_step_preds": (tf.reduce_sum(correct * w) / safe_w, total_w),
            "num_target_tokens": (total_w, tf.constant(1.0)),
        }
        return metrics, {"loss": per_seq}

    def _SearchOutputs(
        self, encoder_outputs: NestedMap, num_hyps_per_beam: int
    ) -> tuple[NestedMap, int]:
        """Returns the search's encoder outputs (`seq_lengths` [batch]) and the hyp count."""
        k = num_hyps_per_beam or self.params.beam_search.num_hyps_per_beam
        lengths = beam_search_helper.SourceLengths(encoder_outputs)
        return NestedMap(encoder_outputs, seq_lengths=lengths), k


def _NumHyps(encoded: tf.Tensor, k: int) -> Any:
    """batch * k: a Python int when the batch is static (keeps loop shapes static)."""
    batch = encoded.shape[1]
    return batch * k if batch is not None else tf.shape(encoded)[1] * k


def _Rows(x: tf.Tensor, n: Any, lead: list[Any]) -> tf.Tensor:
    """Reshapes `x` to `lead + [n, -1]`, keeping the last dimension static when it can.

    `tf.while_loop` needs the per-hyp states to keep their static shapes across steps.
    """
    n_static = tf.get_static_value(n)
    rest = x.shape[len(lead) :]
    if n_static is not None and rest.is_fully_defined():
        return tf.reshape(x, [*lead, int(n_static), rest.num_elements() // int(n_static)])
    # Never -1: a growing cache starts with zero rows, where -1 cannot be inferred.
    rest_size = tf.reduce_prod(tf.shape(x)[len(lead) :])
    return tf.reshape(x, [*lead, n, rest_size // n])


def _ToHypRows(x: tf.Tensor, n: Any) -> tf.Tensor:
    """[time, n * h, ...] cache tensor -> [time, n, h * ...]: hyps on axis 1, a reshape only.

    The beam-search helper reorders these along axis 1 (`batch_major_state=False`), so the
    caches are never transposed.
    """
    lead = [x.shape[0] if x.shape[0] is not None else tf.shape(x)[0]]
    return _Rows(x, n, lead)


def _FromHypRows(y: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """Inverse of `_ToHypRows`, given a tensor shaped like the original cache."""
    rest = like.shape[2:].as_list()
    rows = like.shape[1] if like.shape[1] is not None else tf.shape(like)[1]
    return tf.reshape(y, [tf.shape(y)[0], rows, *rest])  # not -1: y may have zero rows


def _ReadVariables(theta: NestedMap) -> NestedMap:
    """`theta` with every variable read once, here (e.g. before a decoding loop)."""
    return tf.nest.map_structure(
        lambda x: tf.convert_to_tensor(x) if isinstance(x, tf.Variable) else x, theta
    )


def _StepLogits(softmax: base_layer.BaseLayer, theta: NestedMap) -> Any:
    """Returns `h -> softmax.Logits(theta, h)` for [rows, input_dim] inputs, made for a loop.

    A softmax with a dense weight (`SimpleFullSoftmax` and its subclasses) gets it built
    here, once, instead of its shards being concatenated at every call; the logits are the
    same matmul plus bias (clipped to `logits_abs_max` when set).
    """
    if not hasattr(softmax, "DenseWeights"):
        return lambda h: softmax.Logits(theta, h)
    w, b = softmax.DenseWeights(theta)
    abs_max = softmax.params.logits_abs_max

    def Logits(h: tf.Tensor) -> tf.Tensor:
        logits = tf.nn.bias_add(tf.matmul(tf.cast(h, w.dtype), w), b)
        if abs_max is not None:
            logits = tf.clip_by_value(logits, -abs_max, abs_max)
        return logits

    return Logits


class TransformerDecoder(MTBaseDecoder):
    """Embedding times sqrt(model_dim) plus positions, causal Transformer layers, softmax.

    Each layer is masked self-attention, attention over the encoder output, then the
    feed-forward block, all pre-layer-norm with residuals. The softmax is not tied to the
    embedding. Children: `token_emb`, `position_emb`, `input_dropout`, `trans_stack`,
    `softmax`, and the shared `smoother` and `beam_search`.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the decoder params with the Transformer's beam-search defaults."""
        p = super().Params()
        _input_embedding.DefineParams(p)
        p.Define(
            "trans_stack",
            transformer_layers.StackedTransformerLayers.Params().Set(num_layers=6),
            "The Transformer layers; dims, masking and cross-attention are set here.",
        )
        # Caches are time-major ([time, hyps, ...]): reordered along axis 1, as Lingvo does.
        p.beam_search.Set(length_normalization=0.5, coverage_penalty=0.0, batch_major_state=False)
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if p.beam_search.batch_major_state:
            raise ValueError(
                f"{self}: beam_search.batch_major_state must be False: the decoding caches "
                "are time-major, so hyps are reordered along axis 1"
            )
        d = p.model_dim
        _input_embedding.CreateChildren(self)
        stack = p.trans_stack.Copy().Set(
            model_dim=d, aux_dim=p.source_dim, has_aux_atten=True, mask_self_atten=True
        )
        self.CreateChild("trans_stack", stack)
        self.CreateChild("softmax", p.softmax.Copy().Set(input_dim=d))
        self._CreateCommonChildren()

    def _Embed(self, theta: NestedMap, ids: tf.Tensor, positions: tf.Tensor) -> tf.Tensor:
        emb = self.token_emb.EmbLookup(theta.token_emb, ids)
        pos = self.position_emb.FPropWithPosition(theta.position_emb, positions)
        return self.input_dropout.FProp(theta.input_dropout, emb + tf.cast(pos, emb.dtype))

    def ComputePredictions(
        self, theta: NestedMap, encoder_outputs: NestedMap, targets: NestedMap
    ) -> NestedMap:
        """Runs the decoder over whole target sequences (teacher forcing).

        Args:
          theta: This layer's theta.
          encoder_outputs: `encoded` [source_time, batch, source_dim], `padding`
            [source_time, batch].
          targets: `ids` and `paddings` shaped [batch, time].

        Returns:
          `NestedMap(logits=[time, batch, vocab], attention=NestedMap(probs=[batch, time,
          source_time]))`: the cross-attention averaged over layers, EOS weight removed.
        """
        ids = tf.transpose(tf.convert_to_tensor(targets.ids))
        paddings = tf.transpose(tf.cast(targets.paddings, self.fprop_dtype))
        h = self._Embed(theta, ids, tf.range(tf.shape(ids)[0])[:, tf.newaxis])
        stack, stack_theta = self.trans_stack, theta.trans_stack
        src_lengths = beam_search_helper.SourceLengths(encoder_outputs)
        probs = []
        for layer, layer_theta in zip(stack.x_layers, stack_theta.x_layers, strict=True):
            h, layer_probs = layer.FProp(
                layer_theta, h, paddings, encoder_outputs.encoded, encoder_outputs.padding
            )
            probs.append(RemoveEOSProbs(tf.transpose(layer_probs, [1, 0, 2]), src_lengths))
        if stack.params.ln_output:
            h = stack.final_ln.FProp(stack_theta.final_ln, h)
        logits = self.softmax.Logits(theta.softmax, h)
        return NestedMap(logits=logits, attention=NestedMap(probs=tf.add_n(probs) / len(probs)))

    def BeamSearchDecode(
        self, theta: NestedMap, encoder_outputs: NestedMap, num_hyps_per_beam: int = 0
    ) -> beam_search_helper.BeamSearchDecodeOutput:
        """Beam-searches with cached incremental steps (`ExtendStep`).

        Args:
          theta: This layer's theta.
          encoder_outputs: `encoded` [source_time, batch, source_dim], `padding`
            [source_time, batch].
          num_hyps_per_beam: Hyps per source; 0 uses the helper's `num_hyps_per_beam`.

        Returns:
          The helper's `BeamSearchDecodeOutput`.
        """
        p = self.params
        search_outputs, k = self._SearchOutputs(encoder_outputs, num_hyps_per_beam)
        # Not tiled: hyp row j * batch + b attends source column b (the attention maps query
        # rows to source columns modulo the source batch), as in MTDecoderV1.
        encoded, padding = encoder_outputs.encoded, encoder_outputs.padding
        n = _NumHyps(encoder_outputs.encoded, k)
        stack = self.trans_stack
        # What the steps share is computed once, before the loop: the weights' values (the
        # loop body would read every variable at every step) and the softmax's dense weight
        # (its shards concatenated: a copy of the whole matrix per step otherwise).
        theta = _ReadVariables(theta)
        logits_fn = _StepLogits(self.softmax, theta.softmax)
        # Growing caches (exactly the decoded prefix, as Lingvo's): step t attends and
        # reorders t rows, not target_seq_len. The cross-attention source is packed once,
        # with batch-major copies that let every step attend it by batched matmuls.
        template = stack.InitStates(theta.trans_stack, n)
        packed_aux = stack.PackAux(theta.trans_stack, encoded, padding)
        packed_aux = NestedMap(
            x_layers=[
                layer.atten.atten.AddBatchMajorSource(packed)
                for layer, packed in zip(stack.x_layers, packed_aux.x_layers, strict=True)
            ]
        )

        def Init(theta, enc, num_hyps):
            del enc, num_hyps
            caches = stack.InitStates(theta.trans_stack, n)
            results = NestedMap(
                log_probs=tf.zeros([n, self.vocab_size]),
                atten_probs=tf.zeros([n, tf.shape(encoded)[0]]),
            )
            return results, NestedMap(
                caches=tf.nest.map_structure(lambda x: _ToHypRows(x, n), caches)
            )

        def Pre(theta, enc, step_ids, states, num_hyps, cur_step):
            del enc, num_hyps
            caches = tf.nest.map_structure(_FromHypRows, states.caches, template)
            h = self._Embed(theta, step_ids[:, 0], tf.reshape(cur_step, [1]))
            new_caches, probs = [], []
            for layer, layer_theta, cache, layer_packed in zip(
                stack.x_layers,
                theta.trans_stack.x_layers,
                caches.x_layers,
                packed_aux.x_layers,
                strict=True,
            ):
                h, layer_probs, cache = layer.ExtendStep(
                    layer_theta, h, cache, cur_step, packed_aux=layer_packed
                )
                new_caches.append(cache)
                probs.append(layer_probs)
            if stack.params.ln_output:
                h = stack.final_ln.FProp(theta.trans_stack.final_ln, h)
            logits = logits_fn(h)
            results = NestedMap(
                log_probs=tf.nn.log_softmax(tf.cast(logits, tf.float32)),
                atten_probs=tf.add_n(probs) / len(probs),
            )
            new_caches = NestedMap(x_layers=new_caches)
            return results, NestedMap(
                caches=tf.nest.map_structure(lambda x: _ToHypRows(x, n), new_caches)
            )

        def Post(theta, enc, new_step_ids, states):
            del theta, enc, new_step_ids
            return states

        return self.beam_search.BeamSearchDecode(
            theta, search_outputs, k, Init, Pre, Post, max_steps=p.target_seq_len
        )


class MTDecoderV1(MTBaseDecoder):
    """RNMT+'s decoder: an attention LSTM, more LSTM layers, softmax over [x, context].

    Step t: layer 0 reads `[emb(y_{t-1}), ctx_{t-1}]`; its output queries the attention,
    giving `ctx_t`; layers 1.. read `[dropout(x), ctx_t]`, with a residual from layer
    `residual_start` on; the softmax reads `[x, ctx_t]` when
    `feed_attention_context_vec_to_softmax`, else `x`. The first context comes from a zero
    query (zeros with `use_zero_atten_state`). Children: `emb`, `atten`, `rnn_cell` (a
    list), `dropout`, `softmax`, and the shared `smoother` and `beam_search`.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the decoder params with Lingvo's defaults."""
        p = super().Params()
        p.Define(
            "emb",
            embeddings.SimpleEmbeddingLayer.Params(),
            "The token embedding params (vocab_size and embedding_dim are set by the caller).",
        )
        p.Define("rnn_cell_tpl", rnn_cells.LSTMCellSimple.Params(), "The template of every cell.")
        p.Define("rnn_cell_dim", 1024, "The output depth of every LSTM layer.")
        p.Define("rnn_layers", 8, "The number of LSTM layers, the attention layer included.")
        p.Define(
            "attention",
            attentions.AdditiveAttention.Params(),
            "The attention params; its source, query and context dims are set here.",
        )
        p.Define("dropout_prob", 0.0, "The dropout probability of embeddings and layer inputs.")
        p.Define("residual_start", 2, "The index of the first layer with a residual connection.")
        p.Define(
            "feed_attention_context_vec_to_softmax",
            False,
            "Whether the softmax reads the attention context besides the last layer's output.",
        )
        p.Define(
            "use_zero_atten_state",
            False,
            "Whether the first context is zeros instead of the attention of a zero query.",
        )
        p.params_init = weights.WeightInit.Uniform(0.04)
        p.softmax.num_shards = 16
        p.beam_search.Set(length_normalization=0.2, coverage_penalty=0.2)
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if p.rnn_layers < 1:
            raise ValueError(f"{self}: rnn_layers must be >= 1, got {p.rnn_layers}")
        self.CreateChild("emb", p.emb.Copy())
        atten = p.attention.Copy().Set(source_dim=p.source_dim, query_dim=p.rnn_cell_dim)
        if any(name == "context_dim" for name, _ in atten.IterParams()):
            atten.context_dim = p.source_dim
        if weights.IsDefaultParamInit(atten.params_init):
            atten.params_init = weights.WeightInit.Gaussian(
                1.0 / math.sqrt(p.source_dim + p.rnn_cell_dim)
            )
        self.CreateChild("atten", atten)
        ctx_dim = getattr(self.atten, "output_dim", p.source_dim)
        object.__setattr__(self, "_ctx_dim", ctx_dim)
        cells = []
        for i in range(p.rnn_layers):
            input_dim = (p.emb.embedding_dim if i == 0 else p.rnn_cell_dim) + ctx_dim
            cells.append(
                p.rnn_cell_tpl.Copy().Set(
                    name=f"cell_{i}", num_input_nodes=input_dim, num_output_nodes=p.rnn_cell_dim
                )
            )
        self.CreateChildren("rnn_cell", cells)
        self.CreateChild("dropout", _input_embedding.DropoutParams(p.dropout_prob))
        softmax_in = p.rnn_cell_dim + (ctx_dim if p.feed_attention_context_vec_to_softmax else 0)
        self.CreateChild("softmax", p.softmax.Copy().Set(input_dim=softmax_in))
        self._CreateCommonChildren()

    def _InitState(self, theta: NestedMap, packed: NestedMap, batch: Any) -> NestedMap:
        """The state before the first step: zero cells, the first context, attention state."""
        p = self.params
        padding = packed.inner.source_padding if "inner" in packed else packed.source_padding
        source_len = tf.shape(padding)[0]
        atten_state = self.atten.ZeroAttentionState(source_len, batch)
        if p.use_zero_atten_state:
            ctx = tf.zeros([batch, self._ctx_dim], self.fprop_dtype)
        else:
            zero_query = tf.zeros([batch, p.rnn_cell_dim], self.fprop_dtype)
            ctx, _, atten_state = self.atten.ComputeContextVectorWithSource(
                theta.atten, packed, zero_query, atten_state
            )
        cells = [c.zero_state(t, batch) for c, t in zip(self.rnn_cell, theta.rnn_cell, strict=True)]
        return NestedMap(cells=cells, ctx=ctx, atten_state=atten_state)

    def _Step(
        self, theta: NestedMap, packed: NestedMap, state: NestedMap, emb: tf.Tensor, padding: Any
    ) -> tuple[NestedMap, tf.Tensor, tf.Tensor]:
        """One decoder step; returns `(new_state, softmax_input, atten_probs)`."""
        p = self.params
        padding = tf.reshape(tf.cast(padding, emb.dtype), [-1, 1])
        cell0, theta0 = self.rnn_cell[0], theta.rnn_cell[0]
        c0, _ = cell0.FProp(
            theta0, state.cells[0], NestedMap(act=[emb, state.ctx], padding=padding)
        )
        query = cell0.GetOutput(c0)
        ctx, probs, atten_state = self.atten.ComputeContextVectorWithSource(
            theta.atten, packed, query, state.atten_state
        )
        x = query
        cells = [c0]
        for i in range(1, p.rnn_layers):
            x_in = self.dropout.FProp(theta.dropout, x)
            ci, _ = self.rnn_cell[i].FProp(
                theta.rnn_cell[i], state.cells[i], NestedMap(act=[x_in, ctx], padding=padding)
            )
            cells.append(ci)
            y = self.rnn_cell[i].GetOutput(ci)
            x = x + y if i >= p.residual_start else y
        softmax_in = [x, ctx] if p.feed_attention_context_vec_to_softmax else [x]
        softmax_in = tf.concat(softmax_in, axis=-1)
        return NestedMap(cells=cells, ctx=ctx, atten_state=atten_state), softmax_in, probs

    def _Pack(self, theta: NestedMap, encoder_outputs: NestedMap) -> NestedMap:
        encoded = encoder_outputs.encoded
        return self.atten.PackSource(theta.atten, encoded, encoded, encoder_outputs.padding)

    def ComputePredictions(
        self, theta: NestedMap, encoder_outputs: NestedMap, targets: NestedMap
    ) -> NestedMap:
        """Runs the decoder over whole target sequences (teacher forcing).

        Args:
          theta: This layer's theta.
          encoder_outputs: `encoded` [source_time, batch, source_dim], `padding`
            [source_time, batch].
          targets: `ids` and `paddings` shaped [batch, time].

        Returns:
          `NestedMap(logits=[time, batch, vocab], attention=NestedMap(probs=[batch, time,
          source_time]))`.
        """
        ids = tf.transpose(tf.convert_to_tensor(targets.ids))
        paddings = tf.transpose(tf.cast(targets.paddings, self.fprop_dtype))
        emb = self.dropout.FProp(theta.dropout, self.emb.EmbLookup(theta.emb, ids))
        packed = self._Pack(theta, encoder_outputs)
        state0 = self._InitState(theta, packed, tf.shape(ids)[1])

        def Scan(carry: tuple[NestedMap, Any, Any], elems: tuple[Any, Any]) -> tuple[Any, ...]:
            state, _, _ = carry
            state, softmax_in, probs = self._Step(theta, packed, NestedMap(state), *elems)
            return state, softmax_in, probs

        softmax_in_dim = self.softmax.params.input_dim
        init = (
            state0,
            tf.zeros([tf.shape(ids)[1], softmax_in_dim], emb.dtype),
            tf.zeros([tf.shape(ids)[1], tf.shape(encoder_outputs.padding)[0]], emb.dtype),
        )
        _, softmax_in, probs = tf.scan(Scan, (emb, paddings), initializer=init)
        logits = self.softmax.Logits(theta.softmax, softmax_in)
        return NestedMap(logits=logits, attention=NestedMap(probs=tf.transpose(probs, [1, 0, 2])))

    def BeamSearchDecode(
        self, theta: NestedMap, encoder_outputs: NestedMap, num_hyps_per_beam: int = 0
    ) -> beam_search_helper.BeamSearchDecodeOutput:
        """Beam-searches one step of `_Step` at a time.

        Args:
          theta: This layer's theta.
          encoder_outputs: `encoded` [source_time, batch, source_dim], `padding`
            [source_time, batch].
          num_hyps_per_beam: Hyps per source; 0 uses the helper's `num_hyps_per_beam`.

        Returns:
          The helper's `BeamSearchDecodeOutput`.
        """
        p = self.params
        search_outputs, k = self._SearchOutputs(encoder_outputs, num_hyps_per_beam)
        # Hyp row j * batch + b attends source column b: the attention maps query rows to
        # source columns modulo the source batch, so the packed source is not tiled.
        packed = self._Pack(theta, encoder_outputs)
        n = _NumHyps(encoder_outputs.encoded, k)
        template = self._InitState(theta, packed, n)

        def Flat(x: tf.Tensor) -> tf.Tensor:
            return _Rows(x, n, [])

        def Unflat(x: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
            return tf.reshape(x, [-1, *like.shape[1:].as_list()])

        def Init(theta, enc, num_hyps):
            del enc, num_hyps
            results = NestedMap(
                log_probs=tf.zeros([n, self.vocab_size]),
                atten_probs=tf.zeros([n, tf.shape(encoder_outputs.padding)[0]]),
            )
            return results, tf.nest.map_structure(Flat, self._InitState(theta, packed, n))

        def Pre(theta, enc, step_ids, states, num_hyps, cur_step):
            del enc, num_hyps, cur_step
            state = tf.nest.map_structure(Unflat, states, template)
            emb = self.emb.EmbLookup(theta.emb, step_ids[:, 0])
            state, softmax_in, probs = self._Step(
                theta, packed, state, emb, tf.zeros([n], emb.dtype)
            )
            logits = self.softmax.Logits(theta.softmax, softmax_in)
            results = NestedMap(
                log_probs=tf.nn.log_softmax(tf.cast(logits, tf.float32)), atten_probs=probs
            )
            return results, tf.nest.map_structure(Flat, state)

        def Post(theta, enc, new_step_ids, states):
            del theta, enc, new_step_ids
            return states

        return self.beam_search.BeamSearchDecode(
            theta, search_outputs, k, Init, Pre, Post, max_steps=p.target_seq_len
        )
