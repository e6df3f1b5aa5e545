"""Tests of the MT inputs against Lingvo's fixtures (file order, first-fit buckets, WPM)."""

import os

import numpy as np
import pytest

from lingvo.tasks.mt import input_generator

DATA = os.path.join(os.path.dirname(__file__), "data")
TFRECORD = os.path.join(DATA, "wmt14_ende_wpm_32k_test.tfrecord")
EN_DE = os.path.join(DATA, "en_de.text")
VOC = os.path.join(DATA, "wpm-ende-2k.voc")


def _NmtParams(**kw):
    p = input_generator.NmtInput.Params().Set(
        file_pattern=f"tfrecord:{TFRECORD}",
        file_random_seed=31415,
        file_buffer_size=1,
        file_parallelism=1,
        require_sequential_order=True,
        bucket_upper_bound=[20, 40],
        bucket_batch_limit=[4, 8],
    )
    return p.Set(**kw)


def _FirstBatch(p):
    gen = p.Instantiate()
    return gen.GetPreprocessedInputBatch()


def _Row(values, width):
    return values + [0] * (width - len(values))


def test_nmt_input_split_sources_and_targets():
    batch = _FirstBatch(_NmtParams())
    src = batch.src.ids.numpy()
    tgt = batch.tgt.ids.numpy()
    assert src.shape == (4, 20) and tgt.shape == (4, 19)
    want_src = [
        _Row([93, 15027, 643, 8, 2985, 3, 27025, 6, 4569, 2], 20),
        _Row([15027, 1668, 4125, 54, 139, 24, 3, 101, 8, 2031, 5545, 2962, 5, 2], 20),
        [
            626,
            854,
            11,
            392,
            45,
            77,
            67,
            1346,
            30,
            25,
            10,
            2283,
            933,
            14,
            22255,
            425,
            872,
            4677,
            5,
            2,
        ],
        _Row([52, 21, 1034, 4, 3, 274, 30, 7203, 6275, 3, 967, 795, 142, 5, 2], 20),
    ]
    want_tgt = [
        _Row([1, 272, 7514, 10944, 2220, 815, 3, 39, 6, 3021, 4893, 10, 6693, 23788, 3410], 19),
        [1, 28, 18764, 6, 1413, 2338, 8068, 107, 431, 14, 6, 1083, 3, 11, 782, 19664, 9, 3622, 4],
        _Row([1, 15149, 12, 583, 43, 61, 179, 1265, 22, 27, 7193, 16, 5, 782, 14077, 6734, 4], 19),
        _Row([1, 81, 90, 1397, 9207, 61, 241, 2102, 15, 3003, 424, 6, 483, 4], 19),
    ]
    np.testing.assert_array_equal(src, want_src)
    np.testing.assert_array_equal(tgt, want_tgt)
    # Labels are ids shifted left and end in </s>; paddings and weights match the ids.
    labels = batch.tgt.labels.numpy()
    lens = (1 - batch.tgt.paddings.numpy()).sum(1).astype(int)
    for row, n in enumerate(lens):
        assert labels[row, n - 1] == 2
        np.testing.assert_array_equal(labels[row, : n - 1], tgt[row, 1:n])
    np.testing.assert_array_equal(batch.tgt.weights.numpy(), 1 - batch.tgt.paddings.numpy())
    np.testing.assert_array_equal(batch.src.paddings.numpy(), (src == 0).astype(np.float32))
    assert batch.bucket_keys.numpy().tolist() == [15, 19, 20, 15]


def test_nmt_input_pads_to_max_length():
    p = _NmtParams(pad_to_max_seq_length=True, source_max_length=30, target_max_length=30)
    batch = _FirstBatch(p)
    assert batch.src.ids.shape == (4, 30) and batch.tgt.labels.shape == (4, 30)
    assert np.all(batch.src.paddings.numpy()[:, 20:] == 1.0)
    assert np.all(batch.tgt.ids.numpy()[:, 20:] == 0)


def test_nmt_input_without_vocab_refuses_ids_to_strings():
    gen = _NmtParams().Instantiate()
    with pytest.raises(ValueError, match="vocabulary"):
        gen.IdsToStrings(np.zeros([1, 2], np.int32), np.ones([1], np.int32))


