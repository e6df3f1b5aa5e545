"""Packing of short examples into fixed-size rows: pack_sequences, pack_single_sequence and
apply_packing."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from lingvo.ops import _ops

SequencePacker = _ops.SequencePacker


class PackedSequences(NamedTuple):
    """Where each example went, as in Lingvo's PackSequences outputs.

    Each array is int32, shaped [rows, packed_src_seq_len] (src) or [rows, packed_tgt_seq_len]
    (tgt); padding positions hold 0 in every array.
    """

    src_segment_ids: np.ndarray
    src_segment_pos: np.ndarray
    src_indices_in_input: np.ndarray
    tgt_segment_ids: np.ndarray
    tgt_segment_pos: np.ndarray
    tgt_indices_in_input: np.ndarray


def pack_sequences(
    src_actual_seq_len: npt.ArrayLike,
    tgt_actual_seq_len: npt.ArrayLike,
    packed_batch_size: int,
    packed_src_seq_len: int,
    packed_tgt_seq_len: int,
    seed: int = 0,
) -> PackedSequences:
    """Packs examples of the given source and target lengths into rows (Lingvo's PackSequences).

    Example ``i`` goes, first fit, into a row with ``src_actual_seq_len[i]`` free source and
    ``tgt_actual_seq_len[i]`` free target positions. Examples with a length < 1 and examples
    that fit no row are dropped. With ``packed_batch_size > 0`` the first that-many examples
    start one row each, and when more rows were needed, ``packed_batch_size`` of them are
    kept by reservoir sampling (MT19937 seeded with ``seed`` truncated to 32 bits, as
    Lingvo does, so a seed gives Lingvo's choice).

    Lingvo's op kept its generator between calls; this function starts a fresh one per call,
    so a non-zero seed gives the same result every call. Use ``SequencePacker`` for a packer
    whose generator carries on.

    Args:
      src_actual_seq_len: Integer source lengths shaped [batch].
      tgt_actual_seq_len: Integer target lengths shaped [batch].
      packed_batch_size: Rows of the result; 0 = as many as the examples need.
      packed_src_seq_len: Source positions per row; >= 1.
      packed_tgt_seq_len: Target positions per row; >= 1.
      seed: Seed of the row sampling; 0 draws one from the OS.

    Returns:
      A ``PackedSequences`` of six int32 arrays: for source and for target, ``segment_ids``
      (1-based order of the example within its row), ``segment_pos`` (0, 1, ... within the
      example) and ``indices_in_input`` (the example's index), each shaped
      [rows, packed_src_seq_len] or [rows, packed_tgt_seq_len] with zeros where padded.

    Raises:
      ValueError: A length argument is not a vector, the two differ in shape, or a size is
        out of range.
      TypeError: A length argument does not hold integers.
    """
    packer = _ops.SequencePacker(packed_batch_size, packed_src_seq_len, packed_tgt_seq_len, seed)
    return PackedSequences(*packer(src_actual_seq_len, tgt_actual_seq_len))


class PackedSingleSequence(NamedTuple):
    """Where each example went, as in Lingvo's PackSingleSequence outputs.

    Both arrays are int32 shaped [rows, max_packed_length].
    """

    segment_ids: np.ndarray  # 1-based order of the example within its row; 0 where padded.
    indices_in_input: np.ndarray  # The example's index; -1 where padded.


def pack_single_sequence(
    input_lengths: npt.ArrayLike,
    max_packed_length: int,
    require_sequential_order: bool = False,
) -> PackedSingleSequence:
    """Packs examples of one length each into rows (Lingvo's PackSingleSequence).

    With ``require_sequential_order`` the examples fill rows in input order, a new row
    starting whenever the next example would overflow the current one. Otherwise the rows
    come from best-fit decreasing: longest example first (ties by index), each into the row
    with the least room left that still holds it (ties: the earliest row), else a new row.
    Within a row the examples are laid out in increasing input index; a zero-length example
    takes a segment id but no position. The result plugs into ``apply_packing``.

    Args:
      input_lengths: Integer lengths shaped [batch], each in [0, max_packed_length].
      max_packed_length: Positions per row.
      require_sequential_order: Keep the input order across rows (e.g. for evaluation).

    Returns:
      A ``PackedSingleSequence`` of ``segment_ids`` (0 where padded) and
      ``indices_in_input`` (-1 where padded), int32 [rows, max_packed_length]; no rows for
      an empty input.

    Raises:
      ValueError: ``input_lengths`` is not a vector, or a length is negative or longer than
        ``max_packed_length`` (the message names its index: "Input length at index i is too
        long").
      TypeError: ``input_lengths`` does not hold integers.
    """
    return PackedSingleSequence(
        *_ops._pack_single_sequence(input_lengths, max_packed_length, require_sequential_order)
    )


def apply_packing(
    input: npt.ArrayLike,
    padding: object,
    segment_ids: npt.ArrayLike,
    indices_in_input: npt.ArrayLike,
) -> np.ndarray:
    """Gathers examples into the rows that ``pack_sequences`` laid out (Lingvo's ApplyPacking).

    For ``input`` of rank >= 2, shaped [batch, length, ...], the result is shaped
    [rows, cols, ...] and filled with ``padding``; each maximal run of equal positive
    segment ids in a row receives ``input[indices_in_input[row, start of run], :run length]``.

    For a vector ``input`` the result is shaped [rows]: a row combines ``input[i]`` for the
    indices ``i`` at its non-zero segment ids (an index repeated at consecutive positions
    counts once): numbers are summed (``padding`` is unused), strings are joined with
    ``padding`` as the separator (``""`` for an empty row).

    Args:
      input: Array shaped [batch, length, ...] or [batch], of any numpy dtype (numbers,
        bool, bfloat16, fixed-width strings, object arrays of str or bytes).
      padding: Scalar fill value (rank >= 2) or separator (a vector of strings).
      segment_ids: Integer matrix [rows, cols]; 0 = padding.
      indices_in_input: Integer matrix [rows, cols] of the same shape.

    Returns:
      The packed array, of ``input``'s dtype.

    Raises:
      ValueError: ``padding`` is not a scalar, ``segment_ids`` and ``indices_in_input``
        are not matrices of the same shape, an index is outside [0, batch) or a run is
        longer than ``length`` ("out of bound").
    """
    if isinstance(input, (list, tuple)) and input and isinstance(input[0], (str, bytes)):
        input = np.array(input, dtype=object)
    values = np.asarray(input)
    if np.ndim(padding) != 0:
        raise ValueError(f"padding must be a scalar, got shape {np.shape(padding)}")
    if values.ndim == 0:
        raise ValueError("input must have rank >= 1, got a scalar")
    if values.ndim >= 2:
        batch, length = values.shape[:2]
        gather = _ops._apply_packing_gather(segment_ids, indices_in_input, batch, length)
        out = np.empty(gather.shape + values.shape[2:], dtype=values.dtype)
        out[...] = np.asarray(padding, dtype=values.dtype) if values.dtype != object else padding
        flat = values.reshape((batch * length, *values.shape[2:]))
        mask = gather >= 0
        out[mask] = flat[gather[mask]]
        return out
    offsets, indices = _ops._apply_packing_rows(segment_ids, indices_in_input, values.shape[0])
    rows = offsets.shape[0] - 1
    if values.dtype == object or values.dtype.kind in "SU":
        items = values[indices].tolist()
        out = np.empty(rows, dtype=object)
        for r in range(rows):
            out[r] = padding.join(items[offsets[r] : offsets[r + 1]])
        return out
    out = np.zeros(rows, dtype=values.dtype)
    np.add.at(out, np.repeat(np.arange(rows), np.diff(offsets)), values[indices])
    return out
