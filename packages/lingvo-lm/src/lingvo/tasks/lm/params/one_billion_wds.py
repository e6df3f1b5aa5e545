"""One Billion Word Benchmark (lm1b) experiments: Lingvo's word-level LSTM models."""

from __future__ import annotations

import os

from lingvo import model_registry
from lingvo.core import base_model_params, optimizer, schedule, tokenizers, weights
from lingvo.core import layers as core_layers
from lingvo.tasks.lm import input_generator, layers, model

# Where Lingvo's `tools/download_lm1b.py` leaves the corpus; override with LM1B_DIR.
CORPUS_DIR = os.environ.get(
    "LM1B_DIR", "/tmp/lm1b/1-billion-word-language-modeling-benchmark-r13output"
)


@model_registry.RegisterSingleTaskModel
class WordLevelOneBwdsBase(base_model_params.SingleTaskModelParams):
    """BIG-LSTM on lm1b: 2 layers of 8192 cells projected to 1024, Adagrad, full softmax."""

    CORPUS_DIR = CORPUS_DIR
    EMBEDDING_DIM = 1024
    MAX_TOKENS = 1024
    NUM_EMBEDDING_SHARDS = 8
    NUM_SAMPLED = 8192
    NUM_SOFTMAX_SHARDS = 8
    RNN_STATE_DIM = 1024
    RNN_HIDDEN_DIM = 8192
    VOCAB_SIZE = 793472  # includes <epsilon>
    TRAIN_BUCKETS = [10, 20, 30, 40, 50, 100, 256, 512, 1024]
    TRAIN_LIMITS = [1024, 512, 256, 256, 128, 128, 64, 32, 16]
    EVAL_LIMITS = [128, 64, 32, 32, 16, 16, 4, 2, 1]

    def _CommonInputParams(self, is_eval: bool):
        """Input params shared by the datasets: the lm1b vocabulary, sos 1, eos 2, unk 3."""
        p = input_generator.LmInput.Params()
        p.bucket_upper_bound = list(self.TRAIN_BUCKETS)
        if is_eval:
            p.bucket_batch_limit = list(self.EVAL_LIMITS)
            p.file_buffer_size = 1
            p.file_parallelism = 1
            p.num_batcher_threads = 1
        else:
            p.bucket_batch_limit = list(self.TRAIN_LIMITS)
            p.file_buffer_size = 10_000_000
            p.file_parallelism = 10
            p.num_batcher_threads = 16
        p.target_max_length = self.MAX_TOKENS
        p.tokenizer = tokenizers.VocabFileTokenizer.Params().Set(
            token_vocab_filepath=os.path.join(self.CORPUS_DIR, "vocab.txt"),
            vocab_size=self.VOCAB_SIZE,
            target_sos_id=1,
            target_eos_id=2,
            target_unk_id=3,
        )
        return p

    def Train(self):
        """The shuffled training shards, repeated."""
        p = self._CommonInputParams(is_eval=False)
        p.file_pattern = "text:" + os.path.join(
            self.CORPUS_DIR, "training-monolingual.tokenized.shuffled", "news.en*"
        )
        p.name = "1bwds_train_set"
        return p

    def Dev(self):
        """The held-out shard 00001 (6206 sentences), one pass."""
        p = self._CommonInputParams(is_eval=True)
        p.file_pattern = "text:" + os.path.join(
            self.CORPUS_DIR, "heldout-monolingual.tokenized.shuffled", "news.en.heldout-00001*"
        )
        p.name = "1bwds_dev_set"
        p.num_samples = 6206
        return p

    def Test(self):
        """The held-out shard 00000 (6075 sentences), one pass."""
        p = self._CommonInputParams(is_eval=True)
        p.file_pattern = "text:" + os.path.join(
            self.CORPUS_DIR, "heldout-monolingual.tokenized.shuffled", "news.en.heldout-00000*"
        )
        p.name = "1bwds_test_set"
        p.num_samples = 6075
        return p

    def Task(self):
        """The task: RnnLm with dropout 0.25, Adagrad 0.2, LSTM clipping 16, summed loss."""
        p = model.LanguageModel.Params()
        p.name = "1bwds_word_level_lm"
        p.eval.samples_per_summary = 10000
        p.lm = layers.RnnLm.CommonParams(
            vocab_size=self.VOCAB_SIZE,
            emb_dim=self.EMBEDDING_DIM,
            num_layers=2,
            residual_start=3,  # no residuals
            rnn_dims=self.RNN_STATE_DIM,
            rnn_hidden_dims=self.RNN_HIDDEN_DIM,
        )
        init = weights.WeightInit.UniformUnitScaling(scale=8.0)
        p.lm.emb.Set(num_shards=self.NUM_EMBEDDING_SHARDS, params_init=init)
        p.lm.embedding_dropout_keep_prob = 0.75
        p.lm.rnns.dropout.keep_prob = 0.75
        tp = p.train
        tp.sum_loss_across_tokens_in_batch = True
        tp.clip_gradient_norm_to_value = 0.0
        tp.grad_norm_to_clip_to_zero = 0.0
        tp.max_lstm_gradient_norm = 16
        tp.learning_rate = 0.2
        tp.optimizer = optimizer.Adagrad.Params().Set(initial_accumulator_value=1.0)
        tp.lr_schedule = schedule.PiecewiseConstantSchedule.Params().Set(
            boundaries=[], values=[1.0]
        )
        tp.l2_regularizer_weight = None
        return p


