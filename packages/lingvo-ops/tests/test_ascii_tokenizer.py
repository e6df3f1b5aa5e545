"""Tests of ascii_to_token_ids and id_to_ascii against Lingvo's reference vectors."""

import threading
import time

import numpy as np
import pytest

from lingvo import ops

LABELS = [
    "hElLo",
    "sIr<epsilon>",
    "What a <unk> day",
    "america's",
    "<noise> early",
    "1:00 AM",
    "<text_only>morning",
]

TOKEN_IDS = [
    [1, 12, 9, 16, 16, 19, 2, 2, 2, 2],
    [1, 23, 13, 22, 73, 2, 2, 2, 2, 2],
    [1, 27, 12, 5, 24, 3, 5, 3, 0, 3],
    [1, 5, 17, 9, 22, 13, 7, 5, 32, 23],
    [1, 4, 3, 9, 5, 22, 16, 29, 2, 2],
    [1, 40, 34, 39, 39, 3, 5, 17, 2, 2],
    [1, 74, 17, 19, 22, 18, 13, 18, 11, 2],
]

TARGET_IDS = [
    [12, 9, 16, 16, 19, 2, 2, 2, 2, 2],
    [23, 13, 22, 73, 2, 2, 2, 2, 2, 2],
    [27, 12, 5, 24, 3, 5, 3, 0, 3, 2],
    [5, 17, 9, 22, 13, 7, 5, 32, 23, 2],
    [4, 3, 9, 5, 22, 16, 29, 2, 2, 2],
    [40, 34, 39, 39, 3, 5, 17, 2, 2, 2],
    [74, 17, 19, 22, 18, 13, 18, 11, 2, 2],
]


def _paddings(real_counts, width):
    return np.array([[0.0] * n + [1.0] * (width - n) for n in real_counts], np.float32)


# Every symbol of the table, in id order.
SYMBOLS = (
    ["<unk>", "<s>", "</s>", " ", "<noise>"]
    + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    + list(".'-:!~`;")
    + [str(d) for d in range(10)]
    + list('"#$%&()*+,/<=>?@[\\]^_{|}')
    + ["<epsilon>", "<text_only>", "<sorw>"]
)


def _ids(text):
    """The ids of one string, without <s>, </s> or padding."""
    token_ids, _, paddings = ops.ascii_to_token_ids([text], append_eos=False, maxlen=1000)
    n = int((paddings[0] == 0).sum())
    return token_ids[0, 1 : n + 1].tolist()


