"""Lingvo's `Hypothesis` protocol buffer, built at import time without protoc."""

from __future__ import annotations

from typing import Any

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PACKAGE = "tensorflow.lingvo"
FILE_NAME = "lingvo/core/ops/hyps.proto"

_F = descriptor_pb2.FieldDescriptorProto


def _Field(
    message: descriptor_pb2.DescriptorProto,
    name: str,
    number: int,
    field_type: int,
    label: int,
    type_name: str = "",
    packed: bool = False,
) -> None:
    field = message.field.add(name=name, number=number, type=field_type, label=label)
    field.json_name = "".join(
        part if i == 0 else part.capitalize() for i, part in enumerate(name.split("_"))
    )
    if type_name:
        field.type_name = type_name
    if packed:
        field.options.packed = True


def _BuildFileDescriptorProto() -> descriptor_pb2.FileDescriptorProto:
    """The `FileDescriptorProto` of Lingvo's `hyps.proto` (proto2, package tensorflow.lingvo)."""
    fdp = descriptor_pb2.FileDescriptorProto(name=FILE_NAME, package=PACKAGE, syntax="proto2")
    hyp = fdp.message_type.add(name="Hypothesis")
    atten = hyp.nested_type.add(name="AttenVec")
    _F_opt, _F_rep = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
    _Field(atten, "prob", 1, _F.TYPE_FLOAT, _F_rep, packed=True)
    _Field(hyp, "beam_id", 1, _F.TYPE_INT32, _F_opt)
    _Field(hyp, "ids", 2, _F.TYPE_INT32, _F_rep, packed=True)
    _Field(hyp, "scores", 3, _F.TYPE_FLOAT, _F_rep, packed=True)
    _Field(
        hyp, "atten_vecs", 4, _F.TYPE_MESSAGE, _F_rep, type_name=f".{PACKAGE}.Hypothesis.AttenVec"
    )
    _Field(hyp, "normalized_score", 5, _F.TYPE_FLOAT, _F_opt)
    return fdp


FILE_DESCRIPTOR_PROTO = _BuildFileDescriptorProto()
# A private pool: the default pool may already hold a `hyps.proto` (from Lingvo itself, or a
# second copy of this module), and adding a differing file there raises.
_POOL = descriptor_pool.DescriptorPool()
_FILE_DESCRIPTOR = _POOL.Add(FILE_DESCRIPTOR_PROTO)
Hypothesis: Any = message_factory.GetMessageClass(
    _POOL.FindMessageTypeByName(f"{PACKAGE}.Hypothesis")
)
AttenVec: Any = Hypothesis.AttenVec


def FileDescriptorSetBytes() -> bytes:
    """The serialized `FileDescriptorSet` holding `hyps.proto`.

    `tf.io.encode_proto` / `decode_proto` take it as `descriptor_source="bytes://" + it`, so
    graphs can build and read `Hypothesis` strings without Python.

    Returns:
      The serialized `google.protobuf.FileDescriptorSet`.
    """
    fds = descriptor_pb2.FileDescriptorSet()
    fds.file.add().CopyFrom(FILE_DESCRIPTOR_PROTO)
    return fds.SerializeToString()


