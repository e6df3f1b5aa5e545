"""Typed stub of the compiled module lingvo.ops._ops."""

from collections.abc import Iterable, Sequence
from typing import SupportsIndex

import numpy as np
import numpy.typing as npt

def ascii_to_token_ids(
    labels: Iterable[str | bytes] | npt.NDArray[np.bytes_ | np.str_ | np.object_],
    append_eos: bool = True,
    maxlen: int = 300,
    pad_to_maxlen: bool = True,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Tokenizes a batch of strings into character ids of the fixed ASCII table.

    Args:
      labels: A vector of strings; str is UTF-8 encoded.
      append_eos: Whether the </s> position of each row is real (padding 0.0).
      maxlen: The most positions a row may use, </s> included; >= 1.
      pad_to_maxlen: Whether the width is maxlen; else the longest row plus one.

    Returns:
      (token_ids, target_ids, paddings), each shaped [batch, width]; paddings is
      1.0 where padded.

    Raises:
      ValueError: labels is not a vector, or maxlen < 1.
      TypeError: a label is neither str nor bytes.
    """

def id_to_ascii(
    token_ids: npt.ArrayLike,
    seq_lengths: npt.ArrayLike,
) -> npt.NDArray[np.object_]:
    """Turns rows of ASCII-table ids back into strings.

    Args:
      token_ids: Integer ids shaped [batch, length].
      seq_lengths: Integer lengths shaped [batch]; each at most length.

    Returns:
      An object array of bytes shaped [batch].

    Raises:
      ValueError: A shape is wrong, the batch sizes differ, or a length exceeds
        the row length.
      TypeError: An input does not hold integers.
    """

# Input: CRC32C, TFRecord I/O, record yielder, bucketing batcher (csrc/input/).

class DataLossError(OSError):
    """Corrupt or truncated input data; the message names the file and the byte offset."""

def crc32c(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC32C (Castagnoli) of data, extending crc (that of a preceding prefix)."""

def masked_crc32c(data: bytes | bytearray | memoryview) -> int:
    """The masked CRC32C that TFRecord files store."""

def _crc32c_portable(data: bytes | bytearray | memoryview, crc: int = 0) -> int: ...
def _crc32c_uses_hardware() -> bool: ...
def read_records(path: str, format: str = "tfrecord") -> list[bytes]:
    """Every record of one file (tfrecord, tfrecord_gzip, text or iota).

    Raises:
      DataLossError: A corrupt or truncated record (file and offset named).
      FileNotFoundError: No such file.
      ValueError: Unknown format.
    """

class TFRecordWriter:
    """Writes a TFRecord file, plain or gzip-compressed."""

    def __init__(self, path: str, gzip: bool = False, compression_level: int = -1) -> None: ...
    def write(self, record: bytes | bytearray | memoryview) -> None: ...
    def write_many(self, records: Iterable[bytes | bytearray | memoryview]) -> int: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def path(self) -> str: ...
    def __enter__(self) -> TFRecordWriter: ...
    def __exit__(self, *args: object) -> None: ...

class RecordYielder:
    """Reads records from file patterns: reader threads, shuffle buffer, epochs, shards, mixing."""

    def __init__(
        self,
        file_pattern: str | Sequence[str],
        weights: Sequence[float] | None = None,
        *,
        seed: int = 301,
        buffer_size: int = 10000,
        parallelism: int = 4,
        sequential: bool = False,
        repeat_count: int = -1,
        shard_index: int = 0,
        shard_count: int = 1,
        source_id_offset: int = 0,
        with_source_id: bool = False,
    ) -> None: ...
    def __iter__(self) -> RecordYielder: ...
    def __next__(self) -> bytes | tuple[bytes, int]: ...
    def next_batch(self, n: int) -> list[bytes] | list[tuple[bytes, int]]: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def epoch(self) -> int: ...
    @property
    def source_epochs(self) -> list[int]: ...
    @property
    def records_yielded(self) -> int: ...
    def __enter__(self) -> RecordYielder: ...
    def __exit__(self, *args: object) -> None: ...

class _BucketBatcher:
    def __init__(
        self,
        bucket_upper_bound: Sequence[int],
        bucket_batch_limit: Sequence[int],
        flush_every_n: int = 0,
    ) -> None: ...
    def add(
        self, key: SupportsIndex, sample: object
    ) -> list[tuple[int, list[object], npt.NDArray[np.int32]]]: ...
    def flush(self) -> list[tuple[int, list[object], npt.NDArray[np.int32]]]: ...
    accepted: int
    dropped: int
    dropped_negative: int
    dropped_too_large: int
    pending: int
    bucket_upper_bound: list[int]
    bucket_batch_limit: list[int]
    flush_every_n: int
