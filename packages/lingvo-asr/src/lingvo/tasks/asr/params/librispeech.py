"""Librispeech experiments with Lingvo's values, plus a CPU-sized variant.

Registered as `asr.librispeech.Librispeech960Base`, `...Librispeech960Grapheme`,
`...Librispeech960Wpm` and `...Librispeech960GraphemeCpu`. The data are the TFRecords
`tools/create_asr_features.py` writes under `DATA_DIR`: `train/train.tfrecords-*` and
`devtest/{dev,test}-{clean,other}.tfrecords-00000-of-00001`.
"""

from __future__ import annotations

import os

from lingvo import model_registry
from lingvo.core import base_model_params, optimizer, schedule, tokenizers, variational_noise
from lingvo.core.layers import attentions
from lingvo.tasks.asr import input_generator, model

DATA_DIR = os.path.join(os.environ.get("TMPDIR", "/tmp"), "librispeech")
_WPM_VOCAB = "wpm_16k_librispeech.vocab"


@model_registry.RegisterSingleTaskModel
class Librispeech960Base(base_model_params.SingleTaskModelParams):
    """LAS on Librispeech 960h: 2 strided convs, 4x1024 bi-LSTMs, a 2x1024 LSTM speller."""

    DATA_DIR = DATA_DIR

    def _CommonInputParams(self, is_eval: bool):
        p = input_generator.AsrInput.Params()
        p.frame_size = 80
        p.append_eos_frame = True
        p.file_random_seed = 0
        p.file_buffer_size = 10000
        p.file_parallelism = 16
        if is_eval:
            p.source_max_length = 3600
            p.bucket_upper_bound = [639, 1062, 1275, 1377, 1449, 1506, 1563, 3600]
        else:
            p.source_max_length = 3000
            p.bucket_upper_bound = [639, 1062, 1275, 1377, 1449, 1506, 1563, 1710]
        p.bucket_batch_limit = [96, 48, 48, 48, 48, 48, 48, 48]
        return p

    def _Input(self, name: str, pattern: str, num_samples: int, is_eval: bool):
        p = self._CommonInputParams(is_eval)
        p.name = name
        p.file_pattern = "tfrecord:" + os.path.join(self.DATA_DIR, pattern)
        p.num_samples = num_samples
        return p

    def Train(self):
        """Train 960h: 281,241 utterances."""
        return self._Input("Train", "train/train.tfrecords-*", 281241, False)

    def Dev(self):
        """dev-clean: 2,703 utterances."""
        return self._Input("Dev", "devtest/dev-clean.tfrecords-00000-of-00001", 2703, True)

    def Devother(self):
        """dev-other: 2,864 utterances."""
        return self._Input("Devother", "devtest/dev-other.tfrecords-00000-of-00001", 2864, True)

    def Test(self):
        """test-clean: 2,620 utterances."""
        return self._Input("Test", "devtest/test-clean.tfrecords-00000-of-00001", 2620, True)

    def Testother(self):
        """test-other: 2,939 utterances."""
        return self._Input("Testother", "devtest/test-other.tfrecords-00000-of-00001", 2939, True)

    def Task(self):
        """The LAS task params with Lingvo's Librispeech values."""
        p = model.AsrModel.Params()
        p.name = "librispeech"
        ep = p.encoder
        ep.input_shape = [None, None, 80, 1]
        ep.conv_filter_shapes = [(3, 3, 1, 32), (3, 3, 32, 32)]
        ep.conv_filter_strides = [(2, 2), (2, 2)]
        ep.cnn_tpl.params_init = _Gaussian(0.001)
        ep.num_conv_lstm_layers = 0
        ep.num_lstm_layers = 4
        ep.lstm_cell_size = 1024
        ep.pad_steps = 6
        dp = p.decoder
        dp.rnn_cell_dim = 1024
        dp.rnn_layers = 2
        dp.source_dim = 2048
        dp.use_while_loop_based_unrolling = False
        tp = p.train
        tp.learning_rate = 2.5e-4
        tp.optimizer = optimizer.Adam.Params().Set(beta1=0.9, beta2=0.999, epsilon=1e-6)
        tp.lr_schedule = schedule.ContinuousSchedule.Params().Set(
            start_step=50000, half_life_steps=100000, min=0.01
        )
        tp.vn_start_step = 20000
        tp.vn_std = 0.075
        p.vn = variational_noise.VariationalNoiseParams(0.075, global_vn=True, start_step=20000)
        tp.clip_gradient_norm_to_value = 1.0
        tp.grad_norm_to_clip_to_zero = 100.0
        p.eval.samples_per_summary = 5000
        return p


