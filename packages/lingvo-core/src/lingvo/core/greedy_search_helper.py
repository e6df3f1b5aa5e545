"""Greedy and sampling decoders with `BeamSearchHelper`'s callback contract, in plain TF."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import tensorflow as tf

from lingvo.core import base_layer
from lingvo.core.nested_map import NestedMap


class SearchDecodeOutput(NamedTuple):
    """What `GreedySearchDecode` and `SampleSearchDecode` return.

    Attributes:
      hyp_ids: int32 [N, T] chosen ids (the eos included), zero past `hyp_lens`.
      hyp_lens: int32 [N] lengths, eos included; T for hyps that never ended.
      hyp_scores: float32 [N] sum of the chosen ids' log-probs (the untempered scores).
      done: bool [N] whether each hyp emitted eos.
      other_states: The callbacks' states after the last step.
    """

    hyp_ids: Any
    hyp_lens: Any
    hyp_scores: Any
    done: Any
    other_states: Any


class _SequenceSearchHelper(base_layer.BaseLayer):
    """A one-id-per-step search loop; subclasses choose the id."""

    @classmethod
    def Params(cls):
        """Returns the helper's params."""
        p = super().Params()
        p.Define("target_sos_id", 1, "The id of the start-of-sequence token.")
        p.Define("target_eos_id", 2, "The id of the end-of-sequence token.")
        p.Define(
            "target_seq_len", 0, "The maximum number of decode steps when max_steps is not given."
        )
        return p

    def _Choose(self, log_probs: tf.Tensor, cur_step: tf.Tensor, seed: Any) -> tf.Tensor:
        raise NotImplementedError

    def _Search(
        self,
        theta: NestedMap,
        encoder_outputs: NestedMap,
        num_hyps_per_beam: int,
        init_beam_search_state: Callable[..., Any],
        pre_beam_search_step_callback: Callable[..., Any],
        post_beam_search_step_callback: Callable[..., Any],
        max_steps: int | None,
        seed: Any = None,
    ) -> SearchDecodeOutput:
        p = self.params
        max_steps = p.target_seq_len if max_steps is None else max_steps
        if max_steps <= 0:
            raise ValueError("max_steps (or target_seq_len) must be positive.")
        initial_results, other_states = init_beam_search_state(
            theta, encoder_outputs, num_hyps_per_beam
        )
        n = tf.shape(initial_results.log_probs)[0]
        step_ids = initial_results.get("step_ids")
        if step_ids is None:
            step_ids = tf.fill([n, 1], tf.constant(p.target_sos_id, tf.int32))
        ids = tf.TensorArray(tf.int32, size=max_steps)

        def Cond(cur_step, done, *_):
            return (cur_step < max_steps) & ~tf.reduce_all(done)

        def Body(cur_step, done, step_ids, ids, scores, lens, other_states):
            results, other_states = pre_beam_search_step_callback(
                theta, encoder_outputs, step_ids, other_states, num_hyps_per_beam, cur_step
            )
            log_probs = tf.cast(results.log_probs, tf.float32)
            chosen = tf.cast(self._Choose(log_probs, cur_step, seed), tf.int32)
            # Finished hyps keep emitting 0 and stop scoring.
            chosen = tf.where(done, 0, chosen)
            local = tf.gather(log_probs, chosen, batch_dims=1)
            scores += tf.where(done, 0.0, local)
            lens += tf.cast(~done, tf.int32)
            done |= chosen == p.target_eos_id
            ids = ids.write(cur_step, chosen)
            new_step_ids = chosen[:, None]
            other_states = post_beam_search_step_callback(
                theta, encoder_outputs, new_step_ids, other_states
            )
            return cur_step + 1, done, new_step_ids, ids, scores, lens, other_states

        _, done, _, ids, scores, lens, other_states = tf.while_loop(
            Cond,
            Body,
            (
                tf.constant(0),
                tf.zeros([n], tf.bool),
                step_ids,
                ids,
                tf.zeros([n], tf.float32),
                tf.zeros([n], tf.int32),
                other_states,
            ),
        )
        hyp_ids = tf.transpose(ids.stack())  # [N, steps taken]
        pad = max_steps - tf.shape(hyp_ids)[1]
        hyp_ids = tf.pad(hyp_ids, [[0, 0], [0, pad]])
        hyp_ids = tf.where(tf.range(max_steps)[None, :] < lens[:, None], hyp_ids, 0)
        return SearchDecodeOutput(hyp_ids, lens, scores, done, other_states)


