"""Writes and reads `tf.train.Example` TFRecord files, Lingvo's on-disk input format."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from lingvo import ops

__all__ = [
    "ExampleToDict",
    "FeatureSpec",
    "MakeExample",
    "ParseExample",
    "ReadExamples",
    "WriteExamples",
]


def _Feature(name: str, value: Any) -> tf.train.Feature:
    """One feature: ints -> int64_list, floats -> float_list, str/bytes -> bytes_list."""
    if isinstance(value, (str, bytes)):
        value = [value]
    if isinstance(value, (list, tuple)) and not value:
        raise ValueError(
            f"tf.Example feature {name!r}: an empty list has no type; pass a typed numpy array "
            "(int64, float32 or object of bytes)"
        )
    arr = np.asarray(value)
    if arr.ndim == 0:
        arr = arr.reshape([1])
    if arr.ndim != 1:
        raise ValueError(
            f"tf.Example feature {name!r}: expected a scalar or a 1-D list, got shape {arr.shape}"
        )
    if arr.dtype.kind in "biu":
        return tf.train.Feature(int64_list=tf.train.Int64List(value=arr.astype(np.int64)))
    if arr.dtype.kind == "f":
        return tf.train.Feature(float_list=tf.train.FloatList(value=arr.astype(np.float32)))
    if arr.dtype.kind in "SUO":
        items = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in arr.tolist()]
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=items))
    raise ValueError(
        f"tf.Example feature {name!r}: expected ints, floats or str/bytes, got {arr.dtype}"
    )


def MakeExample(features: Mapping[str, Any]) -> tf.train.Example:
    """Builds a `tf.train.Example` from a dict of values.

    Args:
      features: Feature name -> value: an int, float, str or bytes, or a 1-D list / numpy
        array of them. Integers (and bools) become int64 lists, floats float lists (stored
        as float32), str (UTF-8 encoded) and bytes become bytes lists. An empty list needs a
        typed numpy array.

    Returns:
      The example.

    Raises:
      ValueError: A value of another type or rank, naming the feature.
    """
    return tf.train.Example(
        features=tf.train.Features(feature={k: _Feature(k, v) for k, v in features.items()})
    )


def ExampleToDict(record: bytes | tf.train.Example) -> dict[str, np.ndarray]:
    """Decodes a serialized (or parsed) example into numpy arrays.

    Args:
      record: A serialized `tf.train.Example` or the proto itself.

    Returns:
      Feature name -> 1-D array: int64 for int64 lists, float32 for float lists, object
      (of bytes) for bytes lists.
    """
    example = record
    if isinstance(record, (bytes, bytearray)):
        example = tf.train.Example.FromString(bytes(record))
    out = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        if kind == "int64_list":
            out[name] = np.array(feature.int64_list.value, dtype=np.int64)
        elif kind == "float_list":
            out[name] = np.array(feature.float_list.value, dtype=np.float32)
        elif kind == "bytes_list":
            out[name] = np.array(list(feature.bytes_list.value), dtype=object)
        else:  # A feature without a list: Lingvo's parsers treat it as empty.
            out[name] = np.zeros([0], dtype=np.float32)
    return out


def WriteExamples(
    path: str,
    examples: Iterable[Mapping[str, Any] | tf.train.Example],
    gzip: bool = False,
) -> int:
    """Writes examples to one TFRecord file with the `lingvo.ops` writer.

    Args:
      path: The output file; read it back with the file pattern `tfrecord:<path>`
        (`tfrecord_gzip:<path>` when `gzip`).
      examples: Dicts (see `MakeExample`) or `tf.train.Example` protos.
      gzip: Whether to gzip-compress the file.

    Returns:
      The number of records written.
    """
    n = 0
    with ops.TFRecordWriter(path, gzip=gzip) as writer:
        for ex in examples:
            if not isinstance(ex, tf.train.Example):
                ex = MakeExample(ex)
            writer.write(ex.SerializeToString())
            n += 1
    return n


def ReadExamples(path: str, gzip: bool = False) -> Iterator[dict[str, np.ndarray]]:
    """Yields every example of one TFRecord file as `ExampleToDict` dicts, in file order.

    Args:
      path: The TFRecord file.
      gzip: Whether the file is gzip-compressed.

    Yields:
      One dict per record.

    Raises:
      lingvo.ops.DataLossError: A corrupt record (the file and offset named).
      FileNotFoundError: No such file.
    """
    for record in ops.read_records(path, "tfrecord_gzip" if gzip else "tfrecord"):
        yield ExampleToDict(record)


def FeatureSpec(
    int64: Sequence[str] = (), float32: Sequence[str] = (), string: Sequence[str] = ()
) -> dict[str, tf.io.VarLenFeature]:
    """Variable-length feature specs by dtype, for `ParseExample` / `tf.io.parse_single_example`.

    Args:
      int64: Names of int64 list features.
      float32: Names of float list features.
      string: Names of bytes list features.

    Returns:
      Name -> `tf.io.VarLenFeature`.
    """
    spec = {n: tf.io.VarLenFeature(tf.int64) for n in int64}
    spec.update({n: tf.io.VarLenFeature(tf.float32) for n in float32})
    spec.update({n: tf.io.VarLenFeature(tf.string) for n in string})
    return spec


def ParseExample(record: tf.Tensor, spec: Mapping[str, Any]) -> dict[str, tf.Tensor]:
    """Parses one serialized example inside a processor into dense 1-D tensors.

    Variable-length features come back dense (padded with 0 / "" where absent), shaped
    [length]; fixed-length features as `tf.io.parse_single_example` returns them.

    Args:
      record: A string scalar, one serialized `tf.train.Example`.
      spec: Name -> `tf.io.VarLenFeature` / `tf.io.FixedLenFeature`, e.g. `FeatureSpec(...)`.

    Returns:
      Name -> tensor.
    """
    parsed = tf.io.parse_single_example(record, dict(spec))
    return {
        k: tf.sparse.to_dense(v) if isinstance(v, tf.sparse.SparseTensor) else v
        for k, v in parsed.items()
    }