def _TextParams(src_max, tgt_max, **kw):
    p = input_generator.TextPackedInput.Params().Set(
        file_pattern=f"text:{EN_DE}",
        require_sequential_order=True,
        file_parallelism=1,
        file_buffer_size=1,
        bucket_upper_bound=[100],
        bucket_batch_limit=[2],
        source_max_length=src_max,
        target_max_length=tgt_max,
    )
    p.tokenizer.vocab_filepath = VOC
    return p.Set(**kw)


def test_text_input_wpm_fixture():
    gen = _TextParams(12, 15).Instantiate()
    batch = gen.GetPreprocessedInputBatch()
    np.testing.assert_array_equal(
        batch.src.ids.numpy(),
        [[109, 251, 98, 595, 1009, 245, 326, 129, 4, 2, 0, 0], _Row([115, 276, 18, 66, 2], 12)],
    )
    np.testing.assert_array_equal(
        batch.tgt.ids.numpy(),
        [
            [1, 197, 446, 458, 419, 284, 323, 1411, 571, 456, 409, 13, 4, 0, 0],
            _Row([1, 115, 281, 18, 66], 15),
        ],
    )
    np.testing.assert_array_equal(
        batch.tgt.labels.numpy(),
        [
            [197, 446, 458, 419, 284, 323, 1411, 571, 456, 409, 13, 4, 2, 0, 0],
            _Row([115, 281, 18, 66, 2], 15),
        ],
    )
    np.testing.assert_array_equal(batch.src.segment_ids.numpy()[1], _Row([1] * 5, 12))
    np.testing.assert_array_equal(batch.src.segment_pos.numpy()[1], _Row([0, 1, 2, 3, 4], 12))
    strs = gen.IdsToStrings(batch.tgt.labels, np.int32([12, 4])).numpy()
    assert [s.decode() for s in strs] == ["Dafür hat sich zu viel verändert.", "Hallo!"]


def test_text_input_keep_truncated_and_drop_truncated():
    batch = _TextParams(5, 5, keep_truncated=True).Instantiate().GetPreprocessedInputBatch()
    np.testing.assert_array_equal(
        batch.src.ids.numpy(), [[109, 251, 98, 595, 1009], [115, 276, 18, 66, 2]]
    )
    np.testing.assert_array_equal(
        batch.tgt.ids.numpy(), [[1, 197, 446, 458, 419], [1, 115, 281, 18, 66]]
    )
    np.testing.assert_array_equal(
        batch.tgt.labels.numpy(), [[197, 446, 458, 419, 284], [115, 281, 18, 66, 2]]
    )
    # Without keep_truncated the long pair is dropped and only "Hello!" is left.
    batch = _TextParams(5, 5).Instantiate().GetPreprocessedInputBatch()
    np.testing.assert_array_equal(batch.src.ids.numpy(), [[115, 276, 18, 66, 2]])


_SRC_A = [109, 251, 98, 595, 1009, 245, 326, 129, 4, 2]
_SRC_B = [115, 276, 18, 66, 2]
_TGT_A = [1, 197, 446, 458, 419, 284, 323, 1411, 571, 456, 409, 13, 4]
_TGT_B = [1, 115, 281, 18, 66]
_LAB_A = [*_TGT_A[1:], 2]
_LAB_B = [*_TGT_B[1:], 2]


def test_text_input_packing_fixture():
    """Lingvo's testTextPackedInputTextPacking: factor 2, the file read twice, max 16/20."""
    gen = _TextParams(16, 20, packing_factor=2, repeat_count=2).Instantiate()
    batch = gen.GetPreprocessedInputBatch()
    np.testing.assert_array_equal(
        batch.src.ids.numpy(), [[*_SRC_A, *_SRC_B, 0], [*_SRC_B, *_SRC_A, 0]]
    )
    np.testing.assert_array_equal(batch.src.segment_ids.numpy()[0], [1] * 10 + [2] * 5 + [0])
    np.testing.assert_array_equal(batch.src.segment_ids.numpy()[1], [1] * 5 + [2] * 10 + [0])
    np.testing.assert_array_equal(batch.src.segment_pos.numpy()[0], [*range(10), *range(5), 0])
    np.testing.assert_array_equal(batch.src.paddings.numpy()[0], [0] * 15 + [1])
    np.testing.assert_array_equal(
        batch.tgt.ids.numpy(), [[*_TGT_A, *_TGT_B, 0, 0], [*_TGT_B, *_TGT_A, 0, 0]]
    )
    np.testing.assert_array_equal(
        batch.tgt.labels.numpy(), [[*_LAB_A, *_LAB_B, 0, 0], [*_LAB_B, *_LAB_A, 0, 0]]
    )
    np.testing.assert_array_equal(batch.tgt.weights.numpy()[0], [1] * 18 + [0, 0])
    np.testing.assert_array_equal(batch.tgt.segment_ids.numpy()[1], [1] * 5 + [2] * 13 + [0, 0])
    np.testing.assert_array_equal(batch.tgt.segment_pos.numpy()[1], [*range(5), *range(13), 0, 0])
    np.testing.assert_array_equal(batch.bucket_keys.numpy(), [18, 18])
    assert gen.PackingStats() == {
        "examples/src_packed_token_ratio": 1.0,
        "examples/tgt_packed_token_ratio": 1.0,
        "examples/num_packed_examples": 4.0,
    }


