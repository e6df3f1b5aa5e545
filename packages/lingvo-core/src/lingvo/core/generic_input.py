"""Lingvo's GenericInput as a tf.data pipeline over the lingvo-ops record yielder."""

from __future__ import annotations

import inspect
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from lingvo import ops
from lingvo.core.nested_map import NestedMap

__all__ = [
    "BATCHERS",
    "DropCounter",
    "GenericInput",
    "PadBatchToLength",
    "PadValueForKey",
    "RecordDataset",
    "ShardFromTfConfig",
]

BATCHERS = ("tf", "ops")

# Records fetched from the yielder per Python call; amortises the generator overhead.
_READ_CHUNK = 256
_FILE_TYPES = ("tfrecord", "tfrecord_gzip", "text", "iota")


def PadValueForKey(key: str) -> int:
    """Returns Lingvo's padding constant for a batch entry: 1 for paddings, 0 otherwise.

    Args:
      key: The dot-joined `NestedMap` key of the entry, e.g. `tgt.paddings`.

    Returns:
      1 when the last component of `key` ends in `paddings`, else 0.
    """
    return 1 if key.rsplit(".", 1)[-1].endswith("paddings") else 0


def ShardFromTfConfig(tf_config: str | None = None) -> tuple[int, int]:
    """Returns this process's (shard_index, num_shards) among the cluster's workers.

    The chief (if any) and the workers of `TF_CONFIG` each read one shard, chief first;
    other tasks (evaluator, ps) and processes without `TF_CONFIG` read everything.

    Args:
      tf_config: The JSON text of `TF_CONFIG`; None reads the environment variable.

    Returns:
      `(shard_index, num_shards)`; `(0, 1)` means no sharding.

    Raises:
      ValueError: `TF_CONFIG` is not valid JSON or names a task index out of range.
    """
    text = os.environ.get("TF_CONFIG", "") if tf_config is None else tf_config
    if not text:
        return 0, 1
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON ({e}): {text[:200]!r}") from e
    cluster = config.get("cluster", {})
    task = config.get("task", {})
    chiefs = len(cluster.get("chief", []))
    workers = len(cluster.get("worker", []))
    kind, index = task.get("type", ""), int(task.get("index", 0))
    if kind == "chief":
        shard = index
    elif kind == "worker":
        shard = chiefs + index
    else:
        return 0, 1
    total = chiefs + workers
    if not 0 <= shard < total:
        raise ValueError(f"TF_CONFIG task {kind}:{index} is not in its cluster of {total} workers")
    return shard, total


def _YielderKwargs(
    file_pattern: str,
    input_source_weights: Sequence[float] | None,
    *,
    file_random_seed: int,
    file_buffer_size: int,
    file_parallelism: int,
    require_sequential_order: bool,
    repeat_count: int,
    shard_index: int,
    num_shards: int,
) -> dict[str, Any]:
    if not file_pattern:
        raise ValueError("GenericInput: file_pattern is empty; expected '<type>:<glob>'")
    weights = list(input_source_weights or [])
    pattern: Any = file_pattern
    if weights:
        pattern = [s.strip() for s in file_pattern.split(",")]
        if len(pattern) != len(weights):
            raise ValueError(
                f"GenericInput: {len(pattern)} comma-separated file patterns but "
                f"{len(weights)} input_source_weights in {file_pattern!r}"
            )
    for piece in pattern if isinstance(pattern, list) else [file_pattern.split(",")[0]]:
        if ":" not in piece:
            raise ValueError(
                f"GenericInput: file pattern {piece!r} has no type prefix; expected "
                "'<type>:<glob>' with type tfrecord, tfrecord_gzip, text or iota"
            )
    _CheckGlobsMatch(pattern if isinstance(pattern, list) else [file_pattern])
    return dict(
        file_pattern=pattern,
        weights=weights or None,
        seed=int(file_random_seed),
        buffer_size=max(1, int(file_buffer_size)),
        parallelism=max(1, int(file_parallelism)),
        sequential=bool(require_sequential_order),
        repeat_count=int(repeat_count),
        shard_index=int(shard_index),
        shard_count=max(1, int(num_shards)),
        with_source_id=bool(weights),
    )