class TestReferenceVectors:
    def test_default_append_eos(self):
        token_ids, target_ids, paddings = ops.ascii_to_token_ids(LABELS, maxlen=10)
        np.testing.assert_array_equal(token_ids, TOKEN_IDS)
        np.testing.assert_array_equal(target_ids, TARGET_IDS)
        np.testing.assert_array_equal(paddings, _paddings([6, 5, 10, 10, 8, 8, 9], 10))

    def test_output_types_and_shapes(self):
        outputs = ops.ascii_to_token_ids(LABELS, maxlen=10)
        assert isinstance(outputs, tuple) and len(outputs) == 3
        token_ids, target_ids, paddings = outputs
        assert token_ids.dtype == np.int32 and token_ids.shape == (7, 10)
        assert target_ids.dtype == np.int32 and target_ids.shape == (7, 10)
        assert paddings.dtype == np.float32 and paddings.shape == (7, 10)
        for array in outputs:
            assert array.flags.c_contiguous and array.flags.writeable

    def test_no_append_eos(self):
        labels = [*LABELS[:-1], "100%"]
        token_ids, target_ids, paddings = ops.ascii_to_token_ids(
            labels, append_eos=False, maxlen=10
        )
        np.testing.assert_array_equal(token_ids[:-1], TOKEN_IDS[:-1])
        np.testing.assert_array_equal(target_ids[:-1], TARGET_IDS[:-1])
        np.testing.assert_array_equal(token_ids[-1], [1, 40, 39, 39, 52, 2, 2, 2, 2, 2])
        np.testing.assert_array_equal(target_ids[-1], [40, 39, 39, 52, 2, 2, 2, 2, 2, 2])
        np.testing.assert_array_equal(paddings, _paddings([5, 4, 9, 9, 7, 7, 4], 10))

    def test_no_pad_to_maxlen(self):
        token_ids, target_ids, paddings = ops.ascii_to_token_ids(
            LABELS, maxlen=20, pad_to_maxlen=False
        )
        assert token_ids.shape == target_ids.shape == paddings.shape == (7, 13)
        np.testing.assert_array_equal(token_ids[2], [1, 27, 12, 5, 24, 3, 5, 3, 0, 3, 8, 5, 29])
        np.testing.assert_array_equal(target_ids[2], [27, 12, 5, 24, 3, 5, 3, 0, 3, 8, 5, 29, 2])
        # Rows that were not truncated at maxlen=10 keep their values, padded with 2 / 1.0.
        for row in (0, 1, 4, 5, 6):
            np.testing.assert_array_equal(token_ids[row], TOKEN_IDS[row] + [2, 2, 2])
            np.testing.assert_array_equal(target_ids[row], TARGET_IDS[row] + [2, 2, 2])
        np.testing.assert_array_equal(token_ids[3], TOKEN_IDS[3] + [2, 2, 2])
        np.testing.assert_array_equal(target_ids[3], [5, 17, 9, 22, 13, 7, 5, 32, 23, 2, 2, 2, 2])
        np.testing.assert_array_equal(paddings, _paddings([6, 5, 13, 10, 8, 8, 9], 13))

    def test_id_to_ascii_of_targets(self):
        labels = [*LABELS[:-1], "100%"]
        _, target_ids, _ = ops.ascii_to_token_ids(labels, append_eos=False, maxlen=10)
        target_ids[-1, 0] = 52  # The reference's last row starts with '%'.
        strings = ops.id_to_ascii(target_ids, np.array([5, 4, 9, 9, 7, 7, 1], np.int32))
        assert isinstance(strings, np.ndarray)
        assert strings.dtype == object and strings.shape == (7,)
        assert strings.tolist() == [
            b"hello",
            b"sir<epsilon>",
            b"what a <unk> ",
            b"america's",
            b"<noise> early",
            b"1:00 am",
            b"%",
        ]


