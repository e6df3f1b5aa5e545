"""The per-beam pool of beam_search_step against Lingvo's beam_search_step_op_top_k_test.cc.

Each candidate is (slot, word, local score, global score, epsilon-free label prefix of the
slot); k = 2 and the buffer holds k * 2 candidates before it is cut to the best k.
"""

import math

import numpy as np
import pytest

from lingvo.ops import _ops

LOWEST = np.finfo(np.float32).min


def _populate(pool, with_epsilons):
    if with_epsilons:
        prefixes = [[1, 2, 3], [1, 7, 2], [1, 3, 4, 9, 5], [1, 2, 4, 3]]
    else:
        prefixes = [[1, 2, 3], [1, 7, 2], [1, 9, 5], [1, 2, 4]]
    # Three distinct candidates: the buffer is not full, nothing is cut yet.
    assert pool.add(2, 3, -0.4, -2.0, prefixes[0]) == LOWEST
    assert pool.add(1, 8, -0.7, -1.3, prefixes[1]) == LOWEST
    assert pool.add(6, 2, -0.1, -1.7, prefixes[2]) == LOWEST
    # The fourth fills the buffer (k * 2): cut to the best two; -1.7 is now the bar.
    assert pool.add(4, 3, -0.5, -2.5, prefixes[3]) == pytest.approx(-1.7, abs=1e-3)
    items = pool.items()
    assert [(slot, round(score, 3)) for slot, _, _, score in items] == [(1, -1.3), (6, -1.7)]
    # A duplicate of slot 1's extension (word 8 after 1 7 2), or the same labels spelled
    # with an epsilon (word 0 after 1 7 2 8).
    if with_epsilons:
        pool.add(5, 0, -0.7, -1.5, [1, 7, 2, 8])
    else:
        pool.add(5, 8, -0.7, -1.5, [1, 7, 2])


@pytest.mark.parametrize("with_epsilons", [False, True])
def test_duplicates_merge_with_an_epsilon_id(with_epsilons):
    pool = _ops._MergingPool(2, 2, 0)
    _populate(pool, with_epsilons)
    items = pool.items()
    assert [slot for slot, *_ in items] == [1, 6]
    merged = math.log(math.exp(-1.5) + math.exp(-1.3))
    assert items[0][3] == pytest.approx(-0.70186, abs=1e-3)
    assert items[0][3] == pytest.approx(merged, rel=1e-6)
    assert items[0][1] == 8  # the better of the two keeps its word
    assert items[1][3] == pytest.approx(-1.7, abs=1e-6)


def test_no_merging_without_an_epsilon_id():
    pool = _ops._MergingPool(2, 2, -1)
    _populate(pool, with_epsilons=False)
    items = pool.items()
    # The two best are now the duplicates themselves.
    assert [slot for slot, *_ in items] == [1, 5]
    assert [word for _, word, *_ in items] == [8, 8]
    assert [round(score, 3) for *_, score in items] == [-1.3, -1.5]


def test_bad_sizes():
    with pytest.raises(ValueError, match="k must be > 0"):
        _ops._MergingPool(0, 2, 0)
    with pytest.raises(ValueError, match="buffer_size_factor >= 1"):
        _ops._MergingPool(2, 0, 0)
