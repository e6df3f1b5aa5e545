"""`AsrModel`: front end, encoder and LAS decoder, with Lingvo's decoder metrics (WER, TER)."""

from __future__ import annotations

import unicodedata
from typing import Any

import numpy as np
import tensorflow as tf

from lingvo import ops
from lingvo.core import base_model, hyperparams, metrics, optimizer, schedule
from lingvo.core.nested_map import NestedMap
from lingvo.tasks.asr import decoder, encoder

__all__ = ["AsrModel", "ComputeWer", "FilterEpsilon", "FilterNoise"]


def _Text(x: Any) -> str:
    return x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x)


def FilterNoise(text: str) -> str:
    """Removes isolated `<noise>` tokens and collapses whitespace."""
    return " ".join(w for w in text.split() if w != "<noise>")


def FilterEpsilon(text: str) -> str:
    """Removes `<epsilon>` tokens (glued or not) and collapses whitespace."""
    return " ".join(text.replace("<epsilon>", " ").split())


def _Normalize(text: str, case_and_punct: bool) -> str:
    text = " ".join(text.split())
    if case_and_punct:
        text = text.lower()
        text = "".join(c for c in text if c in "-'" or not unicodedata.category(c).startswith("P"))
        text = " ".join(text.split())
    return text


def ComputeWer(hyps: list[str], refs: list[str], normalize: bool = False) -> np.ndarray:
    """Word errors and reference words per pair, Lingvo's `ComputeWer`.

    Args:
      hyps: Hypotheses.
      refs: References, one per hypothesis.
      normalize: Whether case and punctuation (except `-` and `'`) are ignored.

    Returns:
      int64 shaped [batch, 2]: `[errors, ref_words]` per pair.
    """
    hyps = [_Normalize(_Text(h), normalize) for h in hyps]
    refs = [_Normalize(_Text(r), normalize) for r in refs]
    counts = ops.edit_distance(hyps, refs, level="word")
    return np.stack([counts.errors, counts.ref_lengths], axis=1).astype(np.int64)