def HypsFromArrays(
    ids: Any,
    lens: Any,
    scores: Any,
    atten_probs: Any | None,
    normalized_scores: Any | None,
    beam_ids: Any | None = None,
    atten_vecs: bool = True,
) -> np.ndarray:
    """Serializes n-best arrays (`ops.top_k_terminated_hyps`' layout) as `Hypothesis` protos.

    Row `[b, j]` becomes a proto with `beam_id = b` (or `beam_ids[b, j]`), the first
    `lens[b, j]` ids and scores, one `AttenVec` per step (when `atten_vecs`) and
    `normalized_score`; a row with `lens == 0` becomes the empty string, Lingvo's "no hyp".

    Args:
      ids: int [B, k, T] token ids, the terminal symbol included.
      lens: int [B, k] hyp lengths; 0 = no hyp.
      scores: float [B, k, T] per-step scores.
      atten_probs: float [B, k, T, S] per-step attention, or None (no attention).
      normalized_scores: float [B, k] the final scores, or None to leave the field unset.
      beam_ids: int [B, k] beam ids, or None for the row's beam index.
      atten_vecs: Whether to write `atten_vecs` (Lingvo's `atten_vecs_in_hypothesis_protos`).

    Returns:
      An object array of bytes shaped [B, k].

    Raises:
      ValueError: If the shapes disagree.
    """
    ids = np.asarray(ids)
    lens = np.asarray(lens)
    scores = np.asarray(scores, np.float32)
    if ids.ndim != 3 or lens.shape != ids.shape[:2] or scores.shape != ids.shape:
        raise ValueError(
            f"HypsFromArrays expects ids and scores [B, k, T] and lens [B, k]; got ids "
            f"{ids.shape}, lens {lens.shape}, scores {scores.shape}"
        )
    num_beams, k, width = ids.shape
    if atten_probs is not None:
        atten_probs = np.asarray(atten_probs, np.float32)
        if atten_probs.ndim != 4 or atten_probs.shape[:3] != ids.shape:
            raise ValueError(f"atten_probs must be [B, k, T, S]; got {atten_probs.shape}")
    out = np.empty([num_beams, k], dtype=object)
    for b in range(num_beams):
        for j in range(k):
            n = int(lens[b, j])
            if n <= 0:
                out[b, j] = b""
                continue
            if n > width:
                raise ValueError(f"lens[{b}, {j}] = {n} is longer than the rows ({width})")
            hyp = Hypothesis()
            hyp.beam_id = int(b if beam_ids is None else np.asarray(beam_ids)[b, j])
            hyp.ids.extend(int(x) for x in ids[b, j, :n])
            hyp.scores.extend(float(x) for x in scores[b, j, :n])
            if atten_vecs:
                for step in range(n):
                    vec = hyp.atten_vecs.add()
                    if atten_probs is not None:
                        vec.prob.extend(float(x) for x in atten_probs[b, j, step])
            if normalized_scores is not None:
                hyp.normalized_score = float(np.asarray(normalized_scores)[b, j])
            out[b, j] = hyp.SerializeToString()
    return out