def _Gaussian(scale: float):
    from lingvo.core import weights

    return weights.WeightInit.Gaussian(scale)


@model_registry.RegisterSingleTaskModel
class Librispeech960Grapheme(Librispeech960Base):
    """Graphemes: the 76-symbol ASCII tokenizer, targets up to 620 tokens."""

    def _CommonInputParams(self, is_eval: bool):
        p = super()._CommonInputParams(is_eval)
        p.tokenizer = tokenizers.AsciiTokenizer.Params().Set(
            vocab_size=76, append_eos=True, target_unk_id=0, target_sos_id=1, target_eos_id=2
        )
        p.target_max_length = 620
        return p

    def Task(self):
        """Graphemes: embedding and softmax of 76 classes, beams up to 620 steps."""
        p = super().Task()
        dp = p.decoder
        dp.target_seq_len = 620
        dp.emb_dim = 76
        dp.emb.vocab_size = 76
        dp.softmax.num_classes = 76
        return p


@model_registry.RegisterSingleTaskModel
class Librispeech960Wpm(Librispeech960Base):
    """Word pieces: `wpm_16k_librispeech.vocab` (16,328 pieces), targets up to 140."""

    WPM_VOCAB = os.path.join(DATA_DIR, _WPM_VOCAB)

    def _CommonInputParams(self, is_eval: bool):
        p = super()._CommonInputParams(is_eval)
        p.tokenizer = tokenizers.WpmTokenizer.Params().Set(
            vocab_filepath=self.WPM_VOCAB, vocab_size=16328, append_eos=True
        )
        p.target_max_length = 140
        return p

    def Task(self):
        """Word pieces: embedding of 96, softmax of 16,328 classes, beams up to 140 steps."""
        p = super().Task()
        dp = p.decoder
        dp.target_seq_len = 140
        dp.emb_dim = 96
        dp.emb.vocab_size = 16328
        dp.softmax.num_classes = 16328
        return p


@model_registry.RegisterSingleTaskModel
class Librispeech960GraphemeCpu(Librispeech960Grapheme):
    """A CPU-sized grapheme LAS with the Librispeech structure (reference section 6.4)."""

    def _CommonInputParams(self, is_eval: bool):
        p = super()._CommonInputParams(is_eval)
        p.bucket_upper_bound = [100, 150, 200, 300] if not is_eval else [100, 150, 200, 3000]
        p.bucket_batch_limit = [16, 16, 12, 8]
        p.target_max_length = 40
        p.file_parallelism = 1
        return p

    def Task(self):
        """Small convs, 2x64 bi-LSTMs, one 128-unit speller layer, 4-hyp beams, Adam 1e-3."""
        p = super().Task()
        ep = p.encoder
        ep.conv_filter_shapes = [(3, 3, 1, 8), (3, 3, 8, 8)]
        ep.num_lstm_layers = 2
        ep.lstm_cell_size = 64
        dp = p.decoder
        dp.rnn_cell_dim = 128
        dp.rnn_layers = 1
        dp.source_dim = 128
        dp.emb_dim = 16
        dp.target_seq_len = 40
        dp.attention = attentions.LocationSensitiveAttention.Params().Set(
            hidden_dim=64, params_init=dp.attention.params_init
        )
        dp.beam_search.num_hyps_per_beam = 4
        dp.use_unnormalized_logits_as_log_probs = False
        tp = p.train
        tp.learning_rate = 1e-3
        tp.lr_schedule = schedule.Constant.Params()
        tp.vn_std = 0.0
        p.vn = variational_noise.DefaultVN()
        return p
