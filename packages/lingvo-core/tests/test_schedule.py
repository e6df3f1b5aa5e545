"""Tests of the learning-rate schedules against Lingvo's reference values."""

import math

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import run_mode, schedule


def _Values(p, steps):
    s = p.Instantiate()
    return np.array([s.Value(step).numpy() for step in steps])


def test_constant_and_constant_one():
    assert schedule.Constant.Params().Set(value=5.0).Instantiate().Value(123).numpy() == 5.0
    assert schedule.ConstantOne.Params().Instantiate().Value(0).numpy() == 1.0


def test_default_name_and_params_text():
    p = schedule.TransformerSchedule.Params()
    assert p.name == "LRSched"
    assert "warmup_steps : 4000" in p.ToText()


def test_piecewise_constant():
    p = schedule.PiecewiseConstantSchedule.Params().Set(
        boundaries=[300000, 400000, 500000], values=[1.0, 0.1, 0.01, 0.001]
    )
    got = _Values(p, [0, 299999, 300000, 399999, 499999, 500000, 599999])
    np.testing.assert_allclose(got, [1, 1, 0.1, 0.1, 0.01, 0.001, 0.001], rtol=1e-6)


def test_piecewise_constant_checks_lengths():
    with pytest.raises(ValueError, match="len\\(values\\)"):
        schedule.PiecewiseConstantSchedule.Params().Set(boundaries=[1], values=[1.0]).Instantiate()


def test_continuous_schedule():
    p = schedule.ContinuousSchedule.Params().Set(start_step=1000, half_life_steps=100, min=0.1)
    got = _Values(p, [0, 500, 1000, 1100, 1200, 1300, 1400, 2000])
    np.testing.assert_allclose(got, [1, 1, 1, 0.5, 0.25, 0.125, 0.1, 0.1], rtol=1e-5)
    p.initial_value = 2.0
    np.testing.assert_allclose(_Values(p, [0, 1100, 2000]), [2, 1, 0.2], rtol=1e-5)


def test_stepwise_exponential():
    p = schedule.StepwiseExponentialSchedule.Params().Set(decay=0.5, num_steps_per_decay=1000)
    got = _Values(p, [0, 999, 1000, 1999, 2000])
    np.testing.assert_allclose(got, [1, 1, 0.5, 0.5, 0.25])


def test_transformer_schedule():
    p = schedule.TransformerSchedule.Params().Set(warmup_steps=4000, model_dim=512)
    got = _Values(p, [0, 1000, 2000, 3000, 4000, 4500, 5000])
    want = [1.74693e-07, 1.74867e-4, 3.4956e-4, 5.24253e-4, 6.98684e-4, 6.58735e-4, 6.24937e-4]
    np.testing.assert_allclose(got, want, rtol=1e-4)


def test_transformer_schedule_decay_factor():
    p = schedule.TransformerSchedule.Params().Set(decay_factor=-0.8)
    got = _Values(p, [0, 4000, 5000])
    np.testing.assert_allclose(got, [1.450966e-08, 5.802700e-05, 4.854221e-05], rtol=1e-4)


def test_transformer_schedule_decay_end_and_cyclical():
    p = schedule.TransformerSchedule.Params().Set(decay_end=5000)
    got = _Values(p, [5000, 6000, 10000])
    np.testing.assert_allclose(got, [6.24937e-4] * 3, rtol=1e-4)
    p = schedule.TransformerSchedule.Params().Set(cyclical_step=5000)
    np.testing.assert_allclose(_Values(p, [1000, 6000]), [1.74867e-4] * 2, rtol=1e-4)


def test_transformer_mlperf_schedule():
    p = schedule.TransformerMLPerfSchedule.Params().Set(warmup_init_fraction=0.3)
    peak = 6.98684e-4
    for step in [0, 1000, 2000]:
        got = p.Instantiate().Value(step).numpy()
        want = peak * (0.3 + 0.7 * step / 4000.0)
        np.testing.assert_allclose(got, want, rtol=3e-4)
    np.testing.assert_allclose(
        _Values(p, [4000, 5000]), [512**-0.5 * 4000**-0.5, 512**-0.5 * 5000**-0.5], rtol=1e-4
    )


def test_transformer_schedule_no_warmup():
    p = schedule.TransformerScheduleNoWarmUp.Params()
    got = _Values(p, [0, 2000, 4000, 16000])
    np.testing.assert_allclose(got, [6.98684e-4] * 3 + [6.98684e-4 / 2], rtol=1e-3)