@pytest.mark.parametrize("factor, ratio, packed", [(1, 1.0, 8), (2, 1.0, 16), (3, 2 / 3, 16)])
def test_text_input_packing_metrics(factor, ratio, packed):
    """Lingvo's testMetrics: 8 rows of 16/20 positions fit two pairs each, so a third is lost."""
    gen = _TextParams(
        16, 20, packing_factor=factor, repeat_count=-1, require_sequential_order=False,
        bucket_batch_limit=[8], file_random_seed=1,
    ).Instantiate()  # fmt: skip
    batch = gen.GetPreprocessedInputBatch()
    assert batch.src.ids.shape[0] == 8
    stats = gen.PackingStats()
    assert stats["examples/num_packed_examples"] == packed
    # Equal numbers of both pairs keep the token ratio at the example ratio.
    assert stats["examples/src_packed_token_ratio"] == pytest.approx(ratio, abs=0.1)
    assert stats["examples/tgt_packed_token_ratio"] == pytest.approx(ratio, abs=0.1)


def test_text_input_bad_packing_factor_is_named():
    with pytest.raises(ValueError, match="packing_factor must be None or a positive number"):
        _TextParams(16, 20, packing_factor=0).Instantiate()


_LINES = ["Too much has changed.\tDafür hat sich zu viel verändert.", "Hello!\tHallo!"]


def test_text_input_src_strs_are_the_raw_lines():
    batch = _TextParams(12, 15).Instantiate().GetPreprocessedInputBatch()
    assert [s.decode() for s in batch.src.strs.numpy()] == _LINES
    # Packed, the lines stay one per example packed (4: the file read twice).
    gen = _TextParams(16, 20, packing_factor=2, repeat_count=2).Instantiate()
    packed = gen.GetPreprocessedInputBatch()
    assert sorted(s.decode() for s in packed.src.strs.numpy()) == sorted(_LINES * 2)


def test_text_input_counts_empty_too_long_and_unknown(tmp_path):
    """Every line is accounted for: kept, empty side, too long; unknown characters counted."""
    lines = [
        "Hello!\tHallo!",  # kept
        "\tHallo!",  # empty source
        "Hello!\t   ",  # empty target (blank)
        "Too much has changed.\tDafür hat sich zu viel verändert.",  # too long for 8/8
        "Hello ☃!\tHallo!",  # kept, one character outside the vocabulary
    ]
    path = tmp_path / "pairs.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    gen = _TextParams(8, 8, file_pattern=f"text:{path}", bucket_batch_limit=[8]).Instantiate()
    batch = gen.GetPreprocessedInputBatch()
    assert [s.decode() for s in batch.src.strs.numpy()] == [lines[0], lines[4]]
    stats = gen.InputStats()
    assert stats["num_empty_pairs"] == 2
    assert stats["num_too_long_pairs"] == 1
    assert stats["num_unk_pieces"] == 1
    assert stats["dropped_negative"] == 3  # the bucketing saw the three rejected keys
    assert set(gen.SummaryCounters()) == {
        "num_empty_pairs", "num_too_long_pairs", "num_unk_pieces", "num_too_long_for_buckets",
    }  # fmt: skip
    # With keep_truncated the long pair is cut and kept, not counted as dropped.
    kept = _TextParams(
        8, 8, file_pattern=f"text:{path}", bucket_batch_limit=[8], keep_truncated=True
    )
    gen = kept.Instantiate()
    assert gen.GetPreprocessedInputBatch().src.ids.shape[0] == 3
    assert gen.InputStats()["num_too_long_pairs"] == 0