class TestTokenization:
    def test_table_has_76_symbols(self):
        assert len(SYMBOLS) == 76
        assert SYMBOLS[31] == "." and SYMBOLS[49] == '"' and SYMBOLS[66] == "\\"

    @pytest.mark.parametrize("token_id", range(76))
    def test_every_symbol_round_trips(self, token_id):
        symbol = SYMBOLS[token_id]
        assert _ids(symbol) == [token_id]
        assert ops.id_to_ascii([[token_id]], [1]).tolist() == [symbol.encode()]

    def test_uppercase_letters_and_tags_are_lowercased(self):
        assert _ids("ABCXYZ") == _ids("abcxyz") == [5, 6, 7, 28, 29, 30]
        assert _ids("<NOISE><S></S><UNK><Epsilon><TEXT_ONLY><SoRw>") == [4, 1, 2, 0, 73, 74, 75]

    def test_incomplete_tags_are_single_characters(self):
        assert _ids("<s") == [60, 23]
        assert _ids("<noise") == [60, 18, 19, 13, 23, 9]
        assert _ids("<<s>>") == [60, 1, 62]
        assert _ids("</S") == [60, 59, 23]

    def test_bytes_outside_the_table_are_unk(self):
        # Each byte of a UTF-8 multibyte character is a separate <unk>.
        assert _ids("é") == [0, 0]
        assert _ids("a€b") == [5, 0, 0, 0, 6]
        assert _ids("\t\n\x00\x7f") == [0, 0, 0, 0]
        assert _ids(b"\xff\x80a") == [0, 0, 5]

    def test_str_and_bytes_and_numpy_inputs_agree(self):
        expected = ops.ascii_to_token_ids(LABELS, maxlen=10)
        encoded = [label.encode() for label in LABELS]
        for labels in (
            tuple(LABELS),
            encoded,
            np.array(LABELS),
            np.array(encoded),
            np.array(LABELS, dtype=object),
            np.array([*encoded, b"x"])[:-1],
            np.array([e for label in encoded for e in (label, b"gap")])[::2],
            (label for label in LABELS),
        ):
            for got, want in zip(ops.ascii_to_token_ids(labels, maxlen=10), expected, strict=True):
                np.testing.assert_array_equal(got, want)

    def test_numpy_bytes_drop_trailing_nuls_like_numpy(self):
        labels = np.array([b"ab", b"abcd"])
        assert labels.dtype.itemsize == 4
        token_ids, _, paddings = ops.ascii_to_token_ids(labels, maxlen=6, append_eos=False)
        np.testing.assert_array_equal(token_ids, [[1, 5, 6, 2, 2, 2], [1, 5, 6, 7, 8, 2]])
        np.testing.assert_array_equal(paddings.sum(axis=1), [4, 2])

    def test_empty_string(self):
        token_ids, target_ids, paddings = ops.ascii_to_token_ids([""], maxlen=3)
        np.testing.assert_array_equal(token_ids, [[1, 2, 2]])
        np.testing.assert_array_equal(target_ids, [[2, 2, 2]])
        np.testing.assert_array_equal(paddings, [[0, 1, 1]])
        _, _, paddings = ops.ascii_to_token_ids([""], maxlen=3, append_eos=False)
        np.testing.assert_array_equal(paddings, [[1, 1, 1]])

    def test_truncation_keeps_room_for_eos(self):
        token_ids, target_ids, paddings = ops.ascii_to_token_ids(["abcdefgh"], maxlen=4)
        np.testing.assert_array_equal(token_ids, [[1, 5, 6, 7]])
        np.testing.assert_array_equal(target_ids, [[5, 6, 7, 2]])
        np.testing.assert_array_equal(paddings, [[0, 0, 0, 0]])
        _, _, paddings = ops.ascii_to_token_ids(["abcdefgh"], maxlen=4, append_eos=False)
        np.testing.assert_array_equal(paddings, [[0, 0, 0, 1]])

    def test_truncation_counts_tags_as_one_id(self):
        token_ids, target_ids, _ = ops.ascii_to_token_ids(["<noise><noise>ab"], maxlen=4)
        np.testing.assert_array_equal(token_ids, [[1, 4, 4, 5]])
        np.testing.assert_array_equal(target_ids, [[4, 4, 5, 2]])

    def test_maxlen_one(self):
        token_ids, target_ids, paddings = ops.ascii_to_token_ids(["abc", ""], maxlen=1)
        np.testing.assert_array_equal(token_ids, [[1], [1]])
        np.testing.assert_array_equal(target_ids, [[2], [2]])
        np.testing.assert_array_equal(paddings, [[0], [0]])

    def test_no_pad_to_maxlen_width_is_capped_by_maxlen(self):
        token_ids, _, _ = ops.ascii_to_token_ids(["a" * 50, "b"], maxlen=8, pad_to_maxlen=False)
        assert token_ids.shape == (2, 8)
        token_ids, _, _ = ops.ascii_to_token_ids(["", ""], maxlen=8, pad_to_maxlen=False)
        np.testing.assert_array_equal(token_ids, [[1], [1]])

    def test_empty_batch(self):
        for pad_to_maxlen, width in ((True, 7), (False, 0)):
            for labels in ([], np.array([], dtype=bytes), np.array([], dtype=str)):
                outputs = ops.ascii_to_token_ids(labels, maxlen=7, pad_to_maxlen=pad_to_maxlen)
                assert [a.shape for a in outputs] == [(0, width)] * 3
                assert [a.dtype for a in outputs] == [np.int32, np.int32, np.float32]

    def test_default_maxlen_is_300(self):
        token_ids, _, paddings = ops.ascii_to_token_ids(["x" * 400])
        assert token_ids.shape == (1, 300)
        assert paddings.sum() == 0

    def test_results_are_independent_arrays(self):
        first = ops.ascii_to_token_ids(["abc"], maxlen=5)
        for array in first:
            array[...] = 99
        second = ops.ascii_to_token_ids(["abc"], maxlen=5)
        np.testing.assert_array_equal(second[0], [[1, 5, 6, 7, 2]])


