"""AsrModel: decoder metrics goldens, a few training steps, beam-search decoding, params."""

import numpy as np
import pytest
import tensorflow as tf

from lingvo import model_registry
from lingvo.core.nested_map import NestedMap
from lingvo.tasks.asr import model
from lingvo.tasks.asr.params import librispeech  # noqa: F401


def test_compute_wer_goldens():
    assert model.ComputeWer(["one"], ["one"]).tolist() == [[0, 1]]
    got = model.ComputeWer(["one", "two pigs"], ["one", "three pink pigs"])
    assert got.tolist() == [[0, 1], [2, 3]]
    got = model.ComputeWer(["", "one two", ""], ["", "", "three four five"])
    assert got.tolist() == [[0, 0], [2, 0], [3, 3]]
    assert model.ComputeWer(["ONE two"], ["one two"]).tolist() == [[1, 2]]
    assert model.ComputeWer(["ONE two!"], ["one, two"], normalize=True).tolist() == [[0, 2]]
    assert model.FilterEpsilon("<epsilon>epsilon tokens are<epsilon>removed<epsilon>") == (
        "epsilon tokens are removed"
    )
    assert model.FilterNoise("<noise> noise tokens are <noise> removed <noise>") == (
        "noise tokens are removed"
    )


def _Task():
    p = model_registry.GetParams("asr.librispeech.Librispeech960GraphemeCpu", "Train").task
    p.encoder.input_shape = [None, None, 16, 1]
    p.encoder.num_lstm_layers = 1
    p.encoder.lstm_cell_size = 16
    p.decoder.source_dim = 32
    p.decoder.rnn_cell_dim = 32
    p.decoder.target_seq_len = 8
    return p.Instantiate()


def test_post_process_goldens():
    task = _Task()
    m = task.CreateDecoderMetrics()
    labels = np.array([[5, 6, 7, 2, 2], [5, 2, 2, 2, 2]])
    paddings = np.array([[0, 0, 0, 0, 1], [0, 0, 1, 1, 1]], np.float32)
    out = {
        "transcripts": np.array([b"a b c d", b"a"], object),
        "topk_decoded": np.array([[b"a b c d", b"a b c d"], [b"wrong", b""]], object),
        "topk_ids": np.array([[5, 6, 7, 2, 0], [5, 6, 7, 2, 0], [8, 9, 2, 0, 0], [2, 0, 0, 0, 0]]),
        "topk_lens": np.array([4, 4, 3, 1]),
        "target_labels": labels,
        "target_paddings": paddings,
    }
    task.PostProcessDecodeOut(out, m)
    assert m["error_rates/wer"].total_value == pytest.approx(1) and m["wer"].total_weight == 5
    assert m["norm_wer"].value == pytest.approx(1 / 5)
    assert m["num_samples_in_batch"].total_value == 2
    assert m["sacc"].value == pytest.approx(0.5)
    assert m["oracle_norm_wer"].value == pytest.approx(1 / 5)
    assert m["ter"].total_weight == 6 and m["ter"].value == pytest.approx(2 / 6)
    assert m["corpus_bleu"].value == pytest.approx((4 / 5) ** 0.25, rel=1e-6)
    # Epsilons inside words are removed before scoring.
    m2 = task.CreateDecoderMetrics()
    out2 = dict(out, topk_decoded=np.array([[b"a b<epsilon>c d"] * 2, [b"a", b"a"]], object))
    task.PostProcessDecodeOut(out2, m2)
    assert m2["wer"].total_value == 0 and m2["sacc"].value == 1.0


def _Batch(batch=4, time=40, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, 12, size=[batch, 6])
    tgt_ids = np.concatenate([np.ones([batch, 1], int), ids[:, :-1]], 1)
    labels = ids.copy()
    labels[:, -1] = 2
    paddings = np.zeros([batch, 6], np.float32)
    src = np.repeat(ids, time // 6 + 1, axis=1)[:, :time]
    feats = np.eye(16, dtype=np.float32)[src][..., None] * 3.0
    return NestedMap(
        src=NestedMap(src_inputs=tf.constant(feats), paddings=tf.zeros([batch, time])),
        tgt=NestedMap(
            ids=tf.constant(tgt_ids, tf.int32),
            labels=tf.constant(labels, tf.int32),
            paddings=tf.constant(paddings),
            weights=tf.constant(1 - paddings),
        ),
    )


def test_training_reduces_the_loss_and_decode_runs():
    task = _Task()
    batch = _Batch()
    step = tf.function(task.TrainStep)
    losses = [float(step(batch)[0]["loss"][0]) for _ in range(30)]
    assert losses[0] == pytest.approx(np.log(76), abs=0.3)
    assert min(losses[-5:]) < losses[0] - 0.3
    out = task.decoder.BeamSearchDecode(task.decoder.theta, task._Encode(task.theta, batch), 2)
    assert out.topk_ids.shape[0] == 8 and out.topk_scores.shape == (4, 2)


def test_librispeech_values():
    p = model_registry.GetParams("asr.librispeech.Librispeech960Grapheme", "Train")
    t = p.task
    assert t.encoder.num_lstm_layers == 4 and t.encoder.lstm_cell_size == 1024
    assert t.encoder.conv_filter_shapes == [(3, 3, 1, 32), (3, 3, 32, 32)]
    assert t.decoder.source_dim == 2048 and t.decoder.rnn_layers == 2
    assert t.decoder.softmax.num_classes == 76 and t.decoder.target_seq_len == 620
    assert t.train.learning_rate == 2.5e-4 and t.train.lr_schedule.start_step == 50000
    assert p.input.bucket_upper_bound[-1] == 1710 and p.input.frame_size == 80
    dev = model_registry.GetParams("asr.librispeech.Librispeech960Wpm", "Dev").input
    assert dev.bucket_upper_bound[-1] == 3600 and dev.num_samples == 2703
    assert dev.target_max_length == 140
