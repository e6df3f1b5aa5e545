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