class TestIdToAscii:
    def test_lengths_select_prefixes(self):
        ids = np.array([[12, 9, 16, 16, 19], [3, 4, 3, 2, 1]], np.int32)
        assert ops.id_to_ascii(ids, [3, 5]).tolist() == [b"hel", b" <noise> </s><s>"]

    def test_non_positive_lengths_give_empty_strings(self):
        ids = np.full((3, 4), 5, np.int64)
        assert ops.id_to_ascii(ids, [0, -3, 4]).tolist() == [b"", b"", b"aaaa"]

    def test_ids_outside_the_table_are_unk(self):
        ids = np.array([[-1, 76, 1000, 2**40, 5]], np.int64)
        assert ops.id_to_ascii(ids, [5]).tolist() == [b"<unk><unk><unk><unk>a"]

    @pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint32])
    def test_integer_dtypes(self, dtype):
        ids = np.array([[12, 9, 16, 16, 19]], dtype)
        lengths = np.array([5], dtype)
        assert ops.id_to_ascii(ids, lengths).tolist() == [b"hello"]

    def test_non_contiguous_inputs(self):
        ids = np.array([[12, 0, 9, 0, 16, 0], [5, 0, 6, 0, 7, 0]], np.int32)
        assert ops.id_to_ascii(ids[:, ::2], [3, 2]).tolist() == [b"hel", b"ab"]
        fortran = np.asfortranarray(np.array([[5, 6], [7, 8]], np.int64))
        assert ops.id_to_ascii(fortran, np.array([2, 9, 1])[::2]).tolist() == [b"ab", b"c"]

    def test_lists_and_empty_batch(self):
        assert ops.id_to_ascii([[5, 6]], [2]).tolist() == [b"ab"]
        empty = ops.id_to_ascii(np.zeros((0, 4), np.int32), np.zeros((0,), np.int32))
        assert empty.shape == (0,) and empty.dtype == object
        assert ops.id_to_ascii(np.zeros((0, 0)), []).shape == (0,)

    def test_round_trip_of_random_text(self):
        rng = np.random.default_rng(0)
        alphabet = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789 .,'-?!"))
        labels = ["".join(rng.choice(alphabet, size=rng.integers(0, 40))) for _ in range(64)]
        _, target_ids, paddings = ops.ascii_to_token_ids(labels, maxlen=50, append_eos=False)
        lengths = (paddings == 0).sum(axis=1)
        assert ops.id_to_ascii(target_ids, lengths).tolist() == [s.encode() for s in labels]


class TestErrors:
    @pytest.mark.parametrize(
        "labels, message",
        [
            (np.array([["a", "b"], ["c", "d"]]), r"labels must be a vector .*shape \(2, 2\)"),
            (np.array("abc"), r"labels must be a vector .*shape \(\)"),
            ("hello", r"labels must be a vector .*single str"),
            (b"hello", r"labels must be a vector .*single bytes"),
            ([["a"], ["b"]], r"labels must be a vector .*labels\[0\] is a list"),
            (["a", np.array(["b"])], r"labels must be a vector .*labels\[1\] is a ndarray"),
        ],
    )
    def test_labels_not_a_vector(self, labels, message):
        with pytest.raises(ValueError, match=message):
            ops.ascii_to_token_ids(labels)

    def test_label_of_wrong_type(self):
        with pytest.raises(TypeError, match=r"labels\[2\] must be str or bytes, got int"):
            ops.ascii_to_token_ids(["a", b"b", 3])
        with pytest.raises(TypeError, match=r"labels must be a vector .*got int"):
            ops.ascii_to_token_ids(5)
        with pytest.raises(TypeError, match=r"labels\[0\] must be str or bytes"):
            ops.ascii_to_token_ids(np.array([1, 2]))

    def test_label_that_is_not_utf8_encodable(self):
        with pytest.raises(UnicodeEncodeError):
            ops.ascii_to_token_ids(["\ud800"])

    @pytest.mark.parametrize("maxlen", [0, -1])
    def test_maxlen_below_one(self, maxlen):
        with pytest.raises(ValueError, match=rf"maxlen must be >= 1 .*got {maxlen}"):
            ops.ascii_to_token_ids(["abc"], maxlen=maxlen)

    def test_flags_must_be_bools(self):
        with pytest.raises(TypeError):
            ops.ascii_to_token_ids(["abc"], append_eos=1)
        with pytest.raises(TypeError):
            ops.ascii_to_token_ids(["abc"], pad_to_maxlen="no")
        with pytest.raises(TypeError):
            ops.ascii_to_token_ids(["abc"], maxlen=3.5)
        outputs = ops.ascii_to_token_ids(["abc"], append_eos=np.bool_(False), maxlen=np.int64(5))
        np.testing.assert_array_equal(outputs[2], [[0, 0, 0, 1, 1]])

    def test_token_ids_not_a_matrix(self):
        with pytest.raises(ValueError, match=r"token_ids must be a matrix \(2-D\).*shape \(3,\)"):
            ops.id_to_ascii([1, 2, 3], [3])
        with pytest.raises(ValueError, match=r"token_ids must be a matrix.*shape \(1, 1, 3\)"):
            ops.id_to_ascii([[[1, 2, 3]]], [3])

    def test_seq_lengths_not_a_vector(self):
        with pytest.raises(ValueError, match=r"seq_lengths must be a vector \(1-D\).*shape \(\)"):
            ops.id_to_ascii([[1, 2, 3]], 3)
        with pytest.raises(ValueError, match=r"seq_lengths must be a vector.*shape \(1, 1\)"):
            ops.id_to_ascii([[1, 2, 3]], [[3]])

    def test_batch_mismatch(self):
        with pytest.raises(
            ValueError, match=r"same batch size.*shape \(2, 3\).*seq_lengths of shape \(3,\)"
        ):
            ops.id_to_ascii(np.ones((2, 3), np.int32), [1, 1, 1])

    def test_length_longer_than_row(self):
        with pytest.raises(ValueError, match=r"seq_lengths\[1\] is 4, more than .*\(3\)"):
            ops.id_to_ascii(np.ones((2, 3), np.int32), [3, 4])

    def test_non_integer_inputs(self):
        with pytest.raises(TypeError, match=r"token_ids must hold integers, got dtype float64"):
            ops.id_to_ascii(np.ones((1, 3)), [3])
        with pytest.raises(TypeError, match=r"seq_lengths must hold integers, got dtype float32"):
            ops.id_to_ascii(np.ones((1, 3), np.int32), np.array([3], np.float32))
        with pytest.raises(TypeError, match=r"token_ids must hold integers, got dtype <U1"):
            ops.id_to_ascii([["a"]], [1])

    def test_ragged_token_ids(self):
        with pytest.raises(ValueError, match=r"token_ids must be a matrix"):
            ops.id_to_ascii([[1, 2], [3]], [1, 1])


