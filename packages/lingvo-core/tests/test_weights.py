"""Tests of `WeightInit`, `WeightParams` and seeded variable creation."""

import math

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import py_utils, weights
from lingvo.core.weights import WeightInit, WeightParams

# [fan_in, fan_out] = [200, 300]; 60,000 samples make mean/std estimates good to ~1%.
BIG = [200, 300]


def _Value(init, shape=BIG, name="t/w", dtype=tf.float32, default_seed=None):
    var = weights.CreateVariable(name, WeightParams(shape, init, dtype), default_seed=default_seed)
    return var.numpy()


def _Std(lo, hi):
    return (hi - lo) / math.sqrt(12.0)


# Truncating N(0, 1) at ±2 leaves a standard deviation of about 0.8796.
_TRUNC = 0.8796

STATS = {
    "gaussian": (WeightInit.Gaussian(0.5), 0.5),
    "uniform": (WeightInit.Uniform(0.5), _Std(-0.5, 0.5)),
    "uniform_positive": (WeightInit.UniformPositive(0.5), _Std(0, 0.5)),
    "xavier": (WeightInit.Xavier(2.0), 2.0 * _Std(-1, 1) * math.sqrt(6.0 / 500)),
    "geo_mean_xavier": (
        WeightInit.GeoMeanXavier(1.0),
        _Std(-1, 1) * math.sqrt(3.0 / math.sqrt(200 * 300)),
    ),
    "truncated_gaussian": (WeightInit.TruncatedGaussian(0.5), 0.5 * _TRUNC),
    "gaussian_sqrt_dim": (WeightInit.GaussianSqrtDim(2.0), 2.0 / math.sqrt(200)),
    "gaussian_sqrt_fanin": (WeightInit.GaussianSqrtFanIn(2.0), 2.0 / math.sqrt(200)),
    "gaussian_sqrt_fanout": (WeightInit.GaussianSqrtFanOut(2.0), 2.0 / math.sqrt(300)),
    "gaussian_sqrt_fanavg": (WeightInit.GaussianSqrtFanAvg(2.0), 2.0 * math.sqrt(2.0 / 500)),
    "uniform_sqrt_dim": (WeightInit.UniformSqrtDim(2.0), _Std(-1, 1) * 2.0 / math.sqrt(200)),
    "uniform_unit_scaling": (
        WeightInit.UniformUnitScaling(2.0),
        _Std(-1, 1) * 2.0 * math.sqrt(3.0 / 200),
    ),
    "uniform_unit_scaling_fan_avg": (
        WeightInit.UniformUnitScalingFanAvg(2.0),
        _Std(-1, 1) * math.sqrt(3.0 * 2.0 / 250),
    ),
    "truncated_gaussian_sqrt_dim": (
        WeightInit.TruncatedGaussianSqrtDim(2.0),
        _TRUNC * 2.0 / math.sqrt(200),
    ),
    "truncated_gaussian_sqrt_fanin": (
        WeightInit.TruncatedGaussianSqrtFanIn(2.0),
        _TRUNC * 2.0 / math.sqrt(200),
    ),
    "truncated_gaussian_sqrt_fanout": (
        WeightInit.TruncatedGaussianSqrtFanOut(2.0),
        _TRUNC * 2.0 / math.sqrt(300),
    ),
    "kaiming_uniform_fanin_relu": (
        WeightInit.KaimingUniformFanInRelu(),
        _Std(-1, 1) * math.sqrt(3.0) * math.sqrt(2.0) / math.sqrt(200),
    ),
    "kaiming_uniform_fanin_leakyrelu": (
        WeightInit.KaimingUniformFanInLeakyRelu(),
        _Std(-1, 1) * math.sqrt(3.0) * math.sqrt(2.0 / 6.0) / math.sqrt(200),
    ),
}


@pytest.mark.parametrize("method", sorted(STATS))
def test_initialiser_statistics(method):
    init, want_std = STATS[method]
    assert init.method == method
    v = _Value(init)
    assert v.shape == tuple(BIG) and v.dtype == np.float32
    want_mean = 0.25 if method == "uniform_positive" else 0.0
    assert abs(v.mean() - want_mean) < 0.02 * want_std + 1e-3 * (want_mean > 0)
    assert v.std() == pytest.approx(want_std, rel=0.02)


def test_uniform_bounds_exact():
    v = _Value(WeightInit.Xavier(1.0), shape=[20, 30])
    limit = math.sqrt(6.0 / 50)
    assert np.abs(v).max() <= limit
    assert np.abs(v).max() > 0.9 * limit
    assert _Value(WeightInit.UniformPositive(0.5), shape=[50]).min() >= 0.0


def test_truncated_gaussian_is_within_two_std():
    v = _Value(WeightInit.TruncatedGaussian(0.5), shape=[100, 100])
    assert np.abs(v).max() <= 1.0


