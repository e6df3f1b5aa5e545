"""Tests of the row packer, pack_sequences and apply_packing against Lingvo's expectations."""

import numpy as np
import pytest

from lingvo import ops
from lingvo.ops import _ops


def _adds(packer, items):
    return [packer.add(list(lens)) for lens in items]


_ITEMS = [(3, 4), (5, 3), (5, 3), (1, 1), (1, 1)]


def test_row_packer_align_2():
    packer = _ops._RowPacker(2, [10, 10], align=2)
    got = _adds(packer, _ITEMS)
    assert got == [(0, (0, 0), 1), (0, (4, 4), 2), (1, (0, 0), 1), (1, (6, 4), 2), (1, (8, 6), 3)]
    packer.reset()
    assert _adds(packer, _ITEMS[:1]) == [(0, (0, 0), 1)]


def test_row_packer_fit_failures():
    packer = _ops._RowPacker(2, [10, 10], align=2)
    assert packer.add([11, 1]) is None
    assert packer.add([1, 11]) is None
    assert packer.add([10, 10]) == (0, (0, 0), 1)
    assert packer.add([10, 10]) == (1, (0, 0), 1)
    assert packer.add([1, 1]) is None


def test_row_packer_align_1():
    got = _adds(_ops._RowPacker(2, [10, 10], align=1), _ITEMS)
    assert got == [(0, (0, 0), 1), (0, (3, 4), 2), (1, (0, 0), 1), (0, (8, 7), 3), (0, (9, 8), 4)]


def test_row_packer_no_pack_takes_one_item_per_row():
    got = _adds(_ops._RowPacker(2, [10, 10], pack=False), _ITEMS)
    assert got == [(0, (0, 0), 1), (1, (0, 0), 1), None, None, None]


def test_row_packer_per_column_times():
    packer = _ops._RowPacker(2, [4, 6])
    assert _adds(packer, [(4, 6), (2, 3), (2, 3), (1, 1)]) == [
        (0, (0, 0), 1),
        (1, (0, 0), 1),
        (1, (2, 3), 2),
        None,
    ]
    assert packer.add([5, 1]) is None


def test_row_packer_spread_first_n():
    # The first three items take rows 0, 1, 2 even though row 0 has room.
    packer = _ops._RowPacker(3, [10], spread_first_n=3)
    assert _adds(packer, [(1,), (1,), (1,), (1,)]) == [
        (0, (0,), 1),
        (1, (0,), 1),
        (2, (0,), 1),
        (0, (1,), 2),
    ]
    # A miss while spreading does not use up the slot; spread is clamped to rows.
    packer = _ops._RowPacker(2, [5], spread_first_n=9)
    assert _adds(packer, [(6,), (2,), (2,), (2,)]) == [
        None,
        (0, (0,), 1),
        (1, (0,), 1),
        (0, (2,), 2),
    ]


def test_row_packer_use_last_fit():
    items = [(6,), (6,), (3,), (1,)]
    first_fit = _adds(_ops._RowPacker(2, [10]), items)
    assert first_fit == [(0, (0,), 1), (1, (0,), 1), (0, (6,), 2), (0, (9,), 3)]
    last_fit = _adds(_ops._RowPacker(2, [10], use_last_fit=True), items)
    # After row 1 took an item the search starts there, so the 3 goes to row 1.
    assert last_fit == [(0, (0,), 1), (1, (0,), 1), (1, (6,), 2), (1, (9,), 3)]
    # Wrapping around: row 1 is full, so the search continues at row 0.
    packer = _ops._RowPacker(2, [10], use_last_fit=True)
    assert _adds(packer, [(2,), (10,), (3,)]) == [(0, (0,), 1), (1, (0,), 1), (0, (2,), 2)]


def _check(result, expected):
    got = [np.asarray(a).tolist() for a in result]
    assert got == [np.asarray(e).tolist() for e in expected]
    for a in result:
        assert a.dtype == np.int32


