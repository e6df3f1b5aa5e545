"""Tests of the MT models: Lingvo's variable counts, initial log-perplexity, training, decoding."""

import math
import os

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import run_mode
from lingvo.core.nested_map import NestedMap
from lingvo.tasks.mt import decoder, input_generator, model

DATA = os.path.join(os.path.dirname(__file__), "data")
TFRECORD = os.path.join(DATA, "wmt14_ende_wpm_32k_test.tfrecord")
V = 32000


@pytest.fixture(scope="module")
def vocab(tmp_path_factory):
    """A 32000-line vocabulary: only the special ids match the records (as upstream)."""
    path = tmp_path_factory.mktemp("vocab") / "wpm_32k.voc"
    path.write_text("<unk>\n<s>\n</s>\n" + "".join(f"p{i}\n" for i in range(3, V)))
    return str(path)


def _Input(vocab_path):
    p = input_generator.NmtInput.Params().Set(
        file_pattern=f"tfrecord:{TFRECORD}",
        file_random_seed=1,
        file_parallelism=1,
        file_buffer_size=1,
        require_sequential_order=True,
        bucket_upper_bound=[40],
        bucket_batch_limit=[8],
        source_max_length=200,
        target_max_length=200,
    )
    p.tokenizer.token_vocab_filepath = vocab_path
    return p


def _Beam(d):
    d.target_seq_len = 5
    d.beam_search.num_hyps_per_beam = 2
    # A barely trained model rarely ends a hyp within 5 steps; end them all at the last step.
    d.beam_search.force_eos_in_last_step = True


def TransformerParams(vocab_path, num_layers=6):
    """Lingvo's TransformerModelTest geometry: D=4, 2 heads, FFN 5/8, 6+6 layers."""
    p = model.TransformerModel.Params().Set(name="test_mdl", input=_Input(vocab_path))
    e = p.encoder
    e.token_emb.vocab_size = V
    e.model_dim = 4
    e.transformer_stack.Set(num_layers=num_layers, hidden_dim=5, num_atten_heads=2)
    d = p.decoder
    d.token_emb.vocab_size = V
    d.Set(model_dim=4, source_dim=4)
    d.trans_stack.Set(num_layers=num_layers, hidden_dim=8, num_atten_heads=2)
    d.softmax.Set(num_classes=V, num_shards=1)
    _Beam(d)
    p.train.learning_rate = 2e-4
    return p


def RNMTParams(vocab_path):
    """Lingvo's RNMTModelTest geometry: emb 4, 3 bi-LSTM layers of 4, decoder 3 layers."""
    p = model.RNMTModel.Params().Set(name="test_mdl", input=_Input(vocab_path))
    e = p.encoder
    e.emb.Set(vocab_size=V, embedding_dim=4)
    e.Set(num_lstm_layers=3, lstm_cell_size=4, encoder_out_dim=4)
    d = p.decoder
    d.emb.Set(vocab_size=V, embedding_dim=4)
    d.Set(source_dim=4, rnn_cell_dim=4, rnn_layers=3)
    d.attention.hidden_dim = 2
    d.softmax.Set(num_classes=V, num_shards=1)
    _Beam(d)
    p.train.learning_rate = 1.0
    return p


def test_transformer_variable_counts(vocab):
    task = TransformerParams(vocab).Instantiate()
    assert len(task.enc.vars.Flatten()) == 91
    assert len(task.dec.vars.Flatten()) == 147
    assert len(task.TrainableVariables()) == 238


def test_rnmt_variable_count(vocab):
    task = RNMTParams(vocab).Instantiate()
    assert len(task.enc.vars.Flatten()) == 15
    assert len(task.TrainableVariables()) == 27


@pytest.mark.parametrize("make", [TransformerParams, RNMTParams], ids=["transformer", "rnmt"])
def test_initial_log_pplx_near_ln_vocab(vocab, make):
    task = make(vocab).Instantiate()
    batch = task.GetInputBatch()
    metrics, per_seq = task.FProp(task.theta, batch)
    assert abs(float(metrics["log_pplx"][0]) - math.log(V)) < 0.05
    # Per-sequence loss (Lingvo's default): log_pplx times the mean target length.
    mean_len = float(metrics["log_pplx"][1]) / 8
    np.testing.assert_allclose(
        float(metrics["loss"][0]), float(metrics["log_pplx"][0]) * mean_len, rtol=1e-4
    )
    assert per_seq["loss"].shape == (8,)


