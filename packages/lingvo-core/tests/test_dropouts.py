"""Tests of `DropoutLayer` and `DeterministicDropoutLayer`."""

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import layers, py_utils
from lingvo.core.layers import dropouts

ONES = tf.ones([50, 40])


def _Dropout(cls=layers.DropoutLayer, **kwargs):
    return cls.Params().Set(name="drop", keep_prob=0.5).Set(**kwargs).Instantiate()


@pytest.fixture
def global_step():
    step = tf.Variable(0, dtype=tf.int64)
    py_utils.SetGlobalStep(step)
    yield step
    py_utils.SetGlobalStep(None)


def test_public_names():
    assert layers.DropoutLayer is dropouts.DropoutLayer
    assert layers.DeterministicDropoutLayer is dropouts.DeterministicDropoutLayer


def test_masks_keep_the_right_fraction_and_scale():
    out = _Dropout()(ONES).numpy()
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert 0.4 < (out == 2.0).mean() < 0.6
    assert _Dropout(keep_prob=1.0)(ONES) is not None


def test_eval_is_identity_unless_dropout_at_eval():
    x = np.random.RandomState(0).randn(4, 5).astype(np.float32)
    with py_utils.EvalMode():
        np.testing.assert_array_equal(_Dropout()(x), x)
        assert (_Dropout(dropout_at_eval=True)(ONES).numpy() == 0).any()


def test_eager_function_and_xla_agree(global_step):
    layer = _Dropout()
    want = layer(ONES).numpy()
    np.testing.assert_array_equal(tf.function(layer.__call__)(ONES), want)
    np.testing.assert_array_equal(tf.function(layer.__call__, jit_compile=True)(ONES), want)


def test_mask_changes_with_step_seed_and_layer(global_step):
    layer = _Dropout()
    fn = tf.function(layer.__call__)
    first = fn(ONES).numpy()
    np.testing.assert_array_equal(fn(ONES), first)
    global_step.assign_add(1)
    assert not np.array_equal(fn(ONES), first)  # a traced function reads the step each call
    other = _Dropout(random_seed=5)
    assert not np.array_equal(other(ONES), layer(ONES))


def test_noise_shape_and_broadcast_dims():
    out = _Dropout(noise_shape=[50, 1])(ONES).numpy()
    assert (out == out[:, :1]).all() and 0 < out.mean() < 2
    out = _Dropout(noise_shape_broadcast_dims=[0])(ONES).numpy()
    assert (out == out[:1]).all()


def test_deterministic_dropout_step_seed():
    layer = _Dropout(layers.DeterministicDropoutLayer)
    a, b = layer.FPropDefaultTheta(ONES, 3), layer.FPropDefaultTheta(ONES, 3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, layer.FPropDefaultTheta(ONES, 4))
    xla = tf.function(layer.FPropDefaultTheta, jit_compile=True)(ONES, tf.constant(4))
    np.testing.assert_array_equal(xla, layer.FPropDefaultTheta(ONES, 4))


def test_gradient_uses_the_mask():
    layer = _Dropout()
    x = tf.constant(np.ones([6, 7], np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
    np.testing.assert_array_equal(tape.gradient(y, x), y)


def test_bad_params_and_inputs():
    with pytest.raises(ValueError, match=r"keep_prob must be in \(0, 1\], got 0.0"):
        _Dropout(keep_prob=0.0)
    with pytest.raises(ValueError, match="at most one of"):
        _Dropout(noise_shape=[1], noise_shape_broadcast_dims=[0])
    with pytest.raises(ValueError, match=r"DropoutLayer 'drop': inputs must be floating"):
        _Dropout()(tf.ones([2], tf.int32))
    with pytest.raises(
        ValueError, match=r"'drop': noise_shape \[3, 1\] does not broadcast .*\[50, 40\]"
    ):
        _Dropout(noise_shape=[3, 1])(ONES)
    with pytest.raises(ValueError, match=r"'drop': noise_shape_broadcast_dims entry 2"):
        _Dropout(noise_shape_broadcast_dims=[2])(ONES)


def test_large_static_masks_in_a_traced_function_are_fused_and_identical():
    # Big enough for the XLA-fused mask; the eager call and a dynamic-shape trace do not fuse.
    x = tf.ones([64, 32, 40])
    seed = tf.constant([1234, 7], tf.int64)
    eager = dropouts.StatelessDropout(x, 0.8, seed).numpy()
    static_fn = tf.function(lambda t: dropouts.StatelessDropout(t, 0.8, seed))
    dynamic_fn = tf.function(
        lambda t: dropouts.StatelessDropout(t, 0.8, seed),
        input_signature=[tf.TensorSpec([None, 32, 40], tf.float32)],
    )
    graph = static_fn.get_concrete_function(x).graph
    called = [
        op.get_attr("f").name
        for op in graph.get_operations()
        if op.type in ("PartitionedCall", "StatefulPartitionedCall")
    ]
    assert any("FusedHashBits" in name for name in called), called
    np.testing.assert_array_equal(static_fn(x).numpy(), eager)
    np.testing.assert_array_equal(dynamic_fn(x).numpy(), eager)
    assert 0.18 < float(np.mean(eager == 0.0)) < 0.22


def _CalledFunctions(concrete):
    return [
        op.get_attr("f").name
        for op in concrete.graph.get_operations()
        if op.type in ("PartitionedCall", "StatefulPartitionedCall")
    ]


def test_fused_dynamic_masks_scope_fuses_sequences_and_keeps_the_masks(global_step):
    layer = _Dropout(keep_prob=0.8)
    x = tf.reshape(tf.range(7 * 5 * 16, dtype=tf.float32) + 1.0, [7, 5, 16])
    global_step.assign(3)
    eager = layer.FPropDefaultTheta(x).numpy()

    def Scoped(t):
        with dropouts.FusedDynamicMasks():
            return layer.FPropDefaultTheta(t)

    sequence = [tf.TensorSpec([None, None, 16], tf.float32)]
    fused = tf.function(Scoped, input_signature=sequence)
    plain = tf.function(layer.FPropDefaultTheta, input_signature=sequence)
    assert any("FusedKeepMask" in f for f in _CalledFunctions(fused.get_concrete_function()))
    assert not any("FusedKeepMask" in f for f in _CalledFunctions(plain.get_concrete_function()))
    np.testing.assert_array_equal(fused(x).numpy(), eager)
    np.testing.assert_array_equal(plain(x).numpy(), eager)
    # A second shape compiles again and still matches the eager mask.
    y = x[:3]
    np.testing.assert_array_equal(fused(y).numpy(), layer.FPropDefaultTheta(y).numpy())
    # Rank-2 tensors (per-step activations in loops) keep the plain ops.
    matrix = tf.function(Scoped, input_signature=[tf.TensorSpec([None, 16], tf.float32)])
    assert not any("FusedKeepMask" in f for f in _CalledFunctions(matrix.get_concrete_function()))
    np.testing.assert_array_equal(matrix(x[0]).numpy(), layer.FPropDefaultTheta(x[0]).numpy())
    # The gradient goes through the same mask.
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = fused(x)
    grad = tape.gradient(out, x).numpy()
    np.testing.assert_array_equal(grad, np.where(eager != 0.0, 1.0 / 0.8, 0.0).astype(np.float32))
