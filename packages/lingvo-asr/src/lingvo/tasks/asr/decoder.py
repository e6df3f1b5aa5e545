"""The Listen-Attend-Spell decoder `AsrDecoder`: LSTM cells, attention, softmax, beam search.

Targets arrive batch-major (`ids`, `labels`, `paddings`, `weights` [batch, time]); the
encoder outputs are time-major (`encoded` [source_time, batch, dim], `padding`
[source_time, batch]). Beam search goes through the core `BeamSearchHelper` with
hyp-major rows (hyp j of utterance b is row j * batch + b).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from lingvo.core import base_layer, beam_search_helper, hyperparams, weights
from lingvo.core.layers import attentions, dropouts, embeddings, rnn_cells, softmaxes
from lingvo.core.nested_map import NestedMap

__all__ = ["AsrDecoder"]


class AsrDecoder(base_layer.BaseLayer):
    """Lingvo's LAS speller.

    Step t: cell 0 reads `[emb(y_{t-1}), ctx_{t-1}]`; its output queries the attention
    (additive or location-sensitive), giving `ctx_t`; cells 1.. read `[out_{i-1}, ctx_t]`,
    their outputs dropped out, with a residual from layer `residual_start` on (1-based,
    0 = none); the softmax reads `[out_last, ctx_t]` (`softmax_uses_attention`). The first
    context attends with a zero query.

    Loss: per-token cross-entropy (against labels smoothed by `label_smoothing` when set),
    averaged per token (`per_token_avg_loss`) or per sequence. Children: `emb`, `atten`,
    `rnn_cell` (list), `dropout`, `softmax`, `beam_search`.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the decoder params with Lingvo's class defaults."""
        p = super().Params()
        p.Define(
            "emb",
            embeddings.SimpleEmbeddingLayer.Params().Set(
                vocab_size=96, embedding_dim=96, params_init=weights.WeightInit.Uniform(1.0)
            ),
            "The token embedding params.",
        )
        p.Define("emb_dim", 96, "The embedding depth; copied into emb.embedding_dim.")
        p.Define("source_dim", 512, "The depth of the encoder's output.")
        p.Define("rnn_cell_tpl", rnn_cells.LSTMCellSimple.Params(), "The template of every cell.")
        p.Define("rnn_cell_dim", 256, "The output depth of every LSTM cell.")
        p.Define("rnn_layers", 1, "The number of LSTM layers.")
        p.Define(
            "attention",
            attentions.AdditiveAttention.Params().Set(
                hidden_dim=128, params_init=weights.WeightInit.UniformSqrtDim(3.0**0.5)
            ),
            "The attention params (additive or location-sensitive); dims are set here.",
        )
        p.Define("dropout_prob", 0.0, "The dropout probability of the cells after the first.")
        p.Define("residual_start", 0, "The first cell (1-based) with a residual; 0 = none.")
        p.Define(
            "softmax",
            softmaxes.SimpleFullSoftmax.Params().Set(
                num_classes=96, params_init=weights.WeightInit.Uniform(0.1)
            ),
            "The softmax params; its input_dim is set here.",
        )
        p.Define(
            "softmax_uses_attention",
            True,
            "Whether the softmax reads the attention context besides the last cell's output.",
        )
        p.Define(
            "label_smoothing",
            None,
            "The uniform label-smoothing uncertainty, a float in [0, 1), or None for none.",
        )
        p.Define(
            "per_token_avg_loss",
            True,
            "Whether the loss is averaged over tokens instead of over sequences.",
        )
        p.Define("target_seq_len", 300, "The longest target a beam search produces.")
        p.Define("target_sos_id", 1, "The id of the start-of-sentence token.")
        p.Define("target_eos_id", 2, "The id of the end-of-sentence token.")
        p.Define(
            "use_unnormalized_logits_as_log_probs",
            True,
            "Whether beam search scores steps with the raw logits (Lingvo's legacy default) "
            "instead of log-softmax.",
        )
        p.Define(
            "use_while_loop_based_unrolling",
            False,
            "Kept for Lingvo params compatibility; both unrollings give the same results.",
        )
        p.Define(
            "beam_search",
            beam_search_helper.BeamSearchHelper.Params().Set(num_hyps_per_beam=8, beam_size=3.0),
            "The beam-search helper params; target_seq_len and the special ids are set here.",
        )
        p.rnn_cell_tpl.params_init = weights.WeightInit.Uniform(0.1)
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if p.label_smoothing is not None and not 0.0 <= p.label_smoothing < 1.0:
            raise ValueError(f"{self}: label_smoothing must be in [0, 1), got {p.label_smoothing}")
        self.CreateChild("emb", p.emb.Copy().Set(embedding_dim=p.emb_dim))
        atten = p.attention.Copy().Set(source_dim=p.source_dim, query_dim=p.rnn_cell_dim)
        self.CreateChild("atten", atten)
        cells = []
        for i in range(p.rnn_layers):
            in_dim = (p.emb_dim if i == 0 else p.rnn_cell_dim) + p.source_dim
            cells.append(
                p.rnn_cell_tpl.Copy().Set(
                    name=f"rnn_cell_{i}", num_input_nodes=in_dim, num_output_nodes=p.rnn_cell_dim
                )
            )
        self.CreateChildren("rnn_cell", cells)
        self.CreateChild(
            "dropout", dropouts.DropoutLayer.Params().Set(keep_prob=1 - p.dropout_prob)
        )
        softmax_in = p.rnn_cell_dim + (p.source_dim if p.softmax_uses_attention else 0)
        self.CreateChild("softmax", p.softmax.Copy().Set(input_dim=softmax_in))
        self.CreateChild(
            "beam_search",
            p.beam_search.Copy().Set(
                target_seq_len=p.target_seq_len,
                target_sos_id=p.target_sos_id,
                target_eos_id=p.target_eos_id,
            ),
        )

    @property
    def vocab_size(self) -> int:
        """The number of output classes."""
        return int(self.params.softmax.num_classes)

    # ------------------------------------------------------------------ one step

    def _Pack(self, theta: NestedMap, encoder_outputs: NestedMap) -> NestedMap:
        enc = encoder_outputs.encoded
        return self.atten.PackSource(theta.atten, enc, enc, encoder_outputs.padding)

    def _InitState(self, theta: NestedMap, packed: NestedMap, batch: Any) -> NestedMap:
        p = self.params
        source_len = tf.shape(packed.source_padding)[0]
        atten_state = self.atten.ZeroAttentionState(source_len, batch)
        zero_query = tf.zeros([batch, p.rnn_cell_dim], self.fprop_dtype)
        ctx, _, atten_state = self.atten.ComputeContextVectorWithSource(
            theta.atten, packed, zero_query, atten_state
        )
        ctx = self._StaticContext(ctx)
        cells = [c.zero_state(t, batch) for c, t in zip(self.rnn_cell, theta.rnn_cell, strict=True)]
        return NestedMap(cells=cells, ctx=ctx, atten_state=atten_state)

    def _StaticContext(self, ctx: tf.Tensor) -> tf.Tensor:
        # Location-sensitive attention loses the context depth when the batch size is
        # unknown at tracing; loops over the step need it static.
        return tf.ensure_shape(ctx, [None, self.params.source_dim])

    def _Step(self, theta, packed, state, emb, padding) -> tuple[NestedMap, tf.Tensor, tf.Tensor]:
        """One step; returns `(new_state, softmax_input [n, dim], atten_probs [n, source])`."""
        p = self.params
        padding = tf.reshape(tf.cast(padding, emb.dtype), [-1, 1])
        c0, _ = self.rnn_cell[0].FProp(
            theta.rnn_cell[0], state.cells[0], NestedMap(act=[emb, state.ctx], padding=padding)
        )
        x = self.rnn_cell[0].GetOutput(c0)
        ctx, probs, atten_state = self.atten.ComputeContextVectorWithSource(
            theta.atten, packed, x, state.atten_state
        )
        ctx = self._StaticContext(ctx)
        cells = [c0]
        for i in range(1, p.rnn_layers):
            ci, _ = self.rnn_cell[i].FProp(
                theta.rnn_cell[i], state.cells[i], NestedMap(act=[x, ctx], padding=padding)
            )
            cells.append(ci)
            y = self.dropout.FProp(theta.dropout, self.rnn_cell[i].GetOutput(ci))
            x = x + y if 0 < p.residual_start <= i + 1 else y
        softmax_in = tf.concat([x, ctx], -1) if p.softmax_uses_attention else x
        return NestedMap(cells=cells, ctx=ctx, atten_state=atten_state), softmax_in, probs

    # ------------------------------------------------------------------ training

    def ComputePredictions(
        self, theta: NestedMap, encoder_outputs: NestedMap, targets: NestedMap
    ) -> NestedMap:
        """Runs the decoder over whole targets (teacher forcing).

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
        emb = self.emb.EmbLookup(theta.emb, ids)
        packed = self._Pack(theta, encoder_outputs)
        batch = tf.shape(ids)[1]
        state0 = self._InitState(theta, packed, batch)

        def Scan(carry, elems):
            state, _, _ = carry
            return self._Step(theta, packed, NestedMap(state), *elems)

        init = (
            state0,
            tf.zeros([batch, self.softmax.params.input_dim], emb.dtype),
            tf.zeros([batch, tf.shape(encoder_outputs.padding)[0]], emb.dtype),
        )
        _, softmax_in, probs = tf.scan(Scan, (emb, paddings), initializer=init)
        logits = self.softmax.Logits(theta.softmax, softmax_in)
        return NestedMap(logits=logits, attention=NestedMap(probs=tf.transpose(probs, [1, 0, 2])))

    def ComputeLoss(self, theta: NestedMap, predictions: NestedMap, targets: NestedMap):
        """Computes `loss`, `log_pplx`, `token_normed_prob` and next-step accuracy.

        Args:
          theta: This layer's theta.
          predictions: `logits` shaped [time, batch, vocab].
          targets: `labels`, `weights` shaped [batch, time].

        Returns:
          `(metrics, per_sequence)`: `{name: (value, weight)}` and `{'loss': [batch]}`.
        """
        del theta
        p = self.params
        logits = tf.cast(predictions.logits, tf.float32)
        labels = tf.transpose(tf.cast(targets.labels, tf.int32))
        w = tf.transpose(tf.cast(targets.weights, tf.float32))
        log_probs = tf.nn.log_softmax(logits)
        nll = -tf.gather(log_probs, labels, batch_dims=2)
        xent = nll
        if p.label_smoothing:
            xent = softmaxes.UniformSmoothedXent(
                log_probs, labels, float(p.label_smoothing), self.vocab_size
            )
        total_w = tf.reduce_sum(w)
        per_seq = tf.reduce_sum(xent * w, axis=0)
        batch = tf.cast(tf.shape(per_seq)[0], tf.float32)
        token_avg = tf.reduce_sum(per_seq) / (total_w + 1e-6)
        if p.per_token_avg_loss:
            loss = (token_avg, total_w)
        else:
            loss = (tf.reduce_sum(per_seq) / batch, batch)
        log_pplx = tf.reduce_sum(nll * w) / (total_w + 1e-6)
        correct = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), labels), w.dtype)
        metrics = {
            "loss": loss,
            "log_pplx": (log_pplx, total_w),
            "token_normed_prob": (tf.exp(-log_pplx), total_w),
            "fraction_of_correct_next_step_preds": (
                tf.reduce_sum(correct * w) / (total_w + 1e-6),
                total_w,
            ),
        }
        return metrics, {"loss": per_seq}

    # ------------------------------------------------------------------ decoding

    def BeamSearchDecode(
        self, theta: NestedMap, encoder_outputs: NestedMap, num_hyps_per_beam: int = 0
    ) -> beam_search_helper.BeamSearchDecodeOutput:
        """Beam-searches one `_Step` at a time through the core helper.

        Args:
          theta: This layer's theta.
          encoder_outputs: `encoded` [source_time, batch, source_dim], `padding`
            [source_time, batch].
          num_hyps_per_beam: Hyps per utterance; 0 uses the helper's.

        Returns:
          The helper's `BeamSearchDecodeOutput` (`topk_ids` [batch * k, time], `topk_lens`,
          `topk_scores` [batch, k], ...).
        """
        p = self.params
        k = num_hyps_per_beam or p.beam_search.num_hyps_per_beam
        lengths = beam_search_helper.SourceLengths(encoder_outputs)
        search_outputs = NestedMap(encoder_outputs, seq_lengths=lengths)
        # Query row j * batch + b attends source column b (rows map modulo the batch), so
        # the packed source is not tiled.
        packed = self._Pack(theta, encoder_outputs)
        b = encoder_outputs.encoded.shape[1]
        n = b * k if b is not None else tf.shape(encoder_outputs.encoded)[1] * k
        template = self._InitState(theta, packed, n)

        def Flat(x):
            if isinstance(n, int) and x.shape.is_fully_defined():
                return tf.reshape(x, [n, int(np.prod(x.shape[1:]))])
            return tf.reshape(x, [n, -1])

        def Unflat(x, like):
            # Dims unknown when tracing (the source length of location-sensitive attention's
            # cumulative probabilities) come from the template's runtime shape.
            dims = like.shape[1:].as_list()
            if any(d is None for d in dims):
                return tf.reshape(x, tf.concat([[-1], tf.shape(like)[1:]], 0))
            return tf.reshape(x, [-1, *dims])

        def Init(theta, enc, num_hyps):
            del enc, num_hyps
            results = NestedMap(
                log_probs=tf.fill([n, self.vocab_size], -float(np.log(self.vocab_size))),
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
            logits = tf.cast(self.softmax.Logits(theta.softmax, softmax_in), tf.float32)
            if not p.use_unnormalized_logits_as_log_probs:
                logits = tf.nn.log_softmax(logits)
            results = NestedMap(log_probs=logits, atten_probs=probs)
            return results, tf.nest.map_structure(Flat, state)

        def Post(theta, enc, new_step_ids, states):
            del theta, enc, new_step_ids
            return states

        return self.beam_search.BeamSearchDecode(
            theta, search_outputs, k, Init, Pre, Post, max_steps=p.target_seq_len
        )
