"""Tests of the `LanguageModel` task: Lingvo's metrics, inference fixtures, clipping, training."""

import math

import numpy as np
import tensorflow as tf

from lingvo.core import layers as core_layers
from lingvo.core import run_mode


def test_fprop_metrics_bookkeeping(lmt):
    task = lmt.CharLmParams().Instantiate()
    batch = task.GetInputBatch()
    with run_mode.EvalMode():
        metrics, per_example = task.FPropDefaultTheta(batch)
    loss, log_pplx = float(metrics["loss"][0]), float(metrics["log_pplx"][0])
    # Lingvo: 4.159217, about ln 64 (RNG-dependent, so a band).
    assert abs(log_pplx - math.log(64)) < 0.05
    assert loss == log_pplx
    # 29 predicted characters, 16 words + one eos per sentence: per_word = log_pplx * 29/16.
    assert float(metrics["num_predictions"][0]) == 29.0
    assert float(metrics["num_words"][0]) == 16.0
    assert float(metrics["log_pplx_per_word"][1]) == 16.0
    np.testing.assert_allclose(metrics["log_pplx_per_word"][0], log_pplx * 29 / 16, rtol=1e-5)
    accuracy = float(metrics["fraction_of_correct_next_step_preds"][0])
    assert 0.0 <= accuracy <= 1.0
    assert per_example["loss"].shape == (2,)
    np.testing.assert_allclose(tf.reduce_sum(per_example["loss"]), log_pplx * 29, rtol=1e-5)


def test_sum_loss_and_sampled_softmax_accuracy(lmt):
    p = lmt.CharLmParams(num_layers=1)
    p.train.sum_loss_across_tokens_in_batch = True
    p.lm.softmax = core_layers.SampledSoftmax.Params().Set(
        input_dim=64, num_classes=64, num_sampled=8
    )
    task = p.Instantiate()
    batch = task.GetInputBatch()
    metrics, _ = task.FPropDefaultTheta(batch)
    total = float(metrics["log_pplx"][0]) * 29
    np.testing.assert_allclose(metrics["loss"][0], total, rtol=1e-5)
    # Lingvo's quirk: a sampled training step reports the labels as its predictions.
    np.testing.assert_allclose(metrics["fraction_of_correct_next_step_preds"][0], 1.0, atol=1e-5)
    with run_mode.EvalMode():
        metrics, _ = task.FPropDefaultTheta(batch)
    assert float(metrics["fraction_of_correct_next_step_preds"][0]) < 0.5


def test_inference_ascii_shapes(lmt):
    task = lmt.CharLmParams(num_layers=1).Instantiate()
    _, fn = task.Inference()["default"]
    out = fn(["pray for world peace", "happy birthday"])
    assert out.log_pplx_per_sample.shape == (2,)
    assert out.log_pplx_per_token.shape == (2, 20)
    assert out.paddings.shape == (2, 20)
    assert out.lengths.numpy().tolist() == [20, 15]  # cut to 19 chars + eos; 14 chars + eos
    np.testing.assert_allclose(
        out.log_pplx_per_sample, tf.reduce_sum(out.log_pplx_per_token, 1), rtol=1e-6
    )


def test_inference_word_level_fixture(lmt):
    inp = lmt.InputParams(max_length=5)
    inp.tokenizer = lmt.WordTokenizer()
    task = lmt.CharLmParams(inp, num_layers=1).Instantiate()
    _, fn = task.Inference()["default"]
    out = fn(["pray for more peace", "happy about", "one flambergastic will"])
    np.testing.assert_array_equal(out.ids, [[1, 3, 21, 35, 3], [1, 3, 8, 2, 2], [1, 41, 3, 61, 2]])
    assert [s.decode() for s in out.tokens_from_labels.numpy()] == [
        "<UNK> for more <UNK> </S>",
        "<UNK> about </S>",
        "one <UNK> will </S>",
    ]
    assert out.num_oovs_per_sample.numpy().tolist() == [2, 1, 1]


def test_max_lstm_gradient_norm_clips_the_lstm_stack_only(lmt):
    p = lmt.CharLmParams(num_layers=2)
    p.train.max_lstm_gradient_norm = 1e-3
    task = p.Instantiate()
    rnn_vars = task.lm.rnns.vars.Flatten()
    other = task.lm.softmax.vars.Flatten()
    var_grads = [(v, tf.ones_like(v)) for v in rnn_vars + other]
    out = task.AdjustGradients(var_grads)
    norm = tf.linalg.global_norm([g for _, g in out[: len(rnn_vars)]])
    np.testing.assert_allclose(norm, 1e-3, rtol=1e-4)
    for (_, g), v in zip(out[len(rnn_vars) :], other, strict=True):
        np.testing.assert_array_equal(g, tf.ones_like(v))
    p.train.max_lstm_gradient_norm = 0.0
    same = p.Instantiate().AdjustGradients(var_grads)
    assert same is var_grads


def test_char_level_model_learns_within_11_steps(lmt):
    """Lingvo's functional target: loss starts above 4.0 and drops below 3.8 in 11 steps."""
    inp = lmt.InputParams(bucket=50, limit=64, max_length=1000, require_sequential_order=False)
    p = lmt.CharLmParams(inp)
    p.train.learning_rate = 3e-3
    p.train.clip_gradient_norm_to_value = 1.0
    task = p.Instantiate()
    step = tf.function(task.TrainStep, autograph=False)
    losses = []
    for _ in range(11):
        metrics, _ = step(task.GetInputBatch())
        losses.append(float(metrics["loss"][0]))
        if losses[-1] < 3.8:
            break
    assert losses[0] > 4.0, losses
    assert min(losses) < 3.8, losses
    assert all(np.isfinite(losses))