def test_constant_category_custom():
    np.testing.assert_array_equal(_Value(WeightInit.Constant(-1.5), [2, 3]), np.full([2, 3], -1.5))
    ints = _Value(WeightInit.Constant(7), [3], dtype=tf.int32)
    np.testing.assert_array_equal(ints, [7, 7, 7])
    assert ints.dtype == np.int32
    cat = _Value(WeightInit.Category(3), [1000], dtype=tf.int32)
    assert set(np.unique(cat)) == {0, 1, 2}
    custom = _Value(WeightInit.CustomVarInit(lambda shape, dtype: tf.ones(shape, dtype) * 3), [2])
    np.testing.assert_array_equal(custom, [3.0, 3.0])
    const = _Value(WeightInit.CustomConstantVarInit(np.array([1.0, 2.0])), [3, 2])
    np.testing.assert_array_equal(const, [[1, 2]] * 3)


def test_delta_orthogonal():
    v = _Value(WeightInit.ScaledDeltaOrthogonal(2.0), shape=[3, 3, 4, 4])
    center = v[1, 1]
    np.testing.assert_allclose(center.T @ center, 4.0 * np.eye(4), atol=1e-5)
    v[1, 1] = 0
    assert not v.any()


def test_fan_in_fan_out_formulas():
    assert weights.GetFanInFanOut([]) == (None, None)
    assert weights.GetFanInFanOut([7]) == (7, 7)
    assert weights.GetFanInFanOut([3, 5]) == (3, 5)
    assert weights.GetFanInFanOut([2, 3, 4, 5]) == (24, 30)
    assert weights.GetFanInFanOut([9, 3, 5], combined_layers_dims=1) == (3, 5)


def test_xavier_needs_a_shape_and_scale_must_be_non_negative():
    with pytest.raises(ValueError, match="non-scalar"):
        _Value(WeightInit.Xavier(), shape=[])
    with pytest.raises(ValueError, match="scale >= 0"):
        _Value(WeightInit.Gaussian(-1.0), shape=[2])
    with pytest.raises(ValueError, match="static shape"):
        _Value(WeightInit.Gaussian(), shape=[2, 0])
    with pytest.raises(ValueError, match="floating"):
        _Value(WeightInit.Gaussian(), shape=[2], dtype=tf.int32)


def test_weight_init_is_frozen_and_default_recognised():
    init = WeightInit.Gaussian(2.0, seed=3)
    assert list(init.GetKeys()) == ["method", "scale", "seed", "custom_v_init"]
    with pytest.raises(TypeError, match="immutable"):
        init.scale = 1.0
    editable = init.Copy()
    assert editable.IsFrozen()  # copies stay frozen, as in Lingvo
    assert py_utils.IsDefaultParamInit(py_utils.DefaultParamInit())
    assert py_utils.DefaultParamInit().scale == pytest.approx(1.000001)
    assert not py_utils.IsDefaultParamInit(WeightInit.Xavier(1.0))
    assert WeightInit.Constant(2.0).seed == 0
    fixup = WeightInit.XavierWithFixupParams(2.0, depth=16.0, layers_per_residual_block=2.0)
    assert fixup.scale == pytest.approx(2.0 * 16.0 ** (-0.25))


def test_weight_params_fields():
    wp = WeightParams([2, 3])
    assert wp.GetKeys() == [
        "dtype",
        "shape",
        "init",
        "collections",
        "device_mesh",
        "tensor_split_dims_mapping",
        "repeat_prefix",
        "repeat_prefix_split_dims_mapping",
    ]
    assert wp.dtype == tf.float32 and wp.collections == []
    assert py_utils.IsDefaultParamInit(wp.init)
    wp.shape = [4, 5]  # WeightParams are mutable
    assert WeightParams([2, 3], device_mesh=np.arange(2)).tensor_split_dims_mapping == [-1, -1]
    with pytest.raises(ValueError, match="one entry per dimension"):
        WeightParams([2, 3], tensor_split_dims_mapping=[0])


def test_repeat_prefix_prepends_dims_and_fans_skip_them():
    wp = WeightParams([20, 30], WeightInit.Xavier(1.0))
    wp.repeat_prefix = [4]
    var = weights.CreateVariable("t/w", wp)
    assert var.shape == (4, 20, 30)
    assert np.abs(var.numpy()).max() <= math.sqrt(6.0 / 50)


def test_seeding_is_reproducible_and_path_dependent():
    init = WeightInit.Gaussian(1.0)
    a = _Value(init, [4, 4], name="m/a/w")
    np.testing.assert_array_equal(a, _Value(init, [4, 4], name="m/a/w"))
    assert not np.array_equal(a, _Value(init, [4, 4], name="m/b/w"))
    assert not np.array_equal(a, _Value(init, [4, 4], name="m/a/w", default_seed=1))
    seeded = WeightInit.Gaussian(1.0, seed=5)
    np.testing.assert_array_equal(
        _Value(seeded, [4], default_seed=1), _Value(seeded, [4], default_seed=2)
    )


def test_seed_from_name_is_process_independent():
    # md5-based, unlike Python's salted hash(): these numbers hold in every process.
    assert weights.GenerateSeedFromName("model/fc/w") == 1786909592
    assert weights.GenerateSeedFromName("") == 484934813


def test_initial_values_are_pinned():
    # Philox stateless streams are specified by TF; a change here changes every model init.
    v = _Value(WeightInit.Gaussian(1.0, seed=1), [3], name="model/fc/w")
    np.testing.assert_allclose(v, GOLDEN_GAUSSIAN, rtol=1e-5)


GOLDEN_GAUSSIAN = [-0.134324312210083, 0.6930279731750488, 0.7627248167991638]