def _PairsBatch():
    """A handful of sentence pairs over 16 ids: the target reverses the source."""
    rng = np.random.RandomState(3)
    lens = [3, 5, 4, 6]
    src = np.zeros([4, 7], np.int32)
    tgt_ids = np.zeros([4, 7], np.int32)
    tgt_labels = np.zeros([4, 7], np.int32)
    src_pad = np.ones([4, 7], np.float32)
    tgt_pad = np.ones([4, 7], np.float32)
    for i, n in enumerate(lens):
        words = rng.randint(3, 16, size=n)
        src[i, : n + 1] = [*words, 2]
        src_pad[i, : n + 1] = 0
        tgt_ids[i, : n + 1] = [1, *words[::-1]]
        tgt_labels[i, : n + 1] = [*words[::-1], 2]
        tgt_pad[i, : n + 1] = 0
    return NestedMap(
        src=NestedMap(ids=tf.constant(src), paddings=tf.constant(src_pad)),
        tgt=NestedMap(
            ids=tf.constant(tgt_ids),
            labels=tf.constant(tgt_labels),
            paddings=tf.constant(tgt_pad),
            weights=tf.constant(1.0 - tgt_pad),
        ),
    )


def _Tiny(p, vocab_size=16):
    """Shrinks the test params' vocabulary for a fast training run."""
    for emb in ("token_emb", "emb"):
        for half in (p.encoder, p.decoder):
            if emb in half:
                half.Get(emb).vocab_size = vocab_size
    p.decoder.softmax.num_classes = vocab_size
    p.input = None
    return p


@pytest.mark.parametrize("make", [TransformerParams, RNMTParams], ids=["transformer", "rnmt"])
def test_training_a_few_steps_reduces_the_loss(vocab, make):
    p = _Tiny(make(vocab) if make is RNMTParams else TransformerParams(vocab, num_layers=2))
    p.train.learning_rate = 0.05
    task = p.Instantiate()
    batch = _PairsBatch()
    first = float(task.FProp(task.theta, batch)[0]["log_pplx"][0])
    assert np.isfinite(first)
    for _ in range(6):
        task.TrainStep(batch)
    last = float(task.FProp(task.theta, batch)[0]["log_pplx"][0])
    assert last < first - 0.1
    assert int(task.global_step.numpy()) == 6


def test_label_smoothing_and_per_word_loss():
    p = decoder.UniformLabelSmoother.Params().Set(name="ls", num_classes=5, uncertainty=0.2)
    smoother = p.Instantiate()
    log_probs = tf.nn.log_softmax(tf.constant([[0.3, -1.0, 2.0, 0.5, 0.0]]))
    labels = tf.constant([2])
    dense = smoother.FProp(smoother.theta, None, labels)
    np.testing.assert_allclose(dense.numpy()[0], [0.05, 0.05, 0.8, 0.05, 0.05], rtol=1e-6)
    want = -tf.reduce_sum(dense * log_probs, -1)
    np.testing.assert_allclose(smoother.SmoothedXent(log_probs, labels), want, rtol=1e-6)


def test_remove_eos_probs_golden():
    probs = np.float32([[[0.2] * 5], [[0.2, 0.3, 0.5, 0.0, 0.0]], [[0.0, 0.0, 0.0, 0.0, 1.0]]])
    out = decoder.RemoveEOSProbs(probs, [5, 3, 5]).numpy()
    np.testing.assert_allclose(out[0, 0], [0.25, 0.25, 0.25, 0.25, 0], atol=1e-5)
    np.testing.assert_allclose(out[1, 0], [0.4, 0.6, 0, 0, 0], atol=1e-5)
    np.testing.assert_allclose(out[2, 0], [0, 0, 0, 0, 0], atol=1e-5)


@pytest.mark.parametrize("make", [TransformerParams, RNMTParams], ids=["transformer", "rnmt"])
def test_decode_returns_hypotheses_and_bleu(vocab, make):
    p = make(vocab)
    if make is TransformerParams:
        p = TransformerParams(vocab, num_layers=2)
    task = p.Instantiate()
    batch = task.GetInputBatch()
    with run_mode.EvalMode():
        out = {k: np.asarray(v) for k, v in task.Decode(batch).items()}
    assert out["topk_ids"].shape == (16, 5)
    assert out["topk_decoded"].shape == (8, 2)
    assert np.all(out["topk_lens"] > 0)
    metrics = task.CreateDecoderMetrics()
    pairs = task.PostProcessDecodeOut(out, metrics)
    assert len(pairs) == 8
    for key, value in pairs:
        assert key in value and "hyp0:" in value
    assert metrics["num_samples_in_batch"].value == 8
    assert metrics["corpus_bleu"].value == pytest.approx(0.0, abs=1e-5)


def test_transformer_decode_with_unknown_batch_and_lengths(vocab):
    # The decoder job's tf.function generalises to unknown shapes after the second batch
    # shape (reduce_retracing): the growing caches start with zero rows and an unknown
    # number of hyps, and must decode exactly as with static shapes.
    task = TransformerParams(vocab, num_layers=2).Instantiate()
    batch = task.GetInputBatch()
    with run_mode.EvalMode():
        static = task.DecodeWithTheta(task.EvalTheta(), batch)
        spec = tf.nest.map_structure(lambda x: tf.TensorSpec([None] * x.shape.rank, x.dtype), batch)
        relaxed = tf.function(
            lambda b: task.DecodeWithTheta(task.EvalTheta(), b),
            input_signature=[spec],
            autograph=False,
        )(batch)
    np.testing.assert_array_equal(relaxed["topk_ids"], static["topk_ids"])
    np.testing.assert_allclose(relaxed["topk_scores"], static["topk_scores"], rtol=1e-5)


