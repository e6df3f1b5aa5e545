"""Word-level language models on the English side of Multi30k, sized for one CPU.

The corpus folder (`LM_MULTI30K_DIR`, default `/tmp/lm_multi30k`) holds `train.txt` and
`val.txt` (one lower-cased sentence per line, punctuation split off the words) and
`vocab.txt` in the lm1b layout, e.g. from `python -m lingvo.tasks.lm.tools.vocab
--input=train.txt --output=vocab.txt --min_count=2`. The vocabulary size is its number of
lines. These are the models of the `lm_rnn` and `lm_transformer` benchmarks; their
Lingvo 0.14.2 twins live in the repository's `benchmarks/lm_lingvo_params/`.
"""

from __future__ import annotations

import os

from lingvo import model_registry
from lingvo.core import base_model_params, optimizer, schedule, tokenizers
from lingvo.core import layers as core_layers
from lingvo.tasks.lm import input_generator, layers, model

CORPUS_DIR = os.environ.get("LM_MULTI30K_DIR", "/tmp/lm_multi30k")


def VocabSize(path: str) -> int:
    """The number of lines of the vocabulary file; 0 when it does not exist yet."""
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as f:
        return sum(1 for _ in f)


class _Multi30kLm(base_model_params.SingleTaskModelParams):
    """The datasets: `train.txt` shuffled and repeated, `val.txt` (1,014 sentences)."""

    CORPUS_DIR = CORPUS_DIR
    MAX_TOKENS = 52
    BUCKETS = [10, 20, 30, 50]
    BATCH = 64
    LEARNING_RATE = 2e-3

    @property
    def vocab_size(self) -> int:
        return VocabSize(os.path.join(self.CORPUS_DIR, "vocab.txt"))

    def _Input(self, name: str, is_eval: bool):
        p = input_generator.LmInput.Params()
        p.name = name
        p.file_pattern = "text:" + os.path.join(self.CORPUS_DIR, name + ".txt")
        p.bucket_upper_bound = list(self.BUCKETS)
        p.bucket_batch_limit = [self.BATCH] * len(self.BUCKETS)
        p.target_max_length = self.MAX_TOKENS
        p.file_buffer_size = 1 if is_eval else 10_000
        p.file_parallelism = 1
        p.num_batcher_threads = 1
        p.tokenizer = tokenizers.VocabFileTokenizer.Params().Set(
            token_vocab_filepath=os.path.join(self.CORPUS_DIR, "vocab.txt"),
            vocab_size=self.vocab_size,
            target_sos_id=1,
            target_eos_id=2,
            target_unk_id=3,
        )
        return p

    def Train(self):
        return self._Input("train", is_eval=False)

    def Dev(self):
        p = self._Input("val", is_eval=True)
        p.num_samples = 1014
        return p

    def Test(self):
        return self.Dev()

    def _Task(self, lm):
        p = model.LanguageModel.Params()
        p.name = "multi30k_lm"
        p.lm = lm
        p.eval.samples_per_summary = 1014
        tp = p.train
        tp.learning_rate = self.LEARNING_RATE
        tp.optimizer = optimizer.Adam.Params()
        tp.lr_schedule = schedule.PiecewiseConstantSchedule.Params().Set(
            boundaries=[], values=[1.0]
        )
        tp.clip_gradient_norm_to_value = 1.0
        tp.grad_norm_to_clip_to_zero = 100.0
        tp.l2_regularizer_weight = None
        tp.save_interval_seconds = 3600
        tp.summary_interval_steps = 100
        return p


@model_registry.RegisterSingleTaskModel
class LstmLm(_Multi30kLm):
    """2 LSTMs of 512 cells over 512-wide embeddings, a sampled softmax of 512 classes."""

    DIM = 512
    NUM_SAMPLED = 512
    ADAGRAD_LEARNING_RATE = 0.2

    def Task(self):
        vocab = self.vocab_size
        lm = layers.RnnLm.CommonParams(
            vocab_size=vocab, emb_dim=self.DIM, num_layers=2, rnn_dims=self.DIM, residual_start=3
        )
        lm.softmax = core_layers.SampledSoftmax.Params().Set(
            input_dim=self.DIM,
            num_classes=vocab,
            num_sampled=self.NUM_SAMPLED,
            params_init=lm.softmax.params_init,
        )
        p = self._Task(lm)
        # Lingvo's own recipe for sampled-softmax LSTM LMs (one_billion_wds): Adagrad 0.2,
        # the loss summed over the batch's tokens, only the LSTM gradients clipped (to 16).
        # Without a global clip the step does not depend on how the global gradient norm
        # is measured; Lingvo 0.14.2 sums the squares of sparse (IndexedSlices) gradients
        # row by row without merging repeated ids, which over-states it once the softmax
        # rows' positive and negative contributions cancel, and clips ~3x harder.
        tp = p.train
        tp.optimizer = optimizer.Adagrad.Params().Set(initial_accumulator_value=1.0)
        tp.learning_rate = self.ADAGRAD_LEARNING_RATE
        tp.sum_loss_across_tokens_in_batch = True
        tp.max_lstm_gradient_norm = 16.0
        tp.clip_gradient_norm_to_value = 0.0
        tp.grad_norm_to_clip_to_zero = 0.0
        return p


@model_registry.RegisterSingleTaskModel
class TransformerLm(_Multi30kLm):
    """4 causal Transformer layers, model dim 256, 4 heads, feed-forward 1024, full softmax."""

    def Task(self):
        lm = layers.TransformerLm.CommonParams(
            model_dim=256,
            hidden_dim=1024,
            num_heads=4,
            num_layers=4,
            learning_rate=self.LEARNING_RATE,
            warmup_steps=0,
            vocab_size=self.vocab_size,
            residual_dropout_prob=0.0,
        )
        # Lingvo needs the classes to divide evenly into shards; the vocabulary need not.
        lm.softmax.num_shards = 1
        return self._Task(lm)
