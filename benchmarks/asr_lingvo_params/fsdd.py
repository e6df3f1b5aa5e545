"""The FSDD connected-digit LAS for PyPI lingvo 0.14.2, the reference side of `asr_train`.

The lingvo wheel ships no `tasks/*/params`. With this folder on PYTHONPATH,
`--model=fsdd.ConnectedDigits` finds this module. It is written for Lingvo's API with the
values of our `asr.fsdd.ConnectedDigits` (same TFRecords, word vocabulary, buckets, encoder,
speller and optimiser), not copied from Lingvo. The data folder comes from the environment
variable `LINGVO_FSDD_DIGITS_DIR`, as for ours.
"""

import os

from lingvo import model_registry
from lingvo.core import attention, base_model_params, optimizer, py_utils, schedule, tokenizers
from lingvo.tasks.asr import input_generator, model

NUM_CLASSES = 13
MAX_WORDS = 7


def _DataDir():
    return os.environ.get(
        "LINGVO_FSDD_DIGITS_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "fsdd_digits")
    )


@model_registry.RegisterSingleTaskModel
class ConnectedDigits(base_model_params.SingleTaskModelParams):
    """3 strided convs (time / 8), 2x64 bi-LSTMs, a 128-unit speller over 13 word ids."""

    def _Input(self, pattern, num_samples, is_eval):
        p = input_generator.AsrInput.Params()
        p.file_pattern = "tfrecord:" + os.path.join(_DataDir(), pattern)
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
        p.tokenizer = tokenizers.VocabFileTokenizer.Params()
        p.tokenizer.token_vocab_filepath = os.path.join(_DataDir(), "digits.vocab")
        p.tokenizer.vocab_size = NUM_CLASSES
        p.tokenizer.append_eos = True
        p.tokenizer.target_unk_id = 0
        p.tokenizer.target_sos_id = 1
        p.tokenizer.target_eos_id = 2
        return p

    def Train(self):
        return self._Input("train.tfrecords-*", 3000, False)

    def Test(self):
        return self._Input("test.tfrecords-00000-of-00001", 300, True)

    def Task(self):
        p = model.AsrModel.Params()
        p.name = "fsdd_digits"
        ep = p.encoder
        ep.input_shape = [None, None, 80, 1]
        ep.num_cnn_layers = 3
        ep.conv_filter_shapes = [(3, 3, 1, 8), (3, 3, 8, 8), (3, 3, 8, 8)]
        ep.conv_filter_strides = [(2, 2), (2, 2), (2, 2)]
        ep.cnn_tpl.params_init = py_utils.WeightInit.Gaussian(0.1)
        ep.cnn_tpl.bn_decay = 0.99
        ep.project_lstm_output = False
        ep.num_conv_lstm_layers = 0
        ep.num_lstm_layers = 2
        ep.lstm_cell_size = 64
        ep.lstm_tpl.params_init = py_utils.WeightInit.Uniform(0.1)
        ep.pad_steps = 0
        dp = p.decoder
        dp.source_dim = 128
        dp.rnn_cell_dim = 128
        dp.rnn_layers = 1
        dp.emb_dim = 16
        dp.emb.vocab_size = NUM_CLASSES
        dp.softmax.num_classes = NUM_CLASSES
        dp.target_seq_len = MAX_WORDS + 1
        dp.attention = attention.LocationSensitiveAttention.Params().Set(
            hidden_dim=64,
            location_filter_size=5,
            location_num_filters=4,
            params_init=py_utils.WeightInit.UniformSqrtDim(3.0**0.5),
        )
        dp.beam_search.num_hyps_per_beam = 4
        dp.use_unnormalized_logits_as_log_probs = False
        tp = p.train
        tp.learning_rate = 2e-3
        tp.optimizer = optimizer.Adam.Params().Set(beta1=0.9, beta2=0.999, epsilon=1e-6)
        tp.lr_schedule = schedule.Constant.Params()
        tp.vn_std = 0.0
        tp.l2_regularizer_weight = 1e-6
        tp.clip_gradient_norm_to_value = 1.0
        tp.grad_norm_to_clip_to_zero = 100.0
        tp.max_steps = 6000
        tp.save_interval_seconds = 300
        return p
