"""MT tasks: `TransformerModel`, `RNMTModel` and `HybridModel` on the shared `MTBaseModel`."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from lingvo.core import base_model, hyperparams, metrics, run_mode, tokenizers
from lingvo.core.layers import dropouts
from lingvo.core.nested_map import NestedMap
from lingvo.tasks.mt import decode_output, decoder, encoder

__all__ = ["HybridModel", "MTBaseModel", "RNMTModel", "TransformerModel"]


def _Lengths(paddings: Any) -> tf.Tensor:
    """int32 [batch] unpadded lengths of paddings shaped [batch, time]."""
    return tf.cast(tf.round(tf.reduce_sum(1.0 - tf.cast(paddings, tf.float32), axis=1)), tf.int32)


def _Text(x: Any) -> str:
    return x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x)


def _VocabularySizes(p: hyperparams.Params) -> dict[str, int]:
    """The vocabulary sizes the model's params state: {param path: size}."""
    sizes = {}
    for path in ("decoder.softmax.num_classes", "encoder.token_emb.vocab_size",
                 "decoder.token_emb.vocab_size", "encoder.emb.vocab_size",
                 "decoder.emb.vocab_size"):  # fmt: skip
        node = p
        for key in path.split("."):
            node = node.Get(key) if isinstance(node, hyperparams.Params) and key in node else None
        if isinstance(node, int) and node > 0:
            sizes[path] = node
    return sizes


def _CheckVocabularySize(p: hyperparams.Params) -> None:
    """Fails at start-up when the input's vocabulary file does not fit the model.

    A vocabulary with more pieces than the model has classes would feed ids past the
    embedding (a crash mid-run); one with fewer would decode ids it cannot name.

    Raises:
      ValueError: The sizes differ; the message names the file and the params.
    """
    tok = getattr(p.input, "tokenizer", None) if p.input is not None else None
    path = getattr(tok, "token_vocab_filepath", None) if tok is not None else None
    if not path or not tf.io.gfile.exists(path):
        return
    with tf.io.gfile.GFile(path, "r") as f:
        pieces = sum(1 for line in f if line.strip("\n"))
    wrong = {k: v for k, v in _VocabularySizes(p).items() if v != pieces}
    if wrong:
        stated = ", ".join(f"{k}={v}" for k, v in wrong.items())
        raise ValueError(
            f"task {p.name!r}: the input's vocabulary {path} has {pieces} pieces but the "
            f"model has {stated}; use the vocabulary the model was built for, or set its "
            "vocabulary size to match"
        )


