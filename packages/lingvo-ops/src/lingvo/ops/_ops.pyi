"""Typed stub of the compiled module lingvo.ops._ops."""

import os
from collections.abc import Callable, Iterable, Sequence
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
        bucket_adjust_every_n: int = 0,
    ) -> None: ...
    def add(
        self, key: SupportsIndex, sample: object
    ) -> list[tuple[int, list[object], npt.NDArray[np.int32]]]: ...
    def add_many(
        self, keys: npt.NDArray[np.int64], samples: list[object]
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
    bucket_adjust_every_n: int
    adjustments: int

def _register_record_type(
    name: str,
    reader: Callable[[str], Iterable[bytes]],
    pattern_parser: Callable[[str], Iterable[str]] | None = None,
) -> None: ...
def _unregister_record_type(name: str) -> bool: ...
def _record_type_names() -> list[str]: ...
def _optimal_bucket_bounds(
    histogram: Sequence[tuple[int, int]], num_buckets: int, last_bound: int, max_bins: int = 500
) -> list[int]: ...

# Beam search (csrc/beam_search/). B beams of K hyps, N = K * B; hyp j of beam b
# is at index j * B + b of every size-N axis. T decode steps, V words, S source
# positions. A hyp terminated at step t from slot i is recorded at [t, i] of the
# done_* arrays (terminal symbol or -1, its local and global score, its step-t
# attention); its earlier steps are the back-pointer chain from slot i at step
# t - 1 through hyps / prev_hyps / scores / atten_probs.

def beam_search_step(
    scores: npt.ArrayLike,
    atten_probs: npt.ArrayLike,
    best_scores: npt.ArrayLike,
    cumulative_scores: npt.ArrayLike,
    in_scores: npt.ArrayLike,
    in_hyps: npt.ArrayLike,
    in_prev_hyps: npt.ArrayLike,
    in_done_hyps: npt.ArrayLike,
    in_done_scores: npt.ArrayLike,
    in_done_cumulative_scores: npt.ArrayLike,
    in_done_atten_probs: npt.ArrayLike,
    in_atten_probs: npt.ArrayLike,
    in_beam_done: npt.ArrayLike | None,
    is_last_chunk: npt.ArrayLike | None,
    cur_step: int,
    *,
    eos_id: int,
    beam_size: float,
    num_hyps_per_beam: int,
    eoc_id: int = -1,
    valid_eos_max_logit_delta: float = 5.0,
    local_eos_threshold: float = -100.0,
    merge_paths: bool = False,
    allow_empty_terminated_hyp: bool = True,
    ensure_full_beam: bool = False,
    force_eos_in_last_step: bool = False,
    force_eos_in_top_k: bool = False,
    force_last_chunk_eoc_in_top_k: bool = False,
    merged_topk_buffer_size_factor: int = 2,
    beam_independence: bool = False,
    atten_vecs_in_hypothesis_protos: bool = True,
    inplace: bool = False,
) -> tuple[
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.int32],
    npt.NDArray[np.int32],
    npt.NDArray[np.int32],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.bool_],
    bool,
]:
    """One step of hyp-major beam search (Lingvo's BeamSearchStepV2).

    Start from best_scores -1e36, zeros everywhere else and in_done_hyps -1.

    Args:
      scores: float32 [N, V] local scores of this step.
      atten_probs: float32 [N, S] attention of this step.
      best_scores: float32 [B] best terminated global score per beam.
      cumulative_scores: float32 [N] global score of each hyp so far.
      in_scores: float32 [T, N] local score history.
      in_hyps: int32 [T, N] token history.
      in_prev_hyps: int32 [T, N] back-pointers to the previous step's slot.
      in_done_hyps: int32 [T, N] terminal symbol (eos, or eoc on a last chunk)
        of the hyp terminated at (t, slot); -1 where none.
      in_done_scores: float32 [T, N] local score of that terminal symbol.
      in_done_cumulative_scores: float32 [T, N] global score of that hyp.
      in_done_atten_probs: float32 [T, N, S] attention of its terminal step.
      in_atten_probs: float32 [T, N, S] attention history.
      in_beam_done: bool [B] done flags, or None for all False.
      is_last_chunk: bool [N], read only when eoc_id >= 0.
      cur_step: The step t being taken, 0 <= t < T.
      eos_id: End-of-sequence id, < V.
      beam_size: A score margin: a beam is done once no hyp is within it of
        the beam's best terminated score.
      num_hyps_per_beam: K = N / B.
      eoc_id: End-of-chunk (epsilon) id, or -1.
      valid_eos_max_logit_delta: eos terminates only within this of the hyp's
        best extension.
      local_eos_threshold: eos (and last-chunk eoc) terminate only when their
        local score is above this.
      merge_paths: Merge hyps equal up to epsilons (needs eoc_id >= 0).
      allow_empty_terminated_hyp: Whether a last-chunk eoc may terminate an
        all-epsilon hyp.
      ensure_full_beam: A beam is not done before it has K terminations.
      force_eos_in_last_step: At t = T - 1 every hyp terminates with eos.
      force_eos_in_top_k: eos is always a candidate of every hyp.
      force_last_chunk_eoc_in_top_k: eoc is always a candidate of last-chunk
        hyps.
      merged_topk_buffer_size_factor: Buffer factor of the merging pool.
      beam_independence: Beams already done are left untouched.
      atten_vecs_in_hypothesis_protos: Whether done attention is recorded.
      inplace: Write into the state arrays passed in (each a writable
        C-contiguous array of its dtype) and return them, instead of copies.

    Returns:
      (best_scores, cumulative_scores, scores, hyps, prev_hyps, done_hyps,
      done_scores, done_cumulative_scores, done_atten_probs, atten_probs,
      beam_done, all_done): the new state in argument order, and whether every
      beam is done.

    Raises:
      ValueError: A shape does not match (the message names the input and its
        expected shape), an id or attribute is out of range, a back-pointer
        is not a slot, or a score row is all NaN.
      TypeError: An input does not hold numbers of the right kind.
    """

