"""Tests that importing lingvo.core teaches Params text and copies about TF and numpy values."""

import numpy as np
import pytest
import tensorflow as tf

import lingvo.core  # noqa: F401  (registers the codecs)
from lingvo.core import hyperparams


def _params(**values):
    p = hyperparams.Params()
    for name, value in values.items():
        p.Define(name, value, f"The {name}.")
    return p


def test_dtype_round_trips_through_text():
    p = _params(dtype=tf.float32, fprop_dtype=tf.bfloat16)
    text = p.ToText()
    assert "dtype : float32\n" in text
    assert "fprop_dtype : bfloat16\n" in text
    q = _params(dtype=tf.int32, fprop_dtype=tf.float32)
    q.FromText(text)
    assert q.dtype is tf.float32
    assert q.fprop_dtype is tf.bfloat16


def test_dtype_override_from_text_and_bad_name():
    p = _params(dtype=tf.float32)
    p.FromText("dtype : int64")
    assert p.dtype is tf.int64
    with pytest.raises(ValueError, match="dtype"):
        p.FromText("dtype : float33")


def test_numpy_values_round_trip_on_one_line():
    p = _params(
        table=np.array([[1.5, 2.0], [3.0, 4.25]], dtype=np.float32),
        scale=np.float32(0.5),
        count=np.int64(7),
    )
    text = p.ToText()
    assert "table : [[1.5, 2.0], [3.0, 4.25]]\n" in text
    assert "scale : 0.5\n" in text
    assert "count : 7\n" in text
    q = _params(table=np.zeros((1, 1), np.float32), scale=np.float32(0), count=np.int64(0))
    q.FromText(text)
    np.testing.assert_array_equal(q.table, p.table)
    assert q.table.dtype == np.float32
    assert type(q.scale) is np.float32 and q.scale == np.float32(0.5)
    assert type(q.count) is np.int64 and q.count == 7


def test_copy_shares_tensors_and_copies_arrays():
    tensor = tf.constant([1.0, 2.0])
    array = np.arange(3)
    p = _params(tensor=tensor, array=array)
    q = p.Copy()
    assert q.tensor is tensor
    assert q.array is not array
    np.testing.assert_array_equal(q.array, array)


def test_tensor_text_is_refused_on_read():
    p = _params(tensor=tf.constant(1.0))
    with pytest.raises(ValueError, match="tensor"):
        p.FromText("tensor : EagerTensor")
