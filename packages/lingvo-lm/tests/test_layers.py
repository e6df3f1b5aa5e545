"""Tests of the lm layers: shapes, argmax, dropout, sharding, and Step == FProp."""

import math

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import layers as core_layers
from lingvo.core import run_mode
from lingvo.core.nested_map import NestedMap
from lingvo.tasks.lm import layers

TIME, BATCH, VOCAB = 5, 3, 8


def _Batch(seed=1):
    rng = np.random.RandomState(seed)
    ids = tf.constant(rng.randint(0, VOCAB, [TIME, BATCH]), tf.int32)
    labels = tf.constant(rng.randint(0, VOCAB, [TIME, BATCH]), tf.int32)
    paddings = tf.constant([[0, 0, 0]] * 4 + [[0, 1, 1]], tf.float32)
    return ids, paddings, NestedMap(class_ids=labels, class_weights=1.0 - paddings)


def _RnnLm(**kw):
    p = layers.RnnLm.CommonParams(
        vocab_size=VOCAB, emb_dim=6, num_layers=3, rnn_dims=6, rnn_hidden_dims=12, **kw
    )
    return p.Set(name="rnnlm", random_seed=7)


def _TransformerLm(**kw):
    p = layers.TransformerLm.CommonParams(
        model_dim=8,
        hidden_dim=16,
        num_heads=2,
        num_layers=2,
        learning_rate=1.0,
        warmup_steps=1,
        vocab_size=VOCAB,
        **kw,
    )
    return p.Set(name="xlm", random_seed=7)


@pytest.mark.parametrize("factory", [_RnnLm, _TransformerLm])
def test_fprop_outputs(factory):
    lm = factory().Instantiate()
    ids, paddings, labels = _Batch()
    with run_mode.EvalMode():
        out, _ = lm.FProp(lm.theta, ids, paddings, None, labels)
    assert out.logits.shape == (TIME, BATCH, VOCAB)
    assert out.last_hidden.shape[:2] == (TIME, BATCH)
    np.testing.assert_array_equal(out.per_example_argmax, tf.argmax(out.logits, -1))
    assert float(out.total_weight) == TIME * BATCH - 2
    # Lingvo's goldens (RNG-dependent, so a band): RnnLm 2.085 (about ln 8: its softmax
    # starts near uniform), TransformerLm 3.049 (its unnormalised output is not).
    low, high = (math.log(VOCAB) - 0.1, math.log(VOCAB) + 0.1)
    if factory is _TransformerLm:
        low, high = 2.0, 4.0
    assert low < float(out.avg_xent) < high
    grads = tf.GradientTape()
    with grads:
        out, _ = lm.FProp(lm.theta, ids, paddings, None, labels)
    g = grads.gradient(out.avg_xent, lm.vars.Flatten())
    assert all(x is not None and np.all(np.isfinite(tf.convert_to_tensor(x))) for x in g)


def test_rnnlm_structure_projection_and_residuals():
    lm = _RnnLm(residual_start=1).Instantiate()
    cells = [r.cell.params for r in lm.rnns.rnn]
    assert [c.num_input_nodes for c in cells] == [6, 6, 6]
    assert all(c.num_hidden_nodes == 12 and c.num_output_nodes == 6 for c in cells)
    assert lm.rnns._HasResidual(1) and not lm.rnns._HasResidual(0)
    no_res = _RnnLm(residual_start=3).Instantiate()
    assert not any(no_res.rnns._HasResidual(i) for i in range(3))
    assert lm.emb.params.scale_sqrt_depth


def test_rnnlm_dropout_only_in_training():
    p = _RnnLm()
    p.embedding_dropout_keep_prob = 0.5
    p.rnns.dropout.keep_prob = 0.5
    lm = p.Instantiate()
    ids, paddings, labels = _Batch()
    train, _ = lm.FProp(lm.theta, ids, paddings, None, labels)
    with run_mode.EvalMode():
        eval1, _ = lm.FProp(lm.theta, ids, paddings, None, labels)
    plain = _RnnLm().Instantiate()
    with run_mode.EvalMode():
        eval2, _ = plain.FProp(lm.theta, ids, paddings, None, labels)
    np.testing.assert_allclose(eval1.avg_xent, eval2.avg_xent, rtol=1e-6)
    assert abs(float(train.avg_xent) - float(eval1.avg_xent)) > 1e-5


def test_sharded_embedding_equals_concatenated_table():
    p = layers.ShardedEmbeddingLayer.Params().Set(
        name="emb", vocab_size=10, embedding_dim=4, num_shards=3
    )
    emb = p.Instantiate()
    assert sorted(emb.vars.keys()) == ["wm_0", "wm_1", "wm_2"]
    table = tf.concat([emb.theta.wm_0, emb.theta.wm_1, emb.theta.wm_2], 0)[:10]
    ids = tf.constant([[0, 9], [4, 3]])
    np.testing.assert_allclose(emb.EmbLookup(emb.theta, ids), tf.gather(table, ids))