def top_k_terminated_hyps(
    scores: npt.ArrayLike,
    hyps: npt.ArrayLike,
    prev_hyps: npt.ArrayLike,
    done_hyps: npt.ArrayLike,
    done_scores: npt.ArrayLike,
    done_cumulative_scores: npt.ArrayLike,
    done_atten_probs: npt.ArrayLike | None,
    atten_probs: npt.ArrayLike | None,
    src_seq_lengths: npt.ArrayLike,
    *,
    k: int,
    num_hyps_per_beam: int,
    length_normalization: float = 0.0,
    coverage_penalty: float = 0.0,
    target_seq_length_ratio: float = 1.0,
    merge_paths: bool = False,
) -> tuple[
    npt.NDArray[np.int32],
    npt.NDArray[np.int32],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
]:
    """The best k terminated hyps of each beam (Lingvo's TopKTerminatedHyps).

    Each termination is scored sum(scores) / ((L + 5)**a / 5**a)
    + r * b * sum_{p < n} log(clip(c_p / r, 0.001, 0.5)), L its length with the
    terminal, c_p its attention on source position p summed over its steps and
    n the beam's source length; ties go to the shorter hyp.

    Args:
      scores: float32 [T, N] local score history (beam_search_step's output 2).
      hyps: int32 [T, N] token history.
      prev_hyps: int32 [T, N] back-pointers.
      done_hyps: int32 [T, N] terminal symbols, -1 where none.
      done_scores: float32 [T, N].
      done_cumulative_scores: float32 [T, N].
      done_atten_probs: float32 [T, N, S], or None with atten_probs.
      atten_probs: float32 [T, N, S] attention history, or None.
      src_seq_lengths: int32 [B] source lengths.
      k: Hyps kept per beam.
      num_hyps_per_beam: K; B = N / K.
      length_normalization: a >= 0.
      coverage_penalty: b >= 0.
      target_seq_length_ratio: r.
      merge_paths: The search merged paths, so each step of a hyp scores its
        global score divided by its length.

    Returns:
      (ids, lens, scores, atten_probs, normalized_scores): int32 [B, k, T],
      int32 [B, k], float32 [B, k, T], float32 [B, k, T, S] (S = 0 without
      attention) and float32 [B, k]. Row [b, j] is the j-th best hyp of beam b,
      Lingvo's Hypothesis with beam_id b, ids ids[b, j, :lens[b, j]], scores
      scores[b, j, :lens[b, j]], one atten vec per step and normalized_score;
      lens 0 means no hyp. Entries past lens are zero.

    Raises:
      ValueError: A shape does not match or a back-pointer is not a slot.
      TypeError: An input does not hold numbers of the right kind.
    """

