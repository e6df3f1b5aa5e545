"""WMT'16 multimodal (Multi30k captions) English-German: the CPU-sized Transformer."""

from __future__ import annotations

import os

from lingvo import model_registry
from lingvo.core import base_model_params
from lingvo.tasks.mt import base_config, input_generator

# Where the Multi30k recipe writes its TFRecords (Lingvo's layout).
DATADIR = os.environ.get("LINGVO_WMTM16_DATADIR", "/tmp/wmtm16/wpm")
VOCAB_SIZE = 2000


@model_registry.RegisterSingleTaskModel
class WmtCaptionEnDeTransformer(base_model_params.SingleTaskModelParams):
    """A 256-wide, 2+2-layer Transformer on Multi30k captions with the 2k word pieces.

    Unlike Lingvo, whose dev and test inputs kept the bare `NmtInput` defaults (no
    vocabulary, one bucket), they get the packaged vocabulary and the evaluation buckets.
    """

    DATADIR = DATADIR
    VOCAB_SIZE = VOCAB_SIZE

    def _Input(self, name: str, num_samples: int):
        p = input_generator.NmtInput.Params()
        p.file_pattern = "tfrecord:" + os.path.join(self.DATADIR, name)
        p.tokenizer.token_vocab_filepath = input_generator.WPM_ENDE_2K
        p.num_samples = num_samples
        return p

    def Train(self):
        """The 29,000 training captions, shuffled within one buffer."""
        p = self._Input("train.tfrecords", 29000)
        p.file_parallelism = 1
        p.file_buffer_size = 29000
        p.file_random_seed = 0
        p.bucket_upper_bound = [14, 17, 20, 24, 29, 35, 45, 75]
        p.bucket_batch_limit = [292, 240, 204, 170, 141, 117, 91, 54]
        return p

    def Dev(self):
        """The 1,014 validation captions, one ordered pass."""
        return base_config.InitTestDatasetParams(params=self._Input("val.tfrecords", 1014))

    def Test(self):
        """The 1,000 test_2016_flickr captions, one ordered pass."""
        return base_config.InitTestDatasetParams(params=self._Input("test.tfrecords", 1000))

    def Task(self):
        """The Transformer's task params."""
        p = base_config.SetupTransformerParams(
            base_config.TransformerParams(),
            name="wmt14_en_de_transformer_base",
            vocab_size=self.VOCAB_SIZE,
            model_dim=256,
            hidden_dim=512,
            num_heads=2,
            num_layers=2,
            learning_rate=1.0,
            warmup_steps=1000,
            residual_dropout_prob=0.2,
            input_dropout_prob=0.2,
            atten_dropout_prob=0.0,
            relu_dropout_prob=0.0,
            label_smoothing_uncertainty=0.1,
        )
        p.train.max_steps = 12000
        p.train.save_interval_seconds = 60
        p.eval.samples_per_summary = 7500
        return p
