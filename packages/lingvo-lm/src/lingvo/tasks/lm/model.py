"""`LanguageModel`: the task that trains and evaluates an `lm` layer on `LmInput` batches."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from lingvo.core import base_model, hyperparams, optimizer, run_mode, schedule
from lingvo.core.nested_map import NestedMap
from lingvo.tasks.lm import input_generator, layers

__all__ = ["LanguageModel", "TrimToLongest"]


def TrimToLongest(batch: NestedMap) -> NestedMap:
    """Cuts `ids`, `labels`, `paddings` and `weights` to the longest unpadded row.

    Args:
      batch: A batch-major `NestedMap` whose sequence fields are shaped [batch, time].

    Returns:
      A copy with those fields shaped [batch, longest], other fields unchanged.
    """
    lengths = tf.reduce_sum(tf.cast(1.0 - batch.paddings, tf.int32), axis=1)
    longest = tf.maximum(tf.reduce_max(lengths), 1)
    out = batch.Copy() if hasattr(batch, "Copy") else NestedMap(batch)
    for key in ("ids", "labels", "paddings", "weights"):
        if key in out:
            out[key] = out[key][:, :longest]
    return out


class LanguageModel(base_model.BaseTask):
    """Next-token prediction over `LmInput` batches with an `lm` layer.

    Metrics (each `(value, weight)`):

    - `loss`: the mean cross-entropy per predicted token, or the sum over the batch with
      `train.sum_loss_across_tokens_in_batch`; weight `num_predictions`.
    - `log_pplx`: the mean cross-entropy per predicted token; weight `num_predictions`.
    - `log_pplx_per_word`: the summed cross-entropy over `num_words`, the whitespace words
      of each line plus one end of sentence (whole lines, also when tokenization cut
      them); weight `num_words`. Word perplexity is `exp(log_pplx_per_word)`.
    - `fraction_of_correct_next_step_preds`: correct argmax predictions over
      `num_predictions + 1e-4`; 1.0 in sampled-softmax training, where the softmax reports
      the labels as its argmax (Lingvo's behaviour).
    - `num_predictions` (the summed label weights) and `num_words`, each with weight 1.
    - In training only: `num_empty_lines` and `num_too_long_lines`, the input lines
      `LmInput` skipped so far (so they reach the training summaries), weight 1.

    Child: `lm`. With `train.max_lstm_gradient_norm > 0`, the gradients of `lm.rnns` are
    clipped together to that global norm before the learner's own clipping.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the task params with Lingvo's language-model training defaults."""
        p = super().Params()
        p.name = "lm"
        p.Define("lm", layers.RnnLm.Params(), "The params of the language-model layer.")
        p.train.Define(
            "max_lstm_gradient_norm",
            0.0,
            "If > 0, the gradients of the lm's LSTM stack are clipped to this global norm.",
        )
        p.train.Define(
            "sum_loss_across_tokens_in_batch",
            False,
            "Whether the loss is the cross-entropy summed over the batch's tokens instead of "
            "its mean.",
        )
        tp = p.train
        tp.learning_rate = 0.001
        tp.optimizer = optimizer.Adam.Params()
        tp.lr_schedule = schedule.PiecewiseConstantSchedule.Params().Set(
            boundaries=[350_000, 500_000, 600_000], values=[1.0, 0.1, 0.01, 0.001]
        )
        tp.l2_regularizer_weight = 1e-6
        tp.clip_gradient_norm_to_value = 1.0
        tp.grad_norm_to_clip_to_zero = 100.0
        tp.vn_std = 0.0
        tp.vn_start_step = 20_000
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if p.lm.vocab_size <= 0:
            raise ValueError(f"task {p.name!r}: lm.vocab_size must be positive")
        self.CreateChild("lm", p.lm)

    # ------------------------------------------------------------------ forward

    def ComputePredictions(self, theta: NestedMap, input_batch: NestedMap) -> NestedMap:
        """Runs the lm over the batch, trimmed to its longest row and made time-major.

        Args:
          theta: The task's theta.
          input_batch: `LmInput` batch: `ids`, `labels`, `paddings`, `weights` shaped
            [batch, time] and `word_count` shaped [batch].

        Returns:
          The lm's cross-entropy `NestedMap` (fields shaped [time, batch, ...]).
        """
        batch = TrimToLongest(input_batch)
        ids = tf.transpose(batch.ids)
        paddings = tf.transpose(tf.cast(batch.paddings, self.fprop_dtype))
        labels = NestedMap(
            class_ids=tf.transpose(batch.labels),
            class_weights=tf.transpose(tf.cast(batch.weights, self.fprop_dtype)),
        )
        xent, _ = self.lm.FProp(theta.lm, ids, paddings, None, labels)
        xent.class_ids = labels.class_ids
        xent.class_weights = labels.class_weights
        return xent

    def ComputeLoss(
        self, theta: NestedMap, predictions: NestedMap, input_batch: NestedMap
    ) -> tuple[dict[str, tuple[Any, Any]], dict[str, Any]]:
        """Returns the metrics of the class docstring and per-sentence cross-entropies.

        Returns:
          `(metrics, per_example)`; `per_example['loss']` is each sentence's summed
          cross-entropy, shaped [batch].
        """
        del theta
        p = self.params
        weights = predictions.class_weights
        num_preds = predictions.total_weight
        total_xent = predictions.total_xent
        avg_xent = total_xent / tf.maximum(num_preds, 1e-6)
        word_count = tf.cast(input_batch.word_count, tf.float32)
        num_words = tf.reduce_sum(word_count + 1.0)
        correct = tf.cast(
            tf.equal(predictions.per_example_argmax, tf.cast(predictions.class_ids, tf.int32)),
            weights.dtype,
        )
        accuracy = tf.reduce_sum(correct * weights) / (num_preds + 1e-4)
        loss = total_xent if p.train.sum_loss_across_tokens_in_batch else avg_xent
        metrics = {
            "loss": (loss, num_preds),
            "log_pplx": (avg_xent, num_preds),
            "log_pplx_per_word": (total_xent / num_words, num_words),
            "fraction_of_correct_next_step_preds": (accuracy, num_preds),
            "num_predictions": (num_preds, tf.constant(1.0)),
            "num_words": (num_words, tf.constant(1.0)),
        }
        metrics.update(self._InputCounts())
        per_sentence = tf.reduce_sum(predictions.per_example_xent * weights, axis=0)
        return metrics, {"loss": per_sentence}

    def _InputCounts(self) -> dict[str, tuple[Any, Any]]:
        """In training, the lines `LmInput` skipped so far, so the summaries carry them.

        `num_empty_lines` and `num_too_long_lines` (more words than the last bucket bound)
        count since the input generator was built, each with weight 1; none in evaluation
        or before the task's own input generator exists.
        """
        gen = self.__dict__.get("_input_generator")
        if run_mode.IsEvalMode() or not isinstance(gen, input_generator.LmInput):
            return {}
        one = tf.constant(1.0)
        return {
            "num_empty_lines": (tf.cast(gen.num_empty_lines, tf.float32), one),
            "num_too_long_lines": (tf.cast(gen.num_too_long_lines, tf.float32), one),
        }

    # ------------------------------------------------------------------ training

    def AdjustGradients(self, var_grads: list[tuple[tf.Variable, Any]]) -> list[Any]:
        """Clips the LSTM stack's gradients to `train.max_lstm_gradient_norm` together."""
        limit = self.params.train.max_lstm_gradient_norm
        rnns = getattr(self.lm, "rnns", None)
        if not limit or rnns is None:
            return var_grads
        lstm_refs = {v.ref() for v in rnns.vars.Flatten()}
        picked = [i for i, (v, _) in enumerate(var_grads) if v.ref() in lstm_refs]
        if not picked:
            return var_grads
        clipped, _ = tf.clip_by_global_norm([var_grads[i][1] for i in picked], limit)
        out = list(var_grads)
        for i, g in zip(picked, clipped, strict=True):
            out[i] = (out[i][0], g)
        return out

    # ------------------------------------------------------------------ inference

    def InferenceFn(self, text: Any) -> NestedMap:
        """Scores sentences: Lingvo's `default` inference subgraph.

        Args:
          text: Strings shaped [N], tokenized by the input generator's tokenizer to its
            `target_max_length` T.

        Returns:
          A `NestedMap` with `log_pplx_per_token` and `paddings` shaped [N, T] (float32),
          `lengths`, `log_pplx_per_sample` and `num_oovs_per_sample` shaped [N],
          `tokens_from_labels` (strings [N], the labels decoded) and `ids` [N, T] (int32).
        """
        gen = self.input_generator
        text = tf.convert_to_tensor(text, tf.string)
        ids, labels, paddings = gen.StringsToIds(text)
        not_padded = 1.0 - paddings
        lengths = tf.reduce_sum(tf.cast(not_padded, tf.int32), axis=1)
        tokens_from_labels = gen.IdsToStrings(labels, lengths)
        unk = gen.params.tokenizer.target_unk_id
        oovs = tf.cast(tf.equal(labels, unk), tf.float32) * not_padded
        with run_mode.EvalMode():
            xent, _ = self.lm.FProp(
                self.theta.lm,
                tf.transpose(ids),
                tf.transpose(paddings),
                None,
                NestedMap(class_ids=tf.transpose(labels), class_weights=tf.transpose(not_padded)),
            )
        per_token = tf.transpose(xent.per_example_xent) * not_padded
        return NestedMap(
            log_pplx_per_token=per_token,
            paddings=paddings,
            lengths=lengths,
            log_pplx_per_sample=tf.reduce_sum(per_token, axis=1),
            num_oovs_per_sample=tf.cast(tf.reduce_sum(oovs, axis=1), tf.int32),
            tokens_from_labels=tokens_from_labels,
            ids=ids,
        )

    def Inference(self) -> dict[str, tuple[dict[str, tf.TensorSpec], Any]]:
        """Returns `{'default': (feeds, fn)}`: feed `text` [N] strings to `fn(text)`."""
        feeds = {"text": tf.TensorSpec([None], tf.string)}
        return {"default": (feeds, self.InferenceFn)}