class GreedySearchHelper(_SequenceSearchHelper):
    """Greedy (argmax) decoding; ties go to the lower id.

    Callbacks are `BeamSearchHelper`'s, called with `num_hyps_per_beam` 1 (so N = B).
    """

    def _Choose(self, log_probs, cur_step, seed):
        return tf.argmax(log_probs, axis=-1, output_type=tf.int32)

    def GreedySearchDecode(
        self,
        theta: NestedMap,
        encoder_outputs: NestedMap,
        init_beam_search_state: Callable[..., Any] | None = None,
        pre_beam_search_step_callback: Callable[..., Any] | None = None,
        post_beam_search_step_callback: Callable[..., Any] | None = None,
        max_steps: int | None = None,
    ) -> SearchDecodeOutput:
        """Decodes by taking the most likely id at every step until eos or `max_steps`.

        Args:
          theta: The decoder's theta, handed to the callbacks.
          encoder_outputs: A `NestedMap` handed to the callbacks.
          init_beam_search_state: `BeamSearchHelper`'s init callback.
          pre_beam_search_step_callback: `BeamSearchHelper`'s pre-step callback.
          post_beam_search_step_callback: `BeamSearchHelper`'s post-step callback.
          max_steps: The number of steps T; default `target_seq_len`.

        Returns:
          A `SearchDecodeOutput`.
        """
        return self._Search(
            theta,
            encoder_outputs,
            1,
            init_beam_search_state,
            pre_beam_search_step_callback,
            post_beam_search_step_callback,
            max_steps,
        )


class SampleSearchHelper(_SequenceSearchHelper):
    """Ancestral sampling with temperature and top-k, seeded (stateless random ops).

    `num_hyps_per_beam` samples are drawn per source (N = K * B, hyp-major as in beam search);
    the same seed gives the same samples, eagerly or in a graph.
    """

    @classmethod
    def Params(cls):
        """Returns the helper's params."""
        p = super().Params()
        p.Define("num_hyps_per_beam", 1, "The number of samples drawn per source sentence.")
        p.Define(
            "temperature", 1.0, "The softmax temperature; logits are divided by it before sampling."
        )
        p.Define("top_k", 0, "When > 0, sampling is restricted to the top_k most likely ids.")
        p.Define("seed", 1234, "The seed of the stateless sampler when the call gives none.")
        return p

    def __init__(self, params):
        """Builds the helper; checks the temperature."""
        super().__init__(params)
        if self.params.temperature <= 0.0:
            raise ValueError("temperature must be positive; use GreedySearchHelper for argmax.")

    def _Choose(self, log_probs, cur_step, seed):
        p = self.params
        logits = log_probs / p.temperature
        if p.top_k > 0:
            kth = tf.math.top_k(logits, k=p.top_k).values[:, -1:]
            logits = tf.where(logits < kth, tf.constant(-1e30, logits.dtype), logits)
        step_seed = tf.stack([tf.cast(seed, tf.int32), tf.cast(cur_step, tf.int32)])
        return tf.random.stateless_categorical(logits, 1, seed=step_seed, dtype=tf.int32)[:, 0]

    def SampleSearchDecode(
        self,
        theta: NestedMap,
        encoder_outputs: NestedMap,
        init_beam_search_state: Callable[..., Any] | None = None,
        pre_beam_search_step_callback: Callable[..., Any] | None = None,
        post_beam_search_step_callback: Callable[..., Any] | None = None,
        max_steps: int | None = None,
        random_seed: Any = None,
    ) -> SearchDecodeOutput:
        """Decodes by sampling every step's id until eos or `max_steps`.

        Args:
          theta: The decoder's theta, handed to the callbacks.
          encoder_outputs: A `NestedMap` handed to the callbacks.
          init_beam_search_state: `BeamSearchHelper`'s init callback.
          pre_beam_search_step_callback: `BeamSearchHelper`'s pre-step callback.
          post_beam_search_step_callback: `BeamSearchHelper`'s post-step callback.
          max_steps: The number of steps T; default `target_seq_len`.
          random_seed: int32 scalar seed; default the `seed` param.

        Returns:
          A `SearchDecodeOutput`; `hyp_scores` sums the untempered log-probs.
        """
        seed = self.params.seed if random_seed is None else random_seed
        return self._Search(
            theta,
            encoder_outputs,
            self.params.num_hyps_per_beam,
            init_beam_search_state,
            pre_beam_search_step_callback,
            post_beam_search_step_callback,
            max_steps,
            seed,
        )
