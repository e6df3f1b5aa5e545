"""Tests of the Hypothesis proto built without protoc, and the array <-> proto mapping."""

import numpy as np
import tensorflow as tf
from google.protobuf import descriptor_pb2

from lingvo import ops
from lingvo.core import hyps_pb


def test_descriptor_matches_lingvo_hyps_proto():
    fdp = hyps_pb.FILE_DESCRIPTOR_PROTO
    assert fdp.package == "tensorflow.lingvo" and fdp.syntax == "proto2"
    (hyp,) = fdp.message_type
    fields = {f.name: (f.number, f.type, f.label, f.options.packed) for f in hyp.field}
    F = descriptor_pb2.FieldDescriptorProto
    assert fields == {
        "beam_id": (1, F.TYPE_INT32, F.LABEL_OPTIONAL, False),
        "ids": (2, F.TYPE_INT32, F.LABEL_REPEATED, True),
        "scores": (3, F.TYPE_FLOAT, F.LABEL_REPEATED, True),
        "atten_vecs": (4, F.TYPE_MESSAGE, F.LABEL_REPEATED, False),
        "normalized_score": (5, F.TYPE_FLOAT, F.LABEL_OPTIONAL, False),
    }
    assert hyps_pb.Hypothesis.DESCRIPTOR.full_name == "tensorflow.lingvo.Hypothesis"
    assert hyps_pb.AttenVec.DESCRIPTOR.full_name == "tensorflow.lingvo.Hypothesis.AttenVec"


def test_wire_format_is_lingvos():
    hyp = hyps_pb.Hypothesis(beam_id=1, ids=[1, 2], scores=[0.5, -1.0], normalized_score=2.0)
    hyp.atten_vecs.add().prob.extend([0.25])
    data = hyp.SerializeToString()
    # beam_id varint, packed ids, packed scores, an AttenVec with packed probs, fixed32 score.
    assert data.startswith(b"\x08\x01\x12\x02\x01\x02\x1a\x08")
    assert b'"\x06\n\x04\x00\x00\x80>' in data
    back = hyps_pb.Hypothesis.FromString(data)
    assert back.HasField("beam_id") and not hyps_pb.Hypothesis().HasField("beam_id")


def RandomNBest(rng, beams=2, k=3, width=5, src=4):
    ids = rng.integers(0, 10, [beams, k, width]).astype(np.int32)
    lens = rng.integers(0, width + 1, [beams, k]).astype(np.int32)
    scores = rng.normal(size=[beams, k, width]).astype(np.float32)
    atten = rng.random([beams, k, width, src]).astype(np.float32)
    norm = rng.normal(size=[beams, k]).astype(np.float32)
    past = np.arange(width)[None, None] >= lens[..., None]
    ids[past], scores[past], atten[past] = 0, 0, 0
    norm[lens == 0] = 0
    return ids, lens, scores, atten, norm


def test_arrays_round_trip_losslessly():
    rng = np.random.default_rng(0)
    arrays = RandomNBest(rng)
    protos = hyps_pb.HypsFromArrays(*arrays)
    assert protos.shape == (2, 3)
    assert all((p == b"") == (n == 0) for p, n in zip(protos.flat, arrays[1].flat, strict=False))
    back = hyps_pb.ArraysFromHyps(protos, max_seq_length=5, src_len=4)
    for want, got in zip(arrays, back, strict=False):
        np.testing.assert_array_equal(got, want)
    beam_ids = back[5]
    np.testing.assert_array_equal(beam_ids[arrays[1] > 0], np.nonzero(arrays[1] > 0)[0])


def test_graph_encoder_is_byte_identical():
    rng = np.random.default_rng(1)
    arrays = RandomNBest(rng)
    want = hyps_pb.HypsFromArrays(*arrays)
    got = tf.function(hyps_pb.EncodeHypsInGraph)(*arrays).numpy()
    assert list(got.flat) == list(want.flat)
    no_atten = hyps_pb.EncodeHypsInGraph(*arrays, atten_vecs=False).numpy()
    assert list(no_atten.flat) == list(hyps_pb.HypsFromArrays(*arrays, atten_vecs=False).flat)


def test_top_k_terminated_hyps_reference_as_protos():
    """Spec testTopKTerminatedHypsOp: the ops' arrays become Lingvo's protos."""
    from lingvo.core.tf1_random import Tf1Uniform

    s0 = Tf1Uniform([8, 5], 398849988, 12345)
    atten = s0.reshape(-1)[:24].reshape(8, 3)
    state = [
        np.zeros([2], np.float32),
        np.zeros([8], np.float32),
        np.zeros([2, 8], np.float32),
        np.zeros([2, 8], np.int32),
        np.zeros([2, 8], np.int32),
        np.full([2, 8], -1, np.int32),
        np.zeros([2, 8], np.float32),
        np.zeros([2, 8], np.float32),
        np.zeros([2, 8, 3], np.float32),
        np.zeros([2, 8, 3], np.float32),
        np.zeros([2], bool),
    ]
    for t in range(2):
        state = list(
            ops.beam_search_step(
                s0, atten, *state, None, t, eos_id=2, beam_size=3.0, num_hyps_per_beam=4
            )[:11]
        )
    topk = ops.top_k_terminated_hyps(
        *state[2:10],
        np.array([3, 3], np.int32),
        k=2,
        num_hyps_per_beam=4,
        length_normalization=0.2,
        coverage_penalty=0.2,
    )
    protos = hyps_pb.HypsFromArrays(*topk[:4], topk[4])
    first = hyps_pb.Hypothesis.FromString(protos[0, 0])
    assert first.beam_id == 0 and list(first.ids) == [1, 2]
    np.testing.assert_allclose(first.scores, [0.86230338, 0.65504861], rtol=1e-6)
    for vec in first.atten_vecs:
        np.testing.assert_allclose(vec.prob, [0.45372832, 0.86230338, 0.65504861], rtol=1e-6)
    np.testing.assert_allclose(first.normalized_score, 1.002714, rtol=1e-5)
    last = hyps_pb.Hypothesis.FromString(protos[1, 1])
    assert last.beam_id == 1 and list(last.ids) == [3, 2]
    np.testing.assert_allclose(last.scores, [0.38127339, 0.57700801], rtol=1e-6)
    np.testing.assert_allclose(last.atten_vecs[1].prob, [0.18693292, 0.17821217, 0.66380036])
    np.testing.assert_allclose(last.normalized_score, 0.480028, rtol=1e-5)
