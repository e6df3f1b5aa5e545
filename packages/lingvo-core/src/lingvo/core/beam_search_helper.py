"""Lingvo's `BeamSearchHelper`: a decode loop over the `lingvo.ops` beam-search kernels."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf

from lingvo import ops
from lingvo.core import base_layer, beam_search_tf, hyps_pb
from lingvo.core.nested_map import NestedMap

MIN_SCORE = -1e36
_STATE_DTYPES = (
    tf.float32,
    tf.float32,
    tf.float32,
    tf.int32,
    tf.int32,
    tf.int32,
    tf.float32,
    tf.float32,
    tf.float32,
    tf.float32,
    tf.bool,
)
# Random-seed states of recurrent cells (shape [2]) are not per hyp, so never reordered.
_NOT_REORDERED = re.compile(r"rnn_states\[\d+\]\.r$")


class BeamSearchDecodeOutput(NamedTuple):
    """What `BeamSearchDecode` returns (Lingvo's `BeamSearchDecodeOutput`).

    Attributes:
      topk_hyps: string [B, K] serialized `Hypothesis` protos, "" where a beam has fewer hyps.
      topk_ids: int32 [B * K, T] beam-major (row `b * K + j`) ids, zero padded.
      topk_lens: int32 [B * K] lengths, the terminal symbol included; 0 = no hyp.
      topk_scores: float32 [B, K] normalized scores.
      topk_decoded: None; `PostProcessDecodeOut` fills in text.
      other_states: The callbacks' states after the last step.
    """

    topk_hyps: Any
    topk_ids: Any
    topk_lens: Any
    topk_scores: Any
    topk_decoded: Any
    other_states: Any


def InitialSearchState(num_beams: Any, n: Any, max_steps: Any, src_len: Any) -> tuple:
    """The 11 state tensors a search starts from (best scores -1e36, done hyps -1, zeros).

    Args:
      num_beams: B.
      n: N = K * B.
      max_steps: T.
      src_len: S.

    Returns:
      A tuple in `beam_search_tf.STATE_NAMES` order.
    """
    return (
        tf.fill([num_beams], tf.constant(MIN_SCORE, tf.float32)),
        tf.zeros([n], tf.float32),
        tf.zeros([max_steps, n], tf.float32),
        tf.zeros([max_steps, n], tf.int32),
        tf.zeros([max_steps, n], tf.int32),
        tf.fill([max_steps, n], -1),
        tf.zeros([max_steps, n], tf.float32),
        tf.zeros([max_steps, n], tf.float32),
        tf.zeros([max_steps, n, src_len], tf.float32),
        tf.zeros([max_steps, n, src_len], tf.float32),
        tf.zeros([num_beams], tf.bool),
    )


class BeamSearchHelper(base_layer.BaseLayer):
    """Beam search driven by callbacks, Lingvo's contract.

    The caller supplies three callbacks (hyp-major: hyp `j` of beam `b` is row `j * B + b`):

    - `init_beam_search_state(theta, encoder_outputs, num_hyps_per_beam)` returns
      `(initial_results, states)`; `initial_results.log_probs` [N, V] and
      `initial_results.atten_probs` [N, S] give N and S, optional `initial_results.step_ids`
      [N, 1] the first ids (default `target_sos_id`); `states` is a `NestedMap` of per-hyp
      tensors (axis 0 = N).
    - `pre_beam_search_step_callback(theta, encoder_outputs, step_ids, states,
      num_hyps_per_beam, cur_step)` returns `(results, new_states)` with `results.log_probs`
      [N, V], `results.atten_probs` [N, S] and, when `target_eoc_id >= 0`,
      `results.is_last_chunk` bool [N].
    - `post_beam_search_step_callback(theta, encoder_outputs, new_step_ids, states)` returns
      the states for the next step, after the helper reordered them to the surviving hyps.

    The step runs `lingvo.ops.beam_search_step` through `tf.numpy_function`, or, with
    `use_tf_beam_search`, `beam_search_tf.BeamSearchStep` (plain TF ops, exportable).
    """

    @classmethod
    def Params(cls):
        """Returns the helper's params, Lingvo's names and defaults."""
        p = super().Params()
        p.Define("num_hyps_per_beam", 8, "The number of hypotheses kept per beam (K).")
        p.Define(
            "target_seq_length_ratio",
            1.0,
            "The expected ratio of target to source length; scales the coverage penalty.",
        )
        p.Define(
            "length_normalization",
            0.0,
            "The GNMT length-normalization exponent alpha; 0 ranks by the raw score sum.",
        )
        p.Define("coverage_penalty", 0.0, "The GNMT coverage-penalty weight beta; 0 turns it off.")
        p.Define(
            "valid_eos_max_logit_delta",
            5.0,
            "End of sequence terminates a hyp only when its score is within this of the "
            "hyp's best extension.",
        )
        p.Define(
            "local_eos_threshold",
            -100.0,
            "End of sequence terminates a hyp only when its local score is above this.",
        )
        p.Define(
            "beam_size",
            3.0,
            "The score margin: a beam is done once no open hyp is within it of the best "
            "terminated hyp.",
        )
        p.Define("target_sos_id", 1, "The id of the start-of-sequence token.")
        p.Define("target_eos_id", 2, "The id of the end-of-sequence token.")
        p.Define("target_eoc_id", -1, "The id of the end-of-chunk (epsilon) token, or -1 for none.")
        p.Define(
            "target_seq_len", 0, "The maximum number of decode steps when max_steps is not given."
        )
        p.Define(
            "merge_paths",
            False,
            "Whether hyps equal up to epsilons are merged, summing their probabilities.",
        )
        p.Define(
            "force_eos_in_top_k",
            False,
            "Whether end of sequence is always among each hyp's candidates.",
        )
        p.Define(
            "force_last_chunk_eoc_in_top_k",
            False,
            "Whether end of chunk is always among the candidates of hyps on their last chunk.",
        )
        p.Define(
            "batch_major_state",
            True,
            "Whether every state tensor has the hyps on axis 0; False reorders rank > 2 "
            "tensors along axis 1.",
        )
        p.Define(
            "terminate_beams_independently",
            False,
            "Whether a beam that is done stops being extended while other beams go on.",
        )
        p.Define(
            "allow_empty_terminated_hyp",
            True,
            "Whether end of chunk may terminate a hyp that has only epsilons.",
        )
        p.Define(
            "ensure_full_beam",
            False,
            "Whether a beam stays open until num_hyps_per_beam of its hyps have terminated.",
        )
        p.Define(
            "force_eos_in_last_step",
            False,
            "Whether every open hyp terminates with end of sequence at the last step.",
        )
        p.Define(
            "atten_vecs_in_hypothesis_protos",
            True,
            "Whether the attention of every step is kept in the Hypothesis protos.",
        )
        p.Define(
            "merged_topk_buffer_size_factor",
            2,
            "The size of the path-merging candidate buffer, in multiples of num_hyps_per_beam.",
        )
        p.Define(
            "emit_hypothesis_protos",
            True,
            "Whether topk_hyps holds serialized Hypothesis protos; False leaves it None, which "
            "keeps the search compilable by XLA (it has no proto encoder).",
        )
        p.Define(
            "use_tf_beam_search",
            False,
            "Whether to search with TensorFlow ops instead of the lingvo.ops kernels, for "
            "graphs that are exported (SavedModel, XLA); it cannot merge paths.",
        )
        return p

    def __init__(self, params):
        """Builds the helper; checks option combinations Lingvo rejects."""
        super().__init__(params)
        p = self.params
        if not p.atten_vecs_in_hypothesis_protos and p.coverage_penalty != 0.0:
            raise ValueError(
                "coverage_penalty needs the attention: atten_vecs_in_hypothesis_protos must be "
                "True when coverage_penalty is not 0."
            )
        if p.force_eos_in_top_k and p.force_last_chunk_eoc_in_top_k:
            raise ValueError(
                "force_eos_in_top_k and force_last_chunk_eoc_in_top_k cannot both be True."
            )
        if p.merge_paths and p.target_eoc_id < 0:
            raise ValueError("merge_paths needs target_eoc_id >= 0 (the epsilon id).")
        if p.use_tf_beam_search and p.merge_paths:
            raise ValueError("use_tf_beam_search does not support merge_paths.")

    def _StepOptions(self, k: int) -> dict[str, Any]:
        p = self.params
        return dict(
            eos_id=p.target_eos_id,
            beam_size=p.beam_size,
            num_hyps_per_beam=k,
            eoc_id=p.target_eoc_id,
            valid_eos_max_logit_delta=p.valid_eos_max_logit_delta,
            local_eos_threshold=p.local_eos_threshold,
            merge_paths=p.merge_paths,
            allow_empty_terminated_hyp=p.allow_empty_terminated_hyp,
            ensure_full_beam=p.ensure_full_beam,
            force_eos_in_last_step=p.force_eos_in_last_step,
            force_eos_in_top_k=p.force_eos_in_top_k,
            force_last_chunk_eoc_in_top_k=p.force_last_chunk_eoc_in_top_k,
            beam_independence=p.terminate_beams_independently,
        )

    def _Step(self, log_probs, atten_probs, state, is_last_chunk, cur_step, k):
        """One search step by the kernel or by TF ops; returns (state, all_done)."""
        options = self._StepOptions(k)
        if self.params.use_tf_beam_search:
            return beam_search_tf.BeamSearchStep(
                log_probs, atten_probs, state, is_last_chunk, cur_step, **options
            )
        options.update(
            merged_topk_buffer_size_factor=self.params.merged_topk_buffer_size_factor,
            atten_vecs_in_hypothesis_protos=self.params.atten_vecs_in_hypothesis_protos,
        )
        with_chunk = is_last_chunk is not None

        def Run(scores, atten, *args):
            arrays, chunk, step = args[:11], args[11] if with_chunk else None, args[-1]
            out = ops.beam_search_step(scores, atten, *arrays, chunk, int(step), **options)
            return (*out[:11], np.bool_(out[11]))

        inputs = [log_probs, atten_probs, *state]
        inputs += [is_last_chunk] if with_chunk else []
        out = tf.numpy_function(
            Run, [*inputs, cur_step], [*list(_STATE_DTYPES), tf.bool], stateful=False
        )
        for new, old in zip(out[:11], state, strict=False):
            new.set_shape(old.shape)
        out[11].set_shape([])
        return tuple(out[:11]), out[11]

    def _ReorderStates(self, states: NestedMap, old_hyp_ids: tf.Tensor) -> NestedMap:
        batch_major = self.params.batch_major_state

        def Reorder(key, x):
            if _NOT_REORDERED.search(key):
                return x
            axis = 1 if (not batch_major and x.shape.rank is not None and x.shape.rank > 2) else 0
            return tf.gather(x, old_hyp_ids, axis=axis)

        return states.TransformWithKey(Reorder)

    def _StateShapeInvariant(self, x: tf.Tensor) -> tf.TensorShape:
        """The loop shape of a callback state: time-major states may grow along time.

        With `batch_major_state` False, states of rank > 2 are [time, hyps, ...] (reordered
        along axis 1); their time length may change from step to step, as a decoding cache
        that holds exactly the decoded prefix does. Every other dimension stays fixed.
        """
        if not self.params.batch_major_state and x.shape.rank is not None and x.shape.rank > 2:
            return tf.TensorShape([None]).concatenate(x.shape[1:])
        return x.shape

    def BeamSearchDecode(
        self,
        theta: NestedMap,
        encoder_outputs: NestedMap,
        num_hyps_per_beam_override: int = 0,
        init_beam_search_state: Callable[..., Any] | None = None,
        pre_beam_search_step_callback: Callable[..., Any] | None = None,
        post_beam_search_step_callback: Callable[..., Any] | None = None,
        max_steps: int | None = None,
    ) -> BeamSearchDecodeOutput:
        """Runs beam search to the end and returns the n-best hyps of every beam.

        Works eagerly and inside `tf.function` (the loop is a `tf.while_loop`).

        Args:
          theta: The decoder's theta, handed to the callbacks.
          encoder_outputs: A `NestedMap` handed to the callbacks; `seq_lengths` [B] or
            `padding` [S, B] (1.0 = padded) gives the source lengths for the coverage penalty.
          num_hyps_per_beam_override: K when > 0, else `num_hyps_per_beam`.
          init_beam_search_state: See the class docstring.
          pre_beam_search_step_callback: See the class docstring.
          post_beam_search_step_callback: See the class docstring.
          max_steps: The number of steps T; default `target_seq_len`.

        Returns:
          A `BeamSearchDecodeOutput`.
        """
        p = self.params
        k = num_hyps_per_beam_override if num_hyps_per_beam_override > 0 else p.num_hyps_per_beam
        max_steps = p.target_seq_len if max_steps is None else max_steps
        if max_steps <= 0:
            raise ValueError("max_steps (or target_seq_len) must be positive.")
        initial_results, other_states = init_beam_search_state(theta, encoder_outputs, k)
        n = tf.shape(initial_results.log_probs)[0]
        src_len = tf.shape(initial_results.atten_probs)[1]
        num_beams = n // k
        step_ids = initial_results.get("step_ids")
        if step_ids is None:
            step_ids = tf.fill([n, 1], tf.constant(p.target_sos_id, tf.int32))
        state = InitialSearchState(num_beams, n, max_steps, src_len)

        def Cond(cur_step, all_done, *_):
            return (cur_step < max_steps) & ~all_done

        def Body(cur_step, all_done, step_ids, state, other_states):
            results, other_states = pre_beam_search_step_callback(
                theta, encoder_outputs, step_ids, other_states, k, cur_step
            )
            is_last_chunk = results.get("is_last_chunk") if p.target_eoc_id >= 0 else None
            if p.target_eoc_id >= 0 and is_last_chunk is None:
                is_last_chunk = tf.zeros([n], tf.bool)
            state, all_done = self._Step(
                tf.cast(results.log_probs, tf.float32),
                tf.cast(results.atten_probs, tf.float32),
                state,
                is_last_chunk,
                cur_step,
                k,
            )
            new_step_ids = tf.reshape(state[3][cur_step], [n, 1])
            other_states = self._ReorderStates(other_states, state[4][cur_step])
            other_states = post_beam_search_step_callback(
                theta, encoder_outputs, new_step_ids, other_states
            )
            return cur_step + 1, all_done, new_step_ids, state, other_states

        loop_vars = (tf.constant(0), tf.constant(False), step_ids, state, other_states)
        invariants = (
            *tf.nest.map_structure(lambda x: x.shape, loop_vars[:4]),
            tf.nest.map_structure(self._StateShapeInvariant, other_states),
        )
        _, _, _, state, other_states = tf.while_loop(
            Cond, Body, loop_vars, shape_invariants=invariants
        )
        seq_lengths = SourceLengths(encoder_outputs)
        ids, lens, scores, atten, norm = self._TopK(state, seq_lengths, k)
        topk_hyps = None
        if p.emit_hypothesis_protos:
            topk_hyps = hyps_pb.EncodeHypsInGraph(
                ids, lens, scores, atten, norm, atten_vecs=p.atten_vecs_in_hypothesis_protos
            )
        return BeamSearchDecodeOutput(
            topk_hyps=topk_hyps,
            topk_ids=tf.reshape(ids, [-1, max_steps]),
            topk_lens=tf.reshape(lens, [-1]),
            topk_scores=norm,
            topk_decoded=None,
            other_states=other_states,
        )

    def _TopK(self, state, seq_lengths, k):
        p = self.params
        options = dict(
            k=k,
            num_hyps_per_beam=k,
            length_normalization=p.length_normalization,
            coverage_penalty=p.coverage_penalty,
            target_seq_length_ratio=p.target_seq_length_ratio,
        )
        if p.use_tf_beam_search:
            return beam_search_tf.TopKTerminatedHyps(state, seq_lengths, **options)
        with_atten = p.atten_vecs_in_hypothesis_protos

        def Run(scores, hyps, prev, done, d_scores, d_cum, d_atten, atten, lengths):
            return ops.top_k_terminated_hyps(
                scores,
                hyps,
                prev,
                done,
                d_scores,
                d_cum,
                d_atten if with_atten else None,
                atten if with_atten else None,
                lengths,
                merge_paths=p.merge_paths,
                **options,
            )

        out = tf.numpy_function(
            Run,
            [*state[2:10], seq_lengths],
            [tf.int32, tf.int32, tf.float32, tf.float32, tf.float32],
            stateful=False,
        )
        num_beams, max_steps = tf.shape(state[0])[0], tf.shape(state[2])[0]
        shapes = [[num_beams, k, max_steps], [num_beams, k], [num_beams, k, max_steps]]
        src_len = tf.shape(state[9])[2] if with_atten else 0
        shapes += [[num_beams, k, max_steps, src_len], [num_beams, k]]
        return tuple(tf.reshape(x, shape) for x, shape in zip(out, shapes, strict=False))


def SourceLengths(encoder_outputs: NestedMap) -> tf.Tensor:
    """int32 [B] source lengths: `seq_lengths`, else counted from `padding` [S, B].

    Args:
      encoder_outputs: A `NestedMap` with `seq_lengths` [B] or `padding` [S, B] (1.0 = padded).

    Returns:
      The lengths.

    Raises:
      ValueError: If neither is present.
    """
    if encoder_outputs.get("seq_lengths") is not None:
        return tf.cast(encoder_outputs.seq_lengths, tf.int32)
    if encoder_outputs.get("padding") is None:
        raise ValueError("encoder_outputs needs seq_lengths [B] or padding [S, B].")
    padding = tf.cast(encoder_outputs.padding, tf.float32)
    return tf.cast(tf.round(tf.reduce_sum(1.0 - padding, axis=0)), tf.int32)


def MergeBeamSearchOutputs(
    max_hyps_per_beam: int, beam_search_outputs: list[BeamSearchDecodeOutput]
) -> BeamSearchDecodeOutput:
    """Merges the n-best lists of several searches over the same beams, best scores first.

    Args:
      max_hyps_per_beam: How many hyps to keep per beam.
      beam_search_outputs: Outputs of `BeamSearchDecode` with the same B and T.

    Returns:
      A `BeamSearchDecodeOutput` with `max_hyps_per_beam` hyps per beam; `other_states` None.
    """
    hyps = tf.concat([o.topk_hyps for o in beam_search_outputs], axis=1)  # [B, sum K]
    num_beams = tf.shape(hyps)[0]
    width = tf.shape(beam_search_outputs[0].topk_ids)[1]

    def PerBeam(x, *tail):
        return tf.concat(
            [tf.reshape(x_, tf.concat([[num_beams, -1], tail], 0)) for x_ in x], axis=1
        )

    ids = PerBeam([o.topk_ids for o in beam_search_outputs], width)
    lens = PerBeam([o.topk_lens for o in beam_search_outputs])
    scores = tf.concat([o.topk_scores for o in beam_search_outputs], axis=1)
    ranked = tf.where(lens == 0, tf.constant(-1e6, scores.dtype), scores)
    _, order = tf.math.top_k(ranked, k=max_hyps_per_beam)
    return BeamSearchDecodeOutput(
        topk_hyps=tf.gather(hyps, order, batch_dims=1),
        topk_ids=tf.reshape(tf.gather(ids, order, batch_dims=1), [-1, width]),
        topk_lens=tf.reshape(tf.gather(lens, order, batch_dims=1), [-1]),
        topk_scores=tf.gather(scores, order, batch_dims=1),
        topk_decoded=None,
        other_states=None,
    )
