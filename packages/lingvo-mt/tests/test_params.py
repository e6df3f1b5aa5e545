"""Tests that the mt experiments resolve under Lingvo's registry keys with Lingvo's values."""

import pytest

import lingvo.core
import lingvo.tasks.mt.params  # noqa: F401
from lingvo import model_registry
from lingvo.tasks.mt import decoder, input_generator, model

KEYS = [
    "mt.wmt14_en_de.WmtEnDeTransformerBase",
    "mt.wmt14_en_de.WmtEnDeTransformerSmall",
    "mt.wmt14_en_de.WmtEnDeRNMT",
    "mt.wmtm16_en_de.WmtCaptionEnDeTransformer",
]


@pytest.mark.parametrize("key", KEYS)
def test_registry_keys_resolve(key):
    p = model_registry.GetParams(key, "Train")
    assert issubclass(p.task.cls, model.MTBaseModel)
    assert issubclass(p.input.cls, input_generator.NmtInput)
    for dataset in ("Dev", "Test"):
        eval_p = model_registry.GetParams(key, dataset)
        assert eval_p.input.file_parallelism == 1 and eval_p.input.file_buffer_size == 1
        assert eval_p.input.tokenizer.token_vocab_filepath


def test_transformer_base_hyperparameters():
    p = model_registry.GetParams("mt.wmt14_en_de.WmtEnDeTransformerBase", "Train")
    task = p.task
    assert task.encoder.model_dim == 512 and task.decoder.model_dim == 512
    assert task.encoder.transformer_stack.hidden_dim == 2048
    assert task.encoder.transformer_stack.num_atten_heads == 8
    assert task.decoder.trans_stack.num_layers == 6
    assert task.decoder.trans_stack.residual_dropout_prob == 0.1
    assert task.decoder.input_dropout_prob == 0.1
    assert task.decoder.label_smoothing.uncertainty == 0.1
    assert task.decoder.per_word_avg_loss
    assert task.decoder.softmax.num_classes == 32000 and task.decoder.softmax.num_shards == 16
    assert task.train.learning_rate == 3.0
    assert task.train.lr_schedule.warmup_steps == 40000
    assert (task.train.optimizer.beta2, task.train.optimizer.epsilon) == (0.98, 1e-9)
    assert task.eval.samples_per_summary == 7500
    assert p.input.bucket_batch_limit[0] == 512 and p.input.num_samples == 4492447
    assert task.decoder.beam_search.length_normalization == 0.5


def test_small_and_rnmt_and_caption():
    small = model_registry.GetParams("mt.wmt14_en_de.WmtEnDeTransformerSmall", "Train").task
    assert small.encoder.model_dim == 64
    assert small.encoder.transformer_stack.Get("num_layers") == 2
    rnmt = model_registry.GetParams("mt.wmt14_en_de.WmtEnDeRNMT", "Train")
    t = rnmt.task
    assert t.encoder.num_lstm_layers == 6 and t.decoder.rnn_layers == 8
    assert t.decoder.attention.num_attention_heads == 4
    assert t.train.l2_regularizer_weight == 1e-5
    assert t.train.optimizer.epsilon == 1e-6
    assert t.decoder.beam_search.num_hyps_per_beam == 16
    assert rnmt.input.bucket_batch_limit == [128] * 7 + [64]
    cap = model_registry.GetParams("mt.wmtm16_en_de.WmtCaptionEnDeTransformer", "Test")
    assert cap.task.decoder.softmax.num_classes == 2000
    assert cap.task.train.learning_rate == 1.0 and cap.train.max_steps == 12000
    assert cap.input.tokenizer.token_vocab_filepath == input_generator.WPM_ENDE_2K
    assert cap.input.bucket_upper_bound[-1] == 200 and cap.input.num_samples == 1000
    assert cap.task.decoder.label_smoothing.cls is decoder.UniformLabelSmoother


@pytest.mark.parametrize(
    "key", ["mt.wmtm16_en_de.WmtCaptionEnDeTransformer", "mt.wmt14_en_de.WmtEnDeTransformerBase"]
)
@pytest.mark.parametrize("dataset", ["Dev", "Test"])
def test_evaluation_inputs_are_one_ordered_pass(key, dataset):
    """Stated in the params, so a decoder reads each sentence once whichever job builds it."""
    p = model_registry.GetParams(key, dataset).input
    assert p.require_sequential_order is True and p.repeat_count == 1
    assert model_registry.GetParams(key, "Train").input.repeat_count == -1


def test_caption_model_builds_with_the_packaged_vocabulary():
    p = model_registry.GetParams("mt.wmtm16_en_de.WmtCaptionEnDeTransformer", "Test")
    p.task.encoder.transformer_stack.num_layers = 1
    p.task.decoder.trans_stack.num_layers = 1
    p.task.input = p.input
    task = p.task.Instantiate()
    assert len(task.TrainableVariables()) == 1 + 17 + 1 + 28 + 32
    # The vocabulary-file tokenizer joins the pieces with spaces (BLEU unsegments them).
    pieces = task.input_generator.IdsToStrings([[115, 281, 18, 66]], [4]).numpy()[0]
    assert pieces.decode() == "\u2581H all o !"
    assert task.CreateDecoderMetrics()["corpus_bleu"].unsegmenter == "wpm"
