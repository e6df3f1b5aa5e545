"""Tests of the registered lm1b experiments: Lingvo's keys and values."""

import lingvo.tasks.lm.params  # noqa: F401  (registers the experiments)
from lingvo import model_registry
from lingvo.core import layers as core_layers
from lingvo.core import optimizer, tokenizers

PREFIX = "lm.one_billion_wds."


def test_simple_sampled_softmax_has_lingvo_values():
    p = model_registry.GetParams(PREFIX + "WordLevelOneBwdsSimpleSampledSoftmax", "Train")
    task = p.task
    lm = task.lm
    assert lm.vocab_size == 793472 and lm.emb.embedding_dim == 1024
    assert lm.emb.num_shards == 8
    assert lm.rnns.num_layers == 2 and lm.rnns.skip_start == 3
    cells = lm.rnns.cell_tpl
    assert cells[0].num_output_nodes == 1024 and cells[0].num_hidden_nodes == 8192
    assert lm.embedding_dropout_keep_prob == 0.75 and lm.rnns.dropout.keep_prob == 0.75
    assert lm.softmax.cls is core_layers.SampledSoftmax
    assert (lm.softmax.num_sampled, lm.softmax.num_shards) == (8192, 8)
    tp = task.train
    assert tp.sum_loss_across_tokens_in_batch and tp.max_lstm_gradient_norm == 16
    assert tp.clip_gradient_norm_to_value == 0.0 and tp.grad_norm_to_clip_to_zero == 0.0
    assert tp.optimizer.cls is optimizer.Adagrad and tp.learning_rate == 0.2
    assert tp.lr_schedule.values == [1.0] and not tp.l2_regularizer_weight
    assert task.eval.samples_per_summary == 10000
    inp = p.input
    assert inp.bucket_upper_bound == [10, 20, 30, 40, 50, 100, 256, 512, 1024]
    assert inp.bucket_batch_limit == [1024, 512, 256, 256, 128, 128, 64, 32, 16]
    assert inp.target_max_length == 1024 and inp.file_pattern.startswith("text:")
    assert inp.tokenizer.cls is tokenizers.VocabFileTokenizer
    assert (inp.tokenizer.target_sos_id, inp.tokenizer.target_eos_id) == (1, 2)
    assert inp.tokenizer.target_unk_id == 3
    dev = model_registry.GetParams(PREFIX + "WordLevelOneBwdsSimpleSampledSoftmax", "Dev").input
    assert dev.bucket_batch_limit == [128, 64, 32, 32, 16, 16, 4, 2, 1]
    assert dev.num_samples == 6206 and dev.file_buffer_size == 1


def test_base_uses_full_softmax_and_cpu_variant_keeps_structure():
    base = model_registry.GetParams(PREFIX + "WordLevelOneBwdsBase", "Test")
    assert base.task.lm.softmax.cls is core_layers.SimpleFullSoftmax
    assert base.input.num_samples == 6075
    cpu = model_registry.GetParams(PREFIX + "WordLevelOneBwdsCpu", "Train")
    lm = cpu.task.lm
    assert lm.emb.embedding_dim == 64 and lm.rnns.cell_tpl[0].num_hidden_nodes == 256
    assert lm.softmax.num_sampled == 128 and lm.softmax.num_shards == 2
    assert cpu.input.bucket_upper_bound == [10, 20, 30, 40, 50]
    assert cpu.task.train.max_lstm_gradient_norm == 16
    tiny = model_registry.GetParams(
        "one_billion_wds.WordLevelOneBwdsSimpleSampledSoftmaxTiny", "Train"
    )
    assert tiny.task.lm.emb.embedding_dim == 7 and tiny.task.lm.softmax.num_sampled == 8


def test_multi30k_models_build_as_the_trainer_builds_them(tmp_path, monkeypatch):
    from lingvo.tasks.lm.params import multi30k
    from lingvo.tasks.lm.tools import vocab

    (tmp_path / "train.txt").write_text("a man is eating .\na dog runs .\n")
    words = ["a", ".", "man", "dog"] + [f"w{i}" for i in range(596)]
    vocab.WriteVocab(str(tmp_path / "vocab.txt"), [*vocab.SPECIAL_TOKENS, *words])
    monkeypatch.setattr(multi30k._Multi30kLm, "CORPUS_DIR", str(tmp_path))
    p = model_registry.GetParams("lm.multi30k.LstmLm", "Train")
    lm = p.task.lm
    assert lm.vocab_size == 604 and lm.softmax.num_classes == 604
    assert lm.softmax.cls is core_layers.SampledSoftmax and lm.softmax.num_sampled == 512
    assert lm.rnns.num_layers == 2 and lm.rnns.cell_tpl[1].num_output_nodes == 512
    assert p.input.file_pattern == f"text:{tmp_path / 'train.txt'}"
    # Lingvo's one_billion_wds recipe: Adagrad 0.2, summed loss, only the LSTMs clipped.
    # A global clip would make the step depend on how the global norm is measured, where
    # Lingvo 0.14.2 differs for sparse gradients (repeated ids are not merged).
    tp = p.task.train
    assert tp.optimizer.cls is optimizer.Adagrad and tp.optimizer.initial_accumulator_value == 1.0
    assert tp.learning_rate == 0.2 and tp.sum_loss_across_tokens_in_batch
    assert tp.max_lstm_gradient_norm == 16.0
    assert tp.clip_gradient_norm_to_value == 0.0 and tp.grad_norm_to_clip_to_zero == 0.0
    # The model's input is the dataset's; the task leaves its own unset (as Lingvo).
    assert p.task.input is None
    mdl = p.Instantiate()
    batch = mdl.GetTask().GetInputBatch()
    assert batch.ids.numpy()[0, 0] == 1
    t = model_registry.GetParams("lm.multi30k.TransformerLm", "Dev")
    assert t.task.lm.model_dim == 256 and t.task.lm.trans.num_layers == 4
    assert t.input.file_pattern.endswith("val.txt") and t.task.eval.samples_per_summary == 1014