class MTBaseModel(base_model.BaseTask):
    """An encoder and a decoder trained on `src`/`tgt` batches, decoded by beam search.

    `ComputePredictions` encodes `src` and runs the decoder over `tgt` (teacher forcing);
    `ComputeLoss` is the decoder's. `Decode` beam-searches and turns sources, references and
    hypotheses into strings with the input's tokenizer; `PostProcessDecodeOut` adds each
    source's best hypothesis to the corpus BLEU.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the task params; `encoder` and `decoder` are set by the subclasses."""
        p = super().Params()
        p.Define(
            "bleu_separator_type",
            None,
            "How decoded strings are unsegmented before BLEU: 'wpm', 'spm', 'bpe' or None; "
            "None picks 'wpm' for a vocabulary-file tokenizer (pieces joined by spaces) and "
            "plain words otherwise.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        _CheckVocabularySize(p)
        self.CreateChild("enc", p.encoder)
        self.CreateChild("dec", p.decoder)

    # Lingvo's attribute names for the two halves.
    @property
    def encoder(self) -> Any:
        """The encoder layer."""
        return self.enc

    @property
    def decoder(self) -> Any:
        """The decoder layer."""
        return self.dec

    def ComputePredictions(self, theta: NestedMap, input_batch: NestedMap) -> NestedMap:
        """Encodes `input_batch.src` and decodes `input_batch.tgt`; returns the logits.

        The dropout masks of the [time, batch, dim] activations are made by XLA-fused kernels
        (`dropouts.FusedDynamicMasks`): the bucketed inputs give a handful of shapes, each
        compiled once, and the masks are the same as without.
        """
        with dropouts.FusedDynamicMasks():
            encoder_outputs = self.enc.FProp(theta.enc, input_batch.src)
            return self.dec.ComputePredictions(theta.dec, encoder_outputs, input_batch.tgt)

    def ComputeLoss(
        self, theta: NestedMap, predictions: NestedMap, input_batch: NestedMap
    ) -> tuple[dict[str, tuple[Any, Any]], dict[str, Any]]:
        """The decoder's metrics (`loss`, `log_pplx`, ...) and per-sequence losses.

        In training, the input's counters of dropped or altered records
        (`SummaryCounters()`: `num_empty_pairs`, `num_too_long_pairs`, `num_unk_pieces`,
        `num_too_long_for_buckets`, as the input has them) join the metrics, weight 1, so
        the summaries and log lines show them.
        """
        values, per_sequence = self.dec.ComputeLoss(theta.dec, predictions, input_batch.tgt)
        values.update(self._InputCounts())
        return values, per_sequence

    def _InputCounts(self) -> dict[str, tuple[Any, Any]]:
        gen = self.__dict__.get("_input_generator")
        if run_mode.IsEvalMode() or not hasattr(gen, "SummaryCounters"):
            return {}
        one = tf.constant(1.0)
        return {k: (tf.cast(v, tf.float32), one) for k, v in gen.SummaryCounters().items()}

    # ------------------------------------------------------------------ decoding

    def DecodeWithTheta(self, theta: NestedMap, input_batch: NestedMap) -> dict[str, Any]:
        """Beam-searches a batch and returns ids, scores and strings.

        Args:
          theta: The task's theta.
          input_batch: A batch with `src` and `tgt`.

        Returns:
          A dict of tensors: `topk_ids` [batch * k, time], `topk_lens` [batch * k],
          `topk_scores` [batch, k], `topk_decoded` strings [batch, k], `sources` and
          `targets` strings [batch], and the target `ids`/`labels`/`paddings`/`weights`.
        """
        encoder_outputs = self.enc.FProp(theta.enc, input_batch.src)
        out = self.dec.BeamSearchDecode(theta.dec, encoder_outputs)
        gen = self.input_generator
        batch = tf.shape(out.topk_scores)[0]
        k = tf.shape(out.topk_scores)[1]
        hyps = gen.IdsToStrings(out.topk_ids, tf.maximum(out.topk_lens - 1, 0))
        src, tgt = input_batch.src, input_batch.tgt
        sources = gen.IdsToStrings(src.ids, tf.maximum(_Lengths(src.paddings) - 1, 0))
        targets = gen.IdsToStrings(tgt.labels, tf.maximum(_Lengths(tgt.paddings) - 1, 0))
        return {
            "target_ids": tgt.ids,
            "target_labels": tgt.labels,
            "target_weights": tgt.weights,
            "target_paddings": tgt.paddings,
            "sources": sources,
            "targets": targets,
            "topk_ids": out.topk_ids,
            "topk_lens": out.topk_lens,
            "topk_scores": out.topk_scores,
            "topk_decoded": tf.reshape(hyps, [batch, k]),
        }

    def _SeparatorType(self) -> str | None:
        p = self.params
        if p.bleu_separator_type is not None:
            return p.bleu_separator_type
        tok = getattr(p.input, "tokenizer", None) if p.input is not None else None
        if tok is not None and issubclass(tok.cls, tokenizers.VocabFileTokenizer):
            return "wpm"
        return None

    def CreateDecoderMetrics(self) -> dict[str, Any]:
        """`num_samples_in_batch` and `corpus_bleu` (a fraction in [0, 1]).

        The decoder job calls this once per checkpoint, so it also starts the structured
        output that `DecodeFinalize` writes.
        """
        object.__setattr__(self, "_decoded", [])
        return {
            "num_samples_in_batch": metrics.AverageMetric(),
            "corpus_bleu": metrics.CorpusBleuMetric(separator_type=self._SeparatorType()),
        }

    def PostProcessDecodeOut(
        self, decode_out_dict: dict[str, Any], decode_metrics_dict: dict[str, Any]
    ) -> list[tuple[str, str]]:
        """Adds each source's best hypothesis to the BLEU; returns (source, summary) pairs.

        Args:
          decode_out_dict: `DecodeWithTheta`'s outputs as numpy arrays.
          decode_metrics_dict: What `CreateDecoderMetrics` returned, updated in place.

        Returns:
          One `(source, "src: ... tgt: ... hyp0: ... score0: ...")` pair per source.
        """
        sources = np.asarray(decode_out_dict["sources"])
        targets = np.asarray(decode_out_dict["targets"])
        hyps = np.asarray(decode_out_dict["topk_decoded"])
        scores = np.asarray(decode_out_dict["topk_scores"])
        decode_metrics_dict["num_samples_in_batch"].Update(len(targets))
        separator = self._SeparatorType()
        decoded = getattr(self, "_decoded", None)
        pairs = []
        for i in range(len(targets)):
            src, tgt = _Text(sources[i]), _Text(targets[i])
            hyp_strs = [_Text(h) for h in hyps[i]]
            decode_metrics_dict["corpus_bleu"].Update(tgt, hyp_strs[0])
            parts = [f"src: {src}", f"tgt: {tgt}"]
            for j, hyp in enumerate(hyp_strs):
                parts.append(f"hyp{j}: {hyp}")
                parts.append(f"score{j}: {float(scores[i][j]):.6f}")
            pairs.append((src, " ".join(parts)))
            if decoded is not None:
                decoded.append(
                    decode_output.DecodedSentence.FromPieces(
                        src, tgt, hyp_strs, scores[i], separator
                    )
                )
        return pairs

    def DecodeFinalize(self, decode_finalize_args: Any) -> None:
        """Writes Lingvo's pickled pairs and, beside them, `decoder_out_<step>.jsonl`.

        The JSON lines (`decode_output.DecodedSentence`, one per source, in decoding order)
        hold what `PostProcessDecodeOut` saw since the last `CreateDecoderMetrics`.
        """
        super().DecodeFinalize(decode_finalize_args)
        decoded = getattr(self, "_decoded", None)
        path = decode_finalize_args.decode_out_path
        if decoded and path:
            decode_output.WriteJsonLines(decode_output.JsonLinesPath(path), decoded)
        object.__setattr__(self, "_decoded", [])


class TransformerModel(MTBaseModel):
    """`TransformerEncoder` and `TransformerDecoder` (whose source_dim is the model_dim)."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the task params with a Transformer encoder and decoder."""
        p = super().Params()
        p.encoder = encoder.TransformerEncoder.Params()
        p.decoder = decoder.TransformerDecoder.Params()
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        p = params
        if p.encoder.model_dim != p.decoder.source_dim:
            raise ValueError(
                f"TransformerModel {p.name!r}: encoder.model_dim {p.encoder.model_dim} != "
                f"decoder.source_dim {p.decoder.source_dim}"
            )
        super().__init__(params)


class RNMTModel(MTBaseModel):
    """RNMT+: `MTEncoderBiRNN` and `MTDecoderV1`."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the task params with a bidirectional-LSTM encoder and `MTDecoderV1`."""
        p = super().Params()
        p.encoder = encoder.MTEncoderBiRNN.Params()
        p.decoder = decoder.MTDecoderV1.Params()
        return p


class HybridModel(MTBaseModel):
    """A `TransformerEncoder` with the RNMT+ decoder `MTDecoderV1`."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the task params with a Transformer encoder and `MTDecoderV1`."""
        p = super().Params()
        p.encoder = encoder.TransformerEncoder.Params()
        p.decoder = decoder.MTDecoderV1.Params()
        return p