def test_decode_finalize_writes_structured_output(vocab, tmp_path):
    """Beside Lingvo's pickled pairs, one JSON record per source holds what the summary did."""
    import pickle

    from lingvo.tasks.mt import decode_output
    from lingvo.trainer.runners.decoder import DecodeFinalizeArgs

    task = TransformerParams(vocab, num_layers=1).Instantiate()
    batch = task.GetInputBatch()
    with run_mode.EvalMode():
        out = {k: np.asarray(v) for k, v in task.Decode(batch).items()}
    metrics = task.CreateDecoderMetrics()
    pairs = task.PostProcessDecodeOut(out, metrics)
    path = str(tmp_path / "decoder_test" / "decoder_out_000000007")
    task.DecodeFinalize(DecodeFinalizeArgs(path, pairs))
    with open(path, "rb") as f:
        assert pickle.load(f) == pairs
    records = decode_output.ReadJsonLines(decode_output.JsonLinesPath(path))
    assert len(records) == len(pairs) == 8
    for (key, summary), r in zip(pairs, records, strict=True):
        assert r.source_pieces == key
        assert f"hyp0: {r.hyp_pieces[0]} score0: {r.scores[0]:.6f}" in summary
        assert f"tgt: {r.reference_pieces} " in summary
        assert len(r.hyps) == len(r.scores) == 2
        # The pieces are `p<i>` words (no ▁): unsegmenting joins them into one word.
        assert r.hyps[0] == "".join(r.hyp_pieces[0].split(" "))
    # The next checkpoint starts a fresh record list.
    task.CreateDecoderMetrics()
    task.DecodeFinalize(DecodeFinalizeArgs(str(tmp_path / "empty"), []))
    assert not os.path.exists(decode_output.JsonLinesPath(str(tmp_path / "empty")))


def test_vocabulary_that_does_not_match_the_model_fails_at_start(tmp_path):
    """A 100-piece vocabulary for a 32000-class model: an error when the task is built."""
    small = tmp_path / "small.voc"
    small.write_text("<unk>\n<s>\n</s>\n" + "".join(f"p{i}\n" for i in range(3, 100)))
    p = TransformerParams(str(small), num_layers=1)
    with pytest.raises(ValueError) as e:
        p.Instantiate()
    message = str(e.value)
    assert f"vocabulary {small} has 100 pieces" in message
    assert "decoder.softmax.num_classes=32000" in message
    assert "encoder.token_emb.vocab_size=32000" in message
    p = RNMTParams(str(small))
    with pytest.raises(ValueError, match=r"encoder\.emb\.vocab_size=32000"):
        p.Instantiate()


def test_training_metrics_count_what_the_text_input_dropped(vocab, tmp_path):
    """Empty and too-long pairs and unknown characters show in the training metrics."""
    path = tmp_path / "pairs.txt"
    path.write_text(
        "Hello!\tHallo!\n\tHallo!\nHello ☃!\tHallo!\n" + "A long line. " * 20 + "\tLang.\n",
        encoding="utf-8",
    )
    p = TransformerParams(vocab, num_layers=1)
    p.input = input_generator.TextPackedInput.Params().Set(
        file_pattern=f"text:{path}",
        require_sequential_order=True,
        file_parallelism=1,
        file_buffer_size=1,
        bucket_upper_bound=[30],
        bucket_batch_limit=[4],
        source_max_length=30,
        target_max_length=30,
    )
    task = p.Instantiate()
    batch = task.input_generator.GetPreprocessedInputBatch()
    values = task.FProp(task.theta, batch)[0]
    assert float(values["num_empty_pairs"][0]) == 1.0
    assert float(values["num_too_long_pairs"][0]) == 1.0
    assert float(values["num_unk_pieces"][0]) == 1.0
    with run_mode.EvalMode():
        assert "num_empty_pairs" not in task.FProp(task.theta, batch)[0]


@pytest.mark.parametrize("abs_max", [None, 0.5])
def test_step_logits_equal_the_softmax_logits(abs_max):
    # The beam search builds the sharded softmax's dense weight once, before its loop (10
    # classes in 3 shards of 4: the last shard is cut), instead of at every step.
    from lingvo.core.layers import softmaxes

    sm = (
        softmaxes.SimpleFullSoftmax.Params()
        .Set(name="sm", input_dim=4, num_classes=10, num_shards=3, logits_abs_max=abs_max)
        .Instantiate()
    )
    h = tf.constant(np.random.RandomState(3).randn(6, 4).astype(np.float32) * 3)
    want = sm.Logits(sm.theta, h)
    got = decoder._StepLogits(sm, decoder._ReadVariables(sm.theta))(h)
    assert got.shape == (6, 10)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    if abs_max is not None:
        assert np.max(np.abs(got)) <= abs_max