@model_registry.RegisterSingleTaskModel
class WordLevelOneBwdsSimpleSampledSoftmax(WordLevelOneBwdsBase):
    """The base model with a sampled softmax: 8192 log-uniform samples, 8 shards."""

    def Task(self):
        """The base task with `SampledSoftmax(num_sampled=8192, num_shards=8)`."""
        p = super().Task()
        p.lm.softmax = core_layers.SampledSoftmax.Params().Set(
            input_dim=self.RNN_STATE_DIM,
            num_classes=self.VOCAB_SIZE,
            num_sampled=self.NUM_SAMPLED,
            num_shards=self.NUM_SOFTMAX_SHARDS,
            params_init=weights.WeightInit.UniformUnitScaling(scale=8.0),
        )
        return p


@model_registry.RegisterSingleTaskModel
class WordLevelOneBwdsSimpleSampledSoftmaxTiny(WordLevelOneBwdsSimpleSampledSoftmax):
    """Lingvo's tiny variant for tests: dims 7 and 32, 8 samples; still the full vocab."""

    EMBEDDING_DIM = 7
    RNN_STATE_DIM = 32
    RNN_HIDDEN_DIM = 0
    NUM_SAMPLED = 8
    NUM_EMBEDDING_SHARDS = 1
    NUM_SOFTMAX_SHARDS = 8


@model_registry.RegisterSingleTaskModel
class WordLevelOneBwdsCpu(WordLevelOneBwdsSimpleSampledSoftmax):
    """The sampled-softmax model scaled to one CPU, same structure, for small corpora.

    Two LSTMs of 256 cells projected to 64, 64-wide embeddings, 128 sampled classes over
    2 shards, buckets up to 50 words. Point `CORPUS_DIR` (or `LM1B_DIR`) at a folder laid
    out like lm1b with a `vocab.txt` built by `lingvo.tasks.lm.tools.vocab`, and set
    `VOCAB_SIZE` to its number of lines (a subclass or `task.lm.*` overrides).
    """

    EMBEDDING_DIM = 64
    RNN_STATE_DIM = 64
    RNN_HIDDEN_DIM = 256
    NUM_SAMPLED = 128
    NUM_EMBEDDING_SHARDS = 1
    NUM_SOFTMAX_SHARDS = 2
    VOCAB_SIZE = 2048
    MAX_TOKENS = 64
    TRAIN_BUCKETS = [10, 20, 30, 40, 50]
    TRAIN_LIMITS = [128, 64, 32, 32, 16]
    EVAL_LIMITS = [32, 16, 8, 8, 4]

    def _CommonInputParams(self, is_eval: bool):
        """The base input params with small shuffle buffers and few readers."""
        p = super()._CommonInputParams(is_eval)
        if not is_eval:
            p.file_buffer_size = 10_000
            p.file_parallelism = 1
            p.num_batcher_threads = 1
        return p
