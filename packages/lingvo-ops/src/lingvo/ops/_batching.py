"""Bucketing batcher over a per-record or per-chunk processor, with numpy padding and stacking."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from lingvo.ops import _ops
from lingvo.ops._ordered_pool import ordered_chunk_map

_LOG = logging.getLogger("lingvo.ops")

# Records pulled from a RecordYielder per call, to amortise the call overhead.
_YIELD_CHUNK = 256


class Batch(NamedTuple):
    """Samples of one bucket, as the batcher hands them out.

    Attributes:
      bucket: Index of the bucket in bucket_upper_bound.
      samples: The samples, in the order they were added.
      bucket_keys: int32 keys of the samples, shaped [batch].
    """

    bucket: int
    samples: list
    bucket_keys: np.ndarray


class PaddedBatch(NamedTuple):
    """A merged batch, as generic_input yields it.

    Attributes:
      bucket: Index of the bucket in bucket_upper_bound.
      values: The samples' structure (array, tuple, list or dict) with every
        leaf stacked along a new axis 0, padded to the batch maximum.
      bucket_keys: int32 keys of the samples, shaped [batch].
    """

    bucket: int
    values: Any
    bucket_keys: np.ndarray


class BucketBatcher:
    """Groups samples into batches by an integer bucket key (Lingvo's RecordBatcher).

    A sample goes to the first bucket ``i`` with ``bucket_upper_bound[i] >= key``,
    so bucket ``i`` holds keys in ``(bound[i-1], bound[i]]``. A bucket that holds
    ``bucket_batch_limit[i]`` samples becomes a batch. A negative key, or one
    above the last bound, drops the sample: drops are counted in ``dropped``
    (split into ``dropped_negative`` and ``dropped_too_large``) and logged on
    the ``lingvo.ops`` logger (the 1st, 2nd, 4th, 8th, ... drop), never hidden.

    Not thread-safe: one thread adds, as in a tf.data generator.

    Args:
      bucket_upper_bound: Inclusive upper key of each bucket, sorted ascending.
      bucket_batch_limit: Most samples per batch of each bucket, each >= 1.
      flush_every_n: When > 0, every ``flush_every_n`` accepted samples all
        non-empty buckets are handed out as (smaller) batches.
      bucket_adjust_every_n: When > 0, the bounds learn the key distribution
        (Lingvo's bucket_adjust_every_n): keys up to the last bound are
        histogrammed, and whenever ``(accepted + dropped) % n == 0`` every bound
        but the last is re-chosen to minimise the padding cost (samples x bucket
        width, summed over buckets), then the histogram is cleared.
        ``bucket_upper_bound`` reads the current bounds.

    Raises:
      ValueError: The bounds are empty or unsorted ("Bucket_upper_bound is not
        sorted"), the lengths differ, a limit is < 1, or flush_every_n or
        bucket_adjust_every_n is < 0.
    """

    def __init__(
        self,
        bucket_upper_bound: Sequence[int],
        bucket_batch_limit: Sequence[int],
        flush_every_n: int = 0,
        bucket_adjust_every_n: int = 0,
    ) -> None:
        self._core = _ops._BucketBatcher(
            [int(b) for b in bucket_upper_bound],
            [int(b) for b in bucket_batch_limit],
            int(flush_every_n),
            int(bucket_adjust_every_n),
        )
        self._dropped_seen = 0

    def add(self, key: int, sample: Any) -> list[Batch]:
        """Adds one sample under ``key``; returns the batches it completed (often none)."""
        batches = self._core.add(key, sample)
        if self._core.dropped != self._dropped_seen:
            self._dropped_seen = self._core.dropped
            self._log_drop(int(key), self.dropped_negative, self.dropped_too_large, self.accepted)
        return [Batch(*b) for b in batches]

    def add_many(self, keys: Sequence[int] | np.ndarray, samples: Sequence[Any]) -> list[Batch]:
        """Adds ``samples[i]`` under ``keys[i]``, in order, as that many ``add`` calls would.

        Returns every batch the samples completed. One call per chunk of
        records keeps the per-sample cost in C++.

        Raises:
          TypeError: The keys are not integers.
          ValueError: The keys are not a vector of one key per sample.
        """
        key_array = np.asarray(keys)
        if key_array.size and key_array.dtype.kind not in "iu":
            raise TypeError(f"keys must be integers, got an array of {key_array.dtype}")
        before = (self.dropped_negative, self.dropped_too_large, self.accepted)
        batches = self._core.add_many(key_array.astype(np.int64, copy=False), list(samples))
        if self._core.dropped != self._dropped_seen:
            self._log_drops(key_array, *before)
        return [Batch(*b) for b in batches]

    def _log_drops(self, keys: np.ndarray, negative: int, too_large: int, accepted: int) -> None:
        # Replays the chunk's drops so each message shows the counters as one
        # add() at a time would have.
        dropped = np.flatnonzero((keys < 0) | (keys > self.bucket_upper_bound[-1]))
        last = -1
        for i in dropped.tolist():
            key = int(keys[i])
            accepted += i - last - 1
            last = i
            if key < 0:
                negative += 1
            else:
                too_large += 1
            self._dropped_seen += 1
            self._log_drop(key, negative, too_large, accepted)

    def flush(self) -> list[Batch]:
        """Hands out every non-empty bucket, in bucket order (at the end of the input)."""
        return [Batch(*b) for b in self._core.flush()]

    def _log_drop(self, key: int, negative: int, too_large: int, accepted: int) -> None:
        n = self._dropped_seen
        if n & (n - 1):  # Only powers of two, so a bad key cannot flood the log.
            return
        if key < 0:
            why = "its key is negative"
        else:
            why = f"its key exceeds the last bucket_upper_bound {self.bucket_upper_bound[-1]}"
        _LOG.warning(
            "BucketBatcher dropped a sample with key %d because %s; %d dropped so far "
            "(%d negative, %d too large), %d accepted.",
            key,
            why,
            n,
            negative,
            too_large,
            accepted,
        )

    @property
    def accepted(self) -> int:
        """Samples put into a bucket."""
        return self._core.accepted

    @property
    def dropped(self) -> int:
        """Samples dropped for their key (negative or above the last bound)."""
        return self._core.dropped

    @property
    def dropped_negative(self) -> int:
        return self._core.dropped_negative

    @property
    def dropped_too_large(self) -> int:
        return self._core.dropped_too_large

    @property
    def pending(self) -> int:
        """Samples waiting in buckets."""
        return self._core.pending

    @property
    def bucket_upper_bound(self) -> list[int]:
        """The current bounds (they change with bucket_adjust_every_n)."""
        return self._core.bucket_upper_bound

    @property
    def bucket_batch_limit(self) -> list[int]:
        return self._core.bucket_batch_limit

    @property
    def flush_every_n(self) -> int:
        return self._core.flush_every_n

    @property
    def bucket_adjust_every_n(self) -> int:
        return self._core.bucket_adjust_every_n

    @property
    def adjustments(self) -> int:
        """How many times bucket_adjust_every_n re-chose the bounds."""
        return self._core.adjustments


def _stack_leaf(values: list, pad_value: Any, where: str) -> np.ndarray:
    arrays = [v if type(v) is np.ndarray else np.asarray(v) for v in values]
    first = arrays[0]
    dtype, ndim = first.dtype, first.ndim
    for i, a in enumerate(arrays):
        if a.dtype != dtype or a.ndim != ndim:
            raise ValueError(
                f"Mismatch of samples at {where}: sample 0 is {first.dtype}{list(first.shape)}, "
                f"sample {i} is {a.dtype}{list(a.shape)}"
            )
    if ndim == 0:
        return np.stack(arrays)
    if ndim == 1:
        # Token sequences, the common case: one copy of all values through a
        # mask instead of a Python-level copy per sample.
        lengths = np.fromiter(map(len, arrays), dtype=np.intp, count=len(arrays))
        width = int(lengths.max())
        out = np.full((len(arrays), width), pad_value, dtype=dtype)
        out[np.arange(width) < lengths[:, None]] = np.concatenate(arrays)
        return out
    shape = tuple(np.max([a.shape for a in arrays], axis=0))
    out = np.full((len(arrays), *shape), pad_value, dtype=dtype)
    for i, a in enumerate(arrays):
        out[(i, *(slice(0, d) for d in a.shape))] = a
    return out


def _leaf_pad(pad_values: Any, key: Any) -> Any:
    if isinstance(pad_values, dict):
        return pad_values.get(key, 0)
    if isinstance(pad_values, (list, tuple)):
        return pad_values[key]
    return pad_values


def pad_and_stack(samples: Sequence[Any], pad_values: Any = 0) -> Any:
    """Stacks samples along a new axis 0, padding each leaf to the batch maximum.

    A sample is an array (or scalar), or a tuple, list or dict of them; every
    sample must have the same structure, and each leaf the same dtype and rank
    across samples. Leaves whose shapes differ are padded at the end of each
    dimension up to the largest sample (Lingvo's dynamic padding).

    Args:
      samples: A non-empty sequence of samples of one structure.
      pad_values: The padding constant: a scalar for every leaf, or a tuple,
        list or dict matching the top level of the structure (missing dict keys
        pad with 0).

    Returns:
      The structure of the samples with each leaf shaped [batch, ...].

    Raises:
      ValueError: No samples, or leaves that differ in dtype, rank or structure.
    """
    if not samples:
        raise ValueError("pad_and_stack needs at least one sample")
    first = samples[0]
    if isinstance(first, dict):
        keys = list(first)
        for s in samples:
            if not isinstance(s, dict) or list(s) != keys:
                raise ValueError(f"Mismatch of sample structure: keys {keys} vs {s!r:.80}")
        return {
            k: _stack_leaf([s[k] for s in samples], _leaf_pad(pad_values, k), repr(k)) for k in keys
        }
    if isinstance(first, (tuple, list)):
        n = len(first)
        for s in samples:
            if not isinstance(s, (tuple, list)) or len(s) != n:
                raise ValueError(f"Mismatch of sample structure: {n} outputs vs {s!r:.80}")
        stacked = [
            _stack_leaf([s[j] for s in samples], _leaf_pad(pad_values, j), f"output {j}")
            for j in range(n)
        ]
        return tuple(stacked) if isinstance(first, tuple) else stacked
    return _stack_leaf(list(samples), pad_values, "the sample")


def _iter_records(records: Iterable[Any]) -> Iterator[Any]:
    if getattr(records, "next_batch", None) is None:
        yield from records  # One at a time: a plain iterable is never read ahead.
        return
    for chunk in _iter_chunks(records):
        yield from chunk


def _chunk_reader(records: Iterable[Any]) -> Callable[[], list]:
    """A function returning the next list of up to _YIELD_CHUNK records; [] at the end."""
    next_batch = getattr(records, "next_batch", None)
    if next_batch is not None:
        return lambda: next_batch(_YIELD_CHUNK)
    iterator = iter(records)
    return lambda: list(itertools.islice(iterator, _YIELD_CHUNK))


def _iter_chunks(records: Iterable[Any]) -> Iterator[list]:
    """The records in lists of up to _YIELD_CHUNK, in order."""
    read = _chunk_reader(records)
    while chunk := read():
        yield chunk


def _per_record_as_batch(processor: Callable[[Any], tuple[Any, int]]) -> Callable:
    def batch_processor(records: list) -> tuple[list, list]:
        samples, keys = [], []
        for record in records:
            sample, key = processor(record)
            samples.append(sample)
            keys.append(key)
        return samples, keys

    return batch_processor


def _unpack_processed(processed: Any, n: int) -> tuple[Any, Any]:
    """batch_processor's (samples, bucket_keys) for a chunk of n records, checked."""
    try:
        samples, keys = processed
        n_samples, n_keys = len(samples), len(keys)
    except (TypeError, ValueError):
        raise TypeError(
            "batch_processor must return (samples, bucket_keys), two sequences, got "
            f"{processed!r:.80}"
        ) from None
    if n_samples != n or n_keys != n:
        raise ValueError(
            f"batch_processor returned {n_samples} samples and {n_keys} bucket keys for a "
            f"chunk of {n} records; it must return one of each per record (a negative key "
            "drops a record)"
        )
    return samples, keys


def generic_input(
    records: Iterable[Any],
    processor: Callable[[Any], tuple[Any, int]] | None = None,
    *,
    batch_processor: Callable[[list], tuple[Sequence[Any], Sequence[int]]] | None = None,
    bucket_upper_bound: Sequence[int],
    bucket_batch_limit: Sequence[int],
    flush_every_n: int = 0,
    bucket_adjust_every_n: int = 0,
    pad_values: Any = 0,
    batcher: BucketBatcher | None = None,
    num_threads: int = 1,
) -> Iterator[PaddedBatch]:
    """Processes records and yields padded batches by bucket (Lingvo's GenericInput).

    Give exactly one of two processors. ``processor(record)`` returns
    ``(example, bucket_key)``: ``example`` is an array or a tuple, list or dict
    of arrays; a negative key drops the record (counted by the batcher). It
    may be any Python callable, numpy or eager TensorFlow.
    ``batch_processor(records)`` is its vectorised form: it gets a list of up
    to 256 records and returns ``(examples, bucket_keys)``, one of each per
    record in the same order (a list of examples, and integer keys as a list
    or array), so one call, e.g. ``tokenize_to_ids``, can do the work of a
    whole chunk in C++ with the GIL released. Both give the same batches for
    the same examples and keys.

    With ``num_threads > 1`` (Lingvo's ``num_threads``) that many threads
    read chunks and run the processor concurrently, while results still
    enter the batcher in read order: the batches are the same as with one
    thread. It speeds up processors that release the GIL (C++ ops such as
    ``tokenize_to_ids``, numpy); a per-record ``processor`` is then called on
    the threads too. Records are then read ahead, a chunk at a time.

    Batches come from one bucket each and hold at most that bucket's limit;
    when the records run out the partial buckets are flushed as final,
    smaller batches.

    Args:
      records: Record source; a RecordYielder is read in chunks through
        ``next_batch``.
      processor: The per-record function.
      batch_processor: The per-chunk function, instead of ``processor``.
      bucket_upper_bound: See BucketBatcher.
      bucket_batch_limit: See BucketBatcher.
      flush_every_n: See BucketBatcher.
      bucket_adjust_every_n: See BucketBatcher.
      pad_values: Padding constants, see pad_and_stack.
      batcher: A BucketBatcher to use instead of a new one (to read its drop
        counters or current bounds); the four bucket arguments are then ignored.
      num_threads: Processor threads, >= 1.

    Yields:
      PaddedBatch(bucket, values, bucket_keys).

    Raises:
      TypeError: Neither or both processors are given, or batch_processor
        does not return two sequences.
      ValueError: batch_processor returns other than one example and one
        key per record, or num_threads < 1.
    """
    if (processor is None) == (batch_processor is None):
        raise TypeError("generic_input needs exactly one of processor and batch_processor")
    if num_threads < 1:
        raise ValueError(f"generic_input needs num_threads >= 1, got {num_threads}")
    if batcher is None:
        batcher = BucketBatcher(
            bucket_upper_bound, bucket_batch_limit, flush_every_n, bucket_adjust_every_n
        )
    if num_threads > 1:
        fn = batch_processor or _per_record_as_batch(processor)
        for chunk, processed in ordered_chunk_map(_chunk_reader(records), fn, num_threads):
            samples, keys = _unpack_processed(processed, len(chunk))
            for b in batcher.add_many(keys, samples):
                yield PaddedBatch(b.bucket, pad_and_stack(b.samples, pad_values), b.bucket_keys)
    elif batch_processor is None:
        for record in _iter_records(records):
            example, key = processor(record)
            for b in batcher.add(key, example):
                yield PaddedBatch(b.bucket, pad_and_stack(b.samples, pad_values), b.bucket_keys)
    else:
        for chunk in _iter_chunks(records):
            samples, keys = _unpack_processed(batch_processor(chunk), len(chunk))
            for b in batcher.add_many(keys, samples):
                yield PaddedBatch(b.bucket, pad_and_stack(b.samples, pad_values), b.bucket_keys)
    for b in batcher.flush():
        yield PaddedBatch(b.bucket, pad_and_stack(b.samples, pad_values), b.bucket_keys)