class AsrModel(base_model.BaseTask):
    """Speech recognition: optional `frontend`, `encoder` (`AsrEncoder`), `decoder`.

    `ComputeLoss` is the decoder's. Decoding beam-searches, turns hyps (without their
    `</s>`) and references into strings with the input's tokenizer and scores them:
    `norm_wer`, `wer`, `error_rates/{ins,sub,del,wer}`, `case_insensitive_error_rates/*`,
    `sacc`, `ter` (token error rate over label ids: the CER for grapheme models),
    `oracle_norm_wer`, `corpus_bleu` and `num_samples_in_batch`. References are cut before
    their `</s>` unless `keep_eos_in_reference` (Lingvo's behaviour, which glued `</s>` to
    the last reference word and counted one extra word error per utterance).
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the task params with Lingvo's training defaults."""
        p = super().Params()
        p.Define("frontend", None, "The front-end params (e.g. MelAsrFrontend), or None.")
        p.encoder = encoder.AsrEncoder.Params()
        p.decoder = decoder.AsrDecoder.Params()
        p.Define(
            "include_auxiliary_metrics",
            True,
            "Whether decoding also reports wer, error rates, sacc, ter and the oracle WER.",
        )
        p.Define(
            "keep_eos_in_reference",
            False,
            "Whether reference strings keep their trailing `</s>`, as upstream Lingvo did.",
        )
        tp = p.train
        tp.learning_rate = 0.001
        tp.optimizer = optimizer.Adam.Params()
        tp.lr_schedule = schedule.PiecewiseConstantSchedule.Params().Set(
            boundaries=[350000, 500000, 600000], values=[1.0, 0.1, 0.01, 0.001]
        )
        tp.vn_start_step = 20000
        tp.vn_std = 0.075
        tp.l2_regularizer_weight = 1e-6
        tp.clip_gradient_norm_to_value = 1.0
        tp.grad_norm_to_clip_to_zero = 100.0
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if p.frontend is not None:
            self.CreateChild("frontend", p.frontend)
        self.CreateChild("encoder", p.encoder)
        self.CreateChild("decoder", p.decoder)

    def _Encode(self, theta: NestedMap, input_batch: NestedMap) -> NestedMap:
        src = input_batch.src
        if self.params.frontend is not None:
            src = self.frontend.FProp(theta.frontend, src)
        return self.encoder.FProp(theta.encoder, src)

    def ComputePredictions(self, theta: NestedMap, input_batch: NestedMap) -> NestedMap:
        """Front end, encoder, then the decoder over `input_batch.tgt`."""
        return self.decoder.ComputePredictions(
            theta.decoder, self._Encode(theta, input_batch), input_batch.tgt
        )

    def ComputeLoss(self, theta: NestedMap, predictions: NestedMap, input_batch: NestedMap):
        """The decoder's metrics and per-sequence losses."""
        return self.decoder.ComputeLoss(theta.decoder, predictions, input_batch.tgt)

    def DecodeWithTheta(self, theta: NestedMap, input_batch: NestedMap) -> dict[str, Any]:
        """Beam-searches a batch.

        Returns:
          `topk_ids` [batch * k, time], `topk_lens` [batch * k], `topk_scores` [batch, k],
          `topk_decoded` strings [batch, k], `transcripts` [batch], `target_labels` and
          `target_paddings` [batch, time], `utt_id` [batch] when the batch has sample ids.
        """
        out = self.decoder.BeamSearchDecode(theta.decoder, self._Encode(theta, input_batch))
        gen = self.input_generator
        tgt = input_batch.tgt
        batch, k = tf.shape(out.topk_scores)[0], tf.shape(out.topk_scores)[1]
        hyps = gen.IdsToStrings(out.topk_ids, tf.maximum(out.topk_lens - 1, 0))
        ref_lens = tf.cast(tf.round(tf.reduce_sum(1.0 - tgt.paddings, 1)), tf.int32)
        if not self.params.keep_eos_in_reference:
            ref_lens = tf.maximum(ref_lens - 1, 0)
        result = {
            "topk_ids": out.topk_ids,
            "topk_lens": out.topk_lens,
            "topk_scores": out.topk_scores,
            "topk_decoded": tf.reshape(hyps, [batch, k]),
            "transcripts": gen.IdsToStrings(tgt.labels, ref_lens),
            "target_labels": tgt.labels,
            "target_paddings": tgt.paddings,
        }
        if "sample_ids" in input_batch:
            result["utt_id"] = tf.reshape(input_batch.sample_ids, [-1])
        return result

    def CreateDecoderMetrics(self) -> dict[str, Any]:
        """The decoder metrics, Lingvo's names."""
        names = ["num_samples_in_batch", "norm_wer"]
        if self.params.include_auxiliary_metrics:
            names += ["wer", "sacc", "ter", "oracle_norm_wer"]
            for prefix in ("error_rates", "case_insensitive_error_rates"):
                names += [f"{prefix}/{n}" for n in ("ins", "sub", "del", "wer")]
        out = {n: metrics.AverageMetric() for n in names}
        out["corpus_bleu"] = metrics.CorpusBleuMetric()
        return out

    def PostProcessDecodeOut(
        self, decode_out_dict: dict[str, Any], decode_metrics_dict: dict[str, Any]
    ) -> list[tuple[str, str]]:
        """Updates the decoder metrics from one batch; returns (utterance, summary) pairs."""
        refs = [FilterNoise(_Text(r)) for r in np.asarray(decode_out_dict["transcripts"])]
        hyps = np.asarray(decode_out_dict["topk_decoded"])
        k = hyps.shape[1]
        hyps = [[FilterNoise(FilterEpsilon(_Text(h))) for h in row] for row in hyps]
        m = decode_metrics_dict
        m["num_samples_in_batch"].Update(len(refs))
        flat_refs = [r for r in refs for _ in range(k)]
        wer = ComputeWer([h for row in hyps for h in row], flat_refs).reshape([len(refs), k, 2])
        errors, words = wer[..., 0], wer[..., 1]
        total_words = float(words[:, 0].sum())
        m["norm_wer"].Update(errors[:, 0].sum() / max(total_words, 1.0), total_words)
        for ref, row in zip(refs, hyps, strict=True):
            m["corpus_bleu"].Update(ref, row[0])
        if self.params.include_auxiliary_metrics:
            self._AuxiliaryMetrics(decode_out_dict, refs, hyps, errors, words, m)
        ids = decode_out_dict.get("utt_id")
        pairs = []
        for i, ref in enumerate(refs):
            key = _Text(ids[i]) if ids is not None else str(i)
            pairs.append((key, f"ref: {ref} hyp: {hyps[i][0]} errors: {errors[i, 0]}"))
        return pairs

    def _AuxiliaryMetrics(self, out, refs, hyps, errors, words, m) -> None:
        top = [row[0] for row in hyps]
        total = float(sum(len(r.split()) for r in refs))
        for prefix, norm in (("error_rates", False), ("case_insensitive_error_rates", True)):
            c = ops.edit_distance(
                [_Normalize(h, norm) for h in top], [_Normalize(r, norm) for r in refs]
            )
            weight = max(total, 1.0) if total else 0.0
            for name, v in (
                ("ins", c.insertions),
                ("sub", c.substitutions),
                ("del", c.deletions),
                ("wer", c.errors),
            ):
                value = float(v.sum()) / max(total, 1.0)
                m[f"{prefix}/{name}"].Update(value, weight)
                if prefix == "error_rates" and name == "wer":
                    m["wer"].Update(value, weight)
        m["sacc"].Update(float(np.mean(errors[:, 0] == 0)), len(refs))
        oracle = errors.min(axis=1).sum()
        m["oracle_norm_wer"].Update(oracle / max(words[:, 0].sum(), 1.0), words[:, 0].sum())
        labels = np.asarray(out["target_labels"])
        lens = np.round((1.0 - np.asarray(out["target_paddings"])).sum(1)).astype(int)
        topk_ids = np.asarray(out["topk_ids"])
        topk_lens = np.asarray(out["topk_lens"])
        k = len(hyps[0])
        ref_ids = [labels[i, : lens[i]] for i in range(len(refs))]
        hyp_ids = [topk_ids[i * k, : topk_lens[i * k]] for i in range(len(refs))]
        c = ops.edit_distance(hyp_ids, ref_ids)
        ref_tokens = float(sum(len(r) for r in ref_ids))
        m["ter"].Update(float(c.errors.sum()) / max(ref_tokens, 1.0), ref_tokens)
