"""Tests of the learner's gradient pipeline and of the moving average of weights."""

import math

import numpy as np
import tensorflow as tf

from lingvo.core import base_layer, ema, learner, optimizer, py_utils, schedule


class TwoVars(base_layer.BaseLayer):
    """Holds `hello` = 1 and `world` = 2 (and a non-trainable `mars`)."""

    def _CreateLayerVariables(self):
        super()._CreateLayerVariables()
        c = py_utils.WeightInit.Constant
        self.CreateVariable("hello", py_utils.WeightParams([], c(1.0)))
        self.CreateVariable("world", py_utils.WeightParams([], c(2.0)))
        self.CreateVariable("mars", py_utils.WeightParams([], c(3.0)), trainable=False)


def _Learner(**kwargs):
    p = learner.Learner.Params().Set(
        optimizer=optimizer.SGD.Params(),
        learning_rate=0.1,
        lr_schedule=schedule.ConstantOne.Params(),
    )
    p.Set(**kwargs)
    return p.Instantiate()


def _Layer(**kwargs):
    return TwoVars.Params().Set(name="m", **kwargs).Instantiate()


def test_basic_sgd_step():
    layer, lrn = _Layer(), _Learner()
    _, stats = lrn.Apply(lambda: layer.vars.hello - 2.0 * layer.vars.world, layer, step=0)
    np.testing.assert_allclose(layer.vars.hello.numpy(), 0.9, rtol=1e-6)
    np.testing.assert_allclose(layer.vars.world.numpy(), 2.2, rtol=1e-6)
    assert layer.vars.mars.numpy() == 3.0
    np.testing.assert_allclose(stats.grad_norm.numpy(), math.sqrt(5.0), rtol=1e-6)
    np.testing.assert_allclose(stats.var_norm.numpy(), math.sqrt(5.0), rtol=1e-6)
    np.testing.assert_allclose(stats.learning_rate.numpy(), 0.1, rtol=1e-6)
    assert not stats.has_nan_or_inf.numpy()
    assert "grad_norm/all/loss" in learner.Learner.EvalMetrics(stats)


def test_metrics_dict_and_bprop_filters():
    layer, lrn = _Layer(), _Learner(bprop_variable_filter="o", bprop_variable_exclusion="ello")
    metrics, _ = lrn.Apply(
        lambda: {"loss": (layer.vars.hello - 2.0 * layer.vars.world, 1.0)}, layer, step=0
    )
    assert "loss" in metrics
    assert layer.vars.hello.numpy() == 1.0
    np.testing.assert_allclose(layer.vars.world.numpy(), 2.2, rtol=1e-6)


def test_global_norm_clipping():
    layer, lrn = _Layer(), _Learner(clip_gradient_norm_to_value=1.0)
    # Gradients (3, 4): norm 5, scaled by 1/5 to (0.6, 0.8).
    _, stats = lrn.Apply(lambda: 3.0 * layer.vars.hello + 4.0 * layer.vars.world, layer, step=0)
    np.testing.assert_allclose(stats.grad_norm.numpy(), 5.0, rtol=1e-6)
    np.testing.assert_allclose(stats.grad_scale.numpy(), 0.2, rtol=1e-6)
    np.testing.assert_allclose(layer.vars.hello.numpy(), 1.0 - 0.06, rtol=1e-6)
    np.testing.assert_allclose(layer.vars.world.numpy(), 2.0 - 0.08, rtol=1e-6)


def test_single_norm_clipping():
    layer, lrn = _Layer(), _Learner(clip_gradient_single_norm_to_value=3.5)
    lrn.Apply(lambda: 3.0 * layer.vars.hello + 4.0 * layer.vars.world, layer, step=0)
    np.testing.assert_allclose(layer.vars.hello.numpy(), 1.0 - 0.3, rtol=1e-6)
    np.testing.assert_allclose(layer.vars.world.numpy(), 2.0 - 0.35, rtol=1e-6)


