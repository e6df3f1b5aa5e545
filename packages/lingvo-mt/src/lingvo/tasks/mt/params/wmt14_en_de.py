"""WMT'14 English-German experiments: Transformer base/small and RNMT+, Lingvo's settings."""

from __future__ import annotations

import os

from lingvo import model_registry
from lingvo.core import base_model_params
from lingvo.tasks.mt import base_config, input_generator

# Where the WMT'14 TFRecords and the 32k word-piece vocabulary live (Lingvo's layout).
DATADIR = os.environ.get("LINGVO_WMT14_DATADIR", "/tmp/wmt14/wpm")
VOCAB_SIZE = 32000


def _Vocab(datadir: str) -> str:
    return os.path.join(datadir, "wpm-ende.voc")


@model_registry.RegisterSingleTaskModel
class WmtEnDeTransformerBase(base_model_params.SingleTaskModelParams):
    """The Transformer base model (512 wide, 6+6 layers) on WMT'14 En->De."""

    DATADIR = DATADIR
    VOCAB_SIZE = VOCAB_SIZE
    MODEL_DIM = 512
    HIDDEN_DIM = 2048
    NUM_HEADS = 8
    NUM_LAYERS = 6
    LEARNING_RATE = 3.0
    WARMUP_STEPS = 40000

    def _Input(self, pattern: str, num_samples: int, train: bool):
        p = input_generator.NmtInput.Params()
        p.file_pattern = "tfrecord:" + os.path.join(self.DATADIR, pattern)
        p.tokenizer.token_vocab_filepath = _Vocab(self.DATADIR)
        p.num_samples = num_samples
        if train:
            return base_config.InitTrainDatasetParams(params=p)
        return base_config.InitTestDatasetParams(params=p)

    def Train(self):
        """The 4,492,447 training pairs, about 4k tokens per batch."""
        return self._Input("train.tfrecords-*", 4492447, train=True)

    def Dev(self):
        """newstest2013."""
        return self._Input("dev.tfrecords", 3000, train=False)

    def Test(self):
        """newstest2014."""
        return self._Input("test.tfrecords", 2737, train=False)

    def Task(self):
        """The Transformer's task params."""
        p = base_config.SetupTransformerParams(
            base_config.TransformerParams(),
            name="wmt14_en_de_transformer_base",
            vocab_size=self.VOCAB_SIZE,
            model_dim=self.MODEL_DIM,
            hidden_dim=self.HIDDEN_DIM,
            num_heads=self.NUM_HEADS,
            num_layers=self.NUM_LAYERS,
            learning_rate=self.LEARNING_RATE,
            warmup_steps=self.WARMUP_STEPS,
            residual_dropout_prob=0.1,
            input_dropout_prob=0.1,
            atten_dropout_prob=0.0,
            relu_dropout_prob=0.0,
            label_smoothing_uncertainty=0.1,
        )
        p.eval.samples_per_summary = 7500
        return p


@model_registry.RegisterSingleTaskModel
class WmtEnDeTransformerSmall(WmtEnDeTransformerBase):
    """The small Transformer (64 wide, 2+2 layers, 2 heads) on WMT'14 En->De."""

    MODEL_DIM = 64
    HIDDEN_DIM = 128
    NUM_HEADS = 2
    NUM_LAYERS = 2


@model_registry.RegisterSingleTaskModel
class WmtEnDeRNMT(base_model_params.SingleTaskModelParams):
    """RNMT+ (6 bidirectional encoder layers, 8 decoder layers, 1024 wide) on WMT'14 En->De."""

    DATADIR = DATADIR
    VOCAB_SIZE = VOCAB_SIZE

    def _Input(self, pattern: str, num_samples: int, train: bool):
        p = input_generator.NmtInput.Params()
        p.file_pattern = "tfrecord:" + os.path.join(self.DATADIR, pattern)
        p.tokenizer.token_vocab_filepath = _Vocab(self.DATADIR)
        p.num_samples = num_samples
        if train:
            p = base_config.InitTrainDatasetParams(params=p)
            p.bucket_upper_bound = [10, 14, 19, 26, 36, 50, 70, 98]
            p.bucket_batch_limit = [128] * 7 + [64]
        else:
            p = base_config.InitTestDatasetParams(params=p)
            p.bucket_upper_bound = [10, 14, 19, 26, 36, 50, 70, 98, 200]
            p.bucket_batch_limit = [128] * 8 + [32]
        return p

    def Train(self):
        """The 4,492,447 training pairs."""
        return self._Input("train.tfrecords-*", 4492447, train=True)

    def Dev(self):
        """newstest2013."""
        return self._Input("dev.tfrecords", 3000, train=False)

    def Test(self):
        """newstest2014."""
        return self._Input("test.tfrecords", 2737, train=False)

    def Task(self):
        """RNMT+'s task params."""
        p = base_config.SetupRNMTParams(
            base_config.RNMTParams(),
            name="wmt14_en_de_rnmtplus_base",
            vocab_size=self.VOCAB_SIZE,
            embedding_dim=1024,
            hidden_dim=1024,
            num_heads=4,
            num_encoder_layers=6,
            num_decoder_layers=8,
            learning_rate=1e-4,
            lr_warmup_steps=500,
            lr_decay_start=400000,
            lr_decay_end=1200000,
            lr_min=0.5,
            atten_dropout_prob=0.3,
            residual_dropout_prob=0.3,
            ls_uncertainty=0.1,
            l2_regularizer_weight=1e-5,
            num_hyps_per_beam=16,
        )
        p.eval.samples_per_summary = 7500
        return p