def test_pack_sequences_doc_examples():
    # Lingvo's op docstring shows [3, 2, 1] / [4, 1, 5] into 2 rows of 5 / 5 as
    # [[1, 1, 1, 2, 2], [1, 0, 0, 0, 0]], which is first fit without spreading the first
    # packed_batch_size items; its own tests (SpreadFirstN below) and the 4 / 6 example
    # spread them, and so do we. The docstring's layout is the row packer's without spread.
    packer = _ops._RowPacker(3, [5, 5])
    assert _adds(packer, [(3, 4), (2, 1), (1, 5)]) == [
        (0, (0, 0), 1),
        (0, (3, 4), 2),
        (1, (0, 0), 1),
    ]
    r = ops.pack_sequences([3, 2, 1], [4, 1, 5], 2, 4, 6)
    assert r.src_segment_ids.tolist() == [[1, 1, 1, 0], [1, 1, 2, 0]]
    assert r.tgt_segment_ids.tolist() == [[1, 1, 1, 1, 0, 0], [1, 2, 2, 2, 2, 2]]


def test_pack_sequences_basic():
    expected = [
        [[1, 2, 0, 0, 0], [1, 1, 0, 0, 0]],
        [[0, 0, 0, 0, 0], [0, 1, 0, 0, 0]],
        [[0, 2, 0, 0, 0], [1, 1, 0, 0, 0]],
    ]
    _check(ops.pack_sequences([1, 2, 1], [1, 2, 1], 2, 5, 5), expected * 2)
    # Lingvo's ShapeUnknown case: the same through numpy arrays of another dtype.
    src = np.array([1, 2, 1], np.int64)
    _check(ops.pack_sequences(src, src.astype(np.int16), 2, 5, 5), expected * 2)


def test_pack_sequences_spread_first_n():
    _check(
        ops.pack_sequences([3, 1, 2], [4, 2, 1], 2, 5, 5),
        [
            [[1, 1, 1, 2, 2], [1, 0, 0, 0, 0]],
            [[0, 1, 2, 0, 1], [0] * 5],
            [[0, 0, 0, 2, 2], [1, 0, 0, 0, 0]],
            [[1, 1, 1, 1, 2], [1, 1, 0, 0, 0]],
            [[0, 1, 2, 3, 0], [0, 1, 0, 0, 0]],
            [[0, 0, 0, 0, 2], [1, 1, 0, 0, 0]],
        ],
    )


def test_pack_sequences_different_src_tgt_lengths():
    _check(
        ops.pack_sequences([3, 2, 1], [4, 1, 5], 2, 4, 6),
        [
            [[1, 1, 1, 0], [1, 1, 2, 0]],
            [[0, 1, 2, 0], [0, 1, 0, 0]],
            [[0, 0, 0, 0], [1, 1, 2, 0]],
            [[1, 1, 1, 1, 0, 0], [1, 2, 2, 2, 2, 2]],
            [[0, 1, 2, 3, 0, 0], [0, 0, 1, 2, 3, 4]],
            [[0] * 6, [1, 2, 2, 2, 2, 2]],
        ],
    )


def test_pack_sequences_padding():
    zeros = np.zeros((3, 3), np.int32)
    _check(
        ops.pack_sequences([1], [2], 3, 3, 3),
        [
            [[1, 0, 0], [0, 0, 0], [0, 0, 0]],
            zeros,
            zeros,
            [[1, 1, 0], [0, 0, 0], [0, 0, 0]],
            [[0, 1, 0], [0, 0, 0], [0, 0, 0]],
            zeros,
        ],
    )


def test_pack_sequences_drops_inputs_too_long():
    _check(
        ops.pack_sequences([1, 3, 1], [4, 1, 2], 2, 2, 3),
        [
            [[1, 0], [0, 0]],
            [[0, 0], [0, 0]],
            [[2, 0], [0, 0]],
            [[1, 1, 0], [0, 0, 0]],
            [[0, 1, 0], [0, 0, 0]],
            [[2, 2, 0], [0, 0, 0]],
        ],
    )


def test_pack_sequences_drops_non_positive_lengths():
    _check(
        ops.pack_sequences([1, 0, 1], [0, 1, 3], 2, 2, 3),
        [
            [[1, 0], [0, 0]],
            [[0, 0], [0, 0]],
            [[2, 0], [0, 0]],
            [[1, 1, 1], [0, 0, 0]],
            [[0, 1, 2], [0, 0, 0]],
            [[2, 2, 2], [0, 0, 0]],
        ],
    )