def test_grad_norm_to_clip_to_zero():
    layer, lrn = _Layer(), _Learner(grad_norm_to_clip_to_zero=4.0)
    _, stats = lrn.Apply(lambda: 3.0 * layer.vars.hello + 4.0 * layer.vars.world, layer, step=0)
    assert stats.grad_scale.numpy() == 0.0
    assert layer.vars.hello.numpy() == 1.0 and layer.vars.world.numpy() == 2.0
    assert lrn.vars.num_nonfinite_steps.numpy() == 0


def test_l2_and_l1_terms_honour_skip_lp():
    layer, lrn = _Layer(), _Learner(l2_regularizer_weight=0.5)
    _, stats = lrn.Apply(lambda: layer.vars.hello + layer.vars.world, layer, step=0)
    # grad = 1 + 0.5 * v: hello 1.5, world 2.0; l2_loss = 0.5 * 0.5 * (1 + 4).
    np.testing.assert_allclose(stats.l2_loss.numpy(), 1.25, rtol=1e-6)
    np.testing.assert_allclose(layer.vars.hello.numpy(), 1.0 - 0.15, rtol=1e-6)
    np.testing.assert_allclose(layer.vars.world.numpy(), 2.0 - 0.2, rtol=1e-6)
    np.testing.assert_allclose(stats.loss.numpy(), 3.0)  # the regulariser is not in the loss
    layer, lrn = _Layer(skip_lp_regularization=True), _Learner(l1_regularizer_weight=0.5)
    _, stats = lrn.Apply(lambda: layer.vars.hello + layer.vars.world, layer, step=0)
    assert stats.l1_loss.numpy() == 0.0
    np.testing.assert_allclose(layer.vars.hello.numpy(), 0.9, rtol=1e-6)


def test_nonfinite_step_is_skipped_and_counted():
    layer, lrn = _Layer(), _Learner(optimizer=optimizer.Adam.Params())
    beta1_power = lrn.optimizer.vars.beta1_power.numpy()
    step = tf.function(lambda: lrn.Apply(lambda: layer.vars.hello * np.nan, layer, step=0)[1])
    stats = step()
    assert stats.has_nan_or_inf.numpy() and stats.num_nonfinite_steps.numpy() == 1
    assert layer.vars.hello.numpy() == 1.0 and layer.vars.world.numpy() == 2.0
    assert lrn.optimizer.vars.beta1_power.numpy() == beta1_power  # optimizer never ran
    stats = step()
    assert lrn.vars.num_nonfinite_steps.numpy() == 2


def test_overflowing_norm_counts_as_nonfinite():
    layer, lrn = _Layer(), _Learner()
    _, stats = lrn.Apply(lambda: 1e30 * (layer.vars.hello + layer.vars.world), layer, step=0)
    assert stats.grad_norm_is_nan_or_inf.numpy() and stats.has_nan_or_inf.numpy()
    assert layer.vars.hello.numpy() == 1.0


def test_nonfinite_step_lingvo_mode_applies_zero_gradients():
    layer, lrn = _Layer(), _Learner(skip_nonfinite_steps=False)
    _, stats = lrn.Apply(lambda: layer.vars.hello * np.inf, layer, step=0)
    assert stats.grad_scale.numpy() == 0.0
    assert layer.vars.hello.numpy() == 1.0 and lrn.vars.num_nonfinite_steps.numpy() == 0


def test_learning_rate_follows_the_schedule():
    layer = _Layer()
    lrn = (
        learner.Learner.Params()
        .Set(
            optimizer=optimizer.SGD.Params(),
            learning_rate=1.0,
            lr_schedule=schedule.PiecewiseConstantSchedule.Params().Set(
                boundaries=[10], values=[0.1, 0.01]
            ),
        )
        .Instantiate()
    )
    _, stats = lrn.Apply(lambda: layer.vars.hello, layer, step=tf.constant(10, tf.int64))
    np.testing.assert_allclose(stats.learning_rate.numpy(), 0.01, rtol=1e-6)
    np.testing.assert_allclose(layer.vars.hello.numpy(), 0.99, rtol=1e-6)