def test_polynomial_schedule():
    p = schedule.PolynomialSchedule.Params().Set(power=2, start=(0, 0.0), limit=(20, 2.0))
    np.testing.assert_allclose(_Values(p, [0, 10, 20, 30]), [0, 0.5, 2, 2], rtol=1e-6)
    p.origin = "limit"
    got = _Values(p, [0, 5, 10, 15, 20])
    np.testing.assert_allclose(got, [0, 0.875, 1.5, 1.875, 2], rtol=1e-6)


def test_exponential_schedule():
    p = schedule.ExponentialSchedule.Params().Set(start=(100, 8.0), limit=(400, 1.0))
    np.testing.assert_allclose(_Values(p, [0, 200, 300, 400, 500]), [8, 4, 2, 1, 1], rtol=1e-5)


def _NumSplitParams(**kwargs):
    return schedule.LinearRampupExponentialDecayScaledByNumSplitSchedule.Params().Set(
        warmup=250000, decay_start=32000000, decay_end=64000000, min=0.5, num_splits=8, **kwargs
    )


_MILLIONS = [i * 1000000 for i in range(10)]


def test_linear_rampup_exponential_decay_scaled_by_num_split():
    got = _Values(_NumSplitParams(), _MILLIONS)
    np.testing.assert_allclose(got, [1, 4.5, 8, 8, 8, 4, 2, 1, 0.5, 0.5], rtol=1e-5)
    got = _Values(_NumSplitParams(max=5.0), _MILLIONS)
    np.testing.assert_allclose(got, [1, 4.5, 5, 5, 5, 4, 2, 1, 0.5, 0.5], rtol=1e-5)
    got = _Values(_NumSplitParams(warmup_init=0.0), _MILLIONS[:3])
    np.testing.assert_allclose(got, [0, 4, 8], rtol=1e-5, atol=1e-7)


def test_linear_rampup_exponential_decay_no_warmup():
    p = _NumSplitParams().Set(warmup=0)
    got = _Values(p, _MILLIONS)
    np.testing.assert_allclose(got, [8, 8, 8, 8, 8, 4, 2, 1, 0.5, 0.5], rtol=1e-5)


def test_combined_minimum_matches_num_split_schedule():
    lin = schedule.LinearSchedule.Params
    p = schedule.CombinedMinimumSchedule.Params().Set(
        schedules=[
            lin().Set(start=(0, 1.0), limit=(2000000, 8.0)),
            lin().Set(start=(2000000, 8.0), limit=(4000000, 8.0)),
            schedule.ExponentialSchedule.Params().Set(start=(4000000, 8.0), limit=(8000000, 0.5)),
        ]
    )
    got = _Values(p, _MILLIONS)
    np.testing.assert_allclose(got, [1, 4.5, 8, 8, 8, 4, 2, 1, 0.5, 0.5], rtol=1e-5)


def test_linear_rampup_exponential_decay_one_split():
    p = schedule.LinearRampupExponentialDecay.Params().Set(
        warmup=100, decay_start=200, decay_end=300, min=0.25
    )
    np.testing.assert_allclose(
        _Values(p, [0, 50, 100, 200, 250, 300, 400]), [0, 0.5, 1, 1, 0.5, 0.25, 0.25], rtol=1e-5
    )


def test_linear_rampup_sqrt_decay():
    p = schedule.LinearRampupSqrtDecay.Params().Set(warmup_steps=100, peak=2.0)
    got = _Values(p, [0, 10, 50, 100, 200, 500, 1000])
    np.testing.assert_allclose(got, [0.02, 0.2, 1, 2, 1.414214, 0.894427, 0.632456], rtol=1e-5)


def test_linear_rampup_sqrt_decay_by_batch_size_and_replicas():
    p = schedule.LinearRampupSqrtDecayByBatchSizeAndReplicas.Params().Set(
        warmup_examples=6400, batch_size=32, num_replicas=2
    )
    got = _Values(p, [-1, 49, 99, 399, 1599])
    np.testing.assert_allclose(got, [0, 0.05, 0.1, 0.05, 0.025], rtol=1e-5)


def test_linear_rampup_piecewise_constant():
    p = schedule.LinearRampupPiecewiseConstantSchedule.Params().Set(
        boundaries=[40, 64, 80, 96], lrs=[1.0, 0.1, 0.01, 0.001], num_splits=8
    )
    got = _Values(p, range(15))
    want = [0, 1.6, 3.2, 4.8, 6.4, 8, 8, 8, 0.8, 0.8, 0.08, 0.08, 0.008, 0.008, 0.008]
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_cosine_schedule():
    p = schedule.CosineSchedule.Params().Set(initial_value=3.0, final_value=1.0, total_steps=400000)
    got = _Values(p, [0, 100000, 200000, 300000, 400000, 500000])
    want = [3, math.cos(math.pi / 4) + 2, 2, math.cos(3 * math.pi / 4) + 2, 1, 1]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    p.cyclical = True
    np.testing.assert_allclose(
        _Values(p, [399999, 400000, 500000]), [1, 3, math.cos(math.pi / 4) + 2], rtol=1e-5
    )