def _CheckGlobsMatch(patterns: Sequence[str]) -> None:
    """Fails at construction, not at the first read, on an unknown type or an empty glob."""
    for pattern in patterns:
        kind = pattern.partition(":")[0]
        if kind not in _FILE_TYPES:
            raise ValueError(
                f"GenericInput: file pattern {pattern!r} has type {kind!r}; expected one of "
                f"{', '.join(_FILE_TYPES)}"
            )
        # Comma-separated globs share the type before them unless they name their own.
        for piece in pattern.split(","):
            prefix, sep, rest = piece.partition(":")
            if sep and prefix in _FILE_TYPES:
                kind, piece = prefix, rest
            if kind != "iota" and not tf.io.gfile.glob(piece):  # iota reads no files
                raise ValueError(
                    f"GenericInput: the glob {piece!r} of file pattern {pattern!r} matches no "
                    "files; expected at least one file"
                )


def RecordDataset(
    file_pattern: str,
    input_source_weights: Sequence[float] | None = None,
    *,
    file_random_seed: int = 301,
    file_buffer_size: int = 10000,
    file_parallelism: int = 16,
    require_sequential_order: bool = False,
    repeat_count: int = -1,
    shard_index: int = 0,
    num_shards: int = 1,
) -> tf.data.Dataset:
    """A dataset of `(source_id, record)` read by a `lingvo.ops.RecordYielder`.

    Every iteration of the dataset opens a fresh yielder (so an evaluation pass restarts at
    the first record) and closes it when the iterator goes away. Records are fetched in
    chunks through `next_batch` and unbatched by tf.data.

    Args:
      file_pattern: `<type>:<glob>[,<glob>...]`, type tfrecord, tfrecord_gzip, text or iota.
      input_source_weights: Mixing weights of the comma-separated patterns, or empty.
      file_random_seed: Seed of the shuffling; 0 draws one from the OS.
      file_buffer_size: Records in the shuffle buffer.
      file_parallelism: Reader threads.
      require_sequential_order: Reads the sorted files once each in order, unshuffled.
      repeat_count: Epochs to read; -1 reads forever.
      shard_index: This reader's shard, in [0, num_shards).
      num_shards: The number of disjoint shards the records are split into.

    Returns:
      A dataset of `(source_id, record)`: an int32 scalar (0 without weights, else the
      pattern's index) and a string scalar.

    Raises:
      ValueError: A pattern without a known type prefix, a glob that matches no files, or
        weights that do not match.
    """
    kwargs = _YielderKwargs(
        file_pattern,
        input_source_weights,
        file_random_seed=file_random_seed,
        file_buffer_size=file_buffer_size,
        file_parallelism=file_parallelism,
        require_sequential_order=require_sequential_order,
        repeat_count=repeat_count,
        shard_index=shard_index,
        num_shards=num_shards,
    )
    with_ids = kwargs["with_source_id"]

    def Generate() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        yielder = ops.RecordYielder(**kwargs)
        try:
            while True:
                chunk = yielder.next_batch(_READ_CHUNK)
                if not chunk:
                    return
                if with_ids:
                    records = np.array([r for r, _ in chunk], dtype=object)
                    ids = np.array([s for _, s in chunk], dtype=np.int32)
                else:
                    records = np.array(chunk, dtype=object)
                    ids = np.zeros([len(chunk)], dtype=np.int32)
                yield ids, records
        finally:
            yielder.close()

    ds = tf.data.Dataset.from_generator(
        Generate,
        output_signature=(
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([None], tf.string),
        ),
    )
    return ds.unbatch()


def _WrapProcessor(processor: Callable[..., Any]) -> Callable[[tf.Tensor, tf.Tensor], Any]:
    """Adapts a `(record)` or `(source_id, record)` processor to `(source_id, record)`."""
    fn = getattr(processor, "python_function", processor)
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # builtins and C callables: assume one argument
        return lambda source_id, record: processor(record)
    names = [
        prm.name
        for prm in params
        if prm.kind in (prm.POSITIONAL_ONLY, prm.POSITIONAL_OR_KEYWORD) and prm.default is prm.empty
    ]
    if names == ["source_id", "record"]:
        return lambda source_id, record: processor(source_id=source_id, record=record)
    if len(names) == 1:
        return lambda source_id, record: processor(record)
    raise ValueError(
        "GenericInput: processor should take either a single arg or two args named "
        f'"source_id" and "record"; it takes {names}'
    )