def test_pack_sequences_packed_batch_size_0():
    src = [3, 1, 2, 0, 1, 6, 2, 3, 4, 1, 1]
    tgt = [4, 2, 1, 1, 0, 2, 6, 1, 1, 4, 3]
    _check(
        ops.pack_sequences(src, tgt, 0, 5, 5),
        [
            [[1, 1, 1, 2, 2], [1, 2, 2, 2, 0], [1, 1, 1, 1, 2], [1, 0, 0, 0, 0]],
            [[0, 1, 2, 0, 1], [0, 0, 1, 2, 0], [0, 1, 2, 3, 0], [0] * 5],
            [[0, 0, 0, 2, 2], [1, 7, 7, 7, 0], [8, 8, 8, 8, 9], [10, 0, 0, 0, 0]],
            [[1, 1, 1, 1, 2], [1, 1, 2, 0, 0], [1, 2, 2, 2, 2], [1, 1, 1, 0, 0]],
            [[0, 1, 2, 3, 0], [0, 1, 0, 0, 0], [0, 0, 1, 2, 3], [0, 1, 2, 0, 0]],
            [[0, 0, 0, 0, 2], [1, 1, 7, 0, 0], [8, 9, 9, 9, 9], [10, 10, 10, 0, 0]],
        ],
    )


@pytest.mark.parametrize(
    ("seed", "expected"),
    [
        # MT19937(45) draws 4247772107 first: j = 2, so the third row is dropped.
        (
            45,
            [
                [[1, 1], [1, 0]],
                [[0, 1], [0, 0]],
                [[0, 0], [1, 0]],
                [[1, 0], [1, 1]],
                [[0, 0], [0, 1]],
                [[0, 0], [1, 1]],
            ],
        ),
        # 2**37 + 1 truncates to seed 1, whose first draw 1791095845 gives j = 1.
        (
            2**37 + 1,
            [
                [[1, 1], [1, 1]],
                [[0, 1], [0, 1]],
                [[0, 0], [2, 2]],
                [[1, 0], [1, 0]],
                [[0, 0], [0, 0]],
                [[0, 0], [2, 0]],
            ],
        ),
    ],
)
def test_pack_sequences_dropping_inputs_fixed_seed(seed, expected):
    _check(ops.pack_sequences([2, 1, 2], [1, 2, 1], 2, 2, 2, seed=seed), expected)


def test_pack_sequences_dropping_inputs_non_deterministic():
    kept = {0: 0, 1: 0, 2: 0}
    for _ in range(100):
        r = ops.pack_sequences([2, 2, 2], [2, 2, 2], 1, 2, 2, seed=0)
        kept[int(r.src_indices_in_input[0, 0])] += 1
    assert all(count > 10 for count in kept.values()), kept


def test_sequence_packer_keeps_its_generator():
    packer = ops.SequencePacker(1, 2, 2, seed=45)
    firsts = [int(packer([2, 2, 2], [2, 2, 2])[2][0, 0]) for _ in range(20)]
    # The stream goes on between calls, so the kept row varies; a fresh packer repeats it.
    assert len(set(firsts)) > 1
    again = ops.SequencePacker(1, 2, 2, seed=45)
    assert [int(again([2, 2, 2], [2, 2, 2])[2][0, 0]) for _ in range(20)] == firsts


def test_pack_sequences_errors():
    with pytest.raises(ValueError, match="must be a vector"):
        ops.pack_sequences([[1]], [[1]], 2, 5, 5)
    with pytest.raises(ValueError, match="must be the same shape as"):
        ops.pack_sequences([1, 2], [1], 2, 5, 5)
    with pytest.raises(TypeError, match="integers"):
        ops.pack_sequences([1.5], [1.0], 2, 5, 5)
    with pytest.raises(TypeError):
        ops.pack_sequences([1], [1], 2, 5.0, 5)
    with pytest.raises(ValueError, match="packed_batch_size"):
        ops.pack_sequences([1], [1], -1, 5, 5)
    with pytest.raises(ValueError, match="packed_src_seq_len"):
        ops.pack_sequences([1], [1], 1, 0, 5)


