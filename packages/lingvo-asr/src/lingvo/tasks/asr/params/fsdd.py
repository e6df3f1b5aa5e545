"""Connected digits from the Free Spoken Digit Dataset: a LAS recipe that trains on a CPU.

Registered as `asr.fsdd.ConnectedDigits`. The data are what `tools/fsdd_digits.py` writes
under `data_dir()` (`$LINGVO_FSDD_DIGITS_DIR`, else `$TMPDIR/fsdd_digits`):
`train.tfrecords-*`, `test.tfrecords-00000-of-00001` (speaker `theo`, held out) and the word
vocabulary `digits.vocab`. The targets are whole words (13 ids), so the speller takes at
most 8 steps and a beam search stays cheap.

    python -m lingvo.tasks.asr.tools.fsdd_digits --fsdd_dir=fsdd/recordings --out=/tmp/fsdd
    LINGVO_FSDD_DIGITS_DIR=/tmp/fsdd python -m lingvo.trainer --run_locally=cpu --mode=sync \
        --model=asr.fsdd.ConnectedDigits --logdir=/tmp/fsdd/log \
        --job=controller,trainer_client,decoder_test
"""

from __future__ import annotations

import os

from lingvo import model_registry
from lingvo.core import base_model_params, optimizer, schedule, tokenizers, weights
from lingvo.core.layers import attentions
from lingvo.tasks.asr import encoder, input_generator, model

__all__ = ["ConnectedDigits", "data_dir"]

NUM_CLASSES = 13  # <unk>, <s>, </s> and ten digit words
MAX_WORDS = 7


def data_dir() -> str:
    """The folder of the recipe's TFRecords and vocabulary."""
    return os.environ.get(
        "LINGVO_FSDD_DIGITS_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "fsdd_digits")
    )


@model_registry.RegisterSingleTaskModel
class ConnectedDigits(base_model_params.SingleTaskModelParams):
    """LAS over 80 log-mel bins: 3 strided convs (time / 8), 2x64 bi-LSTMs, a 128-unit speller.

    Five training speakers are few, and a model trained on them plainly fits their voices
    and recording levels (training loss near 0, 37-40% WER on `theo`). Against that:
    per-utterance feature normalisation (gain and channel); 12,000 training utterances whose
    recordings each get their own speed, vocal-tract-length (frequency-warp) and gain
    perturbation (in `tools/fsdd_digits.py`); mild SpecAugment; label smoothing; and a
    learning rate that steps down for the last 35% of 4,000 steps. Measured: 9.7% WER on
    `theo` at step 4,000 (benchmark `asr_fsdd`, 36 min on 2 shared cores).
    """

    def _Input(self, name: str, pattern: str, num_samples: int, is_eval: bool):
        p = input_generator.AsrInput.Params()
        p.name = name
        p.file_pattern = "tfrecord:" + os.path.join(data_dir(), pattern)
        p.num_samples = num_samples
        p.frame_size = 80
        p.append_eos_frame = True
        p.file_random_seed = 0 if is_eval else 301
        p.file_buffer_size = 1 if is_eval else 2000
        p.file_parallelism = 1
        p.source_max_length = 1000
        p.bucket_upper_bound = [250, 400, 550, 1000]
        p.bucket_batch_limit = [32, 24, 16, 8]
        p.target_max_length = MAX_WORDS + 1
        p.tokenizer = tokenizers.VocabFileTokenizer.Params().Set(
            token_vocab_filepath=os.path.join(data_dir(), "digits.vocab"),
            vocab_size=NUM_CLASSES,
            append_eos=True,
            target_unk_id=0,
            target_sos_id=1,
            target_eos_id=2,
        )
        return p

    def Train(self):
        """The five training speakers' utterances."""
        return self._Input("Train", "train.tfrecords-*", 12000, False)

    def Test(self):
        """Speaker `theo`'s utterances, none of whose recordings is in training."""
        return self._Input("Test", "test.tfrecords-00000-of-00001", 300, True)

    def Task(self):
        """The LAS task params; Adam 2e-3 (x0.3 from step 2600, x0.1 from 3300), clipped."""
        p = model.AsrModel.Params()
        p.name = "fsdd_digits"
        ep = p.encoder
        ep.input_shape = [None, None, 80, 1]
        ep.conv_filter_shapes = [(3, 3, 1, 8), (3, 3, 8, 8), (3, 3, 8, 8)]
        ep.conv_filter_strides = [(2, 2), (2, 2), (2, 2)]
        ep.cnn_tpl.params_init = weights.WeightInit.Gaussian(0.1)
        # Moving statistics that settle within a few hundred steps: with Lingvo's 0.999 they
        # are still far from the data's after 1,000 steps, and decoding (which normalizes with
        # them) fails although training has converged.
        ep.cnn_tpl.bn_decay = 0.99
        ep.project_lstm_output = False
        ep.num_lstm_layers = 2
        ep.lstm_cell_size = 64
        ep.pad_steps = 0
        ep.per_utterance_norm = True
        ep.use_specaugment = True
        # Masks narrower than a digit (a digit is 30-60 frames): a mask that hides a whole
        # digit leaves its label unpredictable, since digit strings have no context.
        ep.specaugment_network = encoder.SpecAugmentLayer.Params().Set(
            freq_mask_max_bins=12,
            freq_mask_count=2,
            time_mask_max_frames=10,
            time_mask_count=2,
            time_mask_max_ratio=0.05,
        )
        dp = p.decoder
        dp.source_dim = 128
        dp.rnn_cell_dim = 128
        dp.rnn_layers = 1
        dp.emb_dim = 16
        dp.emb.vocab_size = NUM_CLASSES
        dp.softmax.num_classes = NUM_CLASSES
        dp.target_seq_len = MAX_WORDS + 1
        dp.attention = attentions.LocationSensitiveAttention.Params().Set(
            hidden_dim=64, params_init=dp.attention.params_init
        )
        dp.beam_search.num_hyps_per_beam = 4
        dp.use_unnormalized_logits_as_log_probs = False
        dp.label_smoothing = 0.1
        tp = p.train
        tp.learning_rate = 2e-3
        tp.optimizer = optimizer.Adam.Params().Set(beta1=0.9, beta2=0.999, epsilon=1e-6)
        tp.lr_schedule = schedule.PiecewiseConstantSchedule.Params().Set(
            boundaries=[2600, 3300], values=[1.0, 0.3, 0.1]
        )
        tp.vn_std = 0.0
        tp.l2_regularizer_weight = 1e-6
        tp.clip_gradient_norm_to_value = 1.0
        tp.grad_norm_to_clip_to_zero = 100.0
        tp.max_steps = 4000
        tp.save_interval_seconds = 300
        tp.save_max_to_keep = 20
        p.eval.samples_per_summary = 300
        p.eval.decoder_samples_per_summary = 300
        return p