def ArraysFromHyps(
    serialized: Any, max_seq_length: int = 0, src_len: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parses `Hypothesis` protos back into n-best arrays; the inverse of `HypsFromArrays`.

    Args:
      serialized: bytes [B, k] (array-like; `tf.Tensor` of strings works too through numpy).
      max_seq_length: The width T of the rows; 0 = the longest hyp.
      src_len: The width S of the attention rows; None = the longest `AttenVec`.

    Returns:
      `(ids, lens, scores, atten_probs, normalized_scores, beam_ids)`: int32 [B, k, T],
      int32 [B, k], float32 [B, k, T], float32 [B, k, T, S], float32 [B, k] and int32 [B, k]
      (-1 where there is no hyp or no `beam_id`). Entries past `lens` are zero. Hyps longer
      than T are cut to T.
    """
    arr = np.asarray(serialized, dtype=object)
    if arr.ndim != 2:
        raise ValueError(f"ArraysFromHyps expects a [B, k] array of bytes; got shape {arr.shape}")
    protos = np.empty(arr.shape, dtype=object)
    for index, value in np.ndenumerate(arr):
        protos[index] = Hypothesis.FromString(bytes(value)) if value else None
    parsed = [p for p in protos.flat if p is not None]
    width = max_seq_length or max([len(p.ids) for p in parsed] + [0])
    if src_len is None:
        src_len = max([len(v.prob) for p in parsed for v in p.atten_vecs] + [0])
    ids = np.zeros((*arr.shape, width), np.int32)
    scores = np.zeros((*arr.shape, width), np.float32)
    atten = np.zeros((*arr.shape, width, src_len), np.float32)
    lens = np.zeros(arr.shape, np.int32)
    norm = np.zeros(arr.shape, np.float32)
    beam_ids = np.full(arr.shape, -1, np.int32)
    for index, hyp in np.ndenumerate(protos):
        if hyp is None:
            continue
        n = min(len(hyp.ids), width)
        lens[index] = n
        ids[index][:n] = list(hyp.ids)[:n]
        scores[index][: min(len(hyp.scores), width)] = list(hyp.scores)[:width]
        for step, vec in enumerate(list(hyp.atten_vecs)[:width]):
            probs = list(vec.prob)[:src_len]
            atten[index][step, : len(probs)] = probs
        norm[index] = hyp.normalized_score
        if hyp.HasField("beam_id"):
            beam_ids[index] = hyp.beam_id
    return ids, lens, scores, atten, norm, beam_ids


def EncodeHypsInGraph(
    ids: Any,
    lens: Any,
    scores: Any,
    atten_probs: Any | None,
    normalized_scores: Any,
    atten_vecs: bool = True,
) -> Any:
    """`HypsFromArrays` in TensorFlow ops (`tf.io.encode_proto`), usable in exported graphs.

    Args:
      ids: int32 Tensor [B, k, T].
      lens: int32 Tensor [B, k].
      scores: float32 Tensor [B, k, T].
      atten_probs: float32 Tensor [B, k, T, S], or None.
      normalized_scores: float32 Tensor [B, k].
      atten_vecs: Whether to write one `AttenVec` per step.

    Returns:
      A string Tensor [B, k] of serialized `Hypothesis` protos, "" where `lens == 0`; byte
      for byte what `HypsFromArrays` writes.
    """
    import tensorflow as tf

    source = b"bytes://" + FileDescriptorSetBytes()
    ids = tf.convert_to_tensor(ids, tf.int32)
    lens = tf.convert_to_tensor(lens, tf.int32)
    scores = tf.convert_to_tensor(scores, tf.float32)
    num_beams, k, width = tf.unstack(tf.shape(ids))
    m = num_beams * k
    flat_lens = tf.reshape(lens, [m])
    beam_ids = tf.reshape(tf.tile(tf.range(num_beams)[:, None], [1, k]), [m, 1])
    values = [beam_ids, tf.reshape(ids, [m, width]), tf.reshape(scores, [m, width])]
    names = ["beam_id", "ids", "scores"]
    sizes = [tf.ones([m], tf.int32), flat_lens, flat_lens]
    if atten_vecs:
        if atten_probs is None:
            probs = tf.zeros([m * width, 0], tf.float32)
        else:
            atten_probs = tf.convert_to_tensor(atten_probs, tf.float32)
            probs = tf.reshape(atten_probs, [m * width, tf.shape(atten_probs)[-1]])
        src_len = tf.shape(probs)[1]
        vecs = tf.io.encode_proto(
            tf.fill([m * width, 1], src_len),
            [probs],
            ["prob"],
            f"{PACKAGE}.Hypothesis.AttenVec",
            descriptor_source=source,
        )
        values.append(tf.reshape(vecs, [m, width]))
        names.append("atten_vecs")
        sizes.append(flat_lens)
    values.append(tf.reshape(tf.convert_to_tensor(normalized_scores, tf.float32), [m, 1]))
    names.append("normalized_score")
    sizes.append(tf.ones([m], tf.int32))
    encoded = tf.io.encode_proto(
        tf.stack(sizes, axis=1),
        values,
        names,
        f"{PACKAGE}.Hypothesis",
        descriptor_source=source,
    )
    encoded = tf.where(flat_lens > 0, encoded, tf.zeros_like(encoded))
    return tf.reshape(encoded, [num_beams, k])