def _CheckProcessed(out: Any) -> tuple[Any, tf.Tensor]:
    """Checks a processor's output; returns (example, int32 scalar key)."""
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise ValueError(
            "GenericInput: the processor must return (example, bucket_key): a NestedMap "
            f"(or a non-empty list of tensors) and an integer scalar; got {type(out).__name__}"
            + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
        )
    example, key = out
    if isinstance(example, dict):
        example = NestedMap(example)
    elif isinstance(example, (list, tuple)):
        example = tuple(example)
    else:
        raise ValueError(
            "GenericInput: the processor's example must be a NestedMap or a list of tensors; "
            f"got {type(example).__name__}"
        )
    if not tf.nest.flatten(example):
        raise ValueError("GenericInput: the processor returned an empty example")

    def ToTensor(path: str, x: Any) -> tf.Tensor:
        try:
            return tf.convert_to_tensor(x)
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"GenericInput: the processor's example key {path!r} holds {type(x).__name__} "
                f"({e}); expected a tensor"
            ) from e

    if isinstance(example, NestedMap):
        example = example.Pack([ToTensor(k, v) for k, v in example.FlattenItems()])
    else:
        leaves = tf.nest.flatten(example)
        converted = [ToTensor(f"[{i}]", v) for i, v in enumerate(leaves)]
        example = tf.nest.pack_sequence_as(example, converted)
    key = tf.convert_to_tensor(key)
    if key.shape.rank != 0 or not key.dtype.is_integer:
        raise ValueError(
            "GenericInput: the bucket key must be an integer scalar; got "
            f"{key.dtype.name} shaped {key.shape}"
        )
    return example, tf.cast(key, tf.int32)


def _LeafKeys(structure: Any) -> list[str]:
    """Dot-joined keys of the leaves of a NestedMap / tuple, in `tf.nest` order."""
    out: list[str] = []

    def Walk(prefix: str, x: Any) -> None:
        if isinstance(x, dict):
            for k in sorted(x):  # tf.nest's order
                Walk(f"{prefix}.{k}" if prefix else str(k), x[k])
        elif isinstance(x, (list, tuple)):
            for i, v in enumerate(x):
                Walk(f"{prefix}.{i}" if prefix else str(i), v)
        else:
            out.append(prefix)

    Walk("", structure)
    return out


def _PadValues(spec: Any, pad_values: Any) -> list[Any]:
    """Per-leaf padding constants: `pad_values` (scalar or matching structure) or the key rule."""
    leaves = tf.nest.flatten(spec)
    if pad_values is None:
        values = [PadValueForKey(k) for k in _LeafKeys(spec)]
    elif isinstance(pad_values, (int, float)):
        values = [pad_values] * len(leaves)
    else:
        values = tf.nest.flatten(pad_values)
        if len(values) != len(leaves):
            raise ValueError(
                f"GenericInput: pad_values has {len(values)} leaves, the example {len(leaves)}"
            )
    return [
        b"" if s.dtype == tf.string else np.array(v, s.dtype.as_numpy_dtype)
        for s, v in zip(leaves, values, strict=True)
    ]


def PadBatchToLength(batch: Any, lengths: dict[str, int], axis: int = 1) -> Any:
    """Pads (never cuts) batch entries along `axis` to fixed lengths, padding by `PadValueForKey`.

    Args:
      batch: A `NestedMap` of tensors shaped [batch, time, ...].
      lengths: The target length of each top-level key (e.g. `{"src": 50, "tgt": 60}`);
        every leaf under that key of rank > `axis` is padded.
      axis: The time axis.

    Returns:
      A `NestedMap` like `batch` whose matching leaves have static size `lengths[key]` on
      `axis`.

    Raises:
      tf.errors.InvalidArgumentError: A leaf is longer than its target length.
    """
    out = NestedMap(batch)

    def Pad(key: str, x: tf.Tensor) -> tf.Tensor:
        top = key.split(".", 1)[0]
        if (
            top not in lengths
            or lengths[top] is None
            or x.shape.rank is None
            or x.shape.rank <= axis
        ):
            return x
        n = int(lengths[top])
        have = tf.shape(x)[axis]
        tf.debugging.assert_less_equal(
            have, n, message=f"{key} is longer than its pad_to_max_seq_length length {n}"
        )
        pads = [[0, 0]] * x.shape.rank
        pads[axis] = [0, n - have]
        value = tf.constant(PadValueForKey(key), x.dtype) if x.dtype != tf.string else ""
        y = tf.pad(x, pads, constant_values=value)
        shape = x.shape.as_list()
        shape[axis] = n
        return tf.ensure_shape(y, shape)

    return out.TransformWithKey(Pad)