def test_pack_sequences_then_apply_packing_round_trip():
    src_lens = np.array([3, 1, 2, 4, 2])
    tgt_lens = np.array([2, 3, 1, 2, 3])
    src = np.arange(5 * 4).reshape(5, 4) + 100
    r = ops.pack_sequences(src_lens, tgt_lens, 0, 6, 6)
    packed = ops.apply_packing(src, -1, r.src_segment_ids, r.src_indices_in_input)
    for row in range(packed.shape[0]):
        for col in range(6):
            if r.src_segment_ids[row, col]:
                i = r.src_indices_in_input[row, col]
                assert packed[row, col] == src[i, r.src_segment_pos[row, col]]
            else:
                assert packed[row, col] == -1


# apply_packing


def test_apply_packing_basic_and_padding():
    x = np.array([[0, 1], [2, 3]])
    np.testing.assert_array_equal(
        ops.apply_packing(x, 0, [[1, 1], [1, 1]], [[1, 1], [0, 0]]), [[2, 3], [0, 1]]
    )
    np.testing.assert_array_equal(
        ops.apply_packing(x, -1, [[1, 1, 0], [1, 1, 0]], [[1, 1, 0], [0, 0, 0]]),
        [[2, 3, -1], [0, 1, -1]],
    )
    np.testing.assert_array_equal(ops.apply_packing(x, 0, [[1], [1]], [[0], [1]]), [[0], [2]])


@pytest.mark.parametrize(
    ("n", "seg", "idx", "expected"),
    [
        (
            10,
            [[1, 1, 2, 2], [0, 1, 0, 2]],
            [[2, 2, 3, 3], [0, 4, 0, 0]],
            [[4, 5, 6, 7], [-1, 8, -1, 0]],
        ),
        (
            24,
            [[0, 0, 0, 1], [1, 1, 1, 1], [1, 2, 3, 4]],
            [[0, 0, 0, 0], [1, 1, 1, 1], [2, 3, 4, 5]],
            [[-1, -1, -1, 0], [4, 5, 6, 7], [8, 12, 16, 20]],
        ),
        (
            24,
            [[0] * 5, [0, 1, 1, 0, 0], [0, 1, 1, 0, 2]],
            [[0] * 5, [0, 1, 1, 0, 0], [0, 0, 0, 0, 3]],
            [[-1] * 5, [-1, 4, 5, -1, -1], [-1, 0, 1, -1, 12]],
        ),
        (
            400,
            [[1, 1, 1, 2, 2], [0, 1, 1, 1, 1], [2, 2, 0, 0, 3]],
            [[99, 99, 99, 1, 1], [0, 50, 50, 50, 50], [90, 90, 0, 0, 3]],
            [[396, 397, 398, 4, 5], [-1, 200, 201, 202, 203], [360, 361, -1, -1, 12]],
        ),
    ],
)
def test_apply_packing_matrices(n, seg, idx, expected):
    x = np.arange(n).reshape(-1, 4 if n != 10 else 2)
    np.testing.assert_array_equal(ops.apply_packing(x, -1, seg, idx), expected)


@pytest.mark.parametrize(
    "dtype",
    [np.float32, np.float64, np.int32, np.int64, np.uint32, np.uint64, np.bool_, np.int8],
)
def test_apply_packing_dtypes(dtype):
    x = np.arange(6).reshape(3, 2).astype(dtype)
    out = ops.apply_packing(x, 99, [[1, 1, 0], [1, 0, 0]], [[2, 2, 0], [1, 0, 0]])
    assert out.dtype == x.dtype
    pad = np.asarray(99).astype(dtype)
    np.testing.assert_array_equal(out, np.array([[x[2, 0], x[2, 1], pad], [x[1, 0], pad, pad]]))


def test_apply_packing_bfloat16_when_available():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = np.arange(4).reshape(2, 2).astype(ml_dtypes.bfloat16)
    out = ops.apply_packing(x, 99, [[1, 1, 0]], [[1, 1, 0]])
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out.astype(np.float32), [[2, 3, 99]])


