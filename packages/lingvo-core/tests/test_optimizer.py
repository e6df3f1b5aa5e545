"""Tests of the optimizers: one or two steps on a tiny quadratic, checked by hand."""

import math

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import optimizer


def _Steps(opt_params, n=2, lr=0.1, x0=(1.0, -2.0), as_function=False):
    """Minimises 0.5 * |x|^2 (grad = x) for n steps; returns the values after each step."""
    opt = opt_params.Instantiate()
    x = tf.Variable(x0, name="x")

    def Step():
        opt.Apply(lr, [(x, tf.identity(x))])

    step = tf.function(Step) if as_function else Step
    out = []
    for _ in range(n):
        step()
        out.append(x.numpy().copy())
    return opt, out


def test_sgd():
    _, (x1, x2) = _Steps(optimizer.SGD.Params())
    np.testing.assert_allclose(x1, [0.9, -1.8], rtol=1e-6)
    np.testing.assert_allclose(x2, [0.81, -1.62], rtol=1e-6)


def test_momentum_and_nesterov():
    _, (x1, x2) = _Steps(optimizer.Momentum.Params().Set(alpha=0.5))
    # accum1 = g1 = x0; x1 = 0.9 x0; accum2 = 0.5 x0 + 0.9 x0 = 1.4 x0; x2 = 0.76 x0.
    np.testing.assert_allclose(x1, [0.9, -1.8], rtol=1e-6)
    np.testing.assert_allclose(x2, [0.76, -1.52], rtol=1e-6)
    _, (x1,) = _Steps(optimizer.Momentum.Params().Set(alpha=0.5, use_nesterov=True), n=1)
    np.testing.assert_allclose(x1, [0.85, -1.7], rtol=1e-6)


def test_adam_defaults_and_variants():
    p = optimizer.Adam.Params()
    assert (p.beta1, p.beta2, p.epsilon) == (0.9, 0.999, 1e-6)
    a, b = optimizer.Adam.ParamsA(), optimizer.Adam.ParamsB()
    assert (a.beta2, a.epsilon, b.beta2, b.epsilon) == (0.997, 1e-9, 0.98, 1e-9)


def test_adam_two_steps():
    opt, (x1, x2) = _Steps(optimizer.Adam.Params(), x0=(1.0,))
    # Step 1: m = 0.1, v = 0.001, lr_t = 0.1 * sqrt(0.001) / 0.1; update ~ lr * sign(g).
    want1 = 1.0 - 0.1 * math.sqrt(0.001) / 0.1 * 0.1 / (math.sqrt(0.001) + 1e-6)
    np.testing.assert_allclose(x1, [want1], rtol=1e-6)
    g2 = want1
    m = 0.9 * 0.1 + 0.1 * g2
    v = 0.999 * 0.001 + 0.001 * g2**2
    lr_t = 0.1 * math.sqrt(1 - 0.999**2) / (1 - 0.9**2)
    np.testing.assert_allclose(x2, [want1 - lr_t * m / (math.sqrt(v) + 1e-6)], rtol=1e-5)
    np.testing.assert_allclose(opt.vars.beta1_power.numpy(), 0.9**3, rtol=1e-6)
    assert sorted(opt.slot_vars) == ["x/Adam", "x/Adam_1"]


def test_adagrad():
    _, (x1, x2) = _Steps(optimizer.Adagrad.Params(), x0=(1.0,))
    # accum = 1 + 1 = 2; x1 = 1 - 0.1 / sqrt(2).
    want1 = 1.0 - 0.1 / math.sqrt(2.0)
    np.testing.assert_allclose(x1, [want1], rtol=1e-6)
    accum = 2.0 + want1**2
    np.testing.assert_allclose(x2, [want1 - 0.1 * want1 / math.sqrt(accum)], rtol=1e-6)