@pytest.mark.parametrize("factory", [_RnnLm, _TransformerLm])
def test_step_equals_fprop(factory):
    lm = factory().Instantiate()
    ids, _, _ = _Batch(3)
    paddings = tf.zeros([TIME, BATCH])
    with run_mode.EvalMode():
        full, _ = lm.FProp(lm.theta, ids, paddings)
        if isinstance(lm, layers.TransformerLm):
            state = lm.zero_state(lm.theta, BATCH, TIME)
        else:
            state = lm.zero_state(lm.theta, BATCH)
        step_fn = tf.function(lm.Step)
        for t in range(TIME):
            out, state = step_fn(lm.theta, ids[t], state)
            np.testing.assert_allclose(out.logits, full.logits[t], atol=1e-5)
            np.testing.assert_allclose(out.log_probs, full.log_probs[t], atol=1e-5)


def test_sampled_softmax_in_training_full_in_eval():
    p = _RnnLm()
    p.softmax = core_layers.SampledSoftmax.Params().Set(
        input_dim=6, num_classes=VOCAB, num_sampled=3, num_shards=2
    )
    lm = p.Instantiate()
    ids, paddings, labels = _Batch()
    train, _ = lm.FProp(lm.theta, ids, paddings, None, labels)
    # Labels at the weighted positions; 0 where the training softmax skipped padding.
    np.testing.assert_array_equal(
        train.per_example_argmax, labels.class_ids * tf.cast(labels.class_weights, tf.int32)
    )
    with run_mode.EvalMode():
        ev, _ = lm.FProp(lm.theta, ids, paddings, None, labels)
    np.testing.assert_array_equal(ev.per_example_argmax, tf.argmax(ev.logits, -1))
    assert float(train.avg_xent) < float(ev.avg_xent)  # 4 candidates instead of 8


def _SampledRnnLm():
    p = _RnnLm()
    p.softmax = core_layers.SampledSoftmax.Params().Set(
        input_dim=6, num_classes=VOCAB, num_sampled=3, num_shards=2
    )
    return p


@pytest.mark.parametrize("factory", [_RnnLm, _SampledRnnLm, _TransformerLm])
def test_training_softmax_on_weighted_positions_keeps_losses_and_gradients(factory):
    outs, grads = [], []
    for skip in (True, False):
        p = factory()
        if factory is _TransformerLm:
            p.trans.residual_dropout_prob = 0.0
        p.train_softmax_on_weighted_positions_only = skip
        lm = p.Instantiate()
        ids, paddings, labels = _Batch()
        with tf.GradientTape() as tape:
            out, _ = lm.FProp(lm.theta, ids, paddings, None, labels)
        outs.append(out)
        grads.append(tape.gradient(out.avg_xent, lm.vars.Flatten()))
    skipped, full = outs
    assert "logits" not in skipped and "logits" in full
    for key in ("total_xent", "total_weight", "avg_xent"):
        np.testing.assert_allclose(skipped[key], full[key], rtol=1e-6, err_msg=key)
    weights = labels.class_weights.numpy()
    assert weights.min() == 0.0  # the batch has padding, so positions were skipped
    np.testing.assert_allclose(skipped.per_example_xent, full.per_example_xent * weights, rtol=1e-6)
    np.testing.assert_array_equal(
        skipped.per_example_argmax, full.per_example_argmax * weights.astype(np.int32)
    )
    for a, b in zip(grads[0], grads[1], strict=True):
        np.testing.assert_allclose(tf.convert_to_tensor(a), tf.convert_to_tensor(b), atol=1e-6)


def test_transformer_is_causal():
    lm = _TransformerLm().Instantiate()
    ids, _, _ = _Batch(4)
    changed = tf.concat([ids[:3], (ids[3:] + 1) % VOCAB], 0)
    zeros = tf.zeros([TIME, BATCH])
    with run_mode.EvalMode():
        a, _ = lm.FProp(lm.theta, ids, zeros)
        b, _ = lm.FProp(lm.theta, changed, zeros)
    np.testing.assert_allclose(a.logits[:3], b.logits[:3], atol=1e-6)
    assert not np.allclose(a.logits[3:], b.logits[3:])


def test_bad_params_raise():
    p = _RnnLm()
    p.vocab_size = VOCAB + 1
    with pytest.raises(ValueError, match="vocab_size"):
        p.Instantiate()
    p = _TransformerLm()
    p.model_dim = 4
    with pytest.raises(ValueError, match="model_dim"):
        p.Instantiate()