def test_apply_packing_rank3_and_strings():
    x = np.arange(12).reshape(2, 3, 2)
    out = ops.apply_packing(x, 0, [[1, 1, 2]], [[1, 1, 0]])
    np.testing.assert_array_equal(out, [[[6, 7], [8, 9], [0, 1]]])
    s = np.array([["a", "b"], ["c", "d"]], dtype=object)
    out = ops.apply_packing(s, "", [[1, 2, 0]], [[1, 0, 0]])
    assert out.tolist() == [["c", "a", ""]]


@pytest.mark.parametrize(
    ("sep", "seg", "idx", "expected"),
    [
        (b",", [[1, 1]], [[1, 0]], [b"b,a"]),
        (b",", [[1, 1, 1]], [[1, 1, 1]], [b"b"]),
        (b"=", [[1, 1, 1, 0]], [[1, 0, 3, 2]], [b"b=a=d"]),
        (b";", [[1, 2], [1, 2]], [[2, 1], [0, 1]], [b"c;b", b"a;b"]),
        (b";", [[0, 0, 1], [0, 1, 0]], [[0, 0, 2], [0, 1, 0]], [b"c", b"b"]),
        (b",", [[0, 0], [1, 1]], [[0, 0], [0, 2]], [b"", b"a,c"]),
    ],
)
def test_apply_packing_string_vectors(sep, seg, idx, expected):
    words = np.array([b"a", b"b", b"c", b"d"], dtype=object)
    assert ops.apply_packing(words, sep, seg, idx).tolist() == expected
    assert ops.apply_packing(list(words), sep, seg, idx).tolist() == expected


@pytest.mark.parametrize(
    ("seg", "idx", "expected"),
    [
        ([[1, 1, 0], [1, 0, 0]], [[1, 1, 0], [5, 0, 0]], [1, 5]),
        ([[1, 2], [1, 0]], [[0, 1], [3, 0]], [1, 3]),
        ([[1, 1, 2, 2]], [[1, 1, 2, 2]], [3]),
        ([[1, 2, 3]], [[4, 5, 6]], [15]),
    ],
)
def test_apply_packing_sums(seg, idx, expected):
    x = np.arange(10)
    out = ops.apply_packing(x, 0, seg, idx)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize(
    ("seg", "idx", "expected"),
    [
        # testApplyPackingSum of Lingvo's pack_ops_test.py: Basic, Padding, Tiny, Larger.
        ([[1, 1], [1, 1]], [[1, 1], [5, 5]], [1, 5]),
        ([[1, 1, 0], [1, 1, 0]], [[1, 1, 0], [3, 3, 0]], [1, 3]),
        ([[1], [1]], [[3], [1]], [3, 1]),
        ([[1, 1, 2, 2], [0, 1, 2, 3], [0, 1, 1, 1]], [[2, 2, 3, 3], [9, 4, 5, 6], [9, 8, 8, 8]],
         [5, 15, 8]),
    ],
)  # fmt: skip
@pytest.mark.parametrize(
    "dtype", [np.int32, np.int64, np.float32, np.float64, np.uint32, np.uint64]
)
def test_apply_packing_sums_reference(seg, idx, expected, dtype):
    out = ops.apply_packing(np.arange(10, dtype=dtype), 0, seg, idx)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, np.array(expected, dtype))


def test_apply_packing_errors():
    x = np.arange(4).reshape(2, 2)
    with pytest.raises(ValueError, match="out of bound"):
        ops.apply_packing(x, 0, [[1, 1]], [[2, 2]])
    with pytest.raises(ValueError, match="out of bound"):
        ops.apply_packing(x, 0, [[1, 1, 1]], [[0, 0, 0]])
    with pytest.raises(ValueError, match="out of bound"):
        ops.apply_packing(np.arange(3), 0, [[1, 1]], [[0, -1]])
    with pytest.raises(ValueError, match="padding must be a scalar"):
        ops.apply_packing(x, [0], [[1, 1]], [[0, 0]])
    with pytest.raises(ValueError, match="must be matrices of the same shape"):
        ops.apply_packing(x, 0, [[1, 1]], [[0, 0, 0]])
    with pytest.raises(ValueError, match="matrix"):
        ops.apply_packing(x, 0, [1, 1], [0, 0])
