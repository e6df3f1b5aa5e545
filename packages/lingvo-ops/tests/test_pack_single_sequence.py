"""Tests of pack_single_sequence against Lingvo's expectations and its 0.14.2 outputs."""

import numpy as np
import pytest

from lingvo import ops


def _rows(packed):
    """The input indices of each row, in row order (what Lingvo's tests compare)."""
    rows = []
    for seg, idx in zip(packed.segment_ids, packed.indices_in_input, strict=True):
        items = []
        for s, i in zip(seg, idx, strict=True):
            if s > 0 and (not items or items[-1] != i):
                items.append(int(i))
        rows.append(items)
    return rows


@pytest.mark.parametrize("sequential", [False, True])
def test_fits_one_row(sequential):
    packed = ops.pack_single_sequence([1, 2, 1], 5, require_sequential_order=sequential)
    np.testing.assert_array_equal(packed.segment_ids, [[1, 2, 2, 3, 0]])
    np.testing.assert_array_equal(packed.indices_in_input, [[0, 1, 1, 2, -1]])
    assert packed.segment_ids.dtype == np.int32
    assert packed.indices_in_input.dtype == np.int32
    assert _rows(packed) == [[0, 1, 2]]


def test_sequential_order():
    packed = ops.pack_single_sequence([5, 4, 3, 2, 1, 5, 4], 5, require_sequential_order=True)
    assert _rows(packed) == [[0], [1], [2, 3], [4], [5], [6]]
    # The full arrays, as Lingvo 0.14.2 returns them.
    np.testing.assert_array_equal(
        packed.segment_ids,
        [
            [1, 1, 1, 1, 1],
            [1, 1, 1, 1, 0],
            [1, 1, 1, 2, 2],
            [1, 0, 0, 0, 0],
            [1, 1, 1, 1, 1],
            [1, 1, 1, 1, 0],
        ],
    )
    np.testing.assert_array_equal(
        packed.indices_in_input,
        [
            [0, 0, 0, 0, 0],
            [1, 1, 1, 1, -1],
            [2, 2, 2, 3, 3],
            [4, -1, -1, -1, -1],
            [5, 5, 5, 5, 5],
            [6, 6, 6, 6, -1],
        ],
    )


def test_best_fit_decreasing():
    packed = ops.pack_single_sequence([5, 4, 3, 2, 1, 5, 4], 5)
    assert _rows(packed) == [[0], [5], [1, 4], [6], [2, 3]]
    np.testing.assert_array_equal(
        packed.segment_ids,
        [
            [1, 1, 1, 1, 1],
            [1, 1, 1, 1, 1],
            [1, 1, 1, 1, 2],
            [1, 1, 1, 1, 0],
            [1, 1, 1, 2, 2],
        ],
    )
    np.testing.assert_array_equal(
        packed.indices_in_input,
        [
            [0, 0, 0, 0, 0],
            [5, 5, 5, 5, 5],
            [1, 1, 1, 1, 4],
            [6, 6, 6, 6, -1],
            [2, 2, 2, 3, 3],
        ],
    )


def test_best_fit_decreasing_wider_rows():
    packed = ops.pack_single_sequence([5, 4, 3, 2, 1, 5, 4], 10)
    assert _rows(packed) == [[0, 5], [1, 3, 6], [2, 4]]
    np.testing.assert_array_equal(
        packed.indices_in_input,
        [
            [0, 0, 0, 0, 0, 5, 5, 5, 5, 5],
            [1, 1, 1, 1, 3, 3, 6, 6, 6, 6],
            [2, 2, 2, 4, -1, -1, -1, -1, -1, -1],
        ],
    )


def test_best_fit_picks_the_tightest_row():
    # Sorted: 3 (5), 2 (0), 2 (1), 2 (2), 1 (3), 1 (4). Item 3 fits rows 0 (room 1) and
    # 2 (room 2) and goes to row 0, the tighter one. Outputs of Lingvo 0.14.2.
    packed = ops.pack_single_sequence([2, 2, 2, 1, 1, 3], 4)
    np.testing.assert_array_equal(packed.segment_ids, [[1, 2, 2, 2], [1, 1, 2, 2], [1, 1, 2, 0]])
    np.testing.assert_array_equal(
        packed.indices_in_input, [[3, 5, 5, 5], [0, 0, 1, 1], [2, 2, 4, -1]]
    )
    sequential = ops.pack_single_sequence([2, 2, 2, 1, 1, 3], 4, require_sequential_order=True)
    assert _rows(sequential) == [[0, 1], [2, 3, 4], [5]]