class DropCounter:
    """Counts the records bucketing drops, so that none disappears unnoticed.

    The counts are int64 variables updated inside the tf.data pipeline: `negative` (a key
    below 0, the processor's way of rejecting a record) and `too_large` (a key above the
    last bucket bound). `Log()` reports them; input generators call it at the end of a pass.
    """

    def __init__(self, name: str = "input") -> None:
        self.name = name
        self.negative = tf.Variable(0, dtype=tf.int64, trainable=False, name="dropped_negative")
        self.too_large = tf.Variable(0, dtype=tf.int64, trainable=False, name="dropped_too_large")

    def Counts(self) -> dict[str, int]:
        """Returns `{'dropped_negative': n, 'dropped_too_large': m}`."""
        return {
            "dropped_negative": int(self.negative.numpy()),
            "dropped_too_large": int(self.too_large.numpy()),
        }

    def Log(self) -> None:
        """Logs the counts at WARNING level when any record was dropped."""
        counts = self.Counts()
        if any(counts.values()):
            logging.warning("%s: bucketing dropped records: %s", self.name, counts)

    def Keep(self, key: tf.Tensor, last: int) -> tf.Tensor:
        """Returns whether to keep a record with `key`, counting it if not."""
        negative = key < 0
        too_large = key > last
        with tf.control_dependencies(
            [
                self.negative.assign_add(tf.cast(negative, tf.int64)),
                self.too_large.assign_add(tf.cast(too_large, tf.int64)),
            ]
        ):
            return tf.logical_not(negative | too_large)


def _TfBucketing(
    ds: tf.data.Dataset,
    bucket_upper_bound: Sequence[int],
    bucket_batch_limit: Sequence[int],
    pads: list[Any],
    drops: DropCounter | None = None,
) -> tf.data.Dataset:
    """Lingvo's first-fit bucketing with tf.data's `group_by_window`."""
    bounds = tf.constant(list(bucket_upper_bound), tf.int32)
    limits = tf.constant(list(bucket_batch_limit), tf.int64)
    last = int(bucket_upper_bound[-1])
    spec = ds.element_spec[0]
    padding_values = (tf.nest.pack_sequence_as(spec, [tf.constant(p) for p in pads]), 0)

    def KeyFunc(example: Any, key: tf.Tensor) -> tf.Tensor:
        del example
        return tf.cast(tf.searchsorted(bounds, tf.reshape(key, [1]), side="left")[0], tf.int64)

    def Reduce(bucket: tf.Tensor, window: tf.data.Dataset) -> tf.data.Dataset:
        return window.padded_batch(tf.gather(limits, bucket), padding_values=padding_values)

    if drops is None:
        ds = ds.filter(lambda example, key: (key >= 0) & (key <= last))
    else:
        ds = ds.filter(lambda example, key: drops.Keep(tf.cast(key, tf.int64), last))
    return ds.group_by_window(
        KeyFunc, Reduce, window_size_func=lambda bucket: tf.gather(limits, bucket)
    )


def _OpsBucketing(
    ds: tf.data.Dataset,
    bucket_upper_bound: Sequence[int],
    bucket_batch_limit: Sequence[int],
    flush_every_n: int,
    pads: list[Any],
) -> tf.data.Dataset:
    """Bucketing by the `lingvo.ops.BucketBatcher`, padding by `lingvo.ops.pad_and_stack`."""
    spec = ds.element_spec[0]
    leaf_specs = tf.nest.flatten(spec)

    def Generate() -> Iterator[tuple[Any, ...]]:
        batcher = ops.BucketBatcher(bucket_upper_bound, bucket_batch_limit, flush_every_n)

        def Emit(b: ops.Batch) -> tuple[Any, ...]:
            return (*ops.pad_and_stack(b.samples, pads), b.bucket_keys)

        for example, key in ds.as_numpy_iterator():
            for b in batcher.add(int(key), tuple(tf.nest.flatten(example))):
                yield Emit(b)
        for b in batcher.flush():
            yield Emit(b)

    signature = (
        *(tf.TensorSpec([None] * (1 + s.shape.rank), s.dtype) for s in leaf_specs),
        tf.TensorSpec([None], tf.int32),
    )
    out = tf.data.Dataset.from_generator(Generate, output_signature=signature)
    return out.map(
        lambda *xs: (tf.nest.pack_sequence_as(spec, list(xs[:-1])), xs[-1]),
        num_parallel_calls=tf.data.AUTOTUNE,
    )