def test_gradient_adjuster_runs_after_regularisation_and_norm_before_clipping():
    # Lingvo's order: L2 -> global norm -> adjuster -> non-finite check -> clip by that norm.
    layer = _Layer()
    lrn = _Learner(l2_regularizer_weight=1.0, clip_gradient_norm_to_value=1.0)
    seen = []

    def Adjuster(var_grads):
        seen.append([float(g) for _, g in var_grads])
        return [(v, 10.0 * g) for v, g in var_grads]

    _, stats = lrn.Apply(
        lambda: 2.0 * layer.vars.hello + 1.0 * layer.vars.world,
        layer,
        step=0,
        gradient_adjuster=Adjuster,
    )
    # The adjuster sees the regularised gradients (2 + 1 * 1, 1 + 1 * 2) = (3, 3).
    assert seen == [[3.0, 3.0]]
    # The norm is the one measured before the adjustment, and it sets the clip scale ...
    np.testing.assert_allclose(stats.grad_norm.numpy(), math.sqrt(18.0), rtol=1e-6)
    np.testing.assert_allclose(stats.grad_scale.numpy(), 1.0 / math.sqrt(18.0), rtol=1e-6)
    # ... which scales the adjusted gradients (30, 30): each step is 0.1 * 30 / sqrt(18).
    delta = 0.1 * 30.0 / math.sqrt(18.0)
    np.testing.assert_allclose(layer.vars.hello.numpy(), 1.0 - delta, rtol=1e-6)
    np.testing.assert_allclose(layer.vars.world.numpy(), 2.0 - delta, rtol=1e-6)


def test_gradient_adjuster_output_is_checked_for_nonfinite_values():
    layer, lrn = _Layer(), _Learner()
    _, stats = lrn.Apply(
        lambda: layer.vars.hello + layer.vars.world,
        layer,
        step=0,
        gradient_adjuster=lambda var_grads: [(v, g * np.nan) for v, g in var_grads],
    )
    # The norm was finite when measured; the adjusted gradients are not, so the step is skipped.
    assert not stats.grad_norm_is_nan_or_inf.numpy() and stats.has_nan_or_inf.numpy()
    np.testing.assert_allclose(stats.grad_norm.numpy(), math.sqrt(2.0), rtol=1e-6)
    assert layer.vars.hello.numpy() == 1.0 and lrn.vars.num_nonfinite_steps.numpy() == 1


def test_gradient_adjuster_is_skipped_without_scale_gradients():
    # Lingvo calls the task's AdjustGradients from ScaleGradients only.
    layer, lrn = _Layer(), _Learner(scale_gradients=False)
    calls = []
    lrn.Apply(
        lambda: layer.vars.hello,
        layer,
        step=0,
        gradient_adjuster=lambda var_grads: calls.append(1) or var_grads,
    )
    assert not calls
    np.testing.assert_allclose(layer.vars.hello.numpy(), 0.9, rtol=1e-6)


def test_mutually_exclusive_clipping():
    try:
        _Learner(clip_gradient_norm_to_value=1.0, clip_gradient_single_norm_to_value=1.0)
    except ValueError as e:
        assert "mutually exclusive" in str(e)
    else:
        raise AssertionError("expected ValueError")


def test_ema_two_steps():
    layer = _Layer()
    avg = ema.ExponentialMovingAverage(0.9, use_num_updates=False)
    hello = layer.vars.hello
    hello.assign(0.5)
    avg.Apply(layer)
    # The shadow starts at 0.5 (the value when first created) and stays there.
    hello.assign(0.25)
    avg.Apply(layer)
    np.testing.assert_allclose(avg.Average(hello).numpy(), 0.9 * 0.5 + 0.1 * 0.25, rtol=1e-6)
    assert "m/hello/var/ExponentialMovingAverage" in avg.shadows
    theta = avg.AveragedTheta(layer)
    np.testing.assert_allclose(theta.hello.numpy(), 0.475, rtol=1e-6)