@pytest.mark.parametrize("sequential", [False, True])
def test_zero_length_items_take_a_segment_id_but_no_position(sequential):
    # Outputs of Lingvo 0.14.2.
    packed = ops.pack_single_sequence([0, 2, 0, 3], 5, require_sequential_order=sequential)
    np.testing.assert_array_equal(packed.segment_ids, [[2, 2, 4, 4, 4]])
    np.testing.assert_array_equal(packed.indices_in_input, [[1, 1, 3, 3, 3]])
    only_empty = ops.pack_single_sequence([0, 0], 5, require_sequential_order=sequential)
    np.testing.assert_array_equal(only_empty.segment_ids, [[0] * 5])
    np.testing.assert_array_equal(only_empty.indices_in_input, [[-1] * 5])


def test_zero_length_item_after_a_full_row():
    packed = ops.pack_single_sequence([3, 0, 2], 5)
    np.testing.assert_array_equal(packed.segment_ids, [[1, 1, 1, 3, 3]])
    np.testing.assert_array_equal(packed.indices_in_input, [[0, 0, 0, 2, 2]])


@pytest.mark.parametrize("sequential", [False, True])
def test_empty_input_gives_no_rows(sequential):
    packed = ops.pack_single_sequence(np.zeros([0], np.int32), 5, sequential)
    assert packed.segment_ids.shape == (0, 5)
    assert packed.indices_in_input.shape == (0, 5)


def test_errors_name_the_index():
    # A length equal to max_packed_length fits (Lingvo's testInputLengthTooLong).
    np.testing.assert_array_equal(ops.pack_single_sequence([10], 10).segment_ids, [[1] * 10])
    with pytest.raises(ValueError, match="Input length at index 1 is too long: 10 vs"):
        ops.pack_single_sequence([1, 10], 5)
    with pytest.raises(ValueError, match="Input length at index 0 is negative: -1"):
        ops.pack_single_sequence([-1], 5)
    with pytest.raises(ValueError, match="max_packed_length must be >= 0"):
        ops.pack_single_sequence([0], -1)
    with pytest.raises(ValueError, match="input_lengths must be a vector"):
        ops.pack_single_sequence([[1, 2]], 5)
    with pytest.raises(TypeError, match="input_lengths must hold integers"):
        ops.pack_single_sequence([1.5], 5)


def _best_fit_rows(lengths, width):
    """Best-fit decreasing written plainly: the row of each item."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    room, row_of = [], {}
    for i in order:
        fitting = [r for r in range(len(room)) if room[r] >= lengths[i]]
        if fitting:
            r = min(fitting, key=lambda r: (room[r], r))
        else:
            room.append(width)
            r = len(room) - 1
        room[r] -= lengths[i]
        row_of[i] = r
    return [[i for i in range(len(lengths)) if row_of[i] == r] for r in range(len(room))]


@pytest.mark.parametrize("seed", range(5))
def test_best_fit_matches_a_plain_implementation(seed):
    rng = np.random.default_rng(seed)
    width = int(rng.integers(4, 20))
    lengths = rng.integers(1, width + 1, size=int(rng.integers(1, 60)))
    packed = ops.pack_single_sequence(lengths, width)
    assert _rows(packed) == _best_fit_rows(lengths.tolist(), width)
    # Every position of an item is filled, rows never overflow, and every item is placed once.
    assert (packed.segment_ids > 0).sum() == lengths.sum()
    placed = sorted(i for row in _rows(packed) for i in row)
    assert placed == list(range(len(lengths)))


@pytest.mark.parametrize("sequential", [False, True])
def test_result_feeds_apply_packing(sequential):
    lengths = np.array([3, 1, 4, 2, 2])
    data = np.arange(5 * 4).reshape(5, 4) + 100  # row i holds its tokens 100 + 4i ...
    packed = ops.pack_single_sequence(lengths, 5, require_sequential_order=sequential)
    out = ops.apply_packing(data, -1, packed.segment_ids, packed.indices_in_input)
    for row, items in enumerate(_rows(packed)):
        expected = np.concatenate([data[i, : lengths[i]] for i in items])
        np.testing.assert_array_equal(out[row, : len(expected)], expected)
        assert (out[row, len(expected) :] == -1).all()
    sums = ops.apply_packing(lengths, 0, packed.segment_ids, packed.indices_in_input)
    np.testing.assert_array_equal(sums, [lengths[items].sum() for items in _rows(packed)])
