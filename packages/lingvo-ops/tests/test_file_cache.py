"""The path-taking text ops keep what they loaded while the file is unchanged."""

import os
import pathlib
import shutil
import threading
import time

import numpy as np
import pytest

from lingvo import ops
from lingvo.ops import _ops

DATA = pathlib.Path(__file__).resolve().parent / "data"
LABELS = ["GIVE ME A PENNY", "THEY LIVED ALONE"]


def _age(path, seconds=3600):
    """Backdates `path`: only files older than the cache's settle time (2 s) are trusted."""
    past = time.time_ns() - seconds * 1_000_000_000
    os.utime(path, ns=(past, past))


def _copy(name, tmp_path):
    path = tmp_path / name
    shutil.copyfile(DATA / name, path)
    _age(path)
    return path


def _counts(kind):
    hits, loads = _ops._file_cache_stats()[kind]
    return hits, loads


def _bpe_words(path):
    return ops.bpe_words_to_ids(LABELS, path, maxlen=15)


def _bpe_codes(path):
    return ops.bpe_ids_to_words([[27, 9, 30, 14, 28]], [5], path)


def _mlperf(path):
    return ops.ml_perf_subword_id_to_string([[3, 4, 2, 1]], [4], path)


def _vocab_tokens(path):
    return ops.str_to_vocab_tokens(["a b c d e"], path, maxlen=8)


CASES = [
    ("bpe_word_map", "bpe_words.vocab", _bpe_words),
    ("bpe_vocab", "bpe_codes.vocab", _bpe_codes),
    ("ml_perf_subword", "mlperf_toy.vocab", _mlperf),
    ("vocab", "test_vocab.txt", _vocab_tokens),
]


def _assert_same(a, b):
    for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,),
                    strict=True):  # fmt: skip
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize(("kind", "name", "call"), CASES, ids=[c[0] for c in CASES])
def test_repeated_calls_read_the_file_once(kind, name, call, tmp_path):
    path = _copy(name, tmp_path)
    hits, loads = _counts(kind)
    first = call(path)
    assert _counts(kind) == (hits, loads + 1)
    for _ in range(3):
        _assert_same(call(path), first)
        _assert_same(call(str(path)), first)  # the same file, however it is named
    assert _counts(kind) == (hits + 6, loads + 1)
    # The result is the one a fresh read gives.
    _ops._clear_file_caches()
    _assert_same(call(path), first)


def test_a_changed_file_is_read_again(tmp_path):
    path = tmp_path / "codes.vocab"
    path.write_text("<unk>\n<s>\n</s>\nAB@@\nCD\n", encoding="utf-8")
    _age(path)
    assert _bpe_codes_small(path) == b"ABCD "
    hits, loads = _counts("bpe_vocab")
    assert _bpe_codes_small(path) == b"ABCD "
    assert _counts("bpe_vocab") == (hits + 1, loads)
    # Same size, other contents, another time: read again.
    path.write_text("<unk>\n<s>\n</s>\nXY@@\nZW\n", encoding="utf-8")
    _age(path, seconds=1800)
    assert _bpe_codes_small(path) == b"XYZW "
    assert _counts("bpe_vocab") == (hits + 1, loads + 1)
    # Other size, written just now: read again, and again on every call while the file is
    # young enough that a same-size rewrite could keep its time stamp.
    path.write_text("<unk>\n<s>\n</s>\nXY@@\nZ\n", encoding="utf-8")
    assert _bpe_codes_small(path) == b"XYZ "
    assert _bpe_codes_small(path) == b"XYZ "
    path.write_text("<unk>\n<s>\n</s>\nXY@@\nQ\n", encoding="utf-8")
    assert _bpe_codes_small(path) == b"XYQ "
    assert _counts("bpe_vocab") == (hits + 1, loads + 4)
    path.unlink()
    with pytest.raises(FileNotFoundError, match=r"codes\.vocab"):
        _bpe_codes_small(path)


def _bpe_codes_small(path):
    return ops.bpe_ids_to_words([[3, 4]], [2], path)[0]


def test_load_options_are_cached_apart(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("<unk>\t5\n<s>\t6\n</s>\t7\nhello\t9\n", encoding="utf-8")
    _age(path)
    by_column = ops.vocab_token_to_id(["hello"], path, load_token_ids_from_vocab=True)
    by_line = ops.vocab_token_to_id(["hello"], path, load_token_ids_from_vocab=False)
    assert by_column.tolist() == [9] and by_line.tolist() == [3]
    again = ops.vocab_token_to_id(["hello"], path, load_token_ids_from_vocab=True)
    assert again.tolist() == [9]
    again = ops.vocab_token_to_id(["hello"], path, load_token_ids_from_vocab=False)
    assert again.tolist() == [3]


def test_threads_share_the_cache(tmp_path):
    path = _copy("bpe_words.vocab", tmp_path)
    want = _bpe_words(path)
    results, errors = [], []

    def work():
        try:
            for _ in range(20):
                results.append(_bpe_words(path))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 80
    for got in results:
        _assert_same(got, want)
