"""The synthetic English-German corpus: a CPU-sized Transformer that trains in minutes.

The data come from `lingvo.tasks.mt.tools.synthetic_corpus` (no download), with a 2k
word-piece vocabulary learned on its training text; `python -m lingvo.tasks.mt.main_job`
makes them and trains this experiment end to end. The data directory holds
`train.tfrecords`, `dev.tfrecords`, `test.tfrecords` and `wpm-synthetic-2k.voc`, and is read
from `$LINGVO_SYNTHETIC_ENDE_DATADIR` (default `/tmp/synthetic_en_de/wpm`) each time params
are built, so a process may set it after importing this module.
"""

from __future__ import annotations

import os

from lingvo import model_registry
from lingvo.core import base_model_params
from lingvo.tasks.mt import base_config, input_generator

__all__ = ["DATADIR_ENV", "DEFAULT_DATADIR", "VOCAB_NAME", "SyntheticEnDeTransformer"]

DATADIR_ENV = "LINGVO_SYNTHETIC_ENDE_DATADIR"
DEFAULT_DATADIR = "/tmp/synthetic_en_de/wpm"
VOCAB_NAME = "wpm-synthetic-2k.voc"
# Records longer than this (in ids, with </s> or <s>) are dropped when the data are encoded.
MAX_LENGTH = 50


@model_registry.RegisterSingleTaskModel
class SyntheticEnDeTransformer(base_model_params.SingleTaskModelParams):
    """A 128-wide, 2+2-layer, 4-head Transformer on the synthetic corpus, 2k word pieces.

    Sized for a two-core CPU: 1.7M weights, batches of about 2,000 target tokens,
    Adam under the Transformer schedule with a short warm-up, beam search of 4 over at most
    60 target ids. Dev and test are one ordered pass each; the decoder job scores the
    whole held-out set.
    """

    VOCAB_SIZE = 2000

    @classmethod
    def DataDir(cls) -> str:
        """The data directory: `$LINGVO_SYNTHETIC_ENDE_DATADIR`, else `/tmp/synthetic_en_de/wpm`."""
        return os.environ.get(DATADIR_ENV) or DEFAULT_DATADIR

    @classmethod
    def VocabPath(cls) -> str:
        """The learned word-piece vocabulary of the data directory."""
        return os.path.join(cls.DataDir(), VOCAB_NAME)

    def _Input(self, name: str, num_samples: int):
        p = input_generator.NmtInput.Params()
        p.file_pattern = "tfrecord:" + os.path.join(self.DataDir(), name)
        p.tokenizer.token_vocab_filepath = self.VocabPath()
        p.tokenizer.vocab_size = self.VOCAB_SIZE
        p.num_samples = num_samples
        return p

    def Train(self):
        """The training pairs, shuffled, in length buckets of about 2,000 target tokens."""
        p = self._Input("train.tfrecords", 0)
        p.file_parallelism = 1
        p.file_buffer_size = 20000
        p.file_random_seed = 1  # a fixed shuffle: the same run every time
        p.bucket_upper_bound = [10, 14, 19, 26, 36, MAX_LENGTH]
        p.bucket_batch_limit = [192, 144, 104, 76, 54, 40]
        return p

    def _Eval(self, name: str):
        p = base_config.InitTestDatasetParams(params=self._Input(name, 0))
        # One pass in file order, so that `samples_per_summary : 0` means the whole set.
        p.require_sequential_order = True
        p.repeat_count = 1
        p.bucket_upper_bound = [14, 19, 26, MAX_LENGTH]
        p.bucket_batch_limit = [128, 96, 64, 48]
        return p

    def Dev(self):
        """The development pairs, one ordered pass."""
        return self._Eval("dev.tfrecords")

    def Test(self):
        """The held-out test pairs, one ordered pass (what the main job decodes)."""
        return self._Eval("test.tfrecords")

    def Task(self):
        """The Transformer's task params."""
        p = base_config.SetupTransformerParams(
            base_config.TransformerParams(),
            name="synthetic_en_de_transformer",
            vocab_size=self.VOCAB_SIZE,
            model_dim=128,
            hidden_dim=512,
            num_heads=4,
            num_layers=2,
            learning_rate=2.0,
            warmup_steps=200,
            residual_dropout_prob=0.1,
            input_dropout_prob=0.1,
            label_smoothing_uncertainty=0.1,
            num_softmax_shards=1,
        )
        p.decoder.target_seq_len = MAX_LENGTH + 10
        p.decoder.beam_search.num_hyps_per_beam = 4
        p.train.max_steps = 1500
        p.train.save_interval_seconds = 120
        p.eval.samples_per_summary = 0
        p.eval.decoder_samples_per_summary = 0
        return p