def test_rmsprop_starts_its_mean_square_at_one():
    _, (x1,) = _Steps(optimizer.RMSProp.Params(), n=1, x0=(2.0,))
    ms = 0.9 * 1.0 + 0.1 * 4.0
    np.testing.assert_allclose(x1, [2.0 - 0.1 * 2.0 / math.sqrt(ms + 1.0)], rtol=1e-6)


def test_adadelta_one_step():
    _, (x1,) = _Steps(optimizer.AdaDelta.Params().Set(epsilon=1e-2), n=1, lr=1.0, x0=(1.0,))
    accum = 0.05
    update = math.sqrt(1e-2) / math.sqrt(accum + 1e-2)
    np.testing.assert_allclose(x1, [1.0 - update], rtol=1e-5)


def test_adafactor_unfactored_first_step_is_sign_times_scale():
    p = optimizer.Adafactor.Params()
    _, (x1,) = _Steps(p, n=1, x0=(3.0, -4.0))
    # rho = 0 at t = 0, so v = g^2 and x = sign(g); step = lr * rms(var) = 0.1 * sqrt(12.5).
    step = 0.1 * math.sqrt(12.5)
    np.testing.assert_allclose(x1, [3.0 - step, -4.0 + step], rtol=1e-5)


def test_adafactor_factored_matrix():
    p = optimizer.Adafactor.Params().Set(
        min_dim_size_to_factor=2, multiply_by_parameter_scale=False
    )
    opt = p.Instantiate()
    w = tf.Variable(np.ones([2, 3], np.float32), name="w")
    g = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    opt.Apply(0.1, [(w, g)])
    g2 = g.numpy() ** 2 + 1e-30
    vr, vc = g2.mean(axis=1), g2.mean(axis=0)  # d0 = 1 (size 3), d1 = 0 (size 2)
    x = g.numpy() / np.sqrt(vr / vr.mean())[:, None] / np.sqrt(vc)[None, :]
    np.testing.assert_allclose(w.numpy(), 1.0 - 0.1 * x, rtol=1e-5)
    assert opt.GetSlot(w, "vr").shape == [2] and opt.GetSlot(w, "vc").shape == [3]


def test_accumulator_equals_sgd_on_the_mean():
    p = optimizer.Accumulator.Params().Set(optimizer_tpl=optimizer.SGD.Params(), accum_steps=2)
    opt = p.Instantiate()
    x = tf.Variable([1.0], name="x")
    opt.Apply(0.1, [(x, tf.constant([2.0]))])
    np.testing.assert_allclose(x.numpy(), [1.0])
    opt.Apply(0.1, [(x, tf.constant([4.0]))])
    np.testing.assert_allclose(x.numpy(), [0.7], rtol=1e-6)
    np.testing.assert_allclose(opt.GetSlot(x, "grad_accumulator").numpy(), [0.0])


def test_accumulator_in_tf_function():
    p = optimizer.Accumulator.Params().Set(optimizer_tpl=optimizer.Adam.Params(), accum_steps=2)
    _, (x1, x2, x3, x4) = _Steps(p, n=4, x0=(1.0,), as_function=True)
    _, (y1,) = _Steps(optimizer.Adam.Params(), n=1, x0=(1.0,))
    np.testing.assert_allclose(x1, [1.0])
    # Steps 1 and 2 both see grad 1.0, so the mean is 1.0: one Adam step.
    np.testing.assert_allclose(x2, y1, rtol=1e-6)
    np.testing.assert_allclose(x3, x2)
    assert x4[0] < x3[0]


@pytest.mark.parametrize(
    "params",
    [optimizer.SGD.Params(), optimizer.Adam.Params(), optimizer.Momentum.Params()],
)
def test_tf_function_matches_eager(params):
    _, eager = _Steps(params.Copy())
    _, graph = _Steps(params.Copy(), as_function=True)
    np.testing.assert_allclose(graph, eager, rtol=1e-6)


def test_empty_apply_does_nothing():
    opt = optimizer.SGD.Params().Instantiate()
    x = tf.Variable([1.0])
    opt.Apply(0.1, [(x, None)])
    np.testing.assert_allclose(x.numpy(), [1.0])
