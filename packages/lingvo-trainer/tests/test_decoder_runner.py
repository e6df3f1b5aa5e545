"""Tests of the decoder job's tracing: one trace for batches of every shape."""

import types

import numpy as np
import tensorflow as tf

from lingvo.core.nested_map import NestedMap
from lingvo.trainer.runners import decoder


def _Runner(step):
    traces = []

    def Traced(batch):
        traces.append(batch.ids.shape)
        return step(batch)

    fn = tf.function(Traced, autograph=False, reduce_retracing=True)
    return types.SimpleNamespace(_fn=fn, name="decoder_test"), traces


def _Batch(batch_size, length):
    ids = np.arange(batch_size * length, dtype=np.int32).reshape(batch_size, length)
    return NestedMap(ids=tf.constant(ids), paddings=tf.zeros([batch_size, length]))


def _Decode(runner, batch):
    decoder.Decoder._TraceOnce(runner, batch)
    return runner._fn(batch)


def test_one_trace_serves_every_batch_shape():
    # Length buckets, then the smaller last batches: without the relaxed first trace,
    # reduce_retracing would trace three times (concrete, [16, None], [None, None]).
    runner, traces = _Runner(lambda b: tf.reduce_sum(b.ids, axis=1))
    for batch_size, length in ((16, 25), (16, 19), (15, 10), (2, 49)):
        out = _Decode(runner, _Batch(batch_size, length))
        assert out.shape == (batch_size,)
        np.testing.assert_array_equal(out, np.sum(_Batch(batch_size, length).ids, axis=1))
    assert runner._traced_relaxed is True
    assert [s.as_list() for s in traces] == [[None, None]]


def test_a_step_that_needs_static_shapes_keeps_per_shape_traces():
    def NeedsStaticBatch(b):
        rows = int(b.ids.shape[0])  # a TypeError while the batch is unknown
        return tf.reshape(b.ids, [rows, -1])[:, 0]

    runner, traces = _Runner(NeedsStaticBatch)
    out = _Decode(runner, _Batch(4, 3))
    np.testing.assert_array_equal(out, [0, 3, 6, 9])
    assert runner._traced_relaxed is False
    assert traces[-1].as_list() == [4, 3]
