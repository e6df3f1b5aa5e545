"""WmtCaptionEnDeTransformer for PyPI lingvo 0.14.2, the reference side of `mt_train`/`mt_decode`.

The lingvo wheel ships no `tasks/*/params`, so `--model=mt.wmtm16_en_de.WmtCaptionEnDeTransformer`
fails there. With this folder on PYTHONPATH, `--model=wmtm16_en_de.WmtCaptionEnDeTransformer`
finds this module instead. It is written for Lingvo's API from the reference description of the
experiment (`lingvo-tasks.md` section 2.4), not copied from Lingvo, and it matches our
`mt.wmtm16_en_de.WmtCaptionEnDeTransformer` in everything the benchmarks time:

- the records and vocabulary directory come from `$LINGVO_WMTM16_DATADIR` (our Multi30k recipe's
  output) and the vocabulary file from `$LINGVO_WMTM16_VOCAB`;
- dev and test get the vocabulary and the evaluation buckets (upstream left them bare, so its
  decoder jobs could not run);
- the residuals add the un-normalised input, as our Transformer layers do (Lingvo's
  `SetupTransformerParams` defaults to the normalised one); the cost is the same either way,
  but it makes one set of weights mean the same model on both sides (`mt_decode` decodes the
  same checkpoint on both);
- the task adds one metric, `num_target_tokens` (the sum of the target weights), which our
  model reports, so that the benchmark reads target tokens per step off both trainers' step
  lines. It is one reduction; nothing else changes.
"""

import os

from lingvo import compat as tf
from lingvo import model_registry
from lingvo.core import base_model_params
from lingvo.tasks.mt import base_config, input_generator, model

DATADIR = os.environ.get("LINGVO_WMTM16_DATADIR", "/tmp/wmtm16/wpm")
VOCAB = os.environ.get("LINGVO_WMTM16_VOCAB", os.path.join(DATADIR, "wpm-ende-2k.voc"))
VOCAB_SIZE = 2000


class TransformerModelCountingTokens(model.TransformerModel):
    """Lingvo's TransformerModel plus the `num_target_tokens` metric."""

    def ComputeLoss(self, theta, predictions, input_batch):
        metrics, per_example = super().ComputeLoss(theta, predictions, input_batch)
        tokens = tf.reduce_sum(input_batch.tgt.weights)
        metrics["num_target_tokens"] = (tokens, tf.constant(1.0))
        return metrics, per_example


def _Input(name, num_samples):
    p = input_generator.NmtInput.Params()
    p.file_pattern = "tfrecord:" + os.path.join(DATADIR, name)
    p.tokenizer.token_vocab_filepath = VOCAB
    p.tokenizer.vocab_size = VOCAB_SIZE
    p.num_samples = num_samples
    return p


@model_registry.RegisterSingleTaskModel
class WmtCaptionEnDeTransformer(base_model_params.SingleTaskModelParams):
    """256 wide, 2+2 layers, 2 heads, the 2k word pieces, on Multi30k captions."""

    def Train(self):
        p = _Input("train.tfrecords", 29000)
        p.file_random_seed = 0
        p.file_parallelism = 1
        p.file_buffer_size = 29000
        p.bucket_upper_bound = [14, 17, 20, 24, 29, 35, 45, 75]
        p.bucket_batch_limit = [292, 240, 204, 170, 141, 117, 91, 54]
        return p

    def Dev(self):
        return self._Eval("val.tfrecords", 1014)

    def Test(self):
        return self._Eval("test.tfrecords", 1000)

    def _Eval(self, name, num_samples):
        p = base_config.InitTestDatasetParams(params=_Input(name, num_samples))
        # The Transformer evaluation buckets, as in our experiment.
        p.bucket_upper_bound = [10, 14, 19, 26, 36, 50, 70, 98, 137, 200]
        p.bucket_batch_limit = [16] * 8 + [4] * 2
        return p

    def Task(self):
        p = base_config.SetupTransformerParams(
            TransformerModelCountingTokens.Params(),
            name="wmt14_en_de_transformer_base",
            vocab_size=VOCAB_SIZE,
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
            add_unnormalized_residuals=True,
        )
        p.train.max_steps = 12000
        p.train.save_interval_seconds = 60
        p.eval.samples_per_summary = 7500
        return p