def test_ema_num_updates_caps_the_decay():
    v = tf.Variable(1.0, name="v")
    avg = ema.ExponentialMovingAverage(0.9)
    avg.Apply([v], step=0)
    v.assign(0.0)
    decay = avg.Apply([v], step=0)  # min(0.9, 1/10) = 0.1
    np.testing.assert_allclose(decay.numpy(), 0.1, rtol=1e-6)
    np.testing.assert_allclose(avg.Average(v).numpy(), 0.1, rtol=1e-6)
    v.assign(1.0)
    avg.Apply([v], step=90)  # min(0.9, 91/100) = 0.9
    np.testing.assert_allclose(avg.Average(v).numpy(), 0.9 * 0.1 + 0.1, rtol=1e-6)


def test_ema_with_schedule():
    v = tf.Variable(2.0, name="w")
    avg = ema.ExponentialMovingAverage(
        0.0, decay_schedule=schedule.Constant.Params().Set(value=0.5).Instantiate()
    )
    avg.Apply([v], step=0)
    v.assign(0.0)
    avg.Apply([v], step=1)
    np.testing.assert_allclose(avg.Average(v).numpy(), 1.0)


def _TracedAdamRun(fuse_update):
    """Five traced Adam steps with L2, clipping and a schedule; the third is non-finite."""
    layer = _Layer()
    lrn = _Learner(
        optimizer=optimizer.Adam.Params(),
        l2_regularizer_weight=0.01,
        clip_gradient_norm_to_value=0.5,
        lr_schedule=schedule.PiecewiseConstantSchedule.Params().Set(
            boundaries=[2], values=[1.0, 0.5]
        ),
        fuse_update=fuse_update,
    )
    scale = tf.Variable(1.0)

    @tf.function
    def Step(step):
        def Loss():
            return scale * (layer.vars.hello**2 - 3.0 * layer.vars.hello * layer.vars.world)

        return lrn.Apply(Loss, layer, step=step)[1]

    history = []
    for i in range(5):
        scale.assign(np.nan if i == 2 else 1.0 + i)
        stats = Step(tf.constant(i, tf.int64))
        history.append({k: float(v.numpy()) for k, v in stats.items()})
        history[-1].update(hello=float(layer.vars.hello.numpy()))
        history[-1].update(world=float(layer.vars.world.numpy()))
    return history, Step.get_concrete_function(tf.constant(0, tf.int64)).graph


def _CompiledCalls(graph):
    """The function calls of `graph` that XLA must compile."""
    calls = []
    for op in graph.get_operations():
        if op.type in ("PartitionedCall", "StatefulPartitionedCall"):
            try:
                if op.get_attr("_XlaMustCompile"):
                    calls.append(op.name)
            except ValueError:  # no such attribute: a plain call
                pass
    return calls


def test_fused_update_matches_the_op_by_op_update():
    fused, fused_graph = _TracedAdamRun(True)
    plain, plain_graph = _TracedAdamRun(False)
    assert _CompiledCalls(fused_graph) and not _CompiledCalls(plain_graph)
    assert fused[2]["has_nan_or_inf"] == 1.0 and fused[2]["num_nonfinite_steps"] == 1.0
    assert fused[2]["hello"] == fused[1]["hello"]  # the non-finite step changed nothing
    assert fused[4]["hello"] != fused[3]["hello"]  # later steps train again
    for got, want in zip(fused, plain, strict=True):
        assert set(got) == set(want)
        for key, value in want.items():
            if math.isnan(value):
                assert math.isnan(got[key]), key
            else:
                np.testing.assert_allclose(got[key], value, rtol=1e-6, atol=1e-7, err_msg=key)