def unpack_hyp(
    ids: npt.ArrayLike,
    lens: npt.ArrayLike,
    normalized_scores: npt.ArrayLike,
    max_seq_length: int = 0,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Flattens hyps to zero-padded id rows (Lingvo's UnpackHyp).

    Args:
      ids: int32 [..., L] tokens, e.g. top_k_terminated_hyps' [B, k, T].
      lens: int32 [...] lengths.
      normalized_scores: float32 [...] scores.
      max_seq_length: Width of the rows; 0 = the longest hyp.

    Returns:
      (ids, lens, scores): int32 [M, width], int32 [M] clipped to the width and
      float32 [M], M the product of the leading dimensions (row b * k + j).

    Raises:
      ValueError: A shape does not match or max_seq_length < 0.
    """

def hyps_from_beam_search_outs(
    hyps: npt.ArrayLike,
    prev_hyps: npt.ArrayLike,
    done_hyps: npt.ArrayLike,
    scores: npt.ArrayLike,
    atten_probs: npt.ArrayLike,
    eos_scores: npt.ArrayLike,
    eos_atten_probs: npt.ArrayLike,
    *,
    eos_id: int,
    num_hyps_per_beam: int,
) -> tuple[
    npt.NDArray[np.int32],
    npt.NDArray[np.int32],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
]:
    """The terminated hyps of TPU-style outputs (Lingvo's HypsFromBeamSearchOuts).

    Args:
      hyps: int32 [T, N] tokens.
      prev_hyps: int32 [T, N] back-pointers.
      done_hyps: bool [T, N] whether a hyp terminated at (t, n).
      scores: float32 [T, N] local scores.
      atten_probs: float32 [T, N, S] attention.
      eos_scores: float32 [T, N] local score of eos.
      eos_atten_probs: float32 [T, N, S] attention of the eos step.
      eos_id: The terminal symbol.
      num_hyps_per_beam: K; row (t, n) belongs to beam n % (N / K).

    Returns:
      (ids, lens, scores, atten_probs): int32 [T, N, T], int32 [T, N] (0 where
      nothing terminated), float32 [T, N, T] and float32 [T, N, T, S].

    Raises:
      ValueError: A shape does not match or a back-pointer is not a slot.
    """

def top_k_from_beam_search_outs(
    hyps: npt.ArrayLike,
    prev_hyps: npt.ArrayLike,
    done_hyps: npt.ArrayLike,
    cumulative_scores: npt.ArrayLike,
    eos_scores: npt.ArrayLike,
    scores: npt.ArrayLike | None = None,
    atten_probs: npt.ArrayLike | None = None,
    eos_atten_probs: npt.ArrayLike | None = None,
    cumulative_atten_probs: npt.ArrayLike | None = None,
    *,
    num_hyps_per_beam: int,
    max_seq_length: int,
    length_normalization: float = 0.0,
    coverage_penalty: float = 0.0,
    eos_id: int = 2,
    target_seq_length_ratio: float = 1.0,
    populate_topk_hyps: bool = False,
) -> tuple[
    npt.NDArray[np.int32],
    npt.NDArray[np.int32],
    npt.NDArray[np.float32],
    tuple[
        npt.NDArray[np.int32],
        npt.NDArray[np.int32],
        npt.NDArray[np.float32],
        npt.NDArray[np.float32],
        npt.NDArray[np.float32],
    ]
    | None,
]:
    """The best hyps per beam of TPU-style outputs (Lingvo's TopKFromBeamSearchOuts).

    The hyp terminated at (t, n) scores ``eos_scores[t, n] + cumulative_scores[t - 1, n]``,
    has length t + 1 and ranks by ``score / ((t + 6) / 5)**alpha + r * beta *
    sum_p log(clip(c_p / r, 0.001, 0.5))``, c = ``cumulative_atten_probs[t, n]``; ties go to
    the earlier step, then the smaller slot.

    Args:
      hyps, prev_hyps: int32 [T, N] tokens and back-pointers (within the beam).
      done_hyps: bool [T, N] whether a hyp terminated at (t, n).
      cumulative_scores, eos_scores: float32 [T, N].
      scores, atten_probs, eos_atten_probs: [T, N] and [T, N, S]; needed with
        ``populate_topk_hyps``.
      cumulative_atten_probs: float32 [T, N, S]; needed when ``coverage_penalty > 0``.
      num_hyps_per_beam: K; slot n belongs to beam n % (N / K).
      max_seq_length: Width of the id rows.
      length_normalization, coverage_penalty: alpha, beta >= 0.
      eos_id: The terminal symbol.
      target_seq_length_ratio: r.
      populate_topk_hyps: Also return the kept hyps in full.

    Returns:
      ``(ids, seq_lens, scores, topk_hyps)`` beam-major (row b * K + j): int32
      [N, max_seq_length], int32 [N] (t + 1; 0 = no hyp), float32 [N]; ``topk_hyps`` is
      None or ``top_k_terminated_hyps``' tuple shaped [B, K, ...].

    Raises:
      ValueError: A shape does not match, an input the options need is None, an attribute is
        out of range, or a back-pointer leaves its beam.
    """

class _MergingPool:
    """Test hook: beam_search_step's per-beam pool with path merging, on its own."""

    def __init__(self, k: int, buffer_size_factor: int, epsilon_id: int) -> None: ...
    def add(
        self, slot: int, word: int, local: float, global_score: float, prefix: Sequence[int]
    ) -> float: ...
    def items(self) -> list[tuple[int, int, float, float]]: ...

# Packing (csrc/packing/); the public wrappers are in _packing.py.

class SequencePacker:
    """Packs source/target lengths into rows, keeping its generator between calls."""

    def __init__(
        self,
        packed_batch_size: int,
        packed_src_seq_len: int,
        packed_tgt_seq_len: int,
        seed: int = 0,
    ) -> None: ...
    def __call__(
        self, src_actual_seq_len: npt.ArrayLike, tgt_actual_seq_len: npt.ArrayLike
    ) -> tuple[
        npt.NDArray[np.int32],
        npt.NDArray[np.int32],
        npt.NDArray[np.int32],
        npt.NDArray[np.int32],
        npt.NDArray[np.int32],
        npt.NDArray[np.int32],
    ]: ...

def _pack_single_sequence(
    input_lengths: npt.ArrayLike, max_packed_length: int, require_sequential_order: bool = False
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]: ...
def _apply_packing_gather(
    segment_ids: npt.ArrayLike, indices_in_input: npt.ArrayLike, n: int, length: int
) -> npt.NDArray[np.int64]: ...
def _apply_packing_rows(
    segment_ids: npt.ArrayLike, indices_in_input: npt.ArrayLike, n: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...

class _RowPacker:
    def __init__(
        self,
        rows: int,
        times: Sequence[int],
        align: int = 1,
        pack: bool = True,
        spread_first_n: int = 0,
        use_last_fit: bool = False,
    ) -> None: ...
    def add(self, lens: Sequence[int]) -> tuple[int, tuple[int, ...], int] | None: ...
    def reset(self) -> None: ...

# Metrics (csrc/metrics/); the public wrappers are in _metrics.py.

def _edit_distance(
    hyps: Iterable[str | bytes] | Iterable[npt.ArrayLike],
    refs: Iterable[str | bytes] | Iterable[npt.ArrayLike],
    level: str = "word",
) -> npt.NDArray[np.int64]: ...
def _best_step(
    hist_file: str, tol: float = 0.0, minimize: bool = True, metric: str = ""
) -> tuple[int, int, bool]: ...

# Vocabularies, word pieces, BPE and MLPerf subwords (csrc/text/, bindings/vocab.cc).

_Path = str | bytes | os.PathLike[str] | os.PathLike[bytes]
_Labels = Iterable[str | bytes] | npt.NDArray[np.bytes_ | np.str_ | np.object_]
_TokenBatch = tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float32]]

class Vocabulary:
    """A vocabulary file (Lingvo's simple_vocab), read once; thread-safe."""

    def __init__(self, path: _Path, load_token_ids_from_vocab: bool = False) -> None: ...
    @staticmethod
    def from_lines(
        lines: Sequence[str | bytes], load_token_ids_from_vocab: bool = False
    ) -> Vocabulary: ...
    @property
    def path(self) -> bytes: ...
    @property
    def load_token_ids_from_vocab(self) -> bool: ...
    @property
    def unk_id(self) -> int: ...
    @property
    def sos_id(self) -> int: ...
    @property
    def eos_id(self) -> int: ...
    @property
    def sow_id(self) -> int | None: ...
    @property
    def eow_id(self) -> int | None: ...
    @property
    def unk_token(self) -> bytes: ...
    def __len__(self) -> int: ...
    def __contains__(self, token: str | bytes) -> bool: ...

_VocabArg = Vocabulary | _Path | Sequence[str | bytes]

def _file_cache_stats() -> dict[str, tuple[int, int]]:
    """(hits, loads) of each file cache: vocab, bpe_word_map, bpe_vocab, ml_perf_subword."""

def _clear_file_caches() -> None: ...
def vocab_token_to_id(
    token: str | bytes | _Labels, vocab: _VocabArg, load_token_ids_from_vocab: bool | None = None
) -> npt.NDArray[np.int32]:
    """The id of each token (scalar or 1-D); unknown tokens give vocab.unk_id."""

def vocab_id_to_token(
    id: int | npt.ArrayLike, vocab: _VocabArg, load_token_ids_from_vocab: bool | None = None
) -> npt.NDArray[np.object_]:
    """The token (bytes) of each id (scalar or 1-D); unknown ids give vocab.unk_token."""

def token_in_vocab(
    token: str | bytes | _Labels, vocab: _VocabArg, load_token_ids_from_vocab: bool | None = None
) -> npt.NDArray[np.bool_]:
    """Whether each token (scalar or 1-D) is in the vocabulary."""

def str_to_vocab_tokens(
    labels: _Labels,
    vocab: Vocabulary | _Path,
    *,
    append_eos: bool = True,
    maxlen: int = 300,
    pad_to_maxlen: bool = True,
    load_token_ids_from_vocab: bool | None = None,
    delimiter: str = " ",
) -> _TokenBatch:
    """Lingvo's StrToVocabTokens: (token_ids, target_ids, paddings) shaped [batch, width]."""

def tokenize_to_ids(
    labels: _Labels,
    vocab: _VocabArg,
    *,
    load_token_ids_from_vocab: bool | None = None,
    delimiter: str = " \t\n\v\f\r",
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Each label split and looked up, in one call: (ids of all labels, lengths [batch])."""

def ngram_id_to_token(
    token_ids: npt.ArrayLike,
    seq_lengths: npt.ArrayLike,
    ngram_vocab: Vocabulary | _Path,
    ngram_separator: str = "",
) -> npt.NDArray[np.object_]:
    """Lingvo's NgramIdToToken: each row's first seq_lengths[b] tokens joined, as bytes."""

def bpe_words_to_ids(
    labels: _Labels,
    tokenization_filepath: _Path,
    *,
    append_eos: bool = True,
    maxlen: int = 300,
    sos_id: int = 1,
    eos_id: int = 2,
) -> _TokenBatch:
    """Lingvo's BpeWordsToIds: (token_ids, target_ids, paddings) shaped [batch, maxlen]."""

def bpe_ids_to_words(
    token_ids: npt.ArrayLike, seq_lengths: npt.ArrayLike, vocab_filepath: _Path
) -> npt.NDArray[np.object_]:
    """Lingvo's BpeIdsToWords: each row's words as bytes."""

def ml_perf_subword_id_to_string(
    token_ids: npt.ArrayLike, seq_lengths: npt.ArrayLike, vocab_filepath: _Path
) -> npt.NDArray[np.object_]:
    """Lingvo's MlPerfSubwordIdToString: each row's text as bytes."""

class WordPieceModel:
    """A word-piece model (Lingvo's WpmEncoder / WpmTokenizer), read once; thread-safe."""

    def __init__(self, path: _Path) -> None: ...
    def encode(self, text: str | bytes) -> npt.NDArray[np.int32]: ...
    def encode_batch(self, labels: _Labels) -> list[npt.NDArray[np.int32]]: ...
    def decode(self, ids: npt.ArrayLike) -> bytes: ...
    def ids_to_strings(
        self, token_ids: npt.ArrayLike, seq_lengths: npt.ArrayLike
    ) -> npt.NDArray[np.object_]: ...
    def strings_to_ids(
        self, labels: _Labels, maxlen: int, append_eos: bool = True, pad_to_maxlen: bool = True
    ) -> _TokenBatch: ...
    def id_to_piece(self, ids: int | npt.ArrayLike) -> npt.NDArray[np.object_]: ...
    @property
    def path(self) -> bytes: ...
    @property
    def unk_id(self) -> int: ...
    @property
    def sos_id(self) -> int: ...
    @property
    def eos_id(self) -> int: ...
    def __len__(self) -> int: ...