def GenericInput(
    processor: Callable[..., Any],
    *,
    file_pattern: str,
    bucket_upper_bound: Sequence[int],
    bucket_batch_limit: Sequence[int],
    input_source_weights: Sequence[float] | None = None,
    file_random_seed: int = 301,
    file_buffer_size: int = 10000,
    file_parallelism: int = 16,
    flush_every_n: int = 0,
    require_sequential_order: bool = False,
    repeat_count: int = -1,
    shard_index: int = 0,
    num_shards: int = 1,
    pad_values: Any = None,
    batcher: str = "tf",
    num_parallel_calls: int = tf.data.AUTOTUNE,
    prefetch: int = tf.data.AUTOTUNE,
    drop_counter: DropCounter | None = None,
) -> tf.data.Dataset:
    """Lingvo's `GenericInput`: records -> TF processor -> length buckets -> padded batches.

    The records come from a `lingvo.ops.RecordYielder` (reader threads, shuffle buffer,
    epochs, shards, mixing). `processor` runs in TensorFlow on every record (traced once,
    in parallel unless the order must be kept) and returns `(example, bucket_key)`. A record
    goes to the first bucket whose upper bound is >= its key; a negative key or one above the
    last bound drops it. A bucket that holds `bucket_batch_limit[i]` examples becomes a
    batch, every leaf padded to the batch's longest; at the end of the data the partial
    buckets come out as smaller batches. Leaves whose key ends in `paddings` pad with 1,
    everything else (ids, labels, weights) with 0.

    Args:
      processor: `f(record)` or `f(source_id, record)` (exactly those names), `record` a
        string scalar and `source_id` an int32 scalar, returning `(example, bucket_key)`:
        a `NestedMap` (or non-empty list) of tensors and an integer scalar.
      file_pattern: `<type>:<glob>[,<glob>...]`; see `lingvo.ops.RecordYielder`.
      bucket_upper_bound: The inclusive upper key of each bucket, ascending.
      bucket_batch_limit: The batch size of each bucket.
      input_source_weights: Mixing weights of the comma-separated patterns, or None.
      file_random_seed: Seed of the record shuffling; 0 draws one from the OS.
      file_buffer_size: Records in the shuffle buffer.
      file_parallelism: Reader threads.
      flush_every_n: When > 0, every this many accepted records all non-empty buckets
        are emitted (uses the ops batcher).
      require_sequential_order: Reads each file once in sorted order, unshuffled, and keeps
        that order through the processor and the batcher (evaluation).
      repeat_count: Epochs to read; -1 reads forever.
      shard_index: This worker's shard, in [0, num_shards).
      num_shards: The number of disjoint shards (workers) the records are split into.
      pad_values: None for the key rule above, a scalar for every leaf, or a structure of
        scalars matching the example.
      batcher: "tf" (tf.data `group_by_window`, the default) or "ops" (the
        `lingvo.ops.BucketBatcher` in a Python generator).
      num_parallel_calls: Parallel processor calls.
      prefetch: Batches prefetched; 0 disables prefetching.
      drop_counter: Counts the records dropped by their key (the tf batcher; the ops
        batcher counts and logs its own drops).

    Returns:
      A `tf.data.Dataset` of `(batch, bucket_keys)`: the example structure with every
      tensor shaped [batch, ...], and int32 keys shaped [batch].

    Raises:
      ValueError: Bad bucket lists, a pattern without a type prefix, an unknown batcher, a
        processor with the wrong signature or one that returns the wrong structure.
    """
    ub = [int(b) for b in bucket_upper_bound]
    limits = [int(b) for b in bucket_batch_limit]
    if not ub or len(ub) != len(limits):
        raise ValueError(
            f"GenericInput: bucket_upper_bound {ub} and bucket_batch_limit {limits} must be "
            "non-empty and of the same length"
        )
    if ub != sorted(ub):
        raise ValueError(f"GenericInput: Bucket_upper_bound is not sorted: {ub}")
    if min(limits) < 1:
        raise ValueError(f"GenericInput: every bucket_batch_limit must be >= 1: {limits}")
    if batcher not in BATCHERS:
        raise ValueError(f"GenericInput: batcher must be one of {BATCHERS}, got {batcher!r}")
    records = RecordDataset(
        file_pattern,
        input_source_weights,
        file_random_seed=file_random_seed,
        file_buffer_size=file_buffer_size,
        file_parallelism=file_parallelism,
        require_sequential_order=require_sequential_order,
        repeat_count=repeat_count,
        shard_index=shard_index,
        num_shards=num_shards,
    )
    call = _WrapProcessor(processor)
    processed = records.map(
        lambda source_id, record: _CheckProcessed(call(source_id, record)),
        num_parallel_calls=num_parallel_calls,
        deterministic=True if require_sequential_order else None,
    )
    pads = _PadValues(processed.element_spec[0], pad_values)
    if batcher == "ops" or flush_every_n > 0:
        ds = _OpsBucketing(processed, ub, limits, flush_every_n, pads)
    else:
        ds = _TfBucketing(processed, ub, limits, pads, drop_counter)
    if prefetch:
        ds = ds.prefetch(prefetch)
    return ds
