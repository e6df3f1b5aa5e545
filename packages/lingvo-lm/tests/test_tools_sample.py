"""Tests of the sampling tool: draws, greedy decoding through `Step`, seeds, temperature."""

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import run_mode
from lingvo.tasks.lm.tools import sample

LOGITS = np.log(np.array([[0.5, 0.25, 0.15, 0.1]], np.float32))


def _Draws(temperature, top_k, n=4000):
    logits = tf.constant(np.repeat(LOGITS, n, axis=0))
    ids = sample.SampleIds(logits, temperature, top_k, tf.constant([3, 4]))
    return np.bincount(ids.numpy(), minlength=4) / n


def test_draws_follow_the_softmax_and_temperature_flattens_it():
    np.testing.assert_allclose(_Draws(1.0, 0), [0.5, 0.25, 0.15, 0.1], atol=0.03)
    hot, cold = _Draws(3.0, 0), _Draws(0.3, 0)
    expected_hot = np.exp(LOGITS[0] / 3) / np.exp(LOGITS[0] / 3).sum()
    np.testing.assert_allclose(hot, expected_hot, atol=0.03)
    assert hot[0] < 0.5 < cold[0] and cold[0] > 0.85
    # top_k keeps the k most likely ids, renormalized.
    np.testing.assert_allclose(_Draws(1.0, 2), [2 / 3, 1 / 3, 0, 0], atol=0.03)
    # temperature 0 and top_k 1 are greedy.
    np.testing.assert_array_equal(_Draws(0.0, 0, n=10), [1, 0, 0, 0])
    np.testing.assert_array_equal(_Draws(5.0, 1, n=10), [1, 0, 0, 0])


def _GreedyByFullPasses(task, prompt_ids, steps):
    """Greedy continuation recomputing the whole sequence with FProp at every step."""
    ids = list(prompt_ids)
    sos = task.input_generator.params.tokenizer.target_sos_id
    for _ in range(steps):
        x = tf.constant(ids, tf.int32)[:, tf.newaxis]
        with run_mode.EvalMode():
            out, _ = task.lm.FProp(task.lm.theta, x, tf.zeros([len(ids), 1]), None)
        logits = out.logits[-1, 0].numpy()
        logits[sos] = -np.inf
        ids.append(int(np.argmax(logits)))
    return ids[len(prompt_ids) :]


@pytest.mark.parametrize("lm", ["rnn", "transformer"])
def test_greedy_through_step_equals_full_passes(lmt, lm):
    task = lmt.WordLmParams(lm=lm).Instantiate()
    sampler = sample.Sampler(task, temperature=0.0)
    prompt = sampler.PromptIds("for more about")
    assert prompt == [1, 21, 35, 8]
    ids, log_probs = sampler.SampleFromIds(prompt, num_samples=2, max_steps=6)
    expected = _GreedyByFullPasses(task, prompt, 6)
    eos = np.flatnonzero(np.array(expected) == 2)
    stop = int(eos[0]) + 1 if eos.size else 6
    np.testing.assert_array_equal(ids[0, :stop], expected[:stop])
    np.testing.assert_array_equal(ids[0], ids[1])
    assert np.all(log_probs[0, :stop] < 0) and np.all(log_probs[0, stop:] == 0)
    # top_k=1 at any temperature is the same greedy decoding.
    top1, _ = sample.Sampler(task, temperature=2.0, top_k=1).SampleFromIds(prompt, 2, 6)
    np.testing.assert_array_equal(top1, ids)


@pytest.mark.parametrize("lm", ["rnn", "transformer"])
def test_a_seed_gives_the_same_samples(lmt, lm):
    task = lmt.WordLmParams(lm=lm).Instantiate()
    first = sample.Sampler(task, temperature=1.5, top_k=20, seed=11).Sample("am an", 8, 10)
    again = sample.Sampler(task, temperature=1.5, top_k=20, seed=11).Sample("am an", 8, 10)
    other = sample.Sampler(task, temperature=1.5, top_k=20, seed=12).Sample("am an", 8, 10)
    assert first == again
    assert first != other
    assert len({t for t, _ in first}) > 1  # the rows draw independently
    for text, log_prob in first:
        assert "<S>" not in text.split()
        assert log_prob < 0


def test_temperature_changes_how_likely_the_samples_are(lmt):
    task = lmt.WordLmParams().Instantiate()
    prompt = [1, 21]

    def MeanLogProb(temperature):
        sampler = sample.Sampler(task, temperature=temperature, seed=3)
        _, log_probs = sampler.SampleFromIds(prompt, num_samples=64, max_steps=1)
        return float(np.mean(log_probs[:, 0]))

    cold, warm, hot = MeanLogProb(0.2), MeanLogProb(1.0), MeanLogProb(5.0)
    assert cold > warm > hot


def test_restored_sampler_command_line(lmt, tmp_path, capsys, monkeypatch):
    from lingvo.tasks.lm.tools import restore

    model_params, saved = lmt.SaveModel(lmt.WordLmParams(lm="transformer"), tmp_path)
    monkeypatch.setattr(restore, "TaskParams", lambda *a: model_params)
    argv = ["--model=x", f"--logdir={tmp_path}", "--prompt=for more", "--temperature=0"]
    assert sample.main([*argv, "--num_samples=2", "--max_steps=5"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 2 and rows[0] == rows[1]
    expected = sample.Sampler(saved, temperature=0.0).Sample("for more", 1, 5)[0]
    assert rows[0] == f"{expected[1]:.4f}\t{expected[0]}"
    for bad, message in [
        (["--temperature=-1"], "--temperature must be >= 0"),
        (["--top_k=-2"], "--top_k must be >= 0"),
        (["--max_steps=0"], "--max_steps must be at least 1"),
    ]:
        with pytest.raises(SystemExit):
            sample.ParseArgs(["--model=m", "--logdir=l", *bad])
        assert message in capsys.readouterr().err