class TestThreads:
    def test_concurrent_calls_are_consistent(self):
        rng = np.random.default_rng(1)
        batches = [
            ["".join(rng.choice(list("abc <noise>XYZ1%"), size=rng.integers(0, 80)))]
            * rng.integers(1, 20)
            for _ in range(16)
        ]
        expected = [ops.ascii_to_token_ids(b, maxlen=64, pad_to_maxlen=False) for b in batches]
        expected_text = [ops.id_to_ascii(t, (p == 0).sum(1)) for _, t, p in expected]
        errors = []

        def work(worker):
            try:
                for round_ in range(50):
                    i = (worker + round_) % len(batches)
                    got = ops.ascii_to_token_ids(batches[i], maxlen=64, pad_to_maxlen=False)
                    for a, b in zip(got, expected[i], strict=True):
                        np.testing.assert_array_equal(a, b)
                    text = ops.id_to_ascii(got[1], (got[2] == 0).sum(1))
                    assert text.tolist() == expected_text[i].tolist()
            except Exception as e:  # Reported to the main thread below.
                errors.append(e)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[0]

    def test_other_threads_run_while_the_kernel_works(self):
        """The GIL is released: the main thread keeps running during a long kernel call.

        A kernel that held the GIL would stall the main thread for nearly the whole
        call, so the largest gap between its loop iterations would be close to the
        call's duration. Timing-based, so it retries with a bigger input.
        """
        width = 400_000
        for _ in range(4):
            labels = [("<noise> Hello, World! " * (width // 22 + 1))[:width]] * 48
            result = {}

            def work(labels=labels, maxlen=width + 1, result=result):
                start = time.perf_counter()
                ops.ascii_to_token_ids(labels, maxlen=maxlen, pad_to_maxlen=False)
                result["duration"] = time.perf_counter() - start

            thread = threading.Thread(target=work)
            last = time.perf_counter()
            max_gap = 0.0
            thread.start()
            while thread.is_alive():
                now = time.perf_counter()
                max_gap = max(max_gap, now - last)
                last = now
            thread.join()
            duration = result["duration"]
            if duration > 0.05 and max_gap < 0.5 * duration:
                return
            width *= 2
        pytest.fail(f"main thread stalled {max_gap:.3f}s during a {duration:.3f}s kernel call")