def test_linear_rampup_cosine_schedule():
    p = schedule.LinearRampupCosineSchedule.Params().Set(
        warmup_steps=100, initial_value=2.0, final_value=0.0, total_steps=1000
    )
    got = _Values(p, [0, 50, 100, 500, 1000])
    np.testing.assert_allclose(got, [0, 1, 1.0 + math.cos(math.pi / 10), 1, 0], atol=1e-5)


def test_ema_decay_schedule():
    p = schedule.EmaDecaySchedule.Params()
    got = _Values(p, range(0, 125001, 25000))
    want = [0.1, 0.99964017, 0.99982005, 0.99988, 0.9999, 0.9999]
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_piecewise_schedule():
    cos = schedule.CosineSchedule.Params().Set(initial_value=2.0, final_value=0.0, total_steps=4)
    p = schedule.PiecewiseSchedule.Params().Set(
        boundaries=[2],
        schedules=[schedule.LinearSchedule.Params().Set(start=(0, 0.0), limit=(2, 2.0)), cos],
    )
    got = _Values(p, range(7))
    want = [0, 1, 2, math.cos(math.pi / 4) + 1, 1, math.cos(3 * math.pi / 4) + 1, 0]
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_cycle_schedule_relative_and_absolute():
    lin = schedule.LinearSchedule.Params().Set(start=(0, 0.0), limit=(10, 10.0))
    const = schedule.Constant.Params().Set(value=-1.0)
    p = schedule.CycleSchedule.Params().Set(schedules=[lin, const], steps=[3, 2])
    np.testing.assert_allclose(_Values(p, range(8)), [0, 1, 2, -1, -1, 5, 6, 7])
    p.pass_absolute_step = False
    np.testing.assert_allclose(_Values(p, range(8)), [0, 1, 2, -1, -1, 0, 1, 2])


def test_annealing_schedule():
    p = schedule.AnnealingSchedule.Params().Set(factor=0.8, lower_bound=0.5)
    np.testing.assert_allclose(_Values(p, range(5)), [1, 0.8, 0.64, 0.512, 0.5], rtol=1e-6)


def test_inverse_sigmoid():
    p = schedule.InverseSigmoid.Params().Set(k=10000)
    got = _Values(p, range(0, 175001, 25000))
    want = [0.9999, 0.998783, 0.985376, 0.84688, 0.312242, 0.035928, 0.00305, 0.000251]
    np.testing.assert_allclose(got, want, rtol=2e-3)


def test_sqrt_decay_and_sqrt_decay_to_zero():
    p = schedule.SqrtDecay.Params().Set(warmup_steps=100, multiplier=2.0, offset=10)
    np.testing.assert_allclose(_Values(p, [0, 110, 410]), [0.2, 0.2, 0.1], rtol=1e-6)
    p = schedule.SqrtDecayToZero.Params().Set(warmup_steps=100, starting_lr=1.0, final_steps=400)
    np.testing.assert_allclose(_Values(p, [0, 100, 400, 900]), [1, 1, 0, -1 / 3], atol=1e-6)


def test_linear_rampup_decay():
    p = schedule.LinearRampupDecaySchedule.Params().Set(peak=10, end=30)
    np.testing.assert_allclose(_Values(p, [0, 5, 10, 20, 30, 40]), [0, 0.5, 1, 0.5, 0, 0])


def test_value_inside_tf_function_with_tensor_step():
    s = schedule.TransformerSchedule.Params().Instantiate()
    fn = tf.function(lambda step: s.Value(step))
    for step in [0, 4000, 5000]:
        eager = s.Value(step).numpy()
        np.testing.assert_allclose(fn(tf.constant(step, tf.int64)).numpy(), eager, rtol=1e-6)
    nested = (
        schedule.LinearRampupPiecewiseConstantSchedule.Params()
        .Set(boundaries=[40, 64], lrs=[1.0, 0.1], num_splits=8)
        .Instantiate()
    )
    fn = tf.function(lambda step: nested.Value(step))
    np.testing.assert_allclose(fn(tf.constant(9, tf.int64)).numpy(), 0.8, rtol=1e-6)


def test_value_defaults_to_the_global_step():
    s = (
        schedule.StepwiseExponentialSchedule.Params()
        .Set(decay=0.5, num_steps_per_decay=1)
        .Instantiate()
    )
    step = tf.Variable(3, dtype=tf.int64)
    run_mode.SetGlobalStep(step)
    try:
        assert s.Value().numpy() == 0.125
    finally:
        run_mode.SetGlobalStep(None)
